#!/usr/bin/env bash
# Live mode's API client against the real API server, in each kubeconfig form: client certificate
# and key files, the same embedded as base64 *-data, a ServiceAccount token with
# insecure-skip-tls-verify, and the failures a person must be able to read: an untrusted server
# certificate, a rejected token (both keep /readyz at 503 and say why in the log), and exec
# credentials (refused at start with a message).
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$HERE/control-plane.sh"
source "$HERE/live-lib.sh"

live_setup
live_nodes 2
pki="$CP_DIR/pki"
b64() { base64 -w0 <"$1"; }

kubeconfig() { # kubeconfig FILE CLUSTER_YAML USER_YAML
  cat >"$1" <<EOF
apiVersion: v1
kind: Config
clusters:
- name: c
  cluster:
    server: $CP_SERVER
$2
users:
- name: u
  user:
$3
contexts:
- name: x
  context: {cluster: c, user: u}
current-context: x
EOF
}

# serve_with NAME KUBECONFIG: starts platoon on fresh ports; sets PORT_ADMIN.
serve_with() {
  PORT_ADMIN="$(cp_free_port)"
  cp_start_process "$1" - "$LIVE_PLATOON" serve --config "$CP_DIR/platoon.yaml" --kubeconfig "$2" \
    --listen 127.0.0.1:0 --metrics-listen "127.0.0.1:$PORT_ADMIN"
}
expect_ready() { # expect_ready NAME
  cp_wait_for 20 curl -sf "http://127.0.0.1:$PORT_ADMIN/readyz" || fail "$1: platoon did not become ready"
  grep -q "synced with the API server.*nodes=2" "$CP_DIR/logs/$1.log" || fail "$1: platoon did not list the 2 nodes"
  cp_stop_process "$1"
}
expect_not_ready() { # expect_not_ready NAME LOG_PATTERN
  cp_wait_for 20 curl -sf "http://127.0.0.1:$PORT_ADMIN/healthz" || fail "$1: platoon is not alive"
  cp_wait_for 20 grep -q "$2" "$CP_DIR/logs/$1.log" || fail "$1: no log line matching '$2'"
  [[ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$PORT_ADMIN/readyz")" == 503 ]] || fail "$1: /readyz is not 503"
  cp_crash_process "$1"
}

kubeconfig "$CP_DIR/files.kubeconfig" "    certificate-authority: $pki/ca.crt" \
  "    client-certificate: $pki/admin.crt
    client-key: $pki/admin.key"
serve_with files "$CP_DIR/files.kubeconfig"; expect_ready files
pass "client certificate, key and CA from files"

kubeconfig "$CP_DIR/data.kubeconfig" "    certificate-authority-data: $(b64 "$pki/ca.crt")" \
  "    client-certificate-data: $(b64 "$pki/admin.crt")
    client-key-data: $(b64 "$pki/admin.key")"
serve_with data "$CP_DIR/data.kubeconfig"; expect_ready data
pass "client certificate, key and CA embedded as base64 data"

token="$(kubectl create token platoon --namespace platoon-system --duration 1h)"
kubeconfig "$CP_DIR/token.kubeconfig" "    insecure-skip-tls-verify: true" "    token: $token"
serve_with token "$CP_DIR/token.kubeconfig"; expect_ready token
pass "ServiceAccount token with insecure-skip-tls-verify"

kubeconfig "$CP_DIR/wrong-ca.kubeconfig" "    certificate-authority: $pki/front-proxy-ca.crt" "    token: $token"
serve_with wrong-ca "$CP_DIR/wrong-ca.kubeconfig"; expect_not_ready wrong-ca 'list failed.*kind=nodes'
pass "an untrusted server certificate keeps platoon unready: $(grep -m1 'list failed' "$CP_DIR/logs/wrong-ca.log" | sed 's/.*error=//')"

kubeconfig "$CP_DIR/bad-token.kubeconfig" "    certificate-authority: $pki/ca.crt" "    token: not-a-token"
serve_with bad-token "$CP_DIR/bad-token.kubeconfig"; expect_not_ready bad-token 'list failed.*HTTP 401'
pass "a rejected token keeps platoon unready: $(grep -m1 'list failed' "$CP_DIR/logs/bad-token.log" | sed 's/.*error=//')"

kubeconfig "$CP_DIR/exec.kubeconfig" "    certificate-authority: $pki/ca.crt" "    exec: {command: aws, apiVersion: client.authentication.k8s.io/v1}"
if out="$("$LIVE_PLATOON" serve --kubeconfig "$CP_DIR/exec.kubeconfig" --listen 127.0.0.1:0 --metrics-listen 127.0.0.1:0 2>&1)"; then
  fail "platoon started with exec credentials"
fi
[[ "$out" == *"uses exec credentials, which platoon does not support"* ]] || fail "unclear message for exec credentials: $out"
pass "exec credentials are refused at start: $out"
