// echo_server — a TCP echo server: one greenlet per connection, on one thread or several.
//
//   echo_server                  # 127.0.0.1, a free port, printed on the first line
//   echo_server -p 7000 --host 0.0.0.0
//   echo_server --threads 2                    # a hub per thread, a listener per hub (SO_REUSEPORT)
//   echo_server --threads 2 --accept handout   # one acceptor hands connections to the hubs
//
// Each connection is a plain read-then-write loop; while it waits for data it is parked and its
// hub serves the others. Runs until killed. See echo_client for a load generator.
#include <CLI/CLI.hpp>
#include <grove/grove.hpp>

#include "../common/server_common.hpp"

#include <cstdio>
#include <string>

namespace {

void echo(int c) {
  char buf[16 * 1024];
  try {
    while (std::size_t n = grove::recv(c, buf, sizeof buf)) grove::send_all(c, buf, n);
  } catch (const std::system_error&) {
    // ECONNRESET / EPIPE: the client went away; its connection simply ends.
  }
  grove::close(c);
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"TCP echo server, one greenlet per connection. Prints 'listening on HOST:PORT' first."};
  std::string host = "127.0.0.1";
  int port = 0;
  server_common::Threads threads;
  app.add_option("-H,--host", host, "numeric address to listen on");
  app.add_option("-p,--port", port, "port (0: pick a free one)")->check(CLI::Range(0, 65535));
  threads.add_options(app);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int rc = app.exit(e);
    return rc == 0 ? 0 : 2;
  }
  server_common::raise_fd_limit();
  return server_common::serve("echo_server", host, port, threads, echo);
}
