#!/usr/bin/env bash
# Live mode, scenario (f): two ClusterQueues in one cohort borrow and reclaim, with quota from Kueue
# manifests in platoon's quota file (re-read when it changes). 4 nodes x 8 GPUs; team-a and team-b
# each own 16 GPUs of cohort `research`.
# 1. team-b may not borrow yet (borrowingLimit 0): its 4 x 8-GPU gang (32 GPUs) waits for quota.
#    A broken quota file is refused and the old quota kept.
# 2. The file is changed to borrowingLimit 16: platoon re-reads it and the gang is admitted by
#    borrowing team-a's idle 16 GPUs; all 4 pods bind.
# 3. team-a submits a 2 x 8-GPU gang within its nominal quota: it reclaims its share by preempting
#    team-b's borrowing gang (whole: all 4 pods evicted) and binds.
# 4. team-b's next 2 x 8-GPU gang fits its own nominal quota and binds on the other two nodes.
# Pods name their queue with kueue.x-k8s.io/queue-name; LocalQueues are in the quota file.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$HERE/control-plane.sh"
source "$HERE/live-lib.sh"

quota() { # quota TEAM_B_BORROWING_LIMIT > file
  cat <<EOF
apiVersion: kueue.x-k8s.io/v1beta1
kind: ResourceFlavor
metadata: {name: h100}
spec:
  nodeLabels: {nvidia.com/gpu.product: NVIDIA-H100-80GB-HBM3}
EOF
  local team limit
  for team in team-a team-b; do
    limit=16
    [[ "$team" == team-b ]] && limit="$1"
    cat <<EOF
---
apiVersion: kueue.x-k8s.io/v1beta1
kind: ClusterQueue
metadata: {name: $team}
spec:
  cohort: research
  namespaceSelector: {matchLabels: {e2e.platoon.dev/team: $team}}
  preemption:
    reclaimWithinCohort: Any
    withinClusterQueue: LowerPriority
  resourceGroups:
  - coveredResources: [cpu, memory, nvidia.com/gpu]
    flavors:
    - name: h100
      resources:
      - {name: cpu, nominalQuota: 128}
      - {name: memory, nominalQuota: 1Ti}
      - {name: nvidia.com/gpu, nominalQuota: 16, borrowingLimit: $limit}
---
apiVersion: kueue.x-k8s.io/v1beta1
kind: LocalQueue
metadata: {name: training, namespace: $team}
spec: {clusterQueue: $team}
EOF
  done
}
replace_quota() { cat >"$CP_DIR/quota.yaml.new"; mv "$CP_DIR/quota.yaml.new" "$CP_DIR/quota.yaml"; }
pending_reason() { # pending_reason GANG
  curl -sf "http://127.0.0.1:$LIVE_METRICS/debug/pending" | "$CP_PY" -c '
import json, sys
for q in json.load(sys.stdin)["queues"]:
    for g in q["gangs"]:
        if g["gang"] == sys.argv[1]:
            print(q["clusterQueue"] + ": " + g["reason"])' "$1"
}

live_setup
quota 0 >"$CP_DIR/quota.yaml"
live_write_config "$CP_DIR/quota.yaml"
live_nodes 4
kubectl create namespace team-a >/dev/null
kubectl create namespace team-b >/dev/null
# Each ClusterQueue admits only its team's namespaces (by label), so platoon must know namespace labels.
kubectl label namespace team-a e2e.platoon.dev/team=team-a >/dev/null
kubectl label namespace team-b e2e.platoon.dev/team=team-b >/dev/null
live_start_platoon
live_start_scheduler

# --- 1 ------------------------------------------------------------------------------------------------
live_podgroup team-b big 4
big=(); for i in 0 1 2 3; do big+=("big-$i"); live_pod team-b "big-$i" big 8 "" training; done
reason=""
for _ in $(seq 1 40); do
  reason="$(pending_reason team-b/big)"
  [[ "$reason" == team-b:*quota* ]] && break
  sleep 0.5
done
[[ "$reason" == team-b:*quota* ]] || fail "team-b/big is not waiting for quota in team-b: '$reason'"
[[ "$(live_count_bound team-b "${big[@]}")" == 0 ]] || fail "team-b bound pods beyond its quota"
pass "without borrowing, team-b's 32-GPU gang waits: $reason"
echo "apiVersion: kueue.x-k8s.io/v1beta1
kind: ClusterQueue
metadata: {name: broken}
spec: {resourceGroups: [{coveredResources: [nvidia.com/gpu], flavors: [{name: nope" | replace_quota
deadline=$(( $(date +%s) + 20 ))
until grep -q "keeping the previous quota" "$CP_DIR/logs/platoon.log"; do
  (( $(date +%s) < deadline )) || fail "platoon did not report the broken quota file"
  sleep 0.5
done
[[ "$(pending_reason team-b/big)" == team-b:*quota* ]] || fail "the broken quota file changed platoon's quota"
pass "a broken quota file is refused and the previous quota kept"

# --- 2 ------------------------------------------------------------------------------------------------
start=$(date +%s)
quota 16 | replace_quota
live_wait_all_bound team-b 60 "${big[@]}" >/dev/null || fail "team-b's gang did not bind after borrowing was allowed ($(live_count_bound team-b "${big[@]}") of 4)"
grep -q "Kueue quota reloaded" "$CP_DIR/logs/platoon.log" || fail "platoon did not log the quota reload"
live_check_devices team-b "${big[@]}"
pass "quota file re-read: team-b borrows 16 GPUs from team-a and its 4 x 8-GPU gang binds ($(($(date +%s) - start))s)"

# --- 3 ------------------------------------------------------------------------------------------------
start=$(date +%s)
live_podgroup team-a reclaim 2
live_pod team-a reclaim-0 reclaim 8 "" training
live_pod team-a reclaim-1 reclaim 8 "" training
deadline=$(( $(date +%s) + 60 ))
until [[ "$(live_count_bound team-a reclaim-0 reclaim-1)" == 2 ]]; do
  (( $(date +%s) < deadline )) || fail "team-a's gang did not reclaim its quota"
  live_kubelet_deletes team-b
  sleep 0.5
done
left="$(kubectl get pods -n team-b -o name | wc -l)"
[[ "$left" == 0 ]] || fail "team-b's borrowing gang was not preempted whole ($left pods left)"
live_check_devices team-a reclaim-0 reclaim-1
pass "team-a reclaimed its 16 GPUs: team-b's whole borrowing gang was evicted, team-a's gang bound ($(($(date +%s) - start))s)"

# --- 4 ------------------------------------------------------------------------------------------------
live_podgroup team-b small 2
live_pod team-b small-0 small 8 "" training
live_pod team-b small-1 small 8 "" training
live_wait_all_bound team-b 60 small-0 small-1 >/dev/null || fail "team-b's gang within its nominal quota did not bind"
a_nodes="$(kubectl get pods -n team-a -o jsonpath='{.items[*].spec.nodeName}' | tr ' ' '\n' | sort)"
b_nodes="$(kubectl get pods -n team-b -o jsonpath='{.items[*].spec.nodeName}' | tr ' ' '\n' | sort)"
[[ "$(printf '%s\n%s\n' "$a_nodes" "$b_nodes" | sort -u | wc -l)" == 4 ]] || fail "the two teams share a node: a=[$a_nodes] b=[$b_nodes]"
live_check_devices team-b small-0 small-1
pass "team-b's gang within its nominal quota binds beside team-a's: the cluster holds 16 + 16 GPUs"
