#!/usr/bin/env bash
# Installs platoon's build and test dependencies from Debian packages. Idempotent; run as root
# (or with sudo available). Used by the README's commands and by CI.
set -euo pipefail

PACKAGES=(
  build-essential cmake ninja-build pkg-config ccache curl
  libcpp-httplib-dev nlohmann-json3-dev libboost-graph-dev libyaml-cpp-dev prometheus-cpp-dev
  doctest-dev libbenchmark-dev libsimdjson-dev libssl-dev zlib1g-dev libbrotli-dev
  clang-16 libclang-rt-16-dev openssl
  etcd-server python3 python3-yaml
)

# The simulation report: headless Chromium renders it in a test, and its charting library is installed
# at build time with npm ci (keep a node/npm already there, e.g. from NodeSource, else Debian's).
PACKAGES+=(chromium)
if ! command -v npm >/dev/null 2>&1; then PACKAGES+=(nodejs npm); fi

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]} == 0)); then
  echo "install-deps: all ${#PACKAGES[@]} packages present"
  exit 0
fi
SUDO=""
if [[ $(id -u) -ne 0 ]]; then SUDO="sudo"; fi
echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "install-deps: done"
