// server.hpp — a TCP server on every hub of a HubGroup.
//
//   grove::HubGroup hubs(4);
//   auto port = grove::serve_tcp(hubs, "0.0.0.0", 8080, [](int fd) {
//     char buf[4096];
//     while (std::size_t n = grove::recv(fd, buf, sizeof buf)) grove::send_all(fd, buf, n);
//     grove::close(fd);
//   });
//   hubs.join();   // serves until hubs.stop()
//
// Every connection gets a greenlet of its own, on the hub that will own its fd (an fd belongs to
// the hub that first waits on it), running handler(fd); the handler closes fd. Two ways for the
// connections to reach the hubs:
//
//   per_hub   each hub listens on the same port with its own socket (SO_REUSEPORT) and accepts
//             for itself; the kernel spreads connections over the sockets by a hash of their
//             addresses. No thread hands anything to another; the spread is only as even as
//             the hash (a few clients may land on one hub).
//   handout   one acceptor on hub 0 accepts every connection and hands it to the hubs in turn
//             (round robin, hub 0 included) with spawn_on. Even spread; hub 0 does the
//             accepting, and each connection costs one cross-hub start.
//
// handler is copied to each hub and called on several threads at once: it must be safe to call
// concurrently. The acceptors run until hubs.stop() (which ends them and every connection's
// greenlet, and closes the listening sockets).
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <system_error>

#include "hub_group.hpp"

namespace grove {

enum class AcceptMode { per_hub, handout };

struct ServeOptions {
  AcceptMode mode = AcceptMode::per_hub;
  int backlog = 4096;
  // Called on the accepting hub when accept fails (EMFILE & co.); the acceptor then pauses for
  // 50 ms and goes on. Default: a line on stderr.
  std::function<void(const std::system_error&)> on_accept_error{};
};

// Listens on host:port (a numeric address; port 0 picks a free one, the same for every hub)
// and serves as above. Returns the port once every listener is bound. Throws std::system_error
// if binding fails (nothing is left listening then).
std::uint16_t serve_tcp(HubGroup& hubs, const std::string& host, std::uint16_t port,
                        std::function<void(int fd)> handler, ServeOptions options = {});

}  // namespace grove
