// hello_echo — grove in one screen: an echo server and N clients in one thread.
//
// The server runs one greenlet per connection; each client greenlet connects, sends a few
// messages with a pause between them (like a slow user), and checks the echo. Written as plain
// blocking code, all clients are served at the same time: the run takes about as long as one
// client, not N of them.
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <grove/grove.hpp>

#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

using namespace std::chrono_literals;

namespace {

void draw_progress(int done, int total, bool tty) {
  if (!tty) return;
  constexpr int width = 40;
  const int filled = total ? done * width / total : width;
  std::printf("\r  [%s%s] %d/%d clients", std::string(static_cast<std::size_t>(filled), '#').c_str(),
              std::string(static_cast<std::size_t>(width - filled), '.').c_str(), done, total);
  std::fflush(stdout);
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"grove demo: an echo server and many slow clients, all in one thread"};
  int clients = 1000;
  int messages = 5;
  int pause_ms = 100;
  app.add_option("-n,--clients", clients, "number of concurrent clients")->check(CLI::Range(1, 10000));
  app.add_option("-m,--messages", messages, "messages per client")->check(CLI::Range(1, 1000));
  app.add_option("-p,--pause-ms", pause_ms, "pause between a client's messages")->check(CLI::Range(0, 10000));
  CLI11_PARSE(app, argc, argv);

  const bool tty = ::isatty(STDOUT_FILENO);
  int listener = grove::tcp_listen("127.0.0.1", 0, clients);
  const auto port = grove::local_port(listener);
  std::printf("echo server on 127.0.0.1:%u; %d clients x %d messages, %d ms apart\n", port, clients, messages,
              pause_ms);

  auto server = grove::spawn(grove::SpawnOptions{.name = "acceptor"}, [&] {
    for (;;) {
      int c = grove::accept(listener);
      grove::spawn([c] {
        char buf[1024];
        while (std::size_t n = grove::recv(c, buf, sizeof buf)) grove::send_all(c, buf, n);
        grove::close(c);
      });
    }
  });

  int done = 0, failed = 0;
  const auto t0 = grove::Clock::now();
  std::vector<grove::Greenlet<void>> gs;
  for (int i = 0; i < clients; ++i)
    gs.push_back(grove::spawn([&, i] {
      try {
        grove::Timeout limit(30s);
        int fd = grove::tcp_connect("127.0.0.1", port);
        for (int m = 0; m < messages; ++m) {
          std::string msg = "client " + std::to_string(i) + " message " + std::to_string(m) + "\n";
          grove::send_all(fd, msg.data(), msg.size());
          std::string echo(msg.size(), '\0');
          for (std::size_t have = 0; have < echo.size();) {
            std::size_t n = grove::recv(fd, echo.data() + have, echo.size() - have);
            if (n == 0) throw std::runtime_error("server closed the connection");
            have += n;
          }
          if (echo != msg) throw std::runtime_error("echo mismatch");
          grove::sleep(std::chrono::milliseconds(pause_ms));
        }
        grove::close(fd);
      } catch (const std::exception& e) {
        if (++failed <= 5) std::fprintf(stderr, "\nclient %d: %s\n", i, e.what());
      }
      draw_progress(++done, clients, tty);
    }));
  grove::joinall(gs);
  const double took = std::chrono::duration<double>(grove::Clock::now() - t0).count();
  server.kill();
  grove::close(listener);

  const double serial = static_cast<double>(clients) * messages * pause_ms / 1000.0;
  std::printf("%s%d clients done (%d failed) in %.2f s; one after another they would take %.0f s (%.0fx)\n",
              tty ? "\n" : "", clients - failed, failed, took, serial, took > 0 ? serial / took : 0.0);
  return failed == 0 ? 0 : 1;
}
