#!/usr/bin/env bash
# Live mode, scenarios (d) and (e): restarts in the middle of a gang's binding lose nothing.
# (d) platoon is SIGKILLed while 7 members of an 8 x 4-GPU gang wait at its co-bind barrier (the 8th
#     is held by a scheduling gate) and started again: it rebuilds its state from the API server (an
#     earlier gang's bound pods and their platoon.dev/devices annotations); once the gate is lifted
#     the gang ends fully bound with no GPU given twice and the earlier gang untouched.
# (e) the same with kube-scheduler SIGKILLed while 3 members of a 4-member gang wait at the barrier
#     and started again (a new leader after the old lease expires).
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$HERE/control-plane.sh"
source "$HERE/live-lib.sh"

LIVE_BARRIER=25s live_setup
live_nodes 8
kubectl create namespace team >/dev/null
live_start_platoon
live_start_scheduler

# A first gang, bound before any restart: 4 x 4 GPUs. Its devices must be remembered across restarts.
live_podgroup team early 4
early=(); for i in 0 1 2 3; do early+=("early-$i"); live_pod team "early-$i" early 4; done
live_wait_all_bound team 60 "${early[@]}" >/dev/null || fail "gang early did not bind"
early_devices="$(kubectl get pods -n team "${early[@]}" -o jsonpath='{range .items[*]}{.metadata.name}={.spec.nodeName}:{.metadata.annotations.platoon\.dev/devices} {end}')"

# Waits until platoon's log (from line $2 on) says gang $1 was admitted.
wait_admitted() {
  local gang="$1" from="$2" deadline=$(( $(date +%s) + 60 ))
  until tail -n +"$from" "$CP_DIR/logs/platoon.log" | grep -q "gang status\" gang=team/$gang condition=Admitted"; do
    (( $(date +%s) < deadline )) || return 1
    sleep 0.05
  done
}
# A gang whose last member carries a scheduling gate: platoon admits the whole gang (the gate is
# kube-scheduler's business), kube-scheduler sends every other member to bind, and they wait at
# platoon's co-bind barrier for the gated one. That is the moment each restart below hits.
# gated_gang GANG PREFIX COUNT GPUS
gated_gang() {
  local gang="$1" prefix="$2" count="$3" gpus="$4" i last=$(( $3 - 1 ))
  live_podgroup team "$gang" "$count"
  for ((i = 0; i < last; i++)); do live_pod team "$prefix-$i" "$gang" "$gpus"; done
  kubectl create -n team -f - >/dev/null <<EOF
{"apiVersion": "v1", "kind": "Pod",
 "metadata": {"name": "$prefix-$last", "labels": {"scheduling.x-k8s.io/pod-group": "$gang"}},
 "spec": {"schedulerName": "platoon", "restartPolicy": "Never", "schedulingGates": [{"name": "e2e.platoon.dev/hold"}],
          "containers": [{"name": "main", "image": "registry.k8s.io/pause:3.10",
                          "resources": {"requests": {"cpu": "1", "nvidia.com/gpu": "$gpus"},
                                        "limits": {"cpu": "1", "nvidia.com/gpu": "$gpus"}}}]}}
EOF
}
release_gate() { kubectl patch pod "$1" -n team --type json -p '[{"op": "remove", "path": "/spec/schedulingGates"}]' >/dev/null; }

# --- (d) platoon crashes mid-gang ------------------------------------------------------------------
pods_d=(); for i in $(seq 0 7); do pods_d+=("d-$i"); done
from=$(( $(wc -l <"$CP_DIR/logs/platoon.log") + 1 ))
gated_gang gang-d d 8 4
wait_admitted gang-d "$from" || fail "gang-d was never admitted"
sleep 3  # seven binds reach the barrier
[[ "$(live_count_bound team "${pods_d[@]}")" == 0 ]] || fail "members of gang-d were bound before the whole gang reached bind"
live_crash_platoon
pass "7 of gang-d's 8 members wait at the barrier, none bound: platoon killed"
start=$(date +%s)
live_start_platoon
release_gate d-7
bound="$(live_wait_all_bound team 90 "${pods_d[@]}")" || fail "gang-d did not finish binding after platoon's restart ($(live_count_bound team "${pods_d[@]}") of 8)"
live_check_devices team "${early[@]}" "${pods_d[@]}"
now_devices="$(kubectl get pods -n team "${early[@]}" -o jsonpath='{range .items[*]}{.metadata.name}={.spec.nodeName}:{.metadata.annotations.platoon\.dev/devices} {end}')"
[[ "$now_devices" == "$early_devices" ]] || fail "gang early changed: '$early_devices' -> '$now_devices'"
grep -q "synced with the API server.*pods=12 gangs=2 running=1" "$CP_DIR/logs/platoon.log" \
  || fail "the restarted platoon did not rebuild gang early (running) and gang-d's 8 pending pods"
pass "platoon restarted: gang-d fully bound $(($(date +%s) - start))s later, gang early's devices kept, no GPU twice"

# --- (e) kube-scheduler crashes mid-gang -----------------------------------------------------------
for pod in "${early[@]}"; do cp_finish_pod team "$pod"; done
pods_e=(); for i in 0 1 2 3; do pods_e+=("e-$i"); done
from=$(( $(wc -l <"$CP_DIR/logs/platoon.log") + 1 ))
gated_gang gang-e e 4 4
wait_admitted gang-e "$from" || fail "gang-e was never admitted"
sleep 3
[[ "$(live_count_bound team "${pods_e[@]}")" == 0 ]] || fail "members of gang-e were bound before the whole gang reached bind"
live_crash_scheduler
pass "3 of gang-e's 4 members wait at the barrier, none bound: kube-scheduler killed"
start=$(date +%s)
live_start_scheduler
release_gate e-3
live_wait_all_bound team 90 "${pods_e[@]}" >/dev/null || fail "gang-e did not finish binding after kube-scheduler's restart ($(live_count_bound team "${pods_e[@]}") of 4)"
live_check_devices team "${pods_d[@]}" "${pods_e[@]}"
pass "kube-scheduler restarted: gang-e fully bound $(($(date +%s) - start))s later, no GPU twice"

# --- a gang half bound when platoon died -----------------------------------------------------------
# platoon died; two of a 4 x 2-GPU gang are bound to node spare-1 with GPUs 4-7 (as if platoon
# had posted those Bindings just before dying). Restarted, platoon must count GPUs 4-7 of spare-1 as
# taken, from the annotations (choosing afresh would pick GPUs 0-3 for them), and complete the gang
# there with GPUs 0-3.
live_crash_platoon
cp_create_node spare-1 64 512Gi 8 nvidia.com/gpu.product=NVIDIA-H100-80GB-HBM3
live_podgroup team gang-f 4
for i in 0 1 2 3; do
  kubectl create -n team -f - >/dev/null <<JSON
{"apiVersion": "v1", "kind": "Pod",
 "metadata": {"name": "f-$i", "labels": {"scheduling.x-k8s.io/pod-group": "gang-f"}},
 "spec": {"schedulerName": "platoon", "restartPolicy": "Never", "nodeSelector": {"kubernetes.io/hostname": "spare-1"},
          "containers": [{"name": "main", "image": "registry.k8s.io/pause:3.10",
                          "resources": {"requests": {"cpu": "1", "nvidia.com/gpu": "2"},
                                        "limits": {"cpu": "1", "nvidia.com/gpu": "2"}}}]}}
JSON
done
for pair in f-0:4,5 f-1:6,7; do
  cp_curl "/api/v1/namespaces/team/pods/${pair%%:*}/binding" -X POST -H 'Content-Type: application/json' -o /dev/null \
    -w '%{http_code}' -d "{\"apiVersion\": \"v1\", \"kind\": \"Binding\",
      \"metadata\": {\"name\": \"${pair%%:*}\", \"annotations\": {\"platoon.dev/devices\": \"gpus=${pair#*:}\"}},
      \"target\": {\"apiVersion\": \"v1\", \"kind\": \"Node\", \"name\": \"spare-1\"}}" | grep -q 201 \
    || fail "could not bind ${pair%%:*} by hand"
done
start=$(date +%s)
live_start_platoon
live_wait_all_bound team 60 f-0 f-1 f-2 f-3 >/dev/null || fail "the half-bound gang-f was not completed after the restart"
for pod in f-2 f-3; do
  ann="$(kubectl get pod "$pod" -n team -o jsonpath='{.spec.nodeName} {.metadata.annotations.platoon\.dev/devices}')"
  [[ "$ann" == "spare-1 gpus=0,1"* || "$ann" == "spare-1 gpus=2,3"* ]] || fail "$pod got '$ann', not GPUs 0-3 of spare-1"
done
live_check_devices team f-0 f-1 f-2 f-3
pass "a gang half bound before platoon's restart is completed on the free GPUs 0-3 of spare-1 ($(($(date +%s) - start))s)"
