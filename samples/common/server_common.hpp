// server_common.hpp — what every sample server does before it accepts: room for many fds, and a
// listening socket whose port is announced on the first line of stdout (tests wait for it).
#pragma once

#include <sys/resource.h>

#include <grove/grove.hpp>

#include <cstdint>
#include <cstdio>
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

// The listening fd, after printing "listening on HOST:PORT"; -1 after printing why not.
inline int listen_and_announce(const char* prog, const std::string& host, int port) {
  int listener;
  try {
    listener = grove::tcp_listen(host, static_cast<std::uint16_t>(port), 4096);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "%s: cannot listen on %s:%d: %s\n", prog, host.c_str(), port, e.what());
    return -1;
  }
  std::printf("listening on %s:%u\n", host.c_str(), grove::local_port(listener));
  std::fflush(stdout);
  return listener;
}

}  // namespace server_common
