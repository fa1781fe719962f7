// real_servers.cpp — see real_servers.hpp. Raw syscalls throughout: this code must not depend
// on the interposer it helps to test.
#include "real_servers.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <grp.h>
#include <netinet/in.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <stdexcept>

namespace grove::test {

namespace {

// Live children and temporary directories, for the watchdog's last-resort cleanup.
std::mutex registry_mutex;
std::set<pid_t> live_children;
std::set<std::string> live_dirs;

long raw_close(int fd) { return ::syscall(SYS_close, fd); }

void raw_sleep(milliseconds d) {
  timespec ts{static_cast<time_t>(d.count() / 1000), static_cast<long>(d.count() % 1000) * 1'000'000L};
  ::syscall(SYS_nanosleep, &ts, nullptr);
}

std::chrono::steady_clock::time_point deadline_after(milliseconds d) { return std::chrono::steady_clock::now() + d; }

milliseconds left_until(std::chrono::steady_clock::time_point t) {
  auto d = std::chrono::duration_cast<milliseconds>(t - std::chrono::steady_clock::now());
  return d.count() < 0 ? milliseconds(0) : d;
}

std::string server_user() { return ::getpwnam("postgres") ? "postgres" : "nobody"; }

}  // namespace

TempDir::TempDir() {
  char tmpl[] = "/tmp/grove-real-XXXXXX";
  if (!::mkdtemp(tmpl)) throw std::runtime_error(std::string("mkdtemp: ") + std::strerror(errno));
  path_ = tmpl;
  ::chmod(path_.c_str(), 0711);  // server users reach the subdirectories made for them
  std::lock_guard lock(registry_mutex);
  live_dirs.insert(path_);
}

TempDir::~TempDir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
  std::lock_guard lock(registry_mutex);
  live_dirs.erase(path_);
}

Process::Process(std::vector<std::string> argv, std::string log_path, const std::string& user, bool pipe_stdout)
    : log_path_(std::move(log_path)) {
  int log = static_cast<int>(::syscall(SYS_openat, AT_FDCWD, log_path_.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644));
  if (log < 0) throw std::runtime_error("cannot open " + log_path_ + ": " + std::strerror(errno));
  int pipefd[2] = {-1, -1};
  if (pipe_stdout && ::syscall(SYS_pipe2, pipefd, O_CLOEXEC) != 0) throw std::runtime_error("pipe2 failed");
  int null = static_cast<int>(::syscall(SYS_openat, AT_FDCWD, "/dev/null", O_RDONLY | O_CLOEXEC, 0));
  uid_t uid = 0;
  gid_t gid = 0;
  bool drop = !user.empty() && ::geteuid() == 0;
  if (drop) {
    passwd* pw = ::getpwnam(user.c_str());
    if (!pw) throw std::runtime_error("no user " + user);
    uid = pw->pw_uid;
    gid = pw->pw_gid;
  }
  std::vector<char*> args;
  for (auto& a : argv) args.push_back(a.data());
  args.push_back(nullptr);
  const pid_t parent = ::getpid();
  pid_ = ::fork();
  if (pid_ < 0) throw std::runtime_error(std::string("fork: ") + std::strerror(errno));
  if (pid_ == 0) {
    ::setpgid(0, 0);  // stop() signals the whole group: servers that fork workers
    ::syscall(SYS_dup3, null, 0, 0);
    ::syscall(SYS_dup3, pipe_stdout ? pipefd[1] : log, 1, 0);
    ::syscall(SYS_dup3, log, 2, 0);
    if (drop && (::setgroups(0, nullptr) != 0 || ::setgid(gid) != 0 || ::setuid(uid) != 0)) ::_exit(126);
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);  // after setuid, which clears it
    if (::getppid() != parent) ::_exit(126);
    ::execvp(args[0], args.data());
    std::fprintf(stderr, "cannot run %s: %s\n", args[0], std::strerror(errno));
    ::_exit(127);
  }
  raw_close(log);
  raw_close(null);
  if (pipe_stdout) {
    raw_close(pipefd[1]);
    out_ = pipefd[0];
  }
  std::lock_guard lock(registry_mutex);
  live_children.insert(pid_);
}

Process::~Process() {
  stop();
  if (out_ >= 0) raw_close(out_);
}

std::optional<std::string> Process::read_line(milliseconds limit) {
  auto deadline = deadline_after(limit);
  for (;;) {
    if (auto nl = buffered_.find('\n'); nl != std::string::npos) {
      std::string line = buffered_.substr(0, nl);
      buffered_.erase(0, nl + 1);
      return line;
    }
    pollfd p{out_, POLLIN, 0};
    if (out_ < 0 || ::syscall(SYS_poll, &p, 1, static_cast<int>(left_until(deadline).count())) <= 0) return std::nullopt;
    char buf[512];
    long n = ::syscall(SYS_read, out_, buf, sizeof buf);
    if (n <= 0) return std::nullopt;
    buffered_.append(buf, static_cast<std::size_t>(n));
  }
}

std::optional<int> Process::wait(milliseconds limit) {
  if (status_) return status_;
  auto deadline = deadline_after(limit);
  for (;;) {
    int st = 0;
    long r = ::syscall(SYS_wait4, pid_, &st, WNOHANG, nullptr);
    if (r == pid_ || (r < 0 && errno == ECHILD)) {
      status_ = r == pid_ ? st : -1;
      std::lock_guard lock(registry_mutex);
      live_children.erase(pid_);
      return status_;
    }
    if (left_until(deadline).count() == 0) return std::nullopt;
    raw_sleep(milliseconds(10));
  }
}

void Process::stop(int sig, milliseconds grace) {
  if (pid_ <= 0 || status_) return;
  ::kill(-pid_, sig);
  ::kill(pid_, sig);
  if (!wait(grace)) {
    ::kill(-pid_, SIGKILL);
    ::kill(pid_, SIGKILL);
    wait(milliseconds(5000));
  }
}

std::string Process::log_tail(std::size_t n) const {
  std::ifstream f(log_path_);
  std::stringstream ss;
  ss << f.rdbuf();
  std::string s = ss.str();
  return s.size() > n ? s.substr(s.size() - n) : s;
}

void run_command(const std::vector<std::string>& argv, const std::string& log_path, milliseconds limit,
                 const std::string& user) {
  Process p(argv, log_path, user);
  auto st = p.wait(limit);
  if (!st) throw std::runtime_error(argv[0] + " still running after " + std::to_string(limit.count()) + " ms");
  if (!WIFEXITED(*st) || WEXITSTATUS(*st) != 0)
    throw std::runtime_error(argv[0] + " failed (status " + std::to_string(*st) + "): " + p.log_tail());
}

std::uint16_t free_port() {
  int s = static_cast<int>(::syscall(SYS_socket, AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  if (s < 0 || ::syscall(SYS_bind, s, &a, sizeof a) != 0 || ::syscall(SYS_getsockname, s, &a, &len) != 0)
    throw std::runtime_error("free_port: cannot bind to 127.0.0.1");
  raw_close(s);
  return ntohs(a.sin_port);
}

bool wait_port(std::uint16_t port, milliseconds limit) {
  auto deadline = deadline_after(limit);
  for (;;) {
    int s = static_cast<int>(::syscall(SYS_socket, AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bool up = ::syscall(SYS_connect, s, &a, sizeof a) == 0;
    raw_close(s);
    if (up) return true;
    if (left_until(deadline).count() == 0) return false;
    raw_sleep(milliseconds(20));
  }
}

// --- PostgreSQL ---------------------------------------------------------------------------------

Postgres::Postgres(int max_connections) {
  const std::string bin = "/usr/lib/postgresql/15/bin/";
  const std::string home = dir_.path() + "/pg";
  std::filesystem::create_directory(home);
  if (::geteuid() == 0) {
    passwd* pw = ::getpwnam(server_user().c_str());
    if (!pw || ::chown(home.c_str(), pw->pw_uid, pw->pw_gid) != 0) throw std::runtime_error("cannot chown " + home);
  }
  run_command({bin + "initdb", "-D", home + "/data", "-A", "trust", "-U", "postgres", "--no-sync", "-E", "UTF8",
               "--locale=C"},
              dir_.path() + "/initdb.log", milliseconds(120'000), server_user());
  port_ = free_port();
  server_ = std::make_unique<Process>(
      std::vector<std::string>{bin + "postgres", "-D", home + "/data", "-k", home, "-p", std::to_string(port_), "-c",
                               "listen_addresses=127.0.0.1", "-c", "fsync=off", "-c",
                               "max_connections=" + std::to_string(max_connections), "-c", "logging_collector=off"},
      dir_.path() + "/server.log", server_user());
  auto deadline = deadline_after(milliseconds(30'000));
  for (;;) {  // listening is not yet accepting queries: pg_isready tells
    Process ready({bin + "pg_isready", "-q", "-h", "127.0.0.1", "-p", std::to_string(port_), "-t", "2"},
                  dir_.path() + "/isready.log");
    auto st = ready.wait(milliseconds(5000));
    if (st && WIFEXITED(*st) && WEXITSTATUS(*st) == 0) break;
    if (server_->wait(milliseconds(0)) || left_until(deadline).count() == 0)
      throw std::runtime_error("postgres not ready on 127.0.0.1:" + std::to_string(port_) + ": " + server_->log_tail());
    raw_sleep(milliseconds(50));
  }
}

Postgres::~Postgres() { server_->stop(SIGINT, milliseconds(10'000)); }  // SIGINT: fast shutdown

std::string Postgres::conninfo() const {
  return "host=127.0.0.1 port=" + std::to_string(port_) +
         " user=postgres dbname=postgres sslmode=disable gssencmode=disable connect_timeout=10";
}

// --- redis-server -------------------------------------------------------------------------------

Redis::Redis() {
  port_ = free_port();
  server_ = std::make_unique<Process>(
      std::vector<std::string>{"redis-server", "--port", std::to_string(port_), "--bind", "127.0.0.1", "--save", "",
                               "--appendonly", "no", "--daemonize", "no", "--dir", dir_.path(), "--maxclients", "1000"},
      dir_.path() + "/redis.log");
  if (!wait_port(port_, milliseconds(20'000)))
    throw std::runtime_error("redis-server not listening on 127.0.0.1:" + std::to_string(port_) + ": " +
                             server_->log_tail());
}

// --- TLS HTTP server ----------------------------------------------------------------------------

namespace {

const char* const kTlsServer = R"PY(
import http.server, ssl, sys, time
cert, key, delay = sys.argv[1], sys.argv[2], float(sys.argv[3]) / 1000
class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"   # keep-alive: the client decides when the connection ends
    timeout = 10                    # ... or the server, after 10 s idle
    def do_GET(self):
        time.sleep(5 if self.path.startswith("/slow") else delay)
        body = ("body of " + self.path + "\n").encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *args):
        pass
class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 512
    def get_request(self):
        # The handshake happens at the first read, in the connection's thread.
        sock, addr = self.socket.accept()
        return ctx.wrap_socket(sock, server_side=True, do_handshake_on_connect=False), addr
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain(cert, key)
server = Server(("127.0.0.1", 0), Handler)
print(server.server_address[1], flush=True)
server.serve_forever()
)PY";

}  // namespace

TlsHttpServer::TlsHttpServer(milliseconds delay) {
  const std::string d = dir_.path();
  run_command({"openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-days",
               "2", "-subj", "/CN=127.0.0.1", "-keyout", d + "/key.pem", "-out", d + "/cert.pem"},
              d + "/openssl.log", milliseconds(30'000));
  std::ofstream(d + "/server.py") << kTlsServer;
  server_ = std::make_unique<Process>(
      std::vector<std::string>{"python3", d + "/server.py", d + "/cert.pem", d + "/key.pem", std::to_string(delay.count())},
      d + "/server.log", "", true);
  auto line = server_->read_line(milliseconds(20'000));
  if (!line) throw std::runtime_error("TLS server did not announce its port: " + server_->log_tail());
  port_ = static_cast<std::uint16_t>(std::stoi(*line));
}

std::string TlsHttpServer::url(const std::string& path) const {
  return "https://127.0.0.1:" + std::to_string(port_) + path;
}

// --- Watchdog -----------------------------------------------------------------------------------

Watchdog::Watchdog(milliseconds limit, std::string what) {
  thread_ = std::thread([this, limit, what = std::move(what)] {
    std::unique_lock lock(m_);
    if (cv_.wait_for(lock, limit, [this] { return done_; })) return;
    std::fprintf(stderr, "\nWATCHDOG: %s still running after %lld ms: it hangs. Stopping the servers, exiting.\n",
                 what.c_str(), static_cast<long long>(limit.count()));
    std::lock_guard reg(registry_mutex);
    for (pid_t p : live_children) {
      ::kill(-p, SIGKILL);
      ::kill(p, SIGKILL);
    }
    for (auto& d : live_dirs) {
      std::error_code ec;
      std::filesystem::remove_all(d, ec);
    }
    std::fflush(stderr);
    ::_exit(1);
  });
}

Watchdog::~Watchdog() {
  {
    std::lock_guard lock(m_);
    done_ = true;
  }
  cv_.notify_one();
  thread_.join();
}

}  // namespace grove::test
