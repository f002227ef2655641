#!/usr/bin/env bash
# Configures and builds platoon into build/ (Release with debug info), reusing ccache between runs.
# Usage: deploy/dev/build.sh [extra cmake args...]
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
BUILD_DIR="${PLATOON_BUILD_DIR:-$ROOT/build}"
export CCACHE_DIR="${CCACHE_DIR:-$HOME/.cache/platoon-ccache}"
export CCACHE_MAXSIZE="${CCACHE_MAXSIZE:-5G}"
cmake -S "$ROOT" -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_CXX_COMPILER_LAUNCHER=ccache "$@" >/dev/null
ninja -C "$BUILD_DIR" -j "${PLATOON_JOBS:-$(nproc)}" ${PLATOON_TARGET:-}
