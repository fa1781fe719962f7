// server_common.hpp — what every sample server does: room for many fds, a listening socket whose
// port is announced on the first line of stdout (tests wait for it), and --threads/--accept.
#pragma once

#include <sys/resource.h>

#include <CLI/CLI.hpp>
#include <grove/grove.hpp>

#include <cstdint>
#include <cstdio>
#include <functional>
#include <map>
#include <string>

namespace server_common {

// One fd per connection: allow as many as the hard limit permits.
inline void raise_fd_limit() {
  rlimit rl{};
  if (::getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
    rl.rlim_cur = rl.rlim_max;
    ::setrlimit(RLIMIT_NOFILE, &rl);
  }
}

// --threads N (a hub per thread) and --accept per-hub|handout (grove/server.hpp).
struct Threads {
  int n = 1;
  grove::AcceptMode mode = grove::AcceptMode::per_hub;
  void add_options(CLI::App& app) {
    app.add_option("--threads", n, "threads, each with its own hub (default 1)")->check(CLI::Range(1, 1024));
    app.add_option("--accept", mode,
                   "with several threads: per-hub (a listener per hub, SO_REUSEPORT) or handout (one acceptor "
                   "hands connections to the hubs in turn)")
        ->transform(CLI::CheckedTransformer(
            std::map<std::string, grove::AcceptMode>{{"per-hub", grove::AcceptMode::per_hub},
                                                     {"handout", grove::AcceptMode::handout}},
            CLI::ignore_case));
  }
};

// Listens, prints "listening on HOST:PORT", and serves each connection with handler(fd) (which
// closes fd) on `threads.n` hubs until the process is killed. Returns 1 if it cannot listen.
inline int serve(const char* prog, const std::string& host, int port, const Threads& threads,
                 std::function<void(int)> handler) {
  grove::HubGroup hubs(static_cast<std::size_t>(threads.n));
  std::uint16_t bound;
  try {
    bound = grove::serve_tcp(hubs, host, static_cast<std::uint16_t>(port), std::move(handler),
                             grove::ServeOptions{.mode = threads.mode,
                                                 .on_accept_error = [prog](const std::system_error& e) {
                                                   std::fprintf(stderr, "%s: accept: %s\n", prog, e.what());
                                                 }});
  } catch (const std::exception& e) {
    std::fprintf(stderr, "%s: cannot listen on %s:%d: %s\n", prog, host.c_str(), port, e.what());
    return 1;
  }
  std::printf("listening on %s:%u\n", host.c_str(), bound);
  std::fflush(stdout);
  hubs.join();  // until killed: nothing calls stop()
  return 0;
}

}  // namespace server_common
