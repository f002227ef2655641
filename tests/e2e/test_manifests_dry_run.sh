#!/usr/bin/env bash
# e2e test: every manifest in deploy/ passes server-side dry-run (strict field validation) against the
# real kube-apiserver: deploy/manifests file by file and as the kustomization, deploy/examples, and the
# Helm chart rendered with `helm template` when helm is available (tests/e2e/build-k8s.sh builds it);
# without helm, the chart's copies of the CRD and config files are checked against deploy/manifests.
# Namespaces and CRDs are created for real first, as a real install would (objects in a namespace or of
# a custom kind cannot be dry-run before those exist). A deliberately broken PodGroup must be refused,
# so the check is known to bite.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
source "$HERE/control-plane.sh"

cp_start

mapfile -t files < <(find "$ROOT/deploy/manifests" "$ROOT/deploy/examples" -name '*.yaml' \
  ! -name kustomization.yaml | sort)
((${#files[@]} > 0)) || fail "no manifests found"

# Namespaces and CRDs first, for real.
"$CP_PY" - "${files[@]}" >"$CP_DIR/prerequisites.yaml" <<'EOF'
import sys, yaml
out = []
for path in sys.argv[1:]:
    with open(path) as f:
        for doc in yaml.safe_load_all(f):
            if doc and doc.get("kind") in ("Namespace", "CustomResourceDefinition"):
                out.append(doc)
yaml.safe_dump_all(out, sys.stdout, sort_keys=False)
EOF
kubectl apply --validate=strict -f "$CP_DIR/prerequisites.yaml" >/dev/null
kubectl wait --for condition=Established --timeout "${CP_WAIT}s" crd --all >/dev/null

dry_run() { # dry_run LABEL kubectl-apply-args...
  local label="$1"; shift
  local out
  if ! out="$(kubectl apply --dry-run=server --validate=strict "$@" 2>&1)"; then
    echo "$out" >&2
    fail "$label does not pass server-side dry-run"
  fi
  pass "$label: $(grep -c . <<<"$out") objects pass server-side dry-run"
}

for f in "${files[@]}"; do dry_run "${f#"$ROOT/"}" -f "$f"; done
dry_run "deploy/manifests (kustomization)" -k "$ROOT/deploy/manifests"

# The check must be able to fail: a misspelt field and a wrong type are refused by the CRD's schema.
if kubectl apply --dry-run=server --validate=strict -f - >/dev/null 2>&1 <<'EOF'
apiVersion: scheduling.x-k8s.io/v1alpha1
kind: PodGroup
metadata: {name: broken, namespace: team-a}
spec: {minMembers: 8, scheduleTimeoutSeconds: soon}
EOF
then
  fail "a PodGroup with a misspelt field and a string timeout passed dry-run"
fi
pass "a broken PodGroup is refused by the dry-run"

# The Kueue quota is read by platoon from the file, not applied: check it parses and names only the
# kinds platoon reads.
"$CP_PY" - "$ROOT/deploy/manifests/kueue-quota.yaml" <<'EOF' || fail "example Kueue quota is malformed"
import sys, yaml
cm = yaml.safe_load(open(sys.argv[1]))
docs = [d for d in yaml.safe_load_all(cm["data"]["kueue-quota.yaml"]) if d]
kinds = {d["kind"] for d in docs}
allowed = {"ResourceFlavor", "ClusterQueue", "Cohort", "LocalQueue", "WorkloadPriorityClass", "Topology"}
assert kinds <= allowed, kinds - allowed
assert all(d["apiVersion"].startswith("kueue.x-k8s.io/") for d in docs)
print(f"ok: example Kueue quota: {len(docs)} objects ({', '.join(sorted(kinds))})")
EOF

# Grafana dashboard: valid JSON whose queries use exactly platoon's documented metrics.
"$CP_PY" - "$ROOT/deploy/dashboards/platoon-grafana.json" <<'EOF' || fail "Grafana dashboard"
import json, re, sys
dash = json.load(open(sys.argv[1]))
documented = {"platoon_pending_workloads", "platoon_admission_wait_time_seconds",
              "platoon_admitted_workloads_total", "platoon_preempted_workloads_total",
              "platoon_gang_bind_barrier_seconds", "platoon_extender_requests_total",
              "platoon_extender_request_duration_seconds", "platoon_api_requests_total", "platoon_watch_total"}
used = set()
for panel in dash["panels"]:
    for target in panel.get("targets", []):
        for name in re.findall(r"\bplatoon_[a-z_]+", target["expr"]):
            used.add(re.sub(r"_(bucket|sum|count)$", "", name))
assert used <= documented, f"undocumented metrics: {used - documented}"
assert used == documented, f"metrics without a panel: {documented - used}"
ids = [p["id"] for p in dash["panels"]]
assert len(ids) == len(set(ids)), "duplicate panel ids"
print(f"ok: Grafana dashboard: {len(dash['panels'])} panels over {len(used)} platoon_* metrics")
EOF

# Helm chart.
chart="$ROOT/deploy/helm/platoon"
helm_bin="${PLATOON_HELM:-$(command -v helm || true)}"
[[ -z "$helm_bin" && -x "$PLATOON_K8S_BIN/helm" ]] && helm_bin="$PLATOON_K8S_BIN/helm"
"$CP_PY" - "$ROOT/deploy/manifests" "$chart" <<'EOF' || fail "Helm chart out of step with deploy/manifests"
import sys, yaml, pathlib
manifests, chart = map(pathlib.Path, sys.argv[1:])
assert (chart / "crds/podgroup-crd.yaml").read_text() == (manifests / "podgroup-crd.yaml").read_text(), \
    "deploy/helm/platoon/crds/podgroup-crd.yaml differs from deploy/manifests/podgroup-crd.yaml"
for cm, key in (("kueue-quota.yaml", "kueue-quota.yaml"), ("platoon-config.yaml", "platoon.yaml")):
    data = yaml.safe_load((manifests / cm).read_text())["data"][key]
    assert (chart / "files" / key).read_text() == data, f"files/{key} differs from {cm}"
assert (chart / "files/platoon-grafana.json").read_text() == \
    (manifests.parent / "dashboards/platoon-grafana.json").read_text(), "chart's dashboard copy differs"
meta = yaml.safe_load((chart / "Chart.yaml").read_text())
assert meta["apiVersion"] == "v2" and meta["name"] == "platoon", meta
yaml.safe_load((chart / "values.yaml").read_text())
print("ok: Helm chart's CRD and config files match deploy/manifests")
EOF
if [[ -n "$helm_bin" ]]; then
  kube_version="$(cp_curl /version | "$CP_PY" -c 'import json, sys; print(json.load(sys.stdin)["gitVersion"])')"
  "$helm_bin" lint "$chart" --strict --kube-version "$kube_version" >"$CP_DIR/helm-lint.log" 2>&1 \
    || { cat "$CP_DIR/helm-lint.log" >&2; fail "helm lint"; }
  "$helm_bin" template platoon "$chart" --namespace platoon-system --include-crds \
    --kube-version "$kube_version" \
    >"$CP_DIR/helm-rendered.yaml" || fail "helm template failed"
  dry_run "Helm chart (helm template, $("$helm_bin" version --short))" -f "$CP_DIR/helm-rendered.yaml"
  # With default values the chart must render what deploy/manifests holds (labels and the config
  # checksum annotation aside), object for object.
  kubectl kustomize "$ROOT/deploy/manifests" >"$CP_DIR/kustomized.yaml"
  "$CP_PY" - "$CP_DIR/helm-rendered.yaml" "$CP_DIR/kustomized.yaml" <<'EOF' \
    || fail "Helm chart's defaults differ from deploy/manifests"
import sys, yaml
def objects(path):
    out = {}
    for d in yaml.safe_load_all(open(path)):
        if not d or d["kind"] == "Namespace":
            continue
        meta = d["metadata"]
        meta.pop("labels", None)
        meta.pop("annotations", None)
        d.get("spec", {}).get("template", {}).get("metadata", {}).pop("annotations", None)
        out[(d["kind"], meta.get("namespace", ""), meta["name"])] = d
    return out
chart, plain = objects(sys.argv[1]), objects(sys.argv[2])
for key in plain:
    assert key in chart, f"chart lacks {key}"
    a, b = chart[key], plain[key]
    if key[0] == "ConfigMap":
        a = {k: list(yaml.safe_load_all(v)) if k.endswith(".yaml") else v for k, v in a["data"].items()}
        b = {k: list(yaml.safe_load_all(v)) if k.endswith(".yaml") else v for k, v in b["data"].items()}
    assert a == b, f"{key} differs:\nchart: {a}\nmanifests: {b}"
extra = sorted(set(chart) - set(plain))
print(f"ok: Helm chart's defaults render the {len(plain)} objects of deploy/manifests (chart only: {extra})")
EOF
  # Non-default values: another namespace, lease, port and quota reach every object that uses them.
  kubectl create namespace gpu-scheduling >/dev/null
  printf 'apiVersion: kueue.x-k8s.io/v1beta1\nkind: ResourceFlavor\nmetadata:\n  name: a100\n' \
    >"$CP_DIR/quota.yaml"
  "$helm_bin" template gpu "$chart" --namespace gpu-scheduling --kube-version "$kube_version" \
    --set scheduler.leaseName=gpu-sched,extender.port=9999,grafanaDashboard.enabled=false \
    --set-file kueueQuota="$CP_DIR/quota.yaml" >"$CP_DIR/helm-custom.yaml" || fail "helm template (custom values)"
  dry_run "Helm chart with custom values" -f "$CP_DIR/helm-custom.yaml"
  "$CP_PY" - "$CP_DIR/helm-custom.yaml" <<'EOF' || fail "Helm chart ignores its values"
import sys, yaml
docs = {(d["kind"], d["metadata"]["name"]): d for d in yaml.safe_load_all(open(sys.argv[1])) if d}
config = yaml.safe_load(docs[("ConfigMap", "platoon-scheduler-config")]["data"]["kube-scheduler-config.yaml"])
assert config["leaderElection"]["resourceName"] == "gpu-sched"
assert config["leaderElection"]["resourceNamespace"] == "gpu-scheduling"
assert config["extenders"][0]["urlPrefix"] == "http://127.0.0.1:9999/platoon"
rules = docs[("Role", "platoon-leader-election")]["rules"]
assert any(r.get("resourceNames") == ["gpu-sched"] for r in rules), rules
args = docs[("Deployment", "platoon-scheduler")]["spec"]["template"]["spec"]["containers"][1]["args"]
assert args[args.index("--listen") + 1] == "127.0.0.1:9999", args
quota = docs[("ConfigMap", "platoon-kueue-quota")]["data"]["kueue-quota.yaml"]
assert yaml.safe_load(quota)["metadata"]["name"] == "a100"
assert ("ConfigMap", "platoon-grafana-dashboard") not in docs
assert all(s["namespace"] == "gpu-scheduling" for d in docs.values() for s in d.get("subjects", []))
print("ok: Helm chart values (namespace, lease, extender port, quota, dashboard) reach their objects")
EOF
else
  echo "skip: helm not found (set PLATOON_HELM or let build-k8s.sh build it); chart checked without rendering"
fi
