#!/usr/bin/env bash
# Live mode: NUMA layouts from NodeResourceTopology objects (topology.node.k8s.io/v1alpha2, as NFD's
# topology-updater publishes them). With the CRD installed platoon lists and watches them under
# deploy/'s RBAC; a pod's GPUs come from one NUMA zone of its node; an updated object changes the
# layout for the next placement; a deleted one falls back to the node's labels (one NUMA node).
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$HERE/control-plane.sh"
source "$HERE/live-lib.sh"

live_setup
kubectl apply -f "$HERE/manifests/noderesourcetopology-crd.yaml" >/dev/null
kubectl wait --for condition=Established --timeout "${CP_WAIT}s" crd/noderesourcetopologies.topology.node.k8s.io >/dev/null
live_nodes 1
kubectl create namespace team >/dev/null

# nrt_apply NODE GPUS_IN_ZONE_0 GPUS_IN_ZONE_1: two NUMA zones of 32 CPUs.
nrt_apply() {
  kubectl apply -f - >/dev/null <<JSON
{"apiVersion": "topology.node.k8s.io/v1alpha2", "kind": "NodeResourceTopology", "metadata": {"name": "$1"},
 "attributes": [{"name": "topologyManagerPolicy", "value": "single-numa-node"}],
 "zones": [
  {"name": "node-0", "type": "Node", "costs": [{"name": "node-0", "value": 10}, {"name": "node-1", "value": 20}],
   "resources": [{"name": "cpu", "capacity": "32", "allocatable": "32", "available": "32"},
                 {"name": "nvidia.com/gpu", "capacity": "$2", "allocatable": "$2", "available": "$2"}]},
  {"name": "node-1", "type": "Node", "costs": [{"name": "node-0", "value": 20}, {"name": "node-1", "value": 10}],
   "resources": [{"name": "cpu", "capacity": "32", "allocatable": "32", "available": "32"},
                 {"name": "nvidia.com/gpu", "capacity": "$3", "allocatable": "$3", "available": "$3"}]}]}
JSON
}
# wait_log COUNT PATTERN: until platoon's log holds COUNT lines matching PATTERN.
wait_log() {
  local deadline=$(( $(date +%s) + 20 ))
  until (( $(grep -c -E "$2" "$CP_DIR/logs/platoon.log" || true) >= $1 )); do
    (( $(date +%s) < deadline )) || fail "platoon never logged '$2' ($1 times)"
    sleep 0.3
  done
}
# place POD: a 4-GPU pod, bound; prints its device annotation.
place() {
  live_pod team "$1" - 4
  cp_wait_bound team "$1" 30 >/dev/null || fail "pod $1 did not bind"
  kubectl get pod "$1" -n team -o jsonpath='{.metadata.annotations.platoon\.dev/devices}'
}

nrt_apply gpu-1 2 6  # before platoon starts: found by its first list
live_start_platoon
live_start_scheduler
wait_log 1 'NUMA layout from NodeResourceTopology.*node=gpu-1 zones=node-0:32cpu/2gpu,node-1:32cpu/6gpu'
ann="$(place a)"
[[ "$ann" == "gpus=2,3,4,5;numa=1"* ]] || fail "pod a should take 4 GPUs of zone node-1 (GPUs 2-7), has '$ann'"
pass "zones of 2 and 6 GPUs: a 4-GPU pod takes GPUs 2-5, all on NUMA node 1 ($ann)"

cp_finish_pod team a
nrt_apply gpu-1 1 7  # a watched update
wait_log 1 'zones=node-0:32cpu/1gpu,node-1:32cpu/7gpu'
ann="$(place b)"
[[ "$ann" == "gpus=1,2,3,4;numa=1"* ]] || fail "pod b should take 4 GPUs of zone node-1 (GPUs 1-7), has '$ann'"
pass "the object updated to zones of 1 and 7 GPUs: the next pod takes GPUs 1-4 ($ann)"

cp_finish_pod team b
kubectl delete noderesourcetopology gpu-1 >/dev/null
wait_log 1 'NodeResourceTopology deleted.*node=gpu-1'
ann="$(place c)"
[[ "$ann" == "gpus=0,1,2,3"* ]] || fail "pod c should take GPUs 0-3 once the object is gone, has '$ann'"
pass "the object deleted: the node's labels give one NUMA node and pod c takes GPUs 0-3 ($ann)"
live_check_devices team c

metrics="$(curl -sf "http://127.0.0.1:$LIVE_METRICS/metrics")"
grep -q '^platoon_watch_total{kind="noderesourcetopologies",outcome="listed"} 1' <<<"$metrics" \
  || fail "platoon_watch_total lacks the one noderesourcetopologies list"
! grep -E 'level=(warn|error).*(NodeResourceTopology|forbidden)' "$CP_DIR/logs/platoon.log" >&2 \
  || fail "platoon warned about NodeResourceTopology or was forbidden (lines above)"
pass "listed once and watched under deploy/'s RBAC, no warnings"
