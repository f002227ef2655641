// Pins the Helm release the e2e tests build (tests/e2e/build-k8s.sh) to render deploy/helm/platoon.
module platoon.dev/tests/e2e/helm

go 1.26.0

require helm.sh/helm/v3 v3.22.0
