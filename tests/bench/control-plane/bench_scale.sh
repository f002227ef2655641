#!/usr/bin/env bash
# Scale figures on a real loopback control plane (tests/e2e's harness: etcd, kube-apiserver, upstream
# kube-scheduler, `platoon serve --kubeconfig --gang-engine`). A benchmark, not a test: it prints
# figures and exits 0 unless the setup itself breaks (a component does not start, kubectl fails).
# Pods that do not bind within TIMEOUT are reported as such, not as a failure.
#
#   1. Throughput: PODS single 1-GPU pods, first create to last bound, with the default-scheduler
#      profile and with platoon's profile (two kube-schedulers on the same control plane, client
#      QPS/burst SCHED_QPS/SCHED_BURST), interleaved default, platoon, default, platoon (ROUNDS each);
#      pods/s per run and the ratio platoon/default. Pods are deleted between rounds.
#   2. Gang: per value of M, one PodGroup (minMember M) of M pods x 8 GPUs on the N 8-GPU nodes, with
#      platoon's default configuration: first create -> all bound, last create -> all bound, the bind
#      window (first to last Binding), the number bound sampled every 0.5 s, and whether the gang was
#      ever seen partly bound after the bind window.
#   3. While each gang binds, one extra 1-GPU pod (no group): its create -> bound time.
#
# Usage: bash tests/bench/control-plane/bench_scale.sh          (SMOKE=1 for a run under 2 minutes)
# Env:   N (nodes, default 1000), PODS (default 2000), M (gang sizes, default "256 512"),
#        SMOKE=1 (N=20, PODS=40, M=8 unless set), ROUNDS (2), TIMEOUT (s per wait; 600, smoke 60),
#        SCHED_QPS/SCHED_BURST (1000/2000), CREATE_PARALLEL (kubectl processes creating a round's
#        pods at once, 2), PLATOON_BIN, PLATOON_K8S_BIN, PLATOON_ETCD, PLATOON_E2E_KEEP (see
#        tests/e2e/control-plane.sh). Progress goes to stderr, figures to stdout.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
E2E="$(cd "$HERE/../../e2e" && pwd)"
source "$E2E/control-plane.sh"
source "$E2E/live-lib.sh"

if [[ "${SMOKE:-0}" == 1 ]]; then
  N="${N:-20}"; PODS="${PODS:-40}"; M="${M:-8}"; TIMEOUT="${TIMEOUT:-60}"
else
  N="${N:-1000}"; PODS="${PODS:-2000}"; M="${M:-256 512}"; TIMEOUT="${TIMEOUT:-600}"
fi
ROUNDS="${ROUNDS:-2}"
SCHED_QPS="${SCHED_QPS:-1000}"
SCHED_BURST="${SCHED_BURST:-2000}"
CREATE_PARALLEL="${CREATE_PARALLEL:-2}"
GPUS=8   # per node
BENCH_T0=$(date +%s)

bench_log() { echo "[$(date +%H:%M:%S)] bench_scale: $*" >&2; }
bench_broken() { bench_log "setup broke: $*"; exit 1; }

# --- python helpers: object generators and the figures ---------------------------------------------
bench_write_py() {
  cat >"$1" <<'PY'
import datetime, json, sys


def epoch(text):
    """RFC 3339 (metav1.Time, seconds) or RFC 3339 micro (metav1.MicroTime) -> seconds since epoch."""
    if not text:
        return None
    text = text.rstrip("Z")
    fmt = "%Y-%m-%dT%H:%M:%S.%f" if "." in text else "%Y-%m-%dT%H:%M:%S"
    return datetime.datetime.strptime(text, fmt).replace(tzinfo=datetime.timezone.utc).timestamp()


def write_list(path, items):
    with open(path, "w") as out:
        json.dump({"apiVersion": "v1", "kind": "List", "items": items}, out)


def nodes(count, gpus, path):
    # As tests/e2e's cp_create_node / live_nodes make them: capacity = allocatable, Ready, no kubelet.
    items = []
    for i in range(1, int(count) + 1):
        name = f"gpu-{i}"
        res = {"cpu": "64", "memory": "512Gi", "pods": "110", "nvidia.com/gpu": gpus}
        items.append({"apiVersion": "v1", "kind": "Node",
                      "metadata": {"name": name, "labels": {"kubernetes.io/hostname": name,
                                                            "nvidia.com/gpu.product": "NVIDIA-H100-80GB-HBM3"}},
                      "spec": {},
                      "status": {"capacity": res, "allocatable": dict(res),
                                 "conditions": [{"type": "Ready", "status": "True", "reason": "KubeletReady",
                                                 "message": "bench node without a kubelet"}]}})
    write_list(path, items)


def pods(path, prefix, first, count, scheduler, gpus, group):
    # As tests/e2e's live_pod makes them.
    items = []
    for i in range(int(first), int(first) + int(count)):
        labels = {"app.kubernetes.io/name": "bench-scale"}
        if group != "-":
            labels["scheduling.x-k8s.io/pod-group"] = group
        res = {"cpu": "1", "nvidia.com/gpu": gpus}
        items.append({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": f"{prefix}-{i}", "labels": labels},
                      "spec": {"schedulerName": scheduler, "restartPolicy": "Never",
                               "containers": [{"name": "main", "image": "registry.k8s.io/pause:3.10",
                                               "resources": {"requests": res, "limits": dict(res)}}]}})
    write_list(path, items)


def scheduled_events(path):
    """Pod name -> eventTime of kube-scheduler's Scheduled event (action Binding; microseconds)."""
    times = {}
    for e in json.load(open(path)).get("items", []):
        reg = e.get("regarding") or {}
        if e.get("reason") != "Scheduled" or reg.get("kind") != "Pod":
            continue
        t = epoch(e.get("eventTime"))
        if t is not None and (reg.get("name") not in times or t < times[reg["name"]]):
            times[reg["name"]] = t
    return times


def bind_times(events_path, pods_path):
    """Bound pod -> (time, source): the Scheduled event, else the PodScheduled condition (seconds)."""
    events = scheduled_events(events_path)
    bound = {}
    for p in json.load(open(pods_path)).get("items", []):
        name = p["metadata"]["name"]
        if not p["spec"].get("nodeName"):
            continue
        if name in events:
            bound[name] = (events[name], "event")
            continue
        for c in (p.get("status") or {}).get("conditions") or []:
            if c.get("type") == "PodScheduled" and c.get("status") == "True":
                bound[name] = (epoch(c.get("lastTransitionTime")), "condition")
    return bound


def created(paths):
    """Pod name -> time kubectl reported it created (lines "EPOCH pod/NAME created" or "EPOCH pod/NAME")."""
    out = {}
    for path in paths:
        for line in open(path):
            parts = line.split()
            if len(parts) >= 2 and parts[1].startswith("pod/"):
                out[parts[1][4:]] = float(parts[0])
    return out


def count_scheduled(events_path):
    print(len(scheduled_events(events_path)))


def coarse_note(bound, names):
    coarse = sum(1 for n in names if bound[n][1] == "condition")
    return f"; {coarse} bind times from PodScheduled (1 s resolution)" if coarse else ""


def throughput(label, scheduler, want, events_path, pods_path, results, *created_paths):
    want = int(want)
    made = created(created_paths)
    bound = bind_times(events_path, pods_path)
    t_first, t_last_create = min(made.values()), max(made.values())
    with open(results, "a") as out:
        if len(bound) < want:
            print(f"{label}: only {len(bound)} of {want} pods bound within the time limit "
                  f"(creates took {t_last_create - t_first:.2f} s)")
            out.write(f"{scheduler} nan\n")
            return
        last = max(t for t, _ in bound.values())
        rate = want / (last - t_first)
        print(f"{label}: {want} pods, first create -> last bound {last - t_first:.3f} s = {rate:.1f} pods/s "
              f"(creates took {t_last_create - t_first:.2f} s, last create -> last bound "
              f"{last - t_last_create:.3f} s{coarse_note(bound, bound)})")
        out.write(f"{scheduler} {rate}\n")


def summary(results):
    rates = {"default-scheduler": [], "platoon": []}
    for line in open(results):
        sched, rate = line.split()
        rates[sched].append(float(rate))
    def fmt(values):
        return " ".join("n/a" if v != v else f"{v:.1f}" for v in values)
    print(f"pods/s default-scheduler: {fmt(rates['default-scheduler'])}")
    print(f"pods/s platoon:           {fmt(rates['platoon'])}")
    pairs = [p / d for d, p in zip(rates["default-scheduler"], rates["platoon"]) if d == d and p == p]
    ok_d = [v for v in rates["default-scheduler"] if v == v]
    ok_p = [v for v in rates["platoon"] if v == v]
    if ok_d and ok_p:
        ratio = (sum(ok_p) / len(ok_p)) / (sum(ok_d) / len(ok_d))
        print(f"ratio platoon/default: {ratio:.3f} (means {sum(ok_p) / len(ok_p):.1f} / {sum(ok_d) / len(ok_d):.1f} "
              f"pods/s; per round: {' '.join(f'{r:.3f}' for r in pairs)})")
    else:
        print("ratio platoon/default: n/a (a scheduler never bound all its pods)")


def runs(samples, t0):
    """Samples as runs of equal counts: 'n from +a to +b s (k samples)', times from t0."""
    out, cur = [], None
    for s in samples:
        if cur and cur[0] == s[2]:
            cur[2], cur[3] = s[0], cur[3] + 1
        else:
            cur = [s[2], s[0], s[0], 1]
            out.append(cur)
    return ", ".join(f"{n} at {a - t0:+.1f} s" if k == 1 else f"{n} from {a - t0:+.1f} to {b - t0:+.1f} s ({k})"
                     for n, a, b, k in out)


def gang(m, group, events_path, pods_path, samples_path, gang_created, lone_created):
    m = int(m)
    made = created([gang_created])
    lone_made = created([lone_created])
    bound = bind_times(events_path, pods_path)
    t_first, t_last_create = min(made.values()), max(made.values())
    members = [n for n in bound if n.startswith(group + "-")]
    samples = []
    for line in open(samples_path):
        t0, t1, g, _ = line.split()
        if int(g) >= 0:
            samples.append((float(t0), float(t1), int(g)))
    print(f"  creates: {m} members in {t_last_create - t_first:.2f} s")
    if len(members) < m:
        print(f"  NOT all bound within the time limit: {len(members)} of {m} bound")
        partly = [s for s in samples if 0 < s[2] < m]
        print(f"  samples every 0.5 s (bound members): {runs(samples, t_first)}")
        print(f"  partly bound samples: {len(partly)} of {len(samples)}; partly bound at the end: "
              f"{'yes' if samples and 0 < samples[-1][2] < m else 'no'}")
    else:
        times = sorted(bound[n][0] for n in members)
        first_bind, last_bind = times[0], times[-1]
        print(f"  first create -> all bound: {last_bind - t_first:.3f} s")
        print(f"  last create  -> all bound: {last_bind - t_last_create:.3f} s")
        print(f"  bind window (first -> last Binding): {last_bind - first_bind:.3f} s"
              f"{coarse_note(bound, members)}")
        print(f"  samples every 0.5 s (bound members, time from first create): {runs(samples, t_first)}")
        partly = [s for s in samples if 0 < s[2] < m]
        before = [s for s in partly if s[1] < first_bind]        # answered before the first Binding
        after = [s for s in samples if s[0] > last_bind and s[2] < m]  # sent after the last Binding
        after_partly = [s for s in after if s[2] > 0]
        inside = len(partly) - len(before) - len(after_partly)
        print(f"  partly bound samples: {len(partly)} of {len(samples)} ({len(before)} before the window, "
              f"{inside} inside it, {len(after_partly)} after it); samples after the window with fewer "
              f"than {m} bound: {len(after)}")
        print(f"  seen partly bound after the bind window: {'YES' if after_partly else 'no'}")
    lone = next(iter(lone_made))
    if lone in bound:
        t = bound[lone][0]
        rel = ""
        if len(members) == m:
            last_bind = max(bound[n][0] for n in members)
            rel = f", {abs(t - last_bind):.3f} s {'before' if t < last_bind else 'after'} the gang's last Binding"
        print(f"  lone 1-GPU pod (created +{lone_made[lone] - t_first:.2f} s after the first member): "
              f"bound in {t - lone_made[lone]:.3f} s{rel}{coarse_note(bound, [lone])}")
    else:
        print(f"  lone 1-GPU pod (created +{lone_made[lone] - t_first:.2f} s after the first member): "
              f"NOT bound within the time limit")


if __name__ == "__main__":
    globals()[sys.argv[1].replace("-", "_")](*sys.argv[2:])
PY
}
bpy() { "$CP_PY" "$BENCH_PY" "$@"; }

# --- control plane pieces ---------------------------------------------------------------------------
# kube-scheduler with the benchmark's client QPS/burst: bench_start_scheduler CONFIG NAME KUBECONFIG
bench_start_scheduler() {
  CP_SCHEDULER_QPS="$SCHED_QPS" CP_SCHEDULER_BURST="$SCHED_BURST" cp_start_scheduler "$1" "$2" "$3" ||
    bench_broken "$2 did not start (see $CP_DIR/logs/$2.log)"
}

# Bound pods of NS as "name" lines, from a Table list (no objects): bench_bound NS [resourceVersion=0]
bench_bound() {
  local q="fieldSelector=spec.nodeName%21%3D&includeObject=None&pretty=false" body
  [[ -n "${2:-}" ]] && q+="&$2"
  body="$(cp_curl "/api/v1/namespaces/$1/pods?$q" -H 'Accept: application/json;as=Table;v=v1;g=meta.k8s.io')" || return 1
  [[ "$body" == *'"kind":"Table"'* ]] || return 1
  grep -o '"cells":\["[^"]*"' <<<"$body" | cut -d'"' -f4 || true
}
bench_count_pods() { # all pods of NS, bound or not
  local body
  body="$(cp_curl "/api/v1/namespaces/$1/pods?includeObject=None&pretty=false" -H 'Accept: application/json;as=Table;v=v1;g=meta.k8s.io')" || return 1
  [[ "$body" == *'"kind":"Table"'* ]] || return 1
  { grep -o '"cells":' <<<"$body" || true; } | wc -l
}

bench_platoon_metric() { # sum of the samples of one metric line prefix
  curl -sf "http://127.0.0.1:$LIVE_METRICS/metrics" | awk -v p="$1" 'index($0, p) == 1 {s += $NF} END {print s + 0}'
}

# kubectl create of one generated List; one "EPOCH pod/NAME created" line per object as kubectl
# reports it: bench_create NS FILE OUT
bench_create() {
  kubectl create -n "$1" -f "$2" -o name | while IFS= read -r line; do echo "$EPOCHREALTIME $line"; done >"$3"
}

# Force-deletes every pod of NS (one DELETE collection, grace 0: no kubelets here) and waits until
# they are gone and platoon's cache holds no pod.
bench_delete_pods() {
  local ns="$1" deadline=$(( $(date +%s) + TIMEOUT )) left
  while :; do
    kubectl delete --raw "/api/v1/namespaces/$ns/pods?gracePeriodSeconds=0" >/dev/null 2>&1 || true
    left="$(bench_count_pods "$ns" || echo "?")"
    [[ "$left" == 0 ]] && break
    (( $(date +%s) < deadline )) || bench_broken "pods of $ns not deleted in ${TIMEOUT}s ($left left)"
    sleep 1
  done
  local pods
  while :; do
    pods="$(( $(bench_platoon_metric 'platoon_cache_objects{kind="bound_pod"}') + $(bench_platoon_metric 'platoon_cache_objects{kind="pending_pod"}') ))"
    [[ "$pods" == 0 ]] && break
    (( $(date +%s) < deadline )) || bench_broken "platoon still caches $pods pods after deleting $ns"
    sleep 0.5
  done
}

# Waits up to 30 s until kube-scheduler's Scheduled events cover every bound pod, then saves events
# and pods of NS into DIR: bench_collect NS DIR BOUND
bench_collect() {
  local ns="$1" dir="$2" want="$3" i
  for ((i = 0; i < 30; i++)); do
    kubectl get events.events.k8s.io -n "$ns" -o json >"$dir/events.json"
    (( $(bpy count-scheduled "$dir/events.json") >= want )) && break
    sleep 1
  done
  kubectl get pods -n "$ns" -o json >"$dir/pods.json"
}

bench_binds_metric() { curl -sf "http://127.0.0.1:$LIVE_METRICS/metrics" | grep -E '^platoon_binds_total' || true; }

# --- 1: throughput -------------------------------------------------------------------------------
run_throughput() {
  local sched="$1" round="$2" ns="tp-$1-$2" dir="$BENCH_DIR/tp-$1-$2"
  local per=$(( (PODS + CREATE_PARALLEL - 1) / CREATE_PARALLEL )) first=0 count i pids=() outs=()
  mkdir -p "$dir"
  kubectl create namespace "$ns" >/dev/null
  for ((i = 0; first < PODS; i++)); do
    count=$(( PODS - first < per ? PODS - first : per ))
    bpy pods "$dir/batch-$i.json" pod "$first" "$count" "$sched" 1 -
    first=$(( first + count ))
  done
  bench_log "round $round, $sched: creating $PODS pods"
  for f in "$dir"/batch-*.json; do
    bench_create "$ns" "$f" "$f.created" & pids+=($!); outs+=("$f.created")
  done
  for i in "${pids[@]}"; do wait "$i" || bench_broken "kubectl create of round $round's pods failed"; done
  local deadline=$(( $(date +%s) + TIMEOUT )) n=0
  while :; do
    n="$(bench_bound "$ns" resourceVersion=0 | wc -l)" || n=0
    (( n >= PODS )) && break
    (( $(date +%s) < deadline )) || { bench_log "round $round, $sched: $n of $PODS bound after ${TIMEOUT}s"; break; }
    sleep 0.5
  done
  bench_collect "$ns" "$dir" "$n"
  bpy throughput "$(printf '%-17s round %s' "$sched" "$round")" "$sched" "$PODS" "$dir/events.json" \
    "$dir/pods.json" "$BENCH_DIR/rates" "${outs[@]}"
  bench_delete_pods "$ns"
}

# --- 2 and 3: one gang of M x 8 GPUs, and a lone 1-GPU pod while it binds ---------------------------
# Samples every 0.5 s: "T_SENT T_ANSWERED GANG_BOUND LONE_BOUND" (-1 -1 when the read failed).
bench_sampler() {
  local ns="$1" group="$2" out="$3" stop="$4" parent="$$" t0 names g l left
  while [[ ! -e "$stop" ]] && kill -0 "$parent" 2>/dev/null; do
    t0="$EPOCHREALTIME"
    if names="$(bench_bound "$ns")"; then
      g="$(grep -c "^$group-" <<<"$names" || true)"; l="$(grep -c '^lone-' <<<"$names" || true)"
    else
      g=-1; l=-1
    fi
    echo "$t0 $EPOCHREALTIME $g $l" >>"$out"
    left=$(( 500000 - (${EPOCHREALTIME/./} - ${t0/./}) ))
    (( left < 10000 )) && left=10000
    sleep "0.$(printf '%06d' "$left")"
  done
}

run_gang() {
  local m="$1" ns="gang-$1" group="gang-$1" dir="$BENCH_DIR/gang-$1"
  mkdir -p "$dir"
  kubectl create namespace "$ns" >/dev/null
  live_podgroup "$ns" "$group" "$m"
  bpy pods "$dir/gang.json" "$group" 0 "$m" platoon "$GPUS" "$group"
  bpy pods "$dir/lone.json" lone 0 1 platoon 1 -
  local before_binds; before_binds="$(bench_binds_metric)"
  : >"$dir/samples"
  bench_sampler "$ns" "$group" "$dir/samples" "$dir/stop" &
  local sampler=$!
  bench_log "gang of $m x $GPUS GPUs: creating its pods, then one lone 1-GPU pod"
  bench_create "$ns" "$dir/gang.json" "$dir/gang.created" || bench_broken "kubectl create of the $m-gang failed"
  bench_create "$ns" "$dir/lone.json" "$dir/lone.created" || bench_broken "kubectl create of the lone pod failed"
  local deadline=$(( $(date +%s) + TIMEOUT )) last g l
  while :; do
    last="$(tail -n 1 "$dir/samples")"; g=""; l=""
    read -r _ _ g l <<<"$last" || true
    [[ "$g" == "$m" && "$l" == 1 ]] && break
    (( $(date +%s) < deadline )) || { bench_log "gang of $m: ${g:-?} of $m bound, lone ${l:-?}, after ${TIMEOUT}s"; break; }
    sleep 0.5
  done
  sleep 2   # a few samples after the bind window
  touch "$dir/stop"
  wait "$sampler" || true
  bench_collect "$ns" "$dir" "$(( ${g:-0} + ${l:-0} ))"
  echo "gang M=$m ($m pods x $GPUS GPUs, PodGroup minMember $m, on $N nodes x $GPUS GPUs):"
  bpy gang "$m" "$group" "$dir/events.json" "$dir/pods.json" "$dir/samples" "$dir/gang.created" "$dir/lone.created"
  local after_binds; after_binds="$(bench_binds_metric)"
  echo "  platoon_binds_total during the run: $(awk 'NR == FNR {b[$1] = $2; next} {printf "%s%s +%d", sep, $1, $2 - b[$1]; sep = ","}' \
    <(echo "$before_binds") <(echo "$after_binds"))"
  kubectl delete podgroups --all -n "$ns" >/dev/null
  bench_delete_pods "$ns"
}

# --- main -----------------------------------------------------------------------------------------
for m in $M; do
  (( m * GPUS + 1 <= N * GPUS )) || bench_log "warning: a gang of $m x $GPUS GPUs and the lone pod do not fit $N nodes"
done
(( PODS <= N * GPUS )) || bench_log "warning: $PODS 1-GPU pods do not fit $N nodes x $GPUS GPUs"

live_setup
# platoon's configuration as the e2e tests write it, minus their 15 s barrier: platoon's defaults.
sed -i '/^gang:/d' "$CP_DIR/platoon.yaml"
BENCH_DIR="$CP_DIR/bench"
mkdir -p "$BENCH_DIR"
BENCH_PY="$BENCH_DIR/bench.py"
bench_write_py "$BENCH_PY"

t=$(date +%s)
bpy nodes "$N" "$GPUS" "$BENCH_DIR/nodes.json"
kubectl create -f "$BENCH_DIR/nodes.json" >/dev/null
# TaintNodesByCondition puts node.kubernetes.io/not-ready on every new Node; no node lifecycle
# controller runs here to take it off (cp_create_node does the same, one node at a time).
kubectl patch -f "$BENCH_DIR/nodes.json" --type merge -p '{"spec": {"taints": null}}' >/dev/null
bench_log "$N nodes created in $(($(date +%s) - t))s"

live_start_platoon
bench_platoon_sees_nodes() { [[ "$(bench_platoon_metric 'platoon_cache_objects{kind="node"}')" == "$N" ]]; }
cp_wait_for "$CP_WAIT" bench_platoon_sees_nodes || bench_broken "platoon does not see the $N nodes"
cat >"$BENCH_DIR/default-scheduler.yaml" <<EOF
apiVersion: kubescheduler.config.k8s.io/v1
kind: KubeSchedulerConfiguration
leaderElection:
  leaderElect: true
  resourceNamespace: kube-system
  resourceName: kube-scheduler
profiles:
- schedulerName: default-scheduler
EOF
bench_start_scheduler "$BENCH_DIR/default-scheduler.yaml" default-scheduler "$CP_DIR/scheduler.kubeconfig"
bench_start_scheduler "$CP_DIR/sched.yaml" platoon-scheduler "$CP_DIR/platoon-sa.kubeconfig"
bench_log "control plane, platoon and both kube-schedulers up in $(($(date +%s) - BENCH_T0))s"

echo "bench_scale: N=$N nodes x $GPUS GPUs, PODS=$PODS, M=\"$M\", rounds $ROUNDS, scheduler client QPS/burst" \
  "$SCHED_QPS/$SCHED_BURST, $(nproc) cores, kube $("$PLATOON_K8S_BIN/kube-scheduler" --version | awk '{print $2}')," \
  "$("$LIVE_PLATOON" --version 2>/dev/null | head -n 1)"
echo "throughput ($PODS single 1-GPU pods, first create -> last bound; bind time = Scheduled event):"
for ((r = 1; r <= ROUNDS; r++)); do
  run_throughput default-scheduler "$r"
  run_throughput platoon "$r"
done
bpy summary "$BENCH_DIR/rates"

for m in $M; do
  run_gang "$m"
done
echo "bench_scale: done in $(($(date +%s) - BENCH_T0))s"
