#!/usr/bin/env bash
# Live mode, scenario (a) and (b): platoon serve --kubeconfig --gang-engine (deploy/'s RBAC) with
# kube-scheduler (deploy/'s configuration) on a real control plane.
# (a) an 8-member PodGroup of 8-GPU pods on 8 nodes binds all 8, one per node, each with its devices
#     in platoon.dev/devices and no GPU given twice; the PodGroup's status says Scheduled.
# (b) a gang one GPU short (4 x 4 GPUs on 15 free GPUs, each member fitting a node on its own) binds
#     none, and platoon's reason is in kube-scheduler's FailedScheduling event and pod condition.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$HERE/control-plane.sh"
source "$HERE/live-lib.sh"

live_setup
live_nodes 8
kubectl create namespace team >/dev/null
live_start_platoon
grep -q "synced with the API server" "$CP_DIR/logs/platoon.log" || fail "platoon was ready before its first sync"
live_start_scheduler

# --- (a) -------------------------------------------------------------------------------------------
live_podgroup team train 8
pods=(); for i in $(seq 0 7); do pods+=("train-$i"); live_pod team "train-$i" train 8; done
start=$(date +%s)
bound="$(live_wait_all_bound team 60 "${pods[@]}")" || fail "the 8-pod gang did not bind ($(live_count_bound team "${pods[@]}") of 8 bound)"
nodes="$(awk '{print $2}' <<<"$bound" | sort -u | tr '\n' ' ')"
[[ "$nodes" == "gpu-1 gpu-2 gpu-3 gpu-4 gpu-5 gpu-6 gpu-7 gpu-8 " ]] || fail "gang not spread one pod per node: $nodes"
live_check_devices team "${pods[@]}"
for pod in "${pods[@]}"; do
  ann="$(kubectl get pod "$pod" -n team -o jsonpath='{.metadata.annotations.platoon\.dev/devices}')"
  [[ "$ann" == gpus=0,1,2,3,4,5,6,7* ]] || fail "$pod should hold all 8 GPUs of its node, has '$ann'"
done
pass "8-pod gang bound in $(($(date +%s) - start))s, one pod per node, devices annotated, no GPU twice"
phase=""
for _ in $(seq 1 20); do
  phase="$(kubectl get podgroup train -n team -o jsonpath='{.status.phase}')"
  [[ "$phase" == Scheduled ]] && break
  sleep 0.5
done
[[ "$phase" == Scheduled ]] || fail "PodGroup team/train status phase is '$phase', not Scheduled"
pass "PodGroup team/train status: Scheduled"
metrics="$(curl -sf "http://127.0.0.1:$LIVE_METRICS/metrics")"
bindings="$(awk '/^platoon_api_requests_total\{call="binding",code="201"\}/ {print $2}' <<<"$metrics")"
[[ "${bindings%.*}" -ge 8 ]] || fail "platoon_api_requests_total counts ${bindings:-no} 201 Bindings, not 8"
grep -q '^platoon_watch_total{kind="pods",outcome="listed"} 1' <<<"$metrics" || fail "platoon_watch_total lacks the one pods list"
pass "metrics: $bindings Bindings answered 201, one list per kind"

# --- (b) -------------------------------------------------------------------------------------------
# Free two nodes (16 GPUs) and take one GPU there: 15 free. A gang of 4 x 4 GPUs needs 16. Each
# member fits a node on its own (kube-scheduler alone would bind three of them); the gang does not.
freed="$(awk '$1 == "train-0" || $1 == "train-1" {print $2}' <<<"$bound" | sort | tr '\n' ' ')"
cp_finish_pod team train-0
cp_finish_pod team train-1
live_pod team filler - 1
node="$(cp_wait_bound team filler 30)" || fail "the 1-GPU filler pod did not bind"
[[ " $freed" == *" $node "* ]] || fail "the filler went to $node, not to a freed node ($freed)"
live_podgroup team short 4
for i in 0 1 2 3; do live_pod team "short-$i" short 4; done
# The last member to arrive completes the gang, so its attempt meets the capacity check.
msg="$(cp_wait_unschedulable team short-3 30)" || fail "the gang one GPU short was not reported unschedulable"
sleep 3
[[ "$(live_count_bound team short-0 short-1 short-2 short-3)" == 0 ]] || fail "a member of the gang one GPU short was bound"
[[ "$msg" == *"gang team/short"* && "$msg" != *"waiting for"* ]] || fail "short-3's PodScheduled condition lacks platoon's reason: $msg"
events="$(kubectl get events -n team --field-selector involvedObject.name=short-3,reason=FailedScheduling -o jsonpath='{.items[*].message}')"
[[ "$events" == *"gang team/short"* ]] || fail "FailedScheduling event of short-3 does not carry platoon's gang reason: $events"
pending="$(curl -sf "http://127.0.0.1:$LIVE_METRICS/debug/pending")"
[[ "$pending" == *'"gang":"team/short"'* ]] || fail "team/short is not in platoon's pending view: $pending"
pass "a gang one GPU short binds none; kube-scheduler reports: ${msg:0:240}"
live_check_devices team filler

# SIGTERM ends platoon promptly even with kube-scheduler's keep-alive connections open.
t0=$(date +%s)
cp_stop_process platoon
(( $(date +%s) - t0 <= 5 )) || fail "platoon took $(( $(date +%s) - t0 ))s to stop on SIGTERM"
grep -q 'msg="shutting down" signal=SIGTERM' "$CP_DIR/logs/platoon.log" || fail "platoon did not log its shutdown"
pass "platoon stops within $(( $(date +%s) - t0 ))s of SIGTERM"
