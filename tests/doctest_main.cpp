// The shared doctest main for every platoon test executable.
#define DOCTEST_CONFIG_IMPLEMENT
#include <doctest/doctest.h>

#include <csignal>

int main(int argc, char** argv) {
  // As in platoon itself: a write to a connection the peer closed (a test client racing a server's
  // close, an OpenSSL write) is an error to handle, not a signal that ends the process.
  std::signal(SIGPIPE, SIG_IGN);
  return doctest::Context(argc, argv).run();
}
