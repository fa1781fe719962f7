// echo_client — load for an echo server: N connections ping-pong messages for T seconds.
//
//   echo_client -p 7000 -n 1000 -s 64 -t 5
//
// Each connection is a greenlet that sends a message, waits for the whole echo, checks it and
// records the round trip, until the time is up. Prints messages per second and the latency
// percentiles (p50, p99, max). Exit status: 0 when every connection worked and every echo was
// intact, 1 otherwise, 2 for bad arguments.
#include <CLI/CLI.hpp>
#include <grove/grove.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

int main(int argc, char** argv) {
  CLI::App app{"Echo load generator: N connections, each sending a message and awaiting its echo, for T seconds."};
  std::string host = "127.0.0.1";
  int port = 0, connections = 100, size = 64;
  double seconds = 5;
  app.add_option("-H,--host", host, "server's numeric address");
  app.add_option("-p,--port", port, "server's port")->required()->check(CLI::Range(1, 65535));
  app.add_option("-n,--connections", connections, "connections at once")->capture_default_str()->check(CLI::Range(1, 100000));
  app.add_option("-s,--size", size, "message size in bytes")->capture_default_str()->check(CLI::Range(1, 1 << 20));
  app.add_option("-t,--time", seconds, "how long to run, seconds")->capture_default_str()->check(CLI::Range(0.01, 3600.0));
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int rc = app.exit(e);
    return rc == 0 ? 0 : 2;
  }

  const auto duration = std::chrono::duration_cast<grove::Duration>(std::chrono::duration<double>(seconds));
  std::vector<std::vector<float>> latencies_us(static_cast<std::size_t>(connections));
  int failed = 0;
  std::string first_error;
  const auto t0 = grove::Clock::now();
  const auto stop = t0 + duration;
  std::vector<grove::Greenlet<void>> gs;
  for (int i = 0; i < connections; ++i)
    gs.push_back(grove::spawn([&, i] {
      auto& lat = latencies_us[static_cast<std::size_t>(i)];
      int fd = -1;
      try {
        // A hung server must not hang the client: every wait ends a little after the run.
        grove::Timeout limit(duration + std::chrono::seconds(5));
        fd = grove::tcp_connect(host, static_cast<std::uint16_t>(port));
        std::string msg(static_cast<std::size_t>(size), 'a' + static_cast<char>(i % 26));
        std::string echo(msg.size(), '\0');
        while (grove::Clock::now() < stop) {
          const auto s = grove::Clock::now();
          grove::send_all(fd, msg.data(), msg.size());
          for (std::size_t have = 0; have < echo.size();) {
            std::size_t n = grove::recv(fd, echo.data() + have, echo.size() - have);
            if (n == 0) throw std::runtime_error("server closed the connection");
            have += n;
          }
          if (echo != msg) throw std::runtime_error("echo differs from the message sent");
          lat.push_back(std::chrono::duration<float, std::micro>(grove::Clock::now() - s).count());
        }
      } catch (const std::exception& e) {
        if (failed++ == 0) first_error = "connection " + std::to_string(i) + ": " + e.what();
      }
      if (fd >= 0) grove::close(fd);
    }));
  grove::joinall(gs);
  const double took = std::chrono::duration<double>(grove::Clock::now() - t0).count();

  std::vector<float> all;
  for (auto& l : latencies_us) all.insert(all.end(), l.begin(), l.end());
  std::sort(all.begin(), all.end());
  auto pct = [&](double p) {
    return all.empty() ? 0.0 : static_cast<double>(all[std::min(all.size() - 1, static_cast<std::size_t>(p * static_cast<double>(all.size())))]);
  };
  std::printf("%d connections, %d B messages, %.2f s: %zu messages, %.0f msg/s; latency p50 %.0f us, p99 %.0f us, max %.0f us\n",
              connections, size, took, all.size(), took > 0 ? static_cast<double>(all.size()) / took : 0.0, pct(0.50),
              pct(0.99), all.empty() ? 0.0 : static_cast<double>(all.back()));
  if (failed) {
    std::fprintf(stderr, "echo_client: %d of %d connections failed; first: %s\n", failed, connections, first_error.c_str());
    return 1;
  }
  return 0;
}
