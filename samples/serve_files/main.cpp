// serve_files — a small cooperative HTTP/1.1 static file server: one greenlet per connection.
//
//   serve_files ./site                       # 127.0.0.1, a free port, printed on the first line
//   serve_files -p 8080 --host 0.0.0.0 ./site
//
// GET and HEAD, keep-alive (HTTP/1.1 default, HTTP/1.0 with "Connection: keep-alive"),
// Content-Length (or chunked with --chunked), 400/404/405/503. Paths are resolved with realpath
// and must stay inside the root, so neither "../" nor a symlink leads out of it. No Range, no
// directory listings (a directory is a 404).
//
// Every connection is plain blocking-style code in its own greenlet; one thread serves thousands,
// and --threads N serves them on N hubs (a listener per hub with SO_REUSEPORT, or with
// --accept handout one acceptor handing connections out). The test hooks (--delay-ms, --fail-first, --reset-first, --chunked, /redirect?to=PATH) exist so
// the downloaders' tests and the demo can make concurrency, retries and parsing visible.
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <grove/grove.hpp>

#include "../common/server_common.hpp"

#include <atomic>
#include <cerrno>
#include <climits>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

namespace {

struct Config {
  std::string root;  // realpath of the root directory, no trailing slash
  int delay_ms = 0;
  int fail_first = 0;
  int reset_first = 0;
  bool chunked = false;
  bool log_connections = false;
};

// How many requests each path has seen: the fault hooks act on the first N of every path. Shared
// by the hubs of --threads; the lock is held for a lookup only, never across a park.
std::mutex g_seen_mu;
std::unordered_map<std::string, int> g_seen;

int seen_before(const std::string& path) {
  std::lock_guard lock(g_seen_mu);
  return g_seen[path]++;
}

struct Request {
  std::string method, target, version;
  std::unordered_map<std::string, std::string> headers;  // names lower-cased
};

std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

std::string trim(std::string_view s) {
  const auto b = s.find_first_not_of(" \t");
  if (b == std::string_view::npos) return {};
  return std::string(s.substr(b, s.find_last_not_of(" \t") - b + 1));
}

// false: malformed.
bool parse_head(std::string_view head, Request& r) {
  auto eol = head.find("\r\n");
  std::string_view line = head.substr(0, eol);
  auto s1 = line.find(' ');
  auto s2 = s1 == std::string_view::npos ? s1 : line.find(' ', s1 + 1);
  if (s2 == std::string_view::npos) return false;
  r.method = line.substr(0, s1);
  r.target = line.substr(s1 + 1, s2 - s1 - 1);
  r.version = line.substr(s2 + 1);
  if (r.method.empty() || r.target.empty() || r.version.rfind("HTTP/1.", 0) != 0) return false;
  while (eol != std::string_view::npos && eol + 2 < head.size()) {
    auto start = eol + 2;
    eol = head.find("\r\n", start);
    std::string_view h = head.substr(start, eol == std::string_view::npos ? std::string_view::npos : eol - start);
    if (h.empty()) break;
    auto colon = h.find(':');
    if (colon == std::string_view::npos || colon == 0) return false;
    r.headers[lower(std::string(h.substr(0, colon)))] = trim(h.substr(colon + 1));
  }
  return true;
}

int hexval(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

// Percent-decodes the path; false for bad escapes or an embedded NUL.
bool decode(std::string_view in, std::string& out) {
  for (std::size_t i = 0; i < in.size(); ++i) {
    if (in[i] != '%') {
      out += in[i];
      continue;
    }
    if (i + 2 >= in.size()) return false;
    int hi = hexval(in[i + 1]), lo = hexval(in[i + 2]);
    if (hi < 0 || lo < 0 || (hi == 0 && lo == 0)) return false;
    out += static_cast<char>(hi * 16 + lo);
    i += 2;
  }
  return true;
}

std::string query_param(std::string_view query, std::string_view name) {
  for (std::size_t pos = 0; pos <= query.size();) {
    auto amp = query.find('&', pos);
    std::string_view kv = query.substr(pos, amp == std::string_view::npos ? std::string_view::npos : amp - pos);
    if (kv.substr(0, name.size()) == name && kv.size() > name.size() && kv[name.size()] == '=') {
      std::string v;
      return decode(kv.substr(name.size() + 1), v) ? v : std::string();
    }
    if (amp == std::string_view::npos) break;
    pos = amp + 1;
  }
  return {};
}

void send_str(int fd, const std::string& s) { grove::send_all(fd, s.data(), s.size()); }

void send_simple(int fd, int code, const char* reason, bool keep_alive, bool head_only,
                 const std::string& extra_headers = {}) {
  std::string body = std::to_string(code) + " " + reason + "\n";
  std::string resp = "HTTP/1.1 " + std::to_string(code) + " " + reason + "\r\nContent-Type: text/plain\r\nContent-Length: " +
                     std::to_string(body.size()) + "\r\n" + extra_headers +
                     (keep_alive ? "" : "Connection: close\r\n") + "\r\n";
  if (!head_only) resp += body;
  send_str(fd, resp);
}

// Streams an open file: Content-Length by default, chunked encoding with --chunked.
void send_file(int fd, int file, off_t size, bool keep_alive, bool head_only, bool chunked) {
  std::string head = "HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\n";
  head += chunked ? "Transfer-Encoding: chunked\r\n" : "Content-Length: " + std::to_string(size) + "\r\n";
  if (!keep_alive) head += "Connection: close\r\n";
  head += "\r\n";
  send_str(fd, head);
  if (head_only) return;
  // Regular-file reads come from the page cache and do not park; only the socket side waits —
  // and while it does, other connections of this hub run, so each send has its own buffer.
  // Chunked mode uses odd-sized chunks so clients meet chunk boundaries mid-buffer.
  constexpr std::size_t kBuf = 64 * 1024;
  const auto buf = std::make_unique_for_overwrite<char[]>(kBuf);
  const std::size_t step = chunked ? 10007 : kBuf;
  for (off_t off = 0; off < size;) {
    ssize_t n = ::pread(file, buf.get(), std::min<std::size_t>(step, static_cast<std::size_t>(size - off)), off);
    if (n <= 0) throw std::system_error(n < 0 ? errno : EIO, std::generic_category(), "pread");
    if (chunked) {
      char len[32];
      int l = std::snprintf(len, sizeof len, "%zx\r\n", static_cast<std::size_t>(n));
      grove::send_all(fd, len, static_cast<std::size_t>(l));
      grove::send_all(fd, buf.get(), static_cast<std::size_t>(n));
      grove::send_all(fd, "\r\n", 2);
    } else {
      grove::send_all(fd, buf.get(), static_cast<std::size_t>(n));
    }
    off += n;
  }
  if (chunked) grove::send_all(fd, "0\r\n\r\n", 5);
}

// Maps a decoded URL path to a file under the root; empty if it would leave the root.
std::string resolve_path(const Config& cfg, const std::string& path) {
  std::string joined = cfg.root + "/" + path;
  char real[PATH_MAX];
  if (!::realpath(joined.c_str(), real)) return {};
  std::string r(real);
  if (r != cfg.root && r.rfind(cfg.root + "/", 0) != 0) return {};
  return r;
}

enum class Outcome { keep, close };

Outcome answer(int fd, const Config& cfg, const Request& req) {
  const bool v10 = req.version == "HTTP/1.0";
  auto conn = req.headers.find("connection");
  const std::string c = conn == req.headers.end() ? "" : lower(conn->second);
  bool keep_alive = v10 ? c == "keep-alive" : c != "close";
  const bool head_only = req.method == "HEAD";
  if (req.method != "GET" && req.method != "HEAD") {
    send_simple(fd, 405, "Method Not Allowed", keep_alive, false, "Allow: GET, HEAD\r\n");
    return keep_alive ? Outcome::keep : Outcome::close;
  }
  std::string_view target = req.target;
  if (target.empty() || target[0] != '/') {
    send_simple(fd, 400, "Bad Request", false, head_only);
    return Outcome::close;
  }
  const auto q = target.find('?');
  std::string path;
  if (!decode(target.substr(0, q), path)) {
    send_simple(fd, 400, "Bad Request", false, head_only);
    return Outcome::close;
  }
  const std::string_view query = q == std::string_view::npos ? std::string_view() : target.substr(q + 1);

  const int nth = seen_before(path);
  if (nth < cfg.reset_first) {
    // Abortive close (RST): the client sees a reset connection and no answer at all.
    linger lg{1, 0};
    ::setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
    return Outcome::close;
  }
  if (cfg.delay_ms > 0) grove::sleep(std::chrono::milliseconds(cfg.delay_ms));
  if (nth < cfg.reset_first + cfg.fail_first) {
    send_simple(fd, 503, "Service Unavailable", keep_alive, head_only, "Retry-After: 0\r\n");
    return keep_alive ? Outcome::keep : Outcome::close;
  }
  if (path == "/redirect-loop") {  // for clients' redirect limits
    send_simple(fd, 302, "Found", keep_alive, head_only, "Location: /redirect-loop\r\n");
    return keep_alive ? Outcome::keep : Outcome::close;
  }
  if (path == "/redirect") {
    std::string to = query_param(query, "to");
    if (to.empty()) {
      send_simple(fd, 400, "Bad Request", keep_alive, head_only);
    } else {
      send_simple(fd, 302, "Found", keep_alive, head_only, "Location: " + to + "\r\n");
    }
    return keep_alive ? Outcome::keep : Outcome::close;
  }
  const std::string file = resolve_path(cfg, path);
  int f = file.empty() ? -1 : ::open(file.c_str(), O_RDONLY | O_CLOEXEC);
  struct stat st{};
  if (f >= 0 && (::fstat(f, &st) != 0 || !S_ISREG(st.st_mode))) {
    ::close(f);
    f = -1;
  }
  if (f < 0) {
    send_simple(fd, 404, "Not Found", keep_alive, head_only);
    return keep_alive ? Outcome::keep : Outcome::close;
  }
  try {
    send_file(fd, f, st.st_size, keep_alive, head_only, cfg.chunked);
  } catch (...) {
    ::close(f);
    throw;
  }
  ::close(f);
  return keep_alive ? Outcome::keep : Outcome::close;
}

void serve_connection(int fd, const Config& cfg) {
  std::string buf;
  char chunk[16 * 1024];
  try {
    for (;;) {
      std::size_t end;
      while ((end = buf.find("\r\n\r\n")) == std::string::npos) {
        if (buf.size() > 64 * 1024) {
          send_simple(fd, 400, "Bad Request", false, false);  // header section too large
          grove::close(fd);
          return;
        }
        std::size_t n = grove::recv(fd, chunk, sizeof chunk);
        if (n == 0) {  // peer closed between requests: the normal end of keep-alive
          grove::close(fd);
          return;
        }
        buf.append(chunk, n);
      }
      Request req;
      if (!parse_head(std::string_view(buf).substr(0, end + 2), req)) {
        send_simple(fd, 400, "Bad Request", false, false);
        break;
      }
      buf.erase(0, end + 4);
      // A request body (unusual for GET) is read and dropped so the next request parses cleanly.
      if (auto cl = req.headers.find("content-length"); cl != req.headers.end()) {
        char* e = nullptr;
        unsigned long long len = std::strtoull(cl->second.c_str(), &e, 10);
        if (*e || cl->second.empty()) {
          send_simple(fd, 400, "Bad Request", false, false);
          break;
        }
        while (buf.size() < len) {
          std::size_t n = grove::recv(fd, chunk, sizeof chunk);
          if (n == 0) break;
          buf.append(chunk, n);
        }
        buf.erase(0, std::min<std::size_t>(buf.size(), len));
      } else if (req.headers.count("transfer-encoding")) {
        send_simple(fd, 400, "Bad Request", false, false);  // chunked request bodies: not supported
        break;
      }
      if (answer(fd, cfg, req) == Outcome::close) break;
    }
  } catch (const std::system_error&) {
    // The client went away mid-response (EPIPE, ECONNRESET): nothing to tell anyone.
  }
  grove::close(fd);
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Serve a directory over HTTP/1.1 (GET/HEAD, keep-alive), one greenlet per connection.\n"
               "Prints 'listening on HOST:PORT' as its first line."};
  Config cfg;
  std::string root = ".";
  std::string host = "127.0.0.1";
  int port = 0;
  app.add_option("root", root, "directory to serve (default: .)");
  app.add_option("-H,--host", host, "numeric address to listen on");
  app.add_option("-p,--port", port, "port (0: pick a free one)")->check(CLI::Range(0, 65535));
  app.add_option("--delay-ms", cfg.delay_ms, "test hook: delay every response by this many ms")->check(CLI::Range(0, 600000));
  app.add_option("--fail-first", cfg.fail_first, "test hook: answer 503 to the first N requests of each path")
      ->check(CLI::Range(0, 1000000));
  app.add_option("--reset-first", cfg.reset_first,
                 "test hook: reset the connection without answering the first N requests of each path")
      ->check(CLI::Range(0, 1000000));
  app.add_flag("--chunked", cfg.chunked, "test hook: send files with Transfer-Encoding: chunked");
  app.add_flag("--log-connections", cfg.log_connections, "test hook: print 'connection N' for every accepted connection");
  server_common::Threads threads;
  threads.add_options(app);
  app.footer("Also test hooks: GET /redirect?to=PATH answers 302 with Location: PATH; /redirect-loop redirects to itself.");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int rc = app.exit(e);
    return rc == 0 ? 0 : 2;
  }

  char real[PATH_MAX];
  struct stat st{};
  if (!::realpath(root.c_str(), real) || ::stat(real, &st) != 0 || !S_ISDIR(st.st_mode)) {
    std::fprintf(stderr, "serve_files: root '%s' is not a readable directory: %s\n", root.c_str(),
                 errno ? std::strerror(errno) : "not a directory");
    return 2;
  }
  cfg.root = real;
  if (cfg.root == "/") cfg.root.clear();  // so "root + '/'" prefixes stay right

  server_common::raise_fd_limit();
  std::atomic<unsigned long> accepted{0};
  return server_common::serve("serve_files", host, port, threads, [&cfg, &accepted](int c) {
    // A response goes out in pieces (head, then the body): without TCP_NODELAY, Nagle holds the
    // last piece until the client's delayed ACK (40 ms) on a kept-alive connection.
    const int one = 1;
    ::setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (cfg.log_connections) {
      std::printf("connection %lu\n", accepted.fetch_add(1, std::memory_order_relaxed) + 1);
      std::fflush(stdout);
    }
    serve_connection(c, cfg);
  });
}
