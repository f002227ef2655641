// `platoon serve`: the extender service, standalone (node cache from a cluster file) or live (the gang
// engine fed from the API server, which platoon binds and evicts through).
#include <chrono>
#include <csignal>
#include <cstdlib>
#include <cstdio>
#include <malloc.h>
#include <sys/resource.h>
#include <memory>
#include <optional>
#include <pthread.h>
#include <thread>
#include <unistd.h>

#include "platoon/version.h"
#include "scheduler/app/live.h"
#include "scheduler/app/setup.h"
#include "scheduler/extender/log.h"
#include "scheduler/extender/server.h"

namespace platoon::app {
namespace {

constexpr const char* kServeHelp =
    "Usage: platoon serve [options]\n"
    "\n"
    "Answers kube-scheduler's extender calls: POST <urlPrefix>/filter, /prioritize, /bind, /preempt\n"
    "(extender/v1 JSON, nodeCacheCapable true or false). Health, readiness and Prometheus metrics are\n"
    "served on a separate admin port: /healthz, /readyz, /metrics, and /debug/pending with the gang\n"
    "engine. Both ports are event-driven: binds waiting at the co-bind barrier, idle and slow\n"
    "connections hold no thread. Limits and timeouts are under extender: in the config.\n"
    "\n"
    "Options:\n"
    "  --config FILE          PlatoonConfig YAML (scoring, extender paths, and in standalone mode the\n"
    "                         cluster file that fills the node cache). Default: built-in settings.\n"
    "  --cluster FILE         cluster file (Nodes/Pods YAML or `kubectl get nodes,pods -o json`);\n"
    "                         overrides the config's `cluster:`\n"
    "  --listen HOST:PORT     extender address (default 127.0.0.1:8888; port 0 picks a free port)\n"
    "  --metrics-listen HOST:PORT  /healthz, /readyz and /metrics address (default 127.0.0.1:9090;\n"
    "                         \":9090\" listens on every interface)\n"
    "  --tls-cert FILE        serve the extender over HTTPS with this certificate (PEM)\n"
    "  --tls-key FILE         private key for --tls-cert (PEM)\n"
    "  --client-ca FILE       require client certificates signed by this CA (kube-scheduler tlsConfig)\n"
    "  --admin-tls-cert FILE, --admin-tls-key FILE\n"
    "                         serve the admin port over HTTPS (TLS 1.2+, reloaded when the files change)\n"
    "  --admin-client-ca FILE /metrics and /debug/pending need a client certificate signed by this CA;\n"
    "                         /healthz and /readyz stay open for the kubelet's probes\n"
    "  --debug-pending        serve /debug/pending (namespaces, gangs, free capacity) to any client;\n"
    "                         without it only loopback clients or certificate holders get it\n"
    "  --gang-engine          decide filter/prioritize/bind with the gang engine (whole-gang admission,\n"
    "                         co-bind barrier, Kueue quota from the config's kueueFiles); pending gangs\n"
    "                         at GET /debug/pending on the admin port\n"
    "  --kubeconfig FILE      live mode: list and watch Nodes, Pods and PodGroups through this kubeconfig's\n"
    "                         current context; post Bindings (devices in the platoon.dev/devices\n"
    "                         annotation), Evictions, PodGroup status and Events; implies --gang-engine;\n"
    "                         /readyz turns ready after the first full sync; Kueue files are re-read when\n"
    "                         they change\n"
    "  --in-cluster           live mode with the pod's service account (KUBERNETES_SERVICE_HOST/PORT)\n"
    "  --leader-lease NS/NAME live mode: act (advance time, admit, preempt, evict) only while the Lease\n"
    "                         NS/NAME (kube-scheduler's leaderElection lease) is held by a kube-scheduler\n"
    "                         of this pod (holderIdentity <hostname>_...); otherwise stand by\n"    
    "  --log-level LEVEL      debug, info (default), warn or error\n"
    "  --help                 show this help\n"
    "\n"
    "Examples:\n"
    "  platoon serve --config config/examples/platoon.yaml --listen 127.0.0.1:8888\n"
    "  platoon serve --config /etc/platoon/platoon.yaml --in-cluster --gang-engine\n";


}  // namespace

int RunServe(const std::vector<std::string_view>& args) {
  // Request bodies and decode buffers of a megabyte or more are mapped and unmapped on their own, so
  // a burst of big NodeList bodies is given back to the system afterwards (glibc would otherwise
  // raise its mmap threshold and keep them on the heap).
  mallopt(M_MMAP_THRESHOLD, 1 << 20);
  // Every connection is a descriptor, and a big gang binds on as many connections as it has members:
  // take the hard limit, as Go programs do (the soft limit is often 1,024).
  if (rlimit files{}; ::getrlimit(RLIMIT_NOFILE, &files) == 0 && files.rlim_cur < files.rlim_max) {
    files.rlim_cur = files.rlim_max;
    ::setrlimit(RLIMIT_NOFILE, &files);
  }
  auto flags = ParseFlags(args, {{"config"}, {"cluster"}, {"listen"}, {"metrics-listen"}, {"tls-cert"}, {"tls-key"},
                                 {"client-ca"}, {"admin-tls-cert"}, {"admin-tls-key"}, {"admin-client-ca"},
                                 {"debug-pending", false}, {"log-level"}, {"gang-engine", false}, {"kubeconfig"},
                                 {"in-cluster", false}, {"leader-lease"}, {"help", false}});
  if (!flags) {
    std::fprintf(stderr, "platoon serve: %s\n\n%s", flags.error().c_str(), kServeHelp);
    return 2;
  }
  if (flags->Has("help")) {
    std::fputs(kServeHelp, stdout);
    return 0;
  }
  if (!flags->positional.empty()) {
    std::fprintf(stderr, "platoon serve: unexpected argument \"%s\"\n", flags->positional.front().c_str());
    return 2;
  }
  if (flags->Has("log-level")) {
    log::Level level;
    if (!log::ParseLevel(flags->Get("log-level"), level)) {
      std::fprintf(stderr, "platoon serve: --log-level must be debug, info, warn or error\n");
      return 2;
    }
    log::SetMinLevel(level);
  }
  auto listen = ParseHostPort(flags->Get("listen", "127.0.0.1:8888"));
  auto admin_listen = ParseHostPort(flags->Get("metrics-listen", "127.0.0.1:9090"));
  if (!listen || !admin_listen) {
    std::fprintf(stderr, "platoon serve: %s\n", (!listen ? listen.error() : admin_listen.error()).c_str());
    return 2;
  }
  extender::TlsSettings tls{flags->Get("tls-cert"), flags->Get("tls-key"), flags->Get("client-ca")};
  if (tls.cert_file.empty() != tls.key_file.empty() || (!tls.client_ca_file.empty() && tls.cert_file.empty())) {
    std::fprintf(stderr, "platoon serve: --tls-cert and --tls-key go together, and --client-ca needs both\n");
    return 2;
  }
  extender::AdminSettings admin{{flags->Get("admin-tls-cert"), flags->Get("admin-tls-key"), flags->Get("admin-client-ca")},
                                flags->Has("debug-pending")};
  if (admin.tls.cert_file.empty() != admin.tls.key_file.empty() || (!admin.tls.client_ca_file.empty() && admin.tls.cert_file.empty())) {
    std::fprintf(stderr, "platoon serve: --admin-tls-cert and --admin-tls-key go together, and --admin-client-ca needs both\n");
    return 2;
  }

  const bool live = flags->Has("kubeconfig") || flags->Has("in-cluster");
  if (flags->Has("kubeconfig") && flags->Has("in-cluster")) {
    std::fprintf(stderr, "platoon serve: --kubeconfig and --in-cluster exclude each other\n");
    return 2;
  }
  if (!live && flags->Has("leader-lease")) {
    std::fprintf(stderr, "platoon serve: --leader-lease is for live mode (--kubeconfig or --in-cluster)\n");
    return 2;
  }
  if (live && flags->Has("cluster")) {
    std::fprintf(stderr, "platoon serve: --cluster is for standalone mode; live mode reads the cluster from the API server\n");
    return 2;
  }
  std::unique_ptr<kube::ApiClient> api;
  if (live) {
    auto cluster = flags->Has("in-cluster") ? kube::LoadInClusterConfig() : kube::LoadKubeconfig(flags->Get("kubeconfig"));
    if (!cluster) {
      std::fprintf(stderr, "platoon serve: %s\n", cluster.error().c_str());
      return 1;
    }
    auto client = kube::ApiClient::Create(std::move(*cluster));
    if (!client) {
      std::fprintf(stderr, "platoon serve: %s\n", client.error().c_str());
      return 1;
    }
    api = std::move(*client);
  }

  auto loaded_cfg = ConfigFromFlags(*flags);
  if (!loaded_cfg) {
    std::fprintf(stderr, "platoon serve: %s\n", loaded_cfg.error().c_str());
    return 1;
  }
  const config::PlatoonConfig& cfg = *loaded_cfg;

  auto policy = policies::MakeScorePolicy(cfg.scoring.policy, cfg.scoring.resources);
  if (!policy) {
    std::fprintf(stderr, "platoon serve: %s\n", policy.error().c_str());
    return 1;
  }
  auto state = std::make_unique<ClusterState>(std::move(*policy));
  const auto clock = [] {
    return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
  };
  std::optional<config::ClusterSnapshot> snapshot;
  if (live) {
    // The cluster comes from the API server.
  } else if (!cfg.cluster_file.empty()) {
    auto loaded = config::LoadClusterFile(cfg.cluster_file);
    if (!loaded) {
      std::fprintf(stderr, "platoon serve: invalid cluster file: %s\n", loaded.error().c_str());
      return 1;
    }
    snapshot = std::move(*loaded);
  } else {
    log::Warn("no cluster file given: the node cache is empty and every node will fail filter",
              {{"hint", "pass --cluster FILE or set cluster: in the config"}});
  }
  std::unique_ptr<engine::Engine> gang_engine;
  if (flags->Has("gang-engine") || live) {
    auto made = MakeEngine(cfg, snapshot ? &*snapshot : nullptr, clock());
    if (!made) {
      std::fprintf(stderr, "platoon serve: %s\n", made.error().c_str());
      return 1;
    }
    gang_engine = std::move(*made);
  }
  std::size_t nodes = 0, pods = 0;
  if (snapshot) {
    nodes = snapshot->nodes.size();
    pods = snapshot->pods.size();
    for (auto& node : snapshot->nodes) state->UpsertNode(std::move(node));
    for (auto& pod : snapshot->pods) state->UpsertPod(std::move(pod));
  }

  // Block SIGINT/SIGTERM in every thread (the servers' threads inherit this) and wait for them here.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

  extender::ExtenderService service(cfg.extender, std::move(state));
  if (gang_engine) service.AttachEngine(std::move(gang_engine), clock);
  std::unique_ptr<LiveCluster> live_cluster;
  if (live) {
    service.SetAccepting(false);
    service.SetBinder([&api, &service](const engine::Binding& binding) {
      int status = 0, attempts = 0;
      auto posted = kube::PostBinding(*api, binding, &status, {}, &attempts);
      service.CountApiCall("binding", status);
      if (attempts > 1)
        log::Info("binding retried", {{"pod", binding.pod_namespace + "/" + binding.pod_name}, {"node", binding.node},
                                      {"attempts", std::to_string(attempts)}, {"status", std::to_string(status)},
                                      {"result", posted ? "bound" : posted.error()}});
      return posted;
    });
    LiveOptions options;
    options.leader_lease = flags->Get("leader-lease");
    if (!options.leader_lease.empty()) {
      auto slash = options.leader_lease.find('/');
      if (slash == std::string::npos || slash == 0 || slash + 1 == options.leader_lease.size()) {
        std::fprintf(stderr, "platoon serve: --leader-lease wants NAMESPACE/NAME, got \"%s\"\n", options.leader_lease.c_str());
        return 2;
      }
      char host[256] = {};
      ::gethostname(host, sizeof host - 1);
      options.identity_prefix = std::string(host) + "_";
    }
    live_cluster = std::make_unique<LiveCluster>(*api, service, cfg, clock, options);
  }
  extender::ExtenderServer server(service, tls, admin);
  auto started = server.Start(listen->first, listen->second, admin_listen->first, admin_listen->second);
  if (!started) {
    std::fprintf(stderr, "platoon serve: %s\n", started.error().c_str());
    return 1;
  }
  if (live_cluster) {
    live_cluster->Start([&service, &server] {
      service.SetAccepting(true);
      server.SetReady(true);
    });
  } else {
    server.SetReady(true);
  }
  const auto& e = cfg.extender;
  log::Info("platoon serving",
            {{"version", kVersion},
             {"extender", std::string(tls.enabled() ? "https://" : "http://") + listen->first + ":" + std::to_string(server.port()) + e.url_prefix},
             {"verbs", e.filter_verb + "," + e.prioritize_verb + "," + e.bind_verb + "," + e.preempt_verb},
             {"admin", std::string(admin.tls.enabled() ? "https://" : "http://") + admin_listen->first + ":" + std::to_string(server.admin_port())},
             {"workers", std::to_string(e.workers)},
             {"max_connections", std::to_string(e.max_connections)},
             {"open_files_limit", [] {
                rlimit files{};
                return ::getrlimit(RLIMIT_NOFILE, &files) == 0 ? std::to_string(files.rlim_cur) : std::string("unknown");
              }()},
             {"source", api ? api->config().origin : cfg.cluster_file.empty() ? "none" : cfg.cluster_file},
             {"nodes", std::to_string(nodes)},
             {"pods", std::to_string(pods)},
             {"scoring", cfg.scoring.policy},
             {"client_certs", tls.client_ca_file.empty() ? "not required" : "required"}});
  int signal_number = 0;
  sigwait(&stop_signals, &signal_number);
  log::Info("shutting down", {{"signal", signal_number == SIGINT ? "SIGINT" : "SIGTERM"}});
  if (live_cluster) live_cluster->Stop();
  // The event-driven edge closes idle keep-alive connections at once: nothing waits for them.
  server.Stop();
  log::Info("stopped");
  std::fflush(nullptr);
  return 0;
}

}  // namespace platoon::app
