#!/usr/bin/env bash
# A throwaway loopback Kubernetes control plane (etcd + kube-apiserver, optionally kube-scheduler) for
# the e2e tests: certificates from openssl, random free ports, everything under one temp dir.
#
# Sourced by the e2e scripts:
#   source tests/e2e/control-plane.sh
#   cp_start                          # etcd + kube-apiserver, waits for /readyz; exports KUBECONFIG
#   cp_start_scheduler CONFIG [NAME] [KUBECONFIG]   # kube-scheduler with that KubeSchedulerConfiguration
#   cp_stop_scheduler NAME            # stops one scheduler (SIGTERM, then SIGKILL)
#   cp_start_process NAME URL CMD...  # any other process (platoon), waits for URL; cp_stop_process NAME
#   cp_crash_process NAME             # SIGKILL a scheduler or process (restart-safety tests)
#   cp_platoon_scheduler_config PORT OUT   # deploy/'s KubeSchedulerConfiguration, extender on PORT
#   cp_create_node, cp_finish_pod, cp_wait_bound, cp_wait_unschedulable, cp_sa_kubeconfig: see below
#   kubectl ...                       # a function running the pinned kubectl against this cluster
# cp_start installs an EXIT trap that stops every process it started and removes the temp dir
# (kept when PLATOON_E2E_KEEP=1, for debugging).
#
# Run directly (`tests/e2e/control-plane.sh`), it starts a control plane, prints how to reach it and
# waits until interrupted.
#
# Env: PLATOON_K8S_BIN   dir with kube-apiserver, kube-scheduler, kubectl (default: from build-k8s.sh)
#      PLATOON_ETCD      etcd binary (default: PLATOON_K8S_BIN/etcd if build-k8s.sh built one, else etcd
#                        on PATH, Debian's etcd-server)
#      PLATOON_E2E_WAIT  seconds to wait for a component to become ready (default 90)
# No kubelets run: tests create Node objects themselves and patch pod status to finish pods.

CP_HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
CP_WAIT="${PLATOON_E2E_WAIT:-90}"
CP_PIDS=()
declare -A CP_NAMED_PIDS=()

cp_log() { echo "[$(date +%H:%M:%S)] control-plane: $*" >&2; }
# Test verdicts for the e2e scripts that source this file.
fail() { echo "FAIL: $*" >&2; exit 1; }
pass() { echo "ok: $*"; }

# A python3 that has PyYAML (Debian's python3-yaml lives in /usr/bin/python3's path, which a python3
# earlier on PATH may not see).
CP_PY=python3
for cp_candidate in python3 /usr/bin/python3; do
  if "$cp_candidate" -c 'import yaml' 2>/dev/null; then CP_PY="$cp_candidate"; break; fi
done

# Prints a TCP port on 127.0.0.1 that was free a moment ago.
cp_free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# Waits until "$@" succeeds, at most $1 seconds; the rest is the command.
cp_wait_for() {
  local limit="$1"; shift
  local deadline=$(( $(date +%s) + limit ))
  until "$@" >/dev/null 2>&1; do
    (( $(date +%s) < deadline )) || return 1
    sleep 0.5
  done
}

# Writes key + certificate signed by the CA: cp_cert NAME SUBJECT EXT_LINES
cp_cert() {
  local name="$1" subject="$2" ext="$3" dir="$CP_DIR/pki"
  openssl req -new -newkey rsa:2048 -nodes -keyout "$dir/$name.key" -subj "$subject" \
    -out "$dir/$name.csr" 2>/dev/null
  printf '%s\n' "$ext" >"$dir/$name.ext"
  openssl x509 -req -in "$dir/$name.csr" -CA "$dir/ca.crt" -CAkey "$dir/ca.key" -CAcreateserial \
    -days 2 -sha256 -extfile "$dir/$name.ext" -out "$dir/$name.crt" 2>/dev/null
}

cp_pki() {
  local dir="$CP_DIR/pki"
  mkdir -p "$dir"
  openssl req -x509 -new -newkey rsa:2048 -nodes -keyout "$dir/ca.key" -days 2 -sha256 \
    -subj "/CN=platoon-e2e-ca" -addext "basicConstraints=critical,CA:TRUE" \
    -addext "keyUsage=critical,keyCertSign,cRLSign,digitalSignature" -out "$dir/ca.crt" 2>/dev/null
  # Front-proxy CA: only so the extension-apiserver-authentication ConfigMap is complete (kube-scheduler
  # logs errors for every sync otherwise); nothing uses request-header authentication here.
  openssl req -x509 -new -newkey rsa:2048 -nodes -keyout "$dir/front-proxy-ca.key" -days 2 -sha256 \
    -subj "/CN=platoon-e2e-front-proxy-ca" -addext "basicConstraints=critical,CA:TRUE" \
    -addext "keyUsage=critical,keyCertSign,cRLSign,digitalSignature" -out "$dir/front-proxy-ca.crt" 2>/dev/null
  local client="basicConstraints=CA:FALSE
keyUsage=critical,digitalSignature,keyEncipherment
extendedKeyUsage=clientAuth"
  cp_cert apiserver "/CN=kube-apiserver" "basicConstraints=CA:FALSE
keyUsage=critical,digitalSignature,keyEncipherment
extendedKeyUsage=serverAuth
subjectAltName=IP:127.0.0.1,IP:10.0.0.1,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local"
  cp_cert admin "/O=system:masters/CN=platoon-e2e-admin" "$client"
  cp_cert scheduler "/CN=system:kube-scheduler" "$client"
  openssl genrsa -out "$dir/sa.key" 2048 2>/dev/null
  openssl rsa -in "$dir/sa.key" -pubout -out "$dir/sa.pub" 2>/dev/null
}

# Writes a kubeconfig: cp_kubeconfig FILE USER (client cert pki/USER.{crt,key}) or
# cp_kubeconfig FILE - TOKEN (bearer token).
cp_kubeconfig() {
  local file="$1" user="$2" token="${3:-}" auth
  if [[ "$user" == "-" ]]; then
    auth="    token: $token"
  else
    auth="    client-certificate: $CP_DIR/pki/$user.crt
    client-key: $CP_DIR/pki/$user.key"
  fi
  cat >"$file" <<EOF
apiVersion: v1
kind: Config
clusters:
- name: e2e
  cluster:
    server: $CP_SERVER
    certificate-authority: $CP_DIR/pki/ca.crt
users:
- name: e2e
  user:
$auth
contexts:
- name: e2e
  context: {cluster: e2e, user: e2e}
current-context: e2e
EOF
}

# curl against the API server as admin: cp_curl PATH [curl args...]
cp_curl() {
  local path="$1"; shift
  curl -sS --max-time 20 --cacert "$CP_DIR/pki/ca.crt" --cert "$CP_DIR/pki/admin.crt" \
    --key "$CP_DIR/pki/admin.key" "$@" "$CP_SERVER$path"
}

cp_ready() { [[ "$(cp_curl /readyz 2>/dev/null)" == "ok" ]]; }

# Stops one process: SIGTERM, up to 10 s, then SIGKILL.
cp_kill() {
  local pid="$1" i
  kill -TERM "$pid" 2>/dev/null || return 0
  for i in $(seq 1 20); do
    kill -0 "$pid" 2>/dev/null || { wait "$pid" 2>/dev/null || true; return 0; }
    sleep 0.5
  done
  kill -KILL "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
}

cp_stop() {
  local status=$? i
  for ((i = ${#CP_PIDS[@]} - 1; i >= 0; i--)); do cp_kill "${CP_PIDS[i]}"; done
  CP_PIDS=()
  if [[ -n "${CP_DIR:-}" && -d "$CP_DIR" ]]; then
    if [[ "$status" != 0 ]]; then
      local log
      for log in "$CP_DIR"/logs/*.log; do
        [[ -f "$log" ]] || continue
        echo "---- last lines of $(basename "$log") ----" >&2
        tail -n 25 "$log" >&2
      done
    fi
    if [[ "${PLATOON_E2E_KEEP:-0}" == 1 ]]; then
      cp_log "kept $CP_DIR"
    else
      rm -rf "$CP_DIR"
    fi
  fi
  return "$status"
}

kubectl() { "$PLATOON_K8S_BIN/kubectl" --kubeconfig "$CP_DIR/admin.kubeconfig" "$@"; }

cp_start() {
  if [[ -z "${PLATOON_K8S_BIN:-}" ]]; then
    PLATOON_K8S_BIN="$(bash "$CP_HERE/build-k8s.sh")" || return 1
  fi
  export PLATOON_K8S_BIN
  local etcd="${PLATOON_ETCD:-}"
  [[ -z "$etcd" && -x "$PLATOON_K8S_BIN/etcd" ]] && etcd="$PLATOON_K8S_BIN/etcd"
  [[ -z "$etcd" ]] && etcd="$(command -v etcd || true)"
  [[ -x "$etcd" ]] || { cp_log "etcd not found (install Debian's etcd-server or set PLATOON_ETCD)"; return 1; }
  local tool
  for tool in kube-apiserver kube-scheduler kubectl; do
    [[ -x "$PLATOON_K8S_BIN/$tool" ]] || { cp_log "$PLATOON_K8S_BIN/$tool missing"; return 1; }
  done

  CP_DIR="$(mktemp -d "${TMPDIR:-/tmp}/platoon-e2e.XXXXXX")"
  export CP_DIR
  mkdir -p "$CP_DIR/logs"
  trap cp_stop EXIT
  trap 'exit 130' INT TERM
  local t0; t0=$(date +%s)
  cp_pki

  local etcd_port etcd_peer api_port
  etcd_port="$(cp_free_port)"; etcd_peer="$(cp_free_port)"; api_port="$(cp_free_port)"
  "$etcd" --name e2e --data-dir "$CP_DIR/etcd" \
    --listen-client-urls "http://127.0.0.1:$etcd_port" --advertise-client-urls "http://127.0.0.1:$etcd_port" \
    --listen-peer-urls "http://127.0.0.1:$etcd_peer" --initial-advertise-peer-urls "http://127.0.0.1:$etcd_peer" \
    --initial-cluster "e2e=http://127.0.0.1:$etcd_peer" \
    --quota-backend-bytes 1073741824 \
    >"$CP_DIR/logs/etcd.log" 2>&1 &
  CP_PIDS+=($!)
  if ! cp_wait_for "$CP_WAIT" curl -sf "http://127.0.0.1:$etcd_port/health"; then
    cp_log "etcd did not become healthy in ${CP_WAIT}s"; return 1
  fi
  cp_log "etcd $("$etcd" --version | awk 'NR==1 {print $3}') up on 127.0.0.1:$etcd_port"

  CP_SERVER="https://127.0.0.1:$api_port"
  export CP_SERVER
  # ServiceAccount admission is off: no kube-controller-manager creates the `default` accounts here.
  "$PLATOON_K8S_BIN/kube-apiserver" \
    --etcd-servers "http://127.0.0.1:$etcd_port" \
    --bind-address 127.0.0.1 --advertise-address 127.0.0.1 --secure-port "$api_port" \
    --cert-dir "$CP_DIR/pki" \
    --tls-cert-file "$CP_DIR/pki/apiserver.crt" --tls-private-key-file "$CP_DIR/pki/apiserver.key" \
    --client-ca-file "$CP_DIR/pki/ca.crt" \
    --requestheader-client-ca-file "$CP_DIR/pki/front-proxy-ca.crt" \
    --requestheader-allowed-names front-proxy-client \
    --requestheader-username-headers X-Remote-User --requestheader-group-headers X-Remote-Group \
    --requestheader-extra-headers-prefix X-Remote-Extra- \
    --service-account-issuer https://kubernetes.default.svc.cluster.local \
    --service-account-key-file "$CP_DIR/pki/sa.pub" \
    --service-account-signing-key-file "$CP_DIR/pki/sa.key" \
    --service-cluster-ip-range 10.0.0.0/24 \
    --authorization-mode RBAC \
    --disable-admission-plugins ServiceAccount \
    --enable-priority-and-fairness=false \
    --profiling=false \
    --endpoint-reconciler-type none \
    >"$CP_DIR/logs/kube-apiserver.log" 2>&1 &
  CP_PIDS+=($!)
  if ! cp_wait_for "$CP_WAIT" cp_ready; then
    cp_log "kube-apiserver not ready in ${CP_WAIT}s: $(cp_curl '/readyz?verbose' 2>&1 | grep -v '\[+\]' | head -20)"
    return 1
  fi
  cp_kubeconfig "$CP_DIR/admin.kubeconfig" admin
  cp_kubeconfig "$CP_DIR/scheduler.kubeconfig" scheduler
  export KUBECONFIG="$CP_DIR/admin.kubeconfig"
  cp_log "kube-apiserver $("$PLATOON_K8S_BIN/kube-apiserver" --version | awk '{print $2}') ready at $CP_SERVER in $(($(date +%s) - t0))s (dir $CP_DIR)"
}

# Prints a field of CONFIG's top-level leaderElection block: cp_leader_field FIELD CONFIG
cp_leader_field() {
  awk -v key="$1:" '/^leaderElection:/ {in_le = 1; next} /^[^ ]/ {in_le = 0}
    in_le && $1 == key {print $2}' "$2"
}

# Starts kube-scheduler with a copy of CONFIG whose clientConnection and leaderElection are replaced
# to point at this control plane (leader election stays on, as in production, on CONFIG's lease with
# short timings).
# cp_start_scheduler CONFIG [NAME] [KUBECONFIG]; waits for /healthz and leadership.
# CP_SCHEDULER_QPS / CP_SCHEDULER_BURST, when set, become its clientConnection qps and burst.
cp_start_scheduler() {
  local config="$1" name="${2:-kube-scheduler}" kubeconfig="${3:-$CP_DIR/scheduler.kubeconfig}"
  local port; port="$(cp_free_port)"
  local copy="$CP_DIR/$name.config.yaml"
  # Drop the top-level clientConnection/leaderElection blocks, keep everything else verbatim.
  awk '/^[^ #]/ { skip = ($1 == "clientConnection:" || $1 == "leaderElection:") } !skip' "$config" >"$copy"
  local lease lease_ns
  lease="$(cp_leader_field resourceName "$config")"; lease_ns="$(cp_leader_field resourceNamespace "$config")"
  cat >>"$copy" <<EOF
clientConnection:
  kubeconfig: $kubeconfig${CP_SCHEDULER_QPS:+
  qps: $CP_SCHEDULER_QPS}${CP_SCHEDULER_BURST:+
  burst: $CP_SCHEDULER_BURST}
leaderElection:
  leaderElect: true
  resourceNamespace: ${lease_ns:-kube-system}
  resourceName: ${lease:-kube-scheduler}
  leaseDuration: 6s
  renewDeadline: 4s
  retryPeriod: 1s
EOF
  "$PLATOON_K8S_BIN/kube-scheduler" --config "$copy" \
    --bind-address 127.0.0.1 --secure-port "$port" \
    --authentication-kubeconfig "$kubeconfig" --authorization-kubeconfig "$kubeconfig" \
    --v "${PLATOON_E2E_SCHEDULER_V:-2}" \
    >>"$CP_DIR/logs/$name.log" 2>&1 &
  local pid=$!
  CP_PIDS+=("$pid")
  CP_NAMED_PIDS[$name]="$pid"
  if ! cp_wait_for "$CP_WAIT" curl -skf "https://127.0.0.1:$port/healthz"; then
    cp_log "$name not healthy in ${CP_WAIT}s"; return 1
  fi
  if ! cp_wait_for "$CP_WAIT" grep -qi "successfully acquired lease" "$CP_DIR/logs/$name.log"; then
    cp_log "$name did not acquire its lease in ${CP_WAIT}s"; return 1
  fi
  cp_log "$name (pid $pid) leading, healthz on 127.0.0.1:$port"
}

cp_stop_process() { cp_stop_scheduler "$@"; }

# Kills a named process with SIGKILL, no grace period (a crash): cp_crash_process NAME
cp_crash_process() {
  local pid="${CP_NAMED_PIDS[$1]:-}"
  [[ -n "$pid" ]] || return 0
  kill -KILL "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  cp_stop_scheduler "$1"
}
cp_stop_scheduler() {
  local name="${1:-kube-scheduler}" pid="${CP_NAMED_PIDS[${1:-kube-scheduler}]:-}"
  [[ -n "$pid" ]] || return 0
  cp_kill "$pid"
  unset "CP_NAMED_PIDS[$name]"
  local kept=() p
  for p in "${CP_PIDS[@]}"; do [[ "$p" == "$pid" ]] || kept+=("$p"); done
  CP_PIDS=("${kept[@]}")
}

# Writes deploy/'s KubeSchedulerConfiguration (from the platoon-scheduler-config ConfigMap) to OUT with
# the extender moved to 127.0.0.1:PORT: cp_platoon_scheduler_config PORT OUT
cp_platoon_scheduler_config() {
  "$CP_PY" - "$CP_HERE/../../deploy/manifests/scheduler-config.yaml" "$1" >"$2" <<'EOF'
import sys, yaml
config_map = yaml.safe_load(open(sys.argv[1]))
text = config_map["data"]["kube-scheduler-config.yaml"]
assert "http://127.0.0.1:8888/" in text, "extender urlPrefix not found"
sys.stdout.write(text.replace("http://127.0.0.1:8888/", f"http://127.0.0.1:{sys.argv[2]}/"))
EOF
}

# Starts any process under the harness (stopped on exit, log in $CP_DIR/logs/NAME.log) and waits until
# READY_URL answers 2xx: cp_start_process NAME READY_URL COMMAND [ARGS...]   (READY_URL "-" = no wait)
cp_start_process() {
  local name="$1" url="$2"; shift 2
  "$@" >>"$CP_DIR/logs/$name.log" 2>&1 &
  local pid=$!
  CP_PIDS+=("$pid")
  CP_NAMED_PIDS[$name]="$pid"
  if [[ "$url" != - ]] && ! cp_wait_for "$CP_WAIT" curl -sf "$url"; then
    cp_log "$name not ready at $url in ${CP_WAIT}s"; return 1
  fi
  cp_log "$name (pid $pid) started"
}

# Writes a kubeconfig authenticating as a ServiceAccount (TokenRequest API):
# cp_sa_kubeconfig NAMESPACE NAME FILE
cp_sa_kubeconfig() {
  local token
  token="$(kubectl create token "$2" --namespace "$1" --duration 2h)" || return 1
  cp_kubeconfig "$3" - "$token"
}

# Creates a Node object (no kubelet behind it) with capacity = allocatable and extra labels:
# cp_create_node NAME CPU MEMORY GPUS [LABEL=VALUE ...]
cp_create_node() {
  local name="$1" cpu="$2" memory="$3" gpus="$4"; shift 4
  local labels="\"kubernetes.io/hostname\": \"$name\"" kv
  for kv in "$@"; do labels+=", \"${kv%%=*}\": \"${kv#*=}\""; done
  local resources="{\"cpu\": \"$cpu\", \"memory\": \"$memory\", \"pods\": \"110\", \"nvidia.com/gpu\": \"$gpus\"}"
  kubectl create -f - >/dev/null <<EOF
{"apiVersion": "v1", "kind": "Node",
 "metadata": {"name": "$name", "labels": {$labels}},
 "spec": {},
 "status": {"capacity": $resources, "allocatable": $resources,
            "conditions": [{"type": "Ready", "status": "True", "reason": "KubeletReady",
                            "message": "e2e node without a kubelet"}]}}
EOF
  # The TaintNodesByCondition admission plugin adds node.kubernetes.io/not-ready on creation; with no
  # node lifecycle controller here, take it off as that controller would for a Ready node.
  kubectl patch node "$name" --type merge -p '{"spec": {"taints": null}}' >/dev/null
}

# Marks a pod finished as its kubelet would (no kubelets here): cp_finish_pod NAMESPACE POD [PHASE]
# PHASE is Succeeded (default) or Failed; schedulers then stop counting the pod's requests.
cp_finish_pod() {
  local ns="$1" pod="$2" phase="${3:-Succeeded}"
  kubectl patch pod "$pod" -n "$ns" --subresource status --type merge \
    -p "{\"status\": {\"phase\": \"$phase\"}}" >/dev/null
}

# Waits until a pod is bound and prints its node: cp_wait_bound NAMESPACE POD [SECONDS]
cp_wait_bound() {
  local ns="$1" pod="$2" limit="${3:-$CP_WAIT}" node=""
  local deadline=$(( $(date +%s) + limit ))
  while (( $(date +%s) < deadline )); do
    node="$(kubectl get pod "$pod" -n "$ns" -o jsonpath='{.spec.nodeName}' 2>/dev/null || true)"
    [[ -n "$node" ]] && { echo "$node"; return 0; }
    sleep 0.5
  done
  return 1
}

# Waits until the scheduler has reported a pod unschedulable and prints the condition's message:
# cp_wait_unschedulable NAMESPACE POD [SECONDS]
cp_wait_unschedulable() {
  local ns="$1" pod="$2" limit="${3:-$CP_WAIT}" got=""
  local deadline=$(( $(date +%s) + limit ))
  local path='{.status.conditions[?(@.type=="PodScheduled")].reason}|{.status.conditions[?(@.type=="PodScheduled")].message}'
  while (( $(date +%s) < deadline )); do
    got="$(kubectl get pod "$pod" -n "$ns" -o jsonpath="$path" 2>/dev/null || true)"
    [[ "$got" == Unschedulable\|* || "$got" == SchedulerError\|* ]] && { echo "${got#*|}"; return 0; }
    sleep 0.5
  done
  return 1
}

if [[ "${BASH_SOURCE[0]}" == "$0" ]]; then
  set -euo pipefail
  cp_start
  trap 'exit 0' INT TERM
  echo "export KUBECONFIG=$KUBECONFIG   # kubectl: $PLATOON_K8S_BIN/kubectl; Ctrl-C stops everything"
  while sleep 3600; do :; done
fi
