#!/usr/bin/env bash
# Builds the pinned upstream kube-apiserver, kube-scheduler and kubectl (tests/e2e/k8s/go.mod), helm
# (tests/e2e/helm/go.mod) for rendering deploy/'s chart, and etcd when asked (tests/e2e/etcd/go.mod),
# with `go build` from the Go module proxy into a cache dir, reusing them when present; prints the
# bin dir.
#
# Usage: tests/e2e/build-k8s.sh            -> prints the directory holding the binaries on stdout
# Env:   PLATOON_K8S_CACHE  cache root (default ~/.cache/platoon-k8s); binaries go to <root>/<version>/bin,
#                           the Go module and build caches to <root>/gomod and <root>/gocache
#        PLATOON_K8S_JOBS   go build -p (default 2)
#        PLATOON_K8S_TOOLS  space-separated commands to build (default: kube-apiserver kube-scheduler kubectl)
#        PLATOON_K8S_HELM   0 = do not build helm (default 1); helm lives in <root>/helm/<version>/helm and
#                           is linked into the bin dir
#        PLATOON_K8S_ETCD   1 = also build etcd (tests/e2e/etcd/go.mod) into <root>/etcd/<version>/etcd,
#                           linked into the bin dir as etcd; default: only when no etcd is on PATH
# Progress and timing go to stderr, so `BIN=$(tests/e2e/build-k8s.sh)` works.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
MOD_DIR="$HERE/k8s"
VERSION="$(awk '$1 == "require" && $2 == "k8s.io/kubernetes" { print $3 }' "$MOD_DIR/go.mod")"
[[ -n "$VERSION" ]] || { echo "build-k8s: cannot read k8s.io/kubernetes version from $MOD_DIR/go.mod" >&2; exit 1; }
CACHE_ROOT="${PLATOON_K8S_CACHE:-$HOME/.cache/platoon-k8s}"
BIN_DIR="$CACHE_ROOT/$VERSION/bin"
read -r -a TOOLS <<<"${PLATOON_K8S_TOOLS:-kube-apiserver kube-scheduler kubectl}"

log() { echo "build-k8s: $*" >&2; }

HELM_VERSION="$(awk '$1 == "require" && $2 == "helm.sh/helm/v3" { print $3 }' "$HERE/helm/go.mod")"
HELM_BIN="$CACHE_ROOT/helm/$HELM_VERSION/helm"
want_helm=0
[[ "${PLATOON_K8S_HELM:-1}" != 0 && ! -x "$HELM_BIN" ]] && want_helm=1

ETCD_VERSION="$(awk '$1 == "require" && $2 == "go.etcd.io/etcd/server/v3" { print $3 }' "$HERE/etcd/go.mod")"
ETCD_BIN="$CACHE_ROOT/etcd/$ETCD_VERSION/etcd"
want_etcd="${PLATOON_K8S_ETCD:-}"
[[ -z "$want_etcd" ]] && { command -v etcd >/dev/null && want_etcd=0 || want_etcd=1; }
[[ "$want_etcd" == 1 && -x "$ETCD_BIN" ]] && want_etcd=0

link_extras() {
  [[ -x "$HELM_BIN" ]] && ln -sfn "$HELM_BIN" "$BIN_DIR/helm"
  if [[ -x "$ETCD_BIN" && ( "${PLATOON_K8S_ETCD:-}" == 1 || -z "$(command -v etcd)" ) ]]; then
    ln -sfn "$ETCD_BIN" "$BIN_DIR/etcd"
  else
    rm -f "$BIN_DIR/etcd"
  fi
}

missing=()
for tool in "${TOOLS[@]}"; do
  [[ -x "$BIN_DIR/$tool" ]] || missing+=("$tool")
done
if ((${#missing[@]} == 0 && want_helm == 0 && want_etcd == 0)); then
  link_extras
  log "cached: ${TOOLS[*]} $VERSION$([[ -x "$HELM_BIN" ]] && echo ", helm $HELM_VERSION")$([[ -e "$BIN_DIR/etcd" ]] && echo ", etcd $ETCD_VERSION") in $BIN_DIR"
  echo "$BIN_DIR"
  exit 0
fi

# CI's environment may lack the Go toolchain's directory on PATH.
command -v go >/dev/null || { [[ -x /usr/local/go/bin/go ]] && export PATH="$PATH:/usr/local/go/bin"; }
command -v go >/dev/null || { log "go (1.21 or newer) is needed; GOTOOLCHAIN=auto then fetches the release go.mod names"; exit 1; }
mkdir -p "$BIN_DIR" "$CACHE_ROOT/gomod" "$CACHE_ROOT/gocache"
export GOMODCACHE="$CACHE_ROOT/gomod"
export GOCACHE="$CACHE_ROOT/gocache"
export GOFLAGS="-mod=mod -buildvcs=false"
export CGO_ENABLED=0
export GOTOOLCHAIN="${GOTOOLCHAIN:-auto}"

# The version stamp the binaries report (kubectl version, /version); the API server's emulation
# version comes from the source itself.
minor="${VERSION#v1.}"; minor="${minor%%.*}"
pkg=k8s.io/component-base/version
ldflags="-s -w -X $pkg.gitVersion=$VERSION -X $pkg.gitMajor=1 -X $pkg.gitMinor=$minor"
ldflags+=" -X $pkg.gitTreeState=clean -X $pkg.buildDate=1970-01-01T00:00:00Z"
ldflags+=" -X k8s.io/client-go/pkg/version.gitVersion=$VERSION"

start=$(date +%s)
log "building ${missing[*]:-} $VERSION$( ((want_helm)) && echo ", helm $HELM_VERSION")$( ((want_etcd)) && echo ", etcd $ETCD_VERSION") with $(go version | awk '{print $3}') into $BIN_DIR (go build -p ${PLATOON_K8S_JOBS:-2}; a cold build takes a while)"
cd "$MOD_DIR"
# Build into a scratch dir first so an interrupted build never leaves a half-written binary in the cache.
scratch="$(mktemp -d "$CACHE_ROOT/$VERSION/build.XXXXXX")"
trap 'rm -rf "$scratch"' EXIT
for tool in "${missing[@]}"; do
  t0=$(date +%s)
  nice -n 10 go build -p "${PLATOON_K8S_JOBS:-2}" -trimpath -ldflags "$ldflags" \
    -o "$scratch/$tool" "k8s.io/kubernetes/cmd/$tool" >&2
  mv "$scratch/$tool" "$BIN_DIR/$tool"
  log "built $tool in $(($(date +%s) - t0))s"
done
if ((want_helm)); then
  t0=$(date +%s)
  mkdir -p "$(dirname "$HELM_BIN")"
  (cd "$HERE/helm" && nice -n 10 go build -p "${PLATOON_K8S_JOBS:-2}" -trimpath \
    -ldflags "-s -w -X helm.sh/helm/v3/internal/version.version=$HELM_VERSION" \
    -o "$scratch/helm" helm.sh/helm/v3/cmd/helm >&2)
  mv "$scratch/helm" "$HELM_BIN"
  log "built helm $HELM_VERSION in $(($(date +%s) - t0))s"
fi
if ((want_etcd)); then
  t0=$(date +%s)
  mkdir -p "$(dirname "$ETCD_BIN")"
  (cd "$HERE/etcd" && nice -n 10 go build -p "${PLATOON_K8S_JOBS:-2}" -trimpath -ldflags "-s -w" \
    -o "$scratch/etcd" go.etcd.io/etcd/server/v3 >&2)
  mv "$scratch/etcd" "$ETCD_BIN"
  log "built etcd $ETCD_VERSION in $(($(date +%s) - t0))s"
fi
link_extras
log "done in $(($(date +%s) - start))s: $("$BIN_DIR/kube-apiserver" --version 2>/dev/null || true)"
echo "$BIN_DIR"
