// echo_server — a TCP echo server: one greenlet per connection, one thread.
//
//   echo_server                  # 127.0.0.1, a free port, printed on the first line
//   echo_server -p 7000 --host 0.0.0.0
//
// Each connection is a plain read-then-write loop; while it waits for data it is parked and the
// hub serves the others. Runs until killed. See echo_client for a load generator.
#include <sys/resource.h>

#include <CLI/CLI.hpp>
#include <grove/grove.hpp>

#include "../common/server_common.hpp"

#include <cstdio>
#include <string>

int main(int argc, char** argv) {
  CLI::App app{"TCP echo server, one greenlet per connection, one thread. Prints 'listening on HOST:PORT' first."};
  std::string host = "127.0.0.1";
  int port = 0;
  app.add_option("-H,--host", host, "numeric address to listen on");
  app.add_option("-p,--port", port, "port (0: pick a free one)")->check(CLI::Range(0, 65535));
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int rc = app.exit(e);
    return rc == 0 ? 0 : 2;
  }
  server_common::raise_fd_limit();
  const int listener = server_common::listen_and_announce("echo_server", host, port);
  if (listener < 0) return 1;
  for (;;) {
    int c;
    try {
      c = grove::accept(listener);
    } catch (const std::system_error& e) {  // EMFILE & co.: report, let connections end, go on
      std::fprintf(stderr, "echo_server: accept: %s\n", e.what());
      grove::sleep(std::chrono::milliseconds(50));
      continue;
    }
    grove::spawn([c] {
      char buf[16 * 1024];
      try {
        while (std::size_t n = grove::recv(c, buf, sizeof buf)) grove::send_all(c, buf, n);
      } catch (const std::system_error&) {
        // ECONNRESET / EPIPE: the client went away; its connection simply ends.
      }
      grove::close(c);
    });
  }
}
