// Pins the etcd release tests/e2e/build-k8s.sh builds when Debian's etcd-server is not used
// (PLATOON_K8S_ETCD=1, or no etcd on PATH): the etcd line kube-apiserver 1.36 is tested with.
module platoon.dev/tests/e2e/etcd

go 1.26.0

require go.etcd.io/etcd/server/v3 v3.6.8
