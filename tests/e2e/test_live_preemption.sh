#!/usr/bin/env bash
# Live mode, scenario (c): a high-priority gang preempts one whole lower-priority gang and nothing else.
# 4 nodes x 8 GPUs are full with two 2 x 8-GPU gangs, low (priority 10) and mid (priority 20). A
# high-priority (1000) 2 x 8-GPU gang arrives: platoon evicts both pods of `low` through the Eviction
# API, `mid` keeps running untouched, and `high` binds exactly onto low's two nodes.
# No kubelet runs here: an evicted pod that is bound gets a deletionTimestamp and waits for its
# kubelet (graceful deletion); the test then force-deletes it as the kubelet would once the
# container stopped (live_kubelet_deletes). Unbound pods, or pods in a terminal phase, the API
# server deletes at once. First a PodDisruptionBudget over low's pods makes the evictions fail with
# 429: platoon retries them (and touches nothing else) until the budget is deleted.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$HERE/control-plane.sh"
source "$HERE/live-lib.sh"

live_setup
live_nodes 4
kubectl create namespace jobs >/dev/null
for pc in low:10 mid:20 high:1000; do
  kubectl create priorityclass "${pc%%:*}" --value "${pc#*:}" >/dev/null
done
live_start_platoon
live_start_scheduler
# A standby platoon (as in a second replica, or the old pod of a rollout) whose kube-scheduler does
# not hold the lease: it mirrors the cluster but must never act (no preemption, no eviction).
kubectl create -f - >/dev/null <<EOF
{"apiVersion": "coordination.k8s.io/v1", "kind": "Lease", "metadata": {"name": "platoon-scheduler", "namespace": "default"},
 "spec": {"holderIdentity": "another-pod_6a1f0e2c", "leaseDurationSeconds": 3600}}
EOF
standby_admin="$(cp_free_port)"
cp_start_process standby "http://127.0.0.1:$standby_admin/readyz" "$LIVE_PLATOON" serve \
  --config "$CP_DIR/platoon.yaml" --kubeconfig "$CP_DIR/admin.kubeconfig" --gang-engine \
  --leader-lease default/platoon-scheduler --listen 127.0.0.1:0 --metrics-listen "127.0.0.1:$standby_admin"

for gang in low mid; do
  live_podgroup jobs "$gang" 2
  live_pod jobs "$gang-0" "$gang" 8 "$gang"
  live_pod jobs "$gang-1" "$gang" 8 "$gang"
  live_wait_all_bound jobs 60 "$gang-0" "$gang-1" >/dev/null || fail "gang $gang did not bind"
done
low_nodes="$(kubectl get pods -n jobs low-0 low-1 -o jsonpath='{.items[*].spec.nodeName}' | tr ' ' '\n' | sort | tr '\n' ' ')"
mid_before="$(kubectl get pods -n jobs mid-0 mid-1 -o jsonpath='{range .items[*]}{.metadata.uid}/{.spec.nodeName} {end}')"
live_check_devices jobs low-0 low-1 mid-0 mid-1
pass "gangs low ($low_nodes) and mid fill all 32 GPUs"

# A PodDisruptionBudget covers low's pods. No disruption controller runs here, so its status never
# allows a disruption: every eviction is refused with 429 until the budget is deleted.
# The API server lets evictions of Pending pods ignore budgets, so low's pods are marked Running, as
# their kubelet would.
kubectl label pod -n jobs low-0 low-1 gang=low >/dev/null
cp_finish_pod jobs low-0 Running
cp_finish_pod jobs low-1 Running
kubectl create -n jobs -f - >/dev/null <<EOF
{"apiVersion": "policy/v1", "kind": "PodDisruptionBudget", "metadata": {"name": "low"},
 "spec": {"maxUnavailable": 1, "selector": {"matchLabels": {"gang": "low"}}}}
EOF
start=$(date +%s)
live_podgroup jobs high 2
live_pod jobs high-0 high 8 high
live_pod jobs high-1 high 8 high
deadline=$(( $(date +%s) + 30 ))
until grep -q "eviction blocked by a PodDisruptionBudget; retrying" "$CP_DIR/logs/platoon.log"; do
  (( $(date +%s) < deadline )) || fail "platoon never reported an eviction blocked by the PodDisruptionBudget"
  sleep 0.5
done
sleep 8  # at least one retry (5 s later, on a 1 s tick), still refused
[[ "$(grep -c "eviction blocked by a PodDisruptionBudget" "$CP_DIR/logs/platoon.log")" -ge 3 ]] || fail "blocked evictions are not retried"
[[ -z "$(kubectl get pods -n jobs low-0 low-1 -o jsonpath='{.items[*].metadata.deletionTimestamp}')" ]] \
  || fail "a pod protected by the PodDisruptionBudget is being deleted"
[[ "$(live_count_bound jobs high-0 high-1)" == 0 ]] || fail "the high gang bound while its victims still ran"
pass "evictions refused by the PodDisruptionBudget (429) are retried; nothing else is touched meanwhile"
kubectl delete pdb -n jobs low >/dev/null
# Play the kubelet for evicted pods until the high gang is bound.
deadline=$(( $(date +%s) + 60 ))
until [[ "$(live_count_bound jobs high-0 high-1)" == 2 ]]; do
  (( $(date +%s) < deadline )) || fail "the high-priority gang did not bind (platoon log tail above)"
  live_kubelet_deletes jobs
  sleep 0.5
done
high_nodes="$(kubectl get pods -n jobs high-0 high-1 -o jsonpath='{.items[*].spec.nodeName}' | tr ' ' '\n' | sort | tr '\n' ' ')"
[[ "$high_nodes" == "$low_nodes" ]] || fail "high bound to $high_nodes, expected low's nodes $low_nodes"
for pod in low-0 low-1; do
  kubectl get pod -n jobs "$pod" >/dev/null 2>&1 && fail "$pod of the preempted gang still exists"
done
mid_after="$(kubectl get pods -n jobs mid-0 mid-1 -o jsonpath='{range .items[*]}{.metadata.uid}/{.spec.nodeName} {end}')"
[[ "$mid_after" == "$mid_before" ]] || fail "gang mid was disturbed: before '$mid_before', after '$mid_after'"
[[ -z "$(kubectl get pods -n jobs mid-0 mid-1 -o jsonpath='{.items[*].metadata.deletionTimestamp}')" ]] \
  || fail "a pod of gang mid is being deleted"
live_check_devices jobs high-0 high-1 mid-0 mid-1
pass "high (priority 1000) preempted the whole low gang and nothing else in $(($(date +%s) - start))s; bound to $high_nodes"
events="$(kubectl get events -n jobs --field-selector reason=Preempted -o jsonpath='{range .items[*]}{.involvedObject.kind}/{.involvedObject.name} {end}')"
[[ "$events" == *"Pod/low-0"* && "$events" == *"Pod/low-1"* ]] || fail "no Preempted events on low's pods: $events"
[[ "$events" != *mid* ]] || fail "a Preempted event names gang mid: $events"
grep -q 'evicted pod.*pod=jobs/low-0' "$CP_DIR/logs/platoon.log" || fail "platoon did not log the eviction of jobs/low-0"
pass "Preempted events on low's pods: $events"
grep -q "acting: this pod's kube-scheduler holds the lease" "$CP_DIR/logs/platoon.log" || fail "platoon did not see its kube-scheduler's lease"
grep -q "standing by: the lease is held elsewhere.*holder=another-pod_6a1f0e2c" "$CP_DIR/logs/standby.log" || fail "the standby did not stand by"
! grep -E "evicting gang|gang status" "$CP_DIR/logs/standby.log" >&2 || fail "the standby platoon acted (lines above)"
grep -q "synced with the API server" "$CP_DIR/logs/standby.log" || fail "the standby did not sync"
pass "a standby platoon whose kube-scheduler does not hold the lease mirrors the cluster and never acts"
