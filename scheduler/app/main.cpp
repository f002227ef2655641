// The platoon command line: `platoon serve | check | explain | simulate`, each with --help; `platoon --version`.
#include <csignal>
#include <cstdio>
#include <cstring>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "platoon/version.h"
#include "scheduler/app/commands.h"

namespace {

constexpr const char* kUsage =
    "platoon: gang, quota and topology scheduling for Kubernetes GPU clusters (a kube-scheduler extender)\n"
    "\n"
    "Usage: platoon <command> [options]\n"
    "\n"
    "Commands:\n"
    "  serve    answer kube-scheduler's extender calls (filter, prioritize, bind, preempt) over HTTP\n"
    "  check    validate a platoon config, cluster file or manifest and print what it resolves to\n"
    "  explain  pending gangs of a cluster snapshot per ClusterQueue: position, reason, what unblocks it\n"
    "  simulate replay a scenario (trace, quota, policies) on the engine and write a report\n"
    "\n"
    "Options:\n"
    "  --help       show this help (also: platoon <command> --help)\n"
    "  --version    print the version\n";

}  // namespace

int main(int argc, char** argv) {
  // A write to a connection the peer closed (the API server's, kube-scheduler's, through OpenSSL
  // too) must fail that call, not end the process.
  std::signal(SIGPIPE, SIG_IGN);
  std::vector<std::string_view> args(argv + 1, argv + argc);
  if (args.empty()) {
    std::fputs(kUsage, stderr);
    return 2;
  }
  const std::string_view command = args.front();
  if (command == "--help" || command == "-h" || command == "help") {
    std::fputs(kUsage, stdout);
    return 0;
  }
  if (command == "--version" || command == "version") {
    std::printf("platoon %s\n", platoon::kVersion);
    return 0;
  }
  std::vector<std::string_view> rest(args.begin() + 1, args.end());
  if (command == "serve") return platoon::app::RunServe(rest);
  if (command == "check") return platoon::app::RunCheck(rest);
  if (command == "explain") return platoon::app::RunExplain(rest);
  if (command == "simulate") return platoon::app::RunSimulate(rest);
  std::fprintf(stderr, "platoon: unknown command \"%.*s\"\n\n%s", static_cast<int>(command.size()), command.data(), kUsage);
  return 2;
}
