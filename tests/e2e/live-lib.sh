#!/usr/bin/env bash
# Shared steps of the live-mode e2e tests (sourced after control-plane.sh): platoon serve --kubeconfig
# --gang-engine under deploy/'s RBAC beside kube-scheduler with deploy/'s KubeSchedulerConfiguration,
# GPU nodes, PodGroups and gang pods, and checks on bindings and device annotations.
#
#   live_setup [QUOTA_FILE]     control plane, deploy/'s namespace, CRD and RBAC, platoon, kube-scheduler
#   live_start_platoon / live_crash_platoon / live_start_scheduler / live_crash_scheduler
#   live_nodes COUNT [PREFIX] [GPUS]     GPU nodes PREFIX-1..COUNT (default gpu, 8 GPUs)
#   live_podgroup NS NAME MIN_MEMBER
#   live_pod NS NAME GROUP GPUS [PRIORITY_CLASS] [QUEUE]   a pod of a PodGroup ("-" for none)
#   live_wait_all_bound NS SECONDS POD...                prints "pod node" lines
#   live_check_devices NS POD...          every pod has platoon.dev/devices; no node GPU given twice
#   live_kubelet_deletes NS               act as the kubelet for pods being deleted (see the function)

LIVE_ROOT="$(cd "$CP_HERE/../.." && pwd)"
LIVE_PLATOON="${PLATOON_BIN:-$LIVE_ROOT/build/scheduler/app/platoon}"

live_write_config() {
  local quota="${1:-}"
  {
    echo "apiVersion: platoon.dev/v1alpha1"
    echo "kind: PlatoonConfig"
    echo "schedulerName: platoon"
    [[ -n "$quota" ]] && echo "quota: {kueueFiles: [$quota]}"
    echo "gang: {bindBarrierTimeout: ${LIVE_BARRIER:-15s}}"
    echo "extender: {urlPrefix: /platoon}"
  } >"$CP_DIR/platoon.yaml"
}

live_start_platoon() {
  cp_start_process platoon "http://127.0.0.1:$LIVE_METRICS/readyz" "$LIVE_PLATOON" serve \
    --config "$CP_DIR/platoon.yaml" --kubeconfig "$CP_DIR/platoon-sa.kubeconfig" --gang-engine \
    --leader-lease platoon-system/platoon-scheduler \
    --listen "127.0.0.1:$LIVE_PORT" --metrics-listen "127.0.0.1:$LIVE_METRICS"
}
live_crash_platoon() { cp_crash_process platoon; }
live_start_scheduler() { cp_start_scheduler "$CP_DIR/sched.yaml" platoon-scheduler "$CP_DIR/platoon-sa.kubeconfig"; }
live_crash_scheduler() { cp_crash_process platoon-scheduler; }

live_setup() {
  [[ -x "$LIVE_PLATOON" ]] || { echo "platoon binary not found at $LIVE_PLATOON (build it, or set PLATOON_BIN)" >&2; return 1; }
  cp_start
  kubectl apply -f "$LIVE_ROOT/deploy/manifests/namespace.yaml" -f "$LIVE_ROOT/deploy/manifests/podgroup-crd.yaml" \
    -f "$LIVE_ROOT/deploy/manifests/rbac.yaml" >/dev/null
  kubectl wait --for condition=Established --timeout "${CP_WAIT}s" crd/podgroups.scheduling.x-k8s.io >/dev/null
  cp_sa_kubeconfig platoon-system platoon "$CP_DIR/platoon-sa.kubeconfig"
  LIVE_PORT="$(cp_free_port)"; LIVE_METRICS="$(cp_free_port)"
  live_write_config "${1:-}"
  cp_platoon_scheduler_config "$LIVE_PORT" "$CP_DIR/sched.yaml"
}

live_nodes() {
  local count="$1" prefix="${2:-gpu}" gpus="${3:-8}" i
  for ((i = 1; i <= count; i++)); do
    cp_create_node "$prefix-$i" 64 512Gi "$gpus" nvidia.com/gpu.product=NVIDIA-H100-80GB-HBM3
  done
}

live_podgroup() {
  kubectl create -n "$1" -f - >/dev/null <<EOF
{"apiVersion": "scheduling.x-k8s.io/v1alpha1", "kind": "PodGroup", "metadata": {"name": "$2"},
 "spec": {"minMember": $3}}
EOF
}

live_pod() {
  local ns="$1" name="$2" group="$3" gpus="$4" pc="${5:-}" queue="${6:-}" labels=""
  [[ "$group" != - ]] && labels="\"scheduling.x-k8s.io/pod-group\": \"$group\""
  if [[ -n "$queue" ]]; then
    [[ -n "$labels" ]] && labels+=", "
    labels+="\"kueue.x-k8s.io/queue-name\": \"$queue\""
  fi
  local priority=""
  [[ -n "$pc" ]] && priority=", \"priorityClassName\": \"$pc\""
  kubectl create -n "$ns" -f - >/dev/null <<EOF
{"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "$name", "labels": {$labels}},
 "spec": {"schedulerName": "platoon", "restartPolicy": "Never"$priority,
          "containers": [{"name": "main", "image": "registry.k8s.io/pause:3.10",
                          "resources": {"requests": {"cpu": "1", "nvidia.com/gpu": "$gpus"},
                                        "limits": {"cpu": "1", "nvidia.com/gpu": "$gpus"}}}]}}
EOF
}

# Waits until every named pod is bound; prints "pod node" per pod. Fails (status 1) at the deadline.
live_wait_all_bound() {
  local ns="$1" limit="$2"; shift 2
  local deadline=$(( $(date +%s) + limit )) pod node out missing
  while :; do
    out=""; missing=0
    for pod in "$@"; do
      node="$(kubectl get pod "$pod" -n "$ns" -o jsonpath='{.spec.nodeName}' 2>/dev/null || true)"
      [[ -z "$node" ]] && { missing=1; break; }
      out+="$pod $node"$'\n'
    done
    (( missing == 0 )) && { printf '%s' "$out"; return 0; }
    (( $(date +%s) < deadline )) || return 1
    sleep 0.5
  done
}

# Number of the named pods that are bound.
live_count_bound() {
  local ns="$1" pod n=0; shift
  for pod in "$@"; do
    [[ -n "$(kubectl get pod "$pod" -n "$ns" -o jsonpath='{.spec.nodeName}' 2>/dev/null || true)" ]] && n=$((n + 1))
  done
  echo "$n"
}

# Every bound pod in NS (or the named ones) carries platoon.dev/devices, and no (node, GPU) pair is
# handed out twice across all bound pods of the cluster.
live_check_devices() {
  local ns="$1"; shift
  local pod ann
  for pod in "$@"; do
    ann="$(kubectl get pod "$pod" -n "$ns" -o jsonpath='{.metadata.annotations.platoon\.dev/devices}')"
    [[ "$ann" == *gpus=* ]] || fail "pod $ns/$pod has no platoon.dev/devices GPU assignment (got '$ann')"
  done
  kubectl get pods -A -o json | "$CP_PY" -c '
import json, sys
seen = {}
for p in json.load(sys.stdin)["items"]:
    node = p["spec"].get("nodeName")
    ann = p["metadata"].get("annotations", {}).get("platoon.dev/devices", "")
    if not node or not ann or p.get("status", {}).get("phase") in ("Succeeded", "Failed"):
        continue
    for part in ann.split(";"):
        if part.startswith("gpus="):
            for gpu in part[5:].split(","):
                key = (node, gpu)
                who = p["metadata"]["namespace"] + "/" + p["metadata"]["name"]
                if key in seen:
                    sys.exit(f"GPU {gpu} of {node} given to both {seen[key]} and {who}")
                seen[key] = who
' || fail "a GPU was double-booked"
}

# No kubelets run here. A bound pod deleted gracefully (an eviction) keeps a deletionTimestamp until
# its kubelet confirms; act as that kubelet: force-delete every pod of NS being deleted.
live_kubelet_deletes() {
  local ns="$1" pod
  for pod in $(kubectl get pods -n "$ns" -o jsonpath='{range .items[?(@.metadata.deletionTimestamp)]}{.metadata.name}{" "}{end}'); do
    kubectl delete pod "$pod" -n "$ns" --grace-period=0 --force >/dev/null 2>&1 || true
  done
}
