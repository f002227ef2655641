#!/usr/bin/env bash
# Live mode: fabric levels from a Kueue Topology in platoon's quota file. 4 nodes x 8 GPUs in two
# racks (example.com/rack: r1 = gpu-1, gpu-2; r2 = gpu-3, gpu-4); a 4-GPU pod on gpu-1 leaves rack r1
# one whole node. A 2 x 8-GPU gang lands in r2, the only rack that holds it whole, never across the
# racks; a 3 x 8-GPU gang that requires one rack (kueue.x-k8s.io/podset-required-topology) binds
# none and says which rack comes closest, though the cluster has room for it.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$HERE/control-plane.sh"
source "$HERE/live-lib.sh"

live_setup
cat >"$CP_DIR/quota.yaml" <<'YAML'
apiVersion: kueue.x-k8s.io/v1beta1
kind: Topology
metadata: {name: racks}
spec:
  levels:
    - nodeLabel: example.com/rack
    - nodeLabel: kubernetes.io/hostname
YAML
live_write_config "$CP_DIR/quota.yaml"
for i in 1 2 3 4; do
  cp_create_node "gpu-$i" 64 512Gi 8 nvidia.com/gpu.product=NVIDIA-H100-80GB-HBM3 "example.com/rack=r$(( (i + 1) / 2 ))"
done
kubectl create namespace team >/dev/null
live_start_platoon
live_start_scheduler
grep -q 'msg="fabric levels" levels=example.com/rack' "$CP_DIR/logs/platoon.log" || fail "platoon did not log the Kueue Topology's levels"

live_pod team small - 4
node="$(cp_wait_bound team small 30)" || fail "the 4-GPU pod did not bind"
[[ "$node" == gpu-1 || "$node" == gpu-2 || "$node" == gpu-3 || "$node" == gpu-4 ]] || fail "small bound to '$node'"
rack_of() { [[ "$1" == gpu-1 || "$1" == gpu-2 ]] && echo r1 || echo r2; }
busy_rack="$(rack_of "$node")"
live_podgroup team pair 2
live_pod team pair-0 pair 8
live_pod team pair-1 pair 8
bound="$(live_wait_all_bound team 60 pair-0 pair-1)" || fail "the 2 x 8-GPU gang did not bind"
racks="$(awk '{print $2}' <<<"$bound" | while read -r n; do rack_of "$n"; done | sort -u | tr '\n' ' ')"
[[ "$racks" == "$( [[ $busy_rack == r1 ]] && echo r2 || echo r1) " ]] \
  || fail "the gang should fill the rack without the 4-GPU pod ($busy_rack is busy), got: $(tr '\n' ' ' <<<"$bound")"
live_check_devices team small pair-0 pair-1
pass "2 x 8-GPU gang bound within one rack ($racks), beside the 4-GPU pod's rack $busy_rack"

cp_finish_pod team pair-0
cp_finish_pod team pair-1
kubectl create -n team -f - >/dev/null <<'JSON'
{"apiVersion": "scheduling.x-k8s.io/v1alpha1", "kind": "PodGroup", "metadata": {"name": "wide"}, "spec": {"minMember": 3}}
JSON
for i in 0 1 2; do
  kubectl create -n team -f - >/dev/null <<JSON
{"apiVersion": "v1", "kind": "Pod",
 "metadata": {"name": "wide-$i", "labels": {"scheduling.x-k8s.io/pod-group": "wide"},
              "annotations": {"kueue.x-k8s.io/podset-required-topology": "example.com/rack"}},
 "spec": {"schedulerName": "platoon", "restartPolicy": "Never",
          "containers": [{"name": "main", "image": "registry.k8s.io/pause:3.10",
                          "resources": {"requests": {"cpu": "1", "nvidia.com/gpu": "8"}, "limits": {"nvidia.com/gpu": "8"}}}]}}
JSON
done
msg="$(cp_wait_unschedulable team wide-2 30)" || fail "the rack-bound 3 x 8-GPU gang was not reported unschedulable"
sleep 2
[[ "$(live_count_bound team wide-0 wide-1 wide-2)" == 0 ]] || fail "a member of the rack-bound gang was bound"
[[ "$msg" == *"no example.com/rack can hold all 3 members"* ]] || fail "wide-2's condition lacks the rack reason: $msg"
pass "a 3 x 8-GPU gang that requires one rack binds none (3 whole nodes free): ${msg:0:200}"
