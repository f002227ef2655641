#!/usr/bin/env bash
# e2e smoke test of the harness and of deploy/'s scheduler wiring on a real control plane:
# 1. upstream kube-scheduler, authenticated as platoon's ServiceAccount with deploy/'s RBAC, schedules a
#    plain pod onto a kubelet-less Node, reports a too-large pod unschedulable, and reuses a GPU once a
#    pod is marked finished (RBAC suffices for kube-scheduler; Node objects and status patches stand in
#    for kubelets);
# 2. platoon's ServiceAccount may do what platoon needs, and sampled other things not
#    (SubjectAccessReview);
# 3. kube-scheduler accepts deploy/'s KubeSchedulerConfiguration: a GPU pod with schedulerName
#    platoon is sent to the extender URL (nothing listens there, so it stays pending with that error,
#    and DefaultPreemption does not run), while a pod requesting no managed resource is scheduled
#    without the extender.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
source "$HERE/control-plane.sh"

cp_start

# deploy/'s namespace, PodGroup CRD and RBAC, for real.
kubectl apply -f "$ROOT/deploy/manifests/namespace.yaml" -f "$ROOT/deploy/manifests/podgroup-crd.yaml" \
  -f "$ROOT/deploy/manifests/rbac.yaml" >/dev/null
kubectl wait --for condition=Established --timeout "${CP_WAIT}s" crd/podgroups.scheduling.x-k8s.io >/dev/null
kubectl create namespace smoke >/dev/null
cp_create_node gpu-node-1 64 512Gi 8 nvidia.com/gpu.product=NVIDIA-H100-80GB-HBM3
cp_sa_kubeconfig platoon-system platoon "$CP_DIR/platoon-sa.kubeconfig"

# --- 1: default profile, as platoon's ServiceAccount, on deploy/'s lease -------------------------
cat >"$CP_DIR/default-profile.yaml" <<EOF
apiVersion: kubescheduler.config.k8s.io/v1
kind: KubeSchedulerConfiguration
leaderElection:
  leaderElect: true
  resourceNamespace: platoon-system
  resourceName: platoon-scheduler
profiles:
- schedulerName: default-scheduler
EOF
cp_start_scheduler "$CP_DIR/default-profile.yaml" default-scheduler "$CP_DIR/platoon-sa.kubeconfig"

pod() { # pod NAME SCHEDULER CPU GPUS
  local gpu=""
  [[ "$4" != 0 ]] && gpu=", \"nvidia.com/gpu\": \"$4\""
  kubectl create -n smoke -f - >/dev/null <<EOF
{"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "$1"},
 "spec": {"schedulerName": "$2", "restartPolicy": "Never",
          "containers": [{"name": "main", "image": "registry.k8s.io/pause:3.10",
                          "resources": {"requests": {"cpu": "$3"$gpu}, "limits": {"cpu": "$3"$gpu}}}]}}
EOF
}

pod plain default-scheduler 2 1
node="$(cp_wait_bound smoke plain)" || fail "plain pod was not scheduled"
[[ "$node" == gpu-node-1 ]] || fail "plain pod bound to '$node'"
pass "kube-scheduler (as platoon's ServiceAccount) bound a plain pod to $node"

pod too-big default-scheduler 2 9
msg="$(cp_wait_unschedulable smoke too-big)" || fail "9-GPU pod was not reported unschedulable"
[[ "$msg" == *"Insufficient nvidia.com/gpu"* ]] || fail "unexpected reason for the 9-GPU pod: $msg"
pass "a pod asking for 9 GPUs on an 8-GPU node stays pending: $msg"
# A node's GPUs are freed when a pod finishes (status patched as a kubelet would).
pod fill default-scheduler 1 7
cp_wait_bound smoke fill >/dev/null || fail "7-GPU pod was not scheduled next to the 1-GPU pod"
pod waiter default-scheduler 1 1
cp_wait_unschedulable smoke waiter >/dev/null || fail "a 9th GPU was handed out on an 8-GPU node"
cp_finish_pod smoke plain
node="$(cp_wait_bound smoke waiter)" || fail "finishing the 1-GPU pod did not free its GPU"
pass "finishing a pod frees its GPU: the waiting 1-GPU pod is bound to $node"
cp_finish_pod smoke fill
cp_finish_pod smoke waiter Failed
cp_stop_scheduler default-scheduler
no_forbidden() {
  ! grep -i "forbidden" "$CP_DIR/logs/$1.log" | grep -v configmap_cafile_content | head -5 | grep . >&2 \
    || fail "$1 was refused something it needs (lines above)"
}
no_forbidden default-scheduler
pass "kube-scheduler ran with platoon's RBAC without a single forbidden request"
kubectl delete pod -n smoke too-big --wait=false >/dev/null

# --- 2: least privilege ----------------------------------------------------------------------------
# Each line: verb group resource subresource namespace name ("-" = empty), asked through a
# SubjectAccessReview for platoon's ServiceAccount (works for resources whose CRD is not installed).
can_i() {
  local f=("$@") i
  for i in 1 2 3 4 5; do [[ "${f[i]}" == - ]] && f[i]=""; done
  kubectl create -o jsonpath='{.status.allowed}' -f - <<EOF
{"apiVersion": "authorization.k8s.io/v1", "kind": "SubjectAccessReview",
 "spec": {"user": "system:serviceaccount:platoon-system:platoon",
          "groups": ["system:serviceaccounts", "system:serviceaccounts:platoon-system", "system:authenticated"],
          "resourceAttributes": {"verb": "${f[0]}", "group": "${f[1]}", "resource": "${f[2]}",
                                 "subresource": "${f[3]}", "namespace": "${f[4]}", "name": "${f[5]}"}}}
EOF
}
while read -r -a check; do
  [[ "$(can_i "${check[@]}")" == true ]] || fail "platoon may not: ${check[*]}"
done <<'EOF'
list - nodes - - -
watch - pods - - -
watch - namespaces - - -
create - pods binding smoke p
patch - pods - smoke p
create - pods eviction smoke p
create - events - smoke -
create events.k8s.io events - smoke -
list scheduling.x-k8s.io podgroups - - -
patch scheduling.x-k8s.io podgroups status smoke pg
watch topology.node.k8s.io noderesourcetopologies - - -
update coordination.k8s.io leases - platoon-system platoon-scheduler
EOF
while read -r -a check; do
  [[ "$(can_i "${check[@]}")" != true ]] || fail "platoon may: ${check[*]}"
done <<'EOF'
get - secrets - smoke s
list - configmaps - - -
update - nodes - - n
patch scheduling.x-k8s.io podgroups - smoke pg
delete scheduling.x-k8s.io podgroups - smoke pg
update topology.node.k8s.io noderesourcetopologies - - n
update coordination.k8s.io leases - kube-system kube-scheduler
create rbac.authorization.k8s.io clusterrolebindings - - -
EOF
pass "platoon's ServiceAccount has the permissions it needs and none of the sampled others"

# --- 3: deploy/'s KubeSchedulerConfiguration ------------------------------------------------------
# The extender port is moved to a free one nobody listens on.
ext_port="$(cp_free_port)"
cp_platoon_scheduler_config "$ext_port" "$CP_DIR/platoon-profile.yaml"
grep -q "127.0.0.1:$ext_port/platoon" "$CP_DIR/platoon-profile.yaml" || fail "extender urlPrefix not found"
cp_start_scheduler "$CP_DIR/platoon-profile.yaml" platoon-scheduler "$CP_DIR/platoon-sa.kubeconfig"

pod gpu-job platoon 1 2
msg="$(cp_wait_unschedulable smoke gpu-job)" || fail "GPU pod for profile platoon got no scheduling verdict"
[[ "$msg" == *"127.0.0.1:$ext_port/platoon/filter"* ]] || fail "GPU pod did not go to the extender: $msg"
pass "profile platoon sends GPU pods to the extender's filter verb (none running here: $msg)"
# kube-scheduler logs the plugins of each extension point at start; PostFilter must not preempt.
post_filter="$(grep -h "the scheduler starts to work with those plugins" "$CP_DIR/logs/platoon-scheduler.log" \
  | sed 's/.*Plugins=//' | "$CP_PY" -c 'import json, sys
plugins = json.loads(sys.stdin.readline())
print(" ".join(p["Name"] for p in plugins["PostFilter"]["Enabled"] or []))')" \
  || fail "cannot read the platoon profile's plugins from kube-scheduler's log"
[[ " $post_filter " != *" DefaultPreemption "* ]] || fail "DefaultPreemption is a PostFilter plugin: $post_filter"
pass "profile platoon runs without DefaultPreemption at PostFilter (PostFilter: ${post_filter:-none})"

pod cpu-only platoon 1 0
node="$(cp_wait_bound smoke cpu-only)" || fail "CPU-only pod for profile platoon was not scheduled"
pass "profile platoon schedules a pod with no managed resource without asking the extender ($node)"
no_forbidden platoon-scheduler
