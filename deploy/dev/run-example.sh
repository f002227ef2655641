#!/usr/bin/env bash
# Sets up everything and runs platoon's main job on the embedded default: the extender in standalone
# mode on the example cluster (config/examples/), no Kubernetes needed. Ctrl-C stops it.
# Extra arguments go to `platoon serve` (e.g. --listen 127.0.0.1:9999).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$ROOT"
bash deploy/dev/install-deps.sh
PLATOON_TARGET=platoon bash deploy/dev/build.sh
cat <<'MSG'

platoon is starting on http://127.0.0.1:8888/platoon (metrics on http://127.0.0.1:9090/metrics).
Try it from another terminal:

  curl -s -XPOST 127.0.0.1:8888/platoon/filter -d '{"Pod":{"metadata":{"name":"train-0","uid":"u1"},"spec":{"containers":[{"name":"c","resources":{"requests":{"nvidia.com/gpu":"8"}}}]}},"NodeNames":["h100-rack-a-001","h100-rack-a-002","cpu-001"]}'

MSG
exec build/scheduler/app/platoon serve --config config/examples/platoon.yaml "$@"
