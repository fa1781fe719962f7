// real_servers.hpp — real servers for the interposer's tests, each started by the test on
// 127.0.0.1 with a port the kernel picks: a throwaway PostgreSQL cluster, redis-server, and a
// TLS HTTP server (Python's ThreadingHTTPServer + ssl, a self-signed certificate made here).
//
// They are native processes: nothing here runs under grove. The helpers use raw syscalls (not
// the hooked libc functions) so that the test infrastructure keeps working however broken the
// interposer under test is. Each server is stopped and its temporary directory removed when the
// object is destroyed; a child also dies with the test process (PR_SET_PDEATHSIG), and the
// Watchdog stops everything and exits if a test hangs.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace grove::test {

using std::chrono::milliseconds;

// A directory under /tmp, removed with everything in it when destroyed.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// A child process: argv[0] is executed (PATH searched) with stdin from /dev/null, stderr (and
// stdout unless `pipe_stdout`) appended to `log_path`. With a non-empty `user`, and when running
// as root, the child first drops to that user. Destroying it stops it (SIGTERM, then SIGKILL).
class Process {
 public:
  Process(std::vector<std::string> argv, std::string log_path, const std::string& user = "",
          bool pipe_stdout = false);
  ~Process();
  Process(const Process&) = delete;
  Process& operator=(const Process&) = delete;

  pid_t pid() const { return pid_; }
  // The next line of the child's stdout (pipe_stdout only), or nullopt after `limit` or at EOF.
  std::optional<std::string> read_line(milliseconds limit);
  // The exit status (as waitpid reports it), or nullopt if it is still running after `limit`.
  std::optional<int> wait(milliseconds limit);
  // Sends `sig`, waits up to `grace`, then SIGKILL. Idempotent.
  void stop(int sig = 15, milliseconds grace = milliseconds(5000));
  // The last `n` bytes of the log, for error messages.
  std::string log_tail(std::size_t n = 600) const;

 private:
  pid_t pid_ = -1;
  int out_ = -1;
  std::string buffered_;
  std::string log_path_;
  std::optional<int> status_;
};

// Runs a command to completion; throws std::runtime_error (with the log's tail) unless it
// exits 0 within `limit`.
void run_command(const std::vector<std::string>& argv, const std::string& log_path,
                 milliseconds limit, const std::string& user = "");

// A port nobody listens on right now (the kernel's choice for a bind to port 0).
std::uint16_t free_port();
// True once something accepts TCP connections on 127.0.0.1:port, false after `limit`.
bool wait_port(std::uint16_t port, milliseconds limit);

// A PostgreSQL 15 cluster made with initdb in a temporary directory, run as the `postgres`
// system user (or `nobody`) when the test runs as root: trust authentication, 127.0.0.1 only.
class Postgres {
 public:
  explicit Postgres(int max_connections = 150);
  ~Postgres();
  std::uint16_t port() const { return port_; }
  // A libpq connection string for the superuser `postgres`, TCP to 127.0.0.1.
  std::string conninfo() const;

 private:
  TempDir dir_;
  std::uint16_t port_ = 0;
  std::unique_ptr<Process> server_;
};

// redis-server on 127.0.0.1, no persistence.
class Redis {
 public:
  Redis();
  std::uint16_t port() const { return port_; }

 private:
  TempDir dir_;
  std::uint16_t port_ = 0;
  std::unique_ptr<Process> server_;
};

// HTTPS on 127.0.0.1 with a self-signed certificate (clients must not verify it). Each GET
// answers "body of PATH\n" after `delay`, or after 5 s for paths starting with /slow; HTTP/1.1
// keep-alive, idle connections closed by the server after 10 s. Every TLS handshake runs in the
// connection's own thread, so 100 clients connecting at once are not served one by one.
class TlsHttpServer {
 public:
  explicit TlsHttpServer(milliseconds delay);
  std::uint16_t port() const { return port_; }
  std::string url(const std::string& path) const;

 private:
  TempDir dir_;
  std::uint16_t port_ = 0;
  std::unique_ptr<Process> server_;
};

// Bounds a test: if it is still running after `limit`, says so on stderr, kills every child
// process started through Process, removes every TempDir and exits the test program with 1.
// (A hang inside a C library can block the whole thread, so nothing on that thread could.)
class Watchdog {
 public:
  Watchdog(milliseconds limit, std::string what);
  ~Watchdog();
  Watchdog(const Watchdog&) = delete;
  Watchdog& operator=(const Watchdog&) = delete;

 private:
  std::mutex m_;
  std::condition_variable cv_;
  bool done_ = false;
  std::thread thread_;
};

}  // namespace grove::test
