#!/usr/bin/env bash
# `platoon check` on every shipped example (exit 0) and on broken files (exit 1, FILE:LINE errors);
# `--help` and `--version` on every command. Usage: check_test.sh PLATOON_BINARY REPO_ROOT
set -euo pipefail
PLATOON="$1"
ROOT="$2"
TMP="$(mktemp -d)"
trap 'rm -rf "$TMP"' EXIT
fail() { echo "FAIL: $*"; exit 1; }
passed=0

for f in "$ROOT"/config/examples/platoon.yaml "$ROOT"/config/examples/cluster.yaml "$ROOT"/config/examples/kueue/*.yaml \
         "$ROOT"/config/examples/topology/*.yaml; do
  "$PLATOON" check "$f" >"$TMP/out" 2>&1 || { cat "$TMP/out"; fail "check rejected shipped example $f"; }
  grep -q "OK" "$TMP/out" || fail "no OK line for $f"
  passed=$((passed + 1))
done

# The deployed PlatoonConfig (ConfigMap and Helm copy) is valid; its quota path points at the example.
sed "s|/etc/platoon/quota/kueue-quota.yaml|$ROOT/config/examples/kueue/gpu-cohorts.yaml|" \
  "$ROOT/deploy/helm/platoon/files/platoon.yaml" >"$TMP/deployed.yaml"
"$PLATOON" check "$TMP/deployed.yaml" >"$TMP/out" 2>&1 || { cat "$TMP/out"; fail "deploy's platoon.yaml rejected"; }
grep -q "Cohort" "$TMP/out" || fail "deployed config's Kueue quota not checked"
passed=$((passed + 1))

expect_error() {  # name, file content, expected substring
  printf '%s' "$2" >"$TMP/bad.yaml"
  if "$PLATOON" check "$TMP/bad.yaml" >"$TMP/out" 2>&1; then fail "$1: accepted"; fi
  grep -qF -- "$3" "$TMP/out" || { cat "$TMP/out"; fail "$1: expected '$3'"; }
  passed=$((passed + 1))
}
expect_error "cluster file bad quantity" $'kind: Node\nmetadata: {name: n}\nstatus:\n  allocatable: {cpu: lots}\n' "bad.yaml:4:"
expect_error "platoon config typo" $'apiVersion: platoon.dev/v1alpha1\nkind: PlatoonConfig\nscorin: {}\n' "bad.yaml:3: scorin: unknown field"
expect_error "kueue unknown flavor" $'apiVersion: kueue.x-k8s.io/v1beta1\nkind: ClusterQueue\nmetadata: {name: q}\nspec:\n  namespaceSelector: {}\n  resourceGroups:\n  - coveredResources: [cpu]\n    flavors:\n    - name: missing\n      resources:\n      - {name: cpu, nominalQuota: 1}\n' "bad.yaml:"
expect_error "topology unknown level" $'apiVersion: platoon.dev/v1alpha1\nkind: Topology\nlevels: [{name: rack, bandwidthGBps: 50}]\ndomains: [{name: r1, level: nope}]\n' "bad.yaml:4"

rm -f "$TMP/bad.yaml"
if "$PLATOON" check "$TMP/absent.yaml" >"$TMP/out" 2>&1; then fail "missing file accepted"; fi
grep -q "cannot read" "$TMP/out" || fail "missing file: no 'cannot read'"

for cmd in "" serve check explain; do
  "$PLATOON" $cmd --help >"$TMP/out" 2>&1 || fail "platoon $cmd --help exited non-zero"
  grep -q "Usage" "$TMP/out" || fail "platoon $cmd --help printed no usage"
  passed=$((passed + 1))
done
# `platoon explain`: a gang that cannot be placed whole and one still collecting members, with reasons.
cat >"$TMP/explain.yaml" <<'YAML'
kind: Cluster
nodes:
  - metadata: {name: gpu-1}
    status: {allocatable: {cpu: "64", memory: 512Gi, nvidia.com/gpu: 8, pods: 110}}
podGroups:
  - metadata: {name: train, namespace: ml}
    spec: {minMember: 3}
  - metadata: {name: big, namespace: ml}
    spec: {minMember: 2}
pods:
  - metadata: {name: train-0, namespace: ml, uid: u1, labels: {scheduling.x-k8s.io/pod-group: train}}
    spec: {containers: [{name: c, resources: {requests: {nvidia.com/gpu: 2}}}]}
  - metadata: {name: big-0, namespace: ml, uid: u2, labels: {scheduling.x-k8s.io/pod-group: big}}
    spec: {containers: [{name: c, resources: {requests: {nvidia.com/gpu: 8}}}]}
  - metadata: {name: big-1, namespace: ml, uid: u3, labels: {scheduling.x-k8s.io/pod-group: big}}
    spec: {containers: [{name: c, resources: {requests: {nvidia.com/gpu: 8}}}]}
YAML
"$PLATOON" explain --cluster "$TMP/explain.yaml" >"$TMP/out" 2>&1 || { cat "$TMP/out"; fail "explain failed"; }
grep -q "1. ml/big \[Queued, 2/2 members" "$TMP/out" || { cat "$TMP/out"; fail "explain: no capacity-blocked gang"; }
grep -q "can hold 1 of the 2 members" "$TMP/out" || { cat "$TMP/out"; fail "explain: no numbers"; }
grep -q "waiting for 2 of 3 members" "$TMP/out" || { cat "$TMP/out"; fail "explain: no collecting gang"; }
if "$PLATOON" explain >/dev/null 2>&1; then fail "explain without a cluster file accepted"; fi
passed=$((passed + 2))

"$PLATOON" --version | grep -q "^platoon " || fail "--version"
if "$PLATOON" frobnicate >/dev/null 2>&1; then fail "unknown command accepted"; fi
if "$PLATOON" serve --listen nonsense >/dev/null 2>&1; then fail "bad --listen accepted"; fi
passed=$((passed + 3))
echo "$passed passed, 0 failed"
