#!/usr/bin/env bash
# Runs platoon's end-to-end tests on a real loopback control plane: builds (or reuses) the pinned
# upstream binaries, then every tests/e2e/test_*.sh, each with its own throwaway control plane.
# Prints each step's duration. Usage: tests/e2e/run.sh [test_name_substring]
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
filter="${1:-}"

t0=$(date +%s)
PLATOON_K8S_BIN="$(bash "$HERE/build-k8s.sh")"
export PLATOON_K8S_BIN
echo "e2e: binaries ready in $(($(date +%s) - t0))s ($PLATOON_K8S_BIN)"

if [[ -z "${PLATOON_ETCD:-}" && ! -x "$PLATOON_K8S_BIN/etcd" ]] && ! command -v etcd >/dev/null; then
  echo "e2e: no etcd (deploy/dev/install-deps.sh installs etcd-server; PLATOON_K8S_ETCD=1 builds one)" >&2
  exit 1
fi
failed=()
for test in "$HERE"/test_*.sh; do
  name="$(basename "$test" .sh)"
  [[ -z "$filter" || "$name" == *"$filter"* ]] || continue
  echo
  echo "--- e2e: $name"
  start=$(date +%s)
  if bash "$test"; then
    echo "--- e2e: $name passed in $(($(date +%s) - start))s"
  else
    echo "--- e2e: $name FAILED after $(($(date +%s) - start))s"
    failed+=("$name")
  fi
done
echo
if ((${#failed[@]})); then
  echo "e2e: FAILED: ${failed[*]} (total $(($(date +%s) - t0))s)"
  exit 1
fi
echo "e2e: all passed in $(($(date +%s) - t0))s"
