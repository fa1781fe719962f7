// P4 — echo server on grove: one greenlet per connection, written as blocking code
// (grove::accept / recv / send_all). Runs until killed.
//
//   echo_grove PORT        (listens on 127.0.0.1:PORT)
#include <grove/grove.hpp>

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <cstdio>
#include <cstdlib>
#include <system_error>

namespace {

void serve(int fd) {
  char buf[4096];
  try {
    for (;;) {
      std::size_t n = grove::recv(fd, buf, sizeof buf);
      if (n == 0) break;
      grove::send_all(fd, buf, n);
    }
  } catch (const std::system_error&) {
    // ECONNRESET and friends when the load generator goes away: just drop the connection.
  }
  grove::close(fd);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s PORT\n", argv[0]);
    return 2;
  }
  int lfd = grove::tcp_listen("127.0.0.1", static_cast<std::uint16_t>(std::atoi(argv[1])), 4096);
  std::printf("listening %u\n", grove::local_port(lfd));
  std::fflush(stdout);
  for (;;) {
    int fd = grove::accept(lfd);
    int one = 1;
    // Same as the C and Go servers (Go sets it by default): no Nagle delay on small replies.
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    grove::spawn(serve, fd);
  }
}
