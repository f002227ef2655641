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

# Fabric levels reach the engine from a Kueue Topology in the quota files: a gang that requires one
# rack (Kueue's podset-required-topology) does not fit either rack, though the cluster has room.
cat >"$TMP/racks.yaml" <<'YAML'
apiVersion: platoon.dev/v1alpha1
kind: Cluster
nodeSets:
  - namePrefix: r1
    count: 2
    template:
      metadata: {labels: {example.com/rack: r1}}
      status: {allocatable: {cpu: "64", memory: 512Gi, nvidia.com/gpu: 8, pods: 110}}
  - namePrefix: r2
    count: 2
    template:
      metadata: {labels: {example.com/rack: r2}}
      status: {allocatable: {cpu: "64", memory: 512Gi, nvidia.com/gpu: 8, pods: 110}}
podGroups:
  - metadata: {name: big, namespace: ml}
    spec: {minMember: 2}
pods:
  - metadata: {name: busy-1, namespace: ml}
    spec: {nodeName: r1-001, containers: [{name: c, resources: {requests: {nvidia.com/gpu: 4}}}]}
  - metadata: {name: busy-2, namespace: ml}
    spec: {nodeName: r2-001, containers: [{name: c, resources: {requests: {nvidia.com/gpu: 4}}}]}
  - metadata:
      name: big-0
      namespace: ml
      labels: {scheduling.x-k8s.io/pod-group: big}
      annotations: {kueue.x-k8s.io/podset-required-topology: example.com/rack}
    spec: {containers: [{name: c, resources: {requests: {nvidia.com/gpu: 8}}}]}
  - metadata:
      name: big-1
      namespace: ml
      labels: {scheduling.x-k8s.io/pod-group: big}
      annotations: {kueue.x-k8s.io/podset-required-topology: example.com/rack}
    spec: {containers: [{name: c, resources: {requests: {nvidia.com/gpu: 8}}}]}
YAML
cat >"$TMP/topology-kueue.yaml" <<'YAML'
apiVersion: kueue.x-k8s.io/v1beta1
kind: Topology
metadata: {name: default}
spec:
  levels: [{nodeLabel: example.com/rack}, {nodeLabel: kubernetes.io/hostname}]
YAML
printf 'apiVersion: platoon.dev/v1alpha1\nkind: PlatoonConfig\nquota: {kueueFiles: [topology-kueue.yaml]}\n' >"$TMP/racks-config.yaml"
"$PLATOON" check "$TMP/racks-config.yaml" >"$TMP/out" 2>&1 || { cat "$TMP/out"; fail "check of a config with a Kueue Topology failed"; }
grep -q "fabric levels: example.com/rack$" "$TMP/out" || { cat "$TMP/out"; fail "check: no fabric levels from the Kueue Topology"; }
"$PLATOON" explain --config "$TMP/racks-config.yaml" --cluster "$TMP/racks.yaml" >"$TMP/out" 2>&1 || { cat "$TMP/out"; fail "explain failed"; }
grep -q "no example.com/rack can hold all 2 members" "$TMP/out" || { cat "$TMP/out"; fail "explain: the rack level did not reach the engine"; }
grep -q 'msg="fabric levels" levels=example.com/rack' "$TMP/out" || { cat "$TMP/out"; fail "explain: fabric levels not logged"; }
# Without the Topology the engine knows no rack level, and says so.
"$PLATOON" explain --cluster "$TMP/racks.yaml" >"$TMP/out" 2>&1 || { cat "$TMP/out"; fail "explain failed"; }
grep -qF "unknown topology level 'example.com/rack' (known: none)" "$TMP/out" || { cat "$TMP/out"; fail "explain: no unknown-level reason"; }
# A topology file in the config: its racks (domain names from the file) reach the engine.
printf 'apiVersion: platoon.dev/v1alpha1\nkind: PlatoonConfig\ntopology: {file: %s}\n' \
  "$ROOT/config/examples/topology/mixed-on-prem.yaml" >"$TMP/file-config.yaml"
"$PLATOON" check "$TMP/file-config.yaml" >"$TMP/out" 2>&1 || { cat "$TMP/out"; fail "check of a config with a topology file failed"; }
grep -q "fabric levels: spine (platoon.dev/spine) > rack (platoon.dev/rack)" "$TMP/out" || { cat "$TMP/out"; fail "check: no levels from the topology file"; }
grep -q "11 nodes described" "$TMP/out" || { cat "$TMP/out"; fail "check: no node count from the topology file"; }
{
  echo "kind: Cluster"
  echo "nodes:"
  for i in 1 2 3 4; do
    echo "  - {metadata: {name: dgx-a100-$i, labels: {nvidia.com/gpu.product: NVIDIA-A100-SXM4-80GB}}, status: {allocatable: {cpu: '256', memory: 2Ti, nvidia.com/gpu: 8, pods: 110}}}"
  done
  echo "podGroups: [{metadata: {name: wide, namespace: ml}, spec: {minMember: 5}}]"
  echo "pods:"
  for i in 0 1 2 3 4; do
    echo "  - {metadata: {name: wide-$i, namespace: ml, labels: {scheduling.x-k8s.io/pod-group: wide}, annotations: {kueue.x-k8s.io/podset-required-topology: rack}}, spec: {containers: [{name: c, resources: {requests: {nvidia.com/gpu: 8}}}]}}"
  done
} >"$TMP/dgx.yaml"
"$PLATOON" explain --config "$TMP/file-config.yaml" --cluster "$TMP/dgx.yaml" >"$TMP/out" 2>&1 || { cat "$TMP/out"; fail "explain failed"; }
grep -q "no rack can hold all 5 members (8 nvidia.com/gpu each); the largest, rack-a, holds 4" "$TMP/out" || { cat "$TMP/out"; fail "explain: the topology file's racks did not reach the engine"; }
printf 'apiVersion: platoon.dev/v1alpha1\nkind: PlatoonConfig\ntopology: {preset: azure}\n' >"$TMP/bad-topology.yaml"
if "$PLATOON" check "$TMP/bad-topology.yaml" >"$TMP/out" 2>&1; then fail "unknown topology preset accepted"; fi
grep -qF 'bad-topology.yaml:3: topology.preset: unknown topology preset "azure"' "$TMP/out" || { cat "$TMP/out"; fail "bad preset: no file:line"; }
passed=$((passed + 6))

"$PLATOON" --version | grep -q "^platoon " || fail "--version"
if "$PLATOON" frobnicate >/dev/null 2>&1; then fail "unknown command accepted"; fi
if "$PLATOON" serve --listen nonsense >/dev/null 2>&1; then fail "bad --listen accepted"; fi
passed=$((passed + 3))
echo "$passed passed, 0 failed"
