#!/usr/bin/env bash
# Sets up everything and runs all of platoon's tests: unit, wire conformance, scenario and property
# tests (ctest), end-to-end tests on a real loopback control plane, then each libFuzzer target for a
# bounded time, then the benchmarks in smoke mode.
# This is the README's test command and what CI runs.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$ROOT"
FUZZ_SECONDS="${PLATOON_FUZZ_SECONDS:-30}"

step() { printf '\n==> %s\n' "$*"; }

step "installing dependencies"
bash deploy/dev/install-deps.sh

step "building (build/)"
bash deploy/dev/build.sh

step "unit, conformance, scenario and property tests"
ctest --test-dir build --output-on-failure -j "$(nproc)"

if [[ "${PLATOON_E2E:-1}" != "0" ]]; then
  step "end-to-end tests on a real control plane (tests/e2e/run.sh; PLATOON_E2E=0 skips)"
  # The first run builds upstream kube-apiserver, kube-scheduler, kubectl and helm from the Go module
  # proxy (about 7 minutes on 2 cores) into ~/.cache/platoon-k8s; later runs reuse them.
  e2e_start=$(date +%s)
  bash tests/e2e/run.sh
  echo "e2e: step took $(($(date +%s) - e2e_start))s"
fi

if [[ "$FUZZ_SECONDS" != "0" ]]; then
  step "fuzzing each request parser for ${FUZZ_SECONDS}s (build-fuzz/, clang + libFuzzer)"
  PLATOON_BUILD_DIR="$ROOT/build-fuzz" PLATOON_TARGET=platoon_fuzzers bash deploy/dev/build.sh \
    -DCMAKE_CXX_COMPILER=clang++-16 -DPLATOON_BUILD_FUZZERS=ON -DPLATOON_BUILD_TESTS=ON \
    -DPLATOON_BUILD_BENCHMARKS=OFF
  shopt -s nullglob
  # Extra seeds read in place from the shared data (upstream wire fixtures) and the shipped examples.
  declare -A EXTRA_SEEDS=(
    [fuzz_filter]="../shared/data/k8s-wire/extender-json"
    [fuzz_bind]="../shared/data/k8s-wire/extender-json"
    [fuzz_preempt]="../shared/data/k8s-wire/extender-json"
    [fuzz_cluster_file]="config/examples"
    [fuzz_platoon_config]="config/examples"
    [fuzz_kueue_manifests]="config/examples/kueue"
    [fuzz_topology_file]="config/examples/topology"
  )
  for fuzzer in build-fuzz/tests/fuzz/fuzz_*; do
    [[ -x "$fuzzer" ]] || continue
    name="$(basename "$fuzzer")"
    corpus="build-fuzz/corpus/$name"
    mkdir -p "$corpus"
    seed_dirs=()
    [[ -d "tests/fuzz/seeds/${name#fuzz_}" ]] && seed_dirs+=("tests/fuzz/seeds/${name#fuzz_}")
    extra="${EXTRA_SEEDS[$name]:-}"
    [[ -n "$extra" && -d "$extra" ]] && seed_dirs+=("$extra")
    echo "fuzz: $name (${FUZZ_SECONDS}s)"
    # Seed folders are read; new inputs go to $corpus (kept in build-fuzz/ between runs).
    "$fuzzer" -max_total_time="$FUZZ_SECONDS" -max_len=65536 -print_final_stats=1 -rss_limit_mb=4096 -timeout=10 -artifact_prefix="build-fuzz/$name-" \
      "$corpus" "${seed_dirs[@]}" 2>"build-fuzz/$name.log" \
      || { tail -50 "build-fuzz/$name.log"; echo "fuzz: $name FAILED"; exit 1; }
    grep -E "stat::number_of_executed_units" "build-fuzz/$name.log" || true
  done
fi

step "benchmarks (smoke run: each benchmark once, figures printed)"
shopt -s nullglob
for bench in build/tests/bench/bench_*; do
  [[ -x "$bench" ]] || continue
  "$bench" --benchmark_min_time=0.01 --benchmark_counters_tabular=true
done
# Scale figures on a real control plane (tests/bench/control-plane/), in smoke mode: under 2 minutes.
# It fails only when its setup breaks, never on a slow figure; it needs the e2e step's binaries.
if [[ "${PLATOON_E2E:-1}" != "0" ]]; then
  k8s_version="$(awk '$1 == "require" && $2 == "k8s.io/kubernetes" { print $3 }' tests/e2e/k8s/go.mod)"
  k8s_bin="${PLATOON_K8S_CACHE:-$HOME/.cache/platoon-k8s}/$k8s_version/bin"
  if [[ -x "$k8s_bin/kube-apiserver" && -x "$k8s_bin/kube-scheduler" && -x "$k8s_bin/kubectl" ]]; then
    PLATOON_K8S_BIN="$k8s_bin" SMOKE=1 bash tests/bench/control-plane/bench_scale.sh
  else
    echo "bench_scale: skipped (no e2e binaries in $k8s_bin)"
  fi
fi

step "all tests passed"
