// fetch — the same downloader as fetch_curl, on grove's own cooperative sockets.
//
//   fetch -c 50 -o out/ http://host/a http://host/b …
//
// Names resolve with grove::resolve, connections are grove::connect'ed sockets, requests go out
// with grove::send_all and responses come back through grove::recv into the http_parser library
// (Node's original HTTP/1.1 parser: status line, headers, Content-Length, chunked and
// close-delimited bodies). Idle connections are kept per host:port and reused (keep-alive);
// redirects are followed up to 5 hops. http:// only: TLS is out of scope for this sample.
//
// Options, output files, retries, progress and summary are fetch_curl's (samples/common).
#include <http_parser.h>
#include <netdb.h>
#include <sys/socket.h>

#include "../common/fetch_common.hpp"

#include <map>
#include <memory>
#include <optional>

namespace {

using fetch_common::Options;
using fetch_common::OutputFile;
using fetch_common::Progress;

constexpr int kMaxRedirects = 5;

struct Url {
  std::string host;
  std::uint16_t port = 80;
  std::string target;  // path and query
  std::string key() const { return host + ":" + std::to_string(port); }
};

// A failure that another attempt will not fix (bad URL, 4xx, too many redirects).
struct Permanent : std::runtime_error {
  using std::runtime_error::runtime_error;
};

Url parse_url(const std::string& s) {
  http_parser_url u;
  http_parser_url_init(&u);
  if (http_parser_parse_url(s.data(), s.size(), 0, &u) != 0 || !(u.field_set & (1 << UF_SCHEMA)) ||
      !(u.field_set & (1 << UF_HOST)))
    throw Permanent("bad URL (want http://host[:port]/path)");
  auto field = [&](int f) {
    return (u.field_set & (1 << f)) ? s.substr(u.field_data[f].off, u.field_data[f].len) : std::string();
  };
  const std::string scheme = fetch_common::to_lower(field(UF_SCHEMA));
  if (scheme == "https") throw Permanent("https:// is not supported by this sample (plain http:// only; use fetch_curl)");
  if (scheme != "http") throw Permanent("unsupported scheme '" + scheme + "' (http:// only)");
  Url r;
  r.host = field(UF_HOST);
  if (u.field_set & (1 << UF_PORT)) r.port = u.port;
  r.target = field(UF_PATH);
  if (r.target.empty()) r.target = "/";
  if (u.field_set & (1 << UF_QUERY)) r.target += "?" + field(UF_QUERY);
  return r;
}

// A Location header against the URL it came from: absolute, host-absolute or relative.
Url follow(const Url& base, const std::string& location) {
  if (location.find("://") != std::string::npos) return parse_url(location);
  Url r = base;
  if (!location.empty() && location[0] == '/') {
    r.target = location;
  } else {
    const std::string path = base.target.substr(0, base.target.find('?'));
    r.target = path.substr(0, path.rfind('/') + 1) + location;
  }
  return r;
}

// Keep-alive: idle connections per host:port, reused by the next request to the same place.
std::map<std::string, std::vector<int>> g_idle;

// Receive buffers, one per exchange in flight, kept for the next: 256 KiB reads take a 16 MiB
// body in 64 recv calls instead of 1024, and greenlet stacks (128 KiB) could not hold them.
constexpr std::size_t kReceiveBuffer = 256 * 1024;
std::vector<std::unique_ptr<char[]>> g_buffers;

struct Buffer {
  Buffer() {
    if (g_buffers.empty()) {
      p = std::make_unique_for_overwrite<char[]>(kReceiveBuffer);
    } else {
      p = std::move(g_buffers.back());
      g_buffers.pop_back();
    }
  }
  ~Buffer() {
    try {
      g_buffers.push_back(std::move(p));
    } catch (...) {
    }
  }
  Buffer(const Buffer&) = delete;
  Buffer& operator=(const Buffer&) = delete;
  std::unique_ptr<char[]> p;
};

int connect_to(const Url& u) {
  grove::ResolveHints hints;
  hints.socktype = SOCK_STREAM;
  std::vector<grove::Address> addrs;
  try {
    addrs = grove::resolve(u.host, std::to_string(u.port), hints);
  } catch (const grove::DnsError& e) {
    if (e.code() == EAI_NONAME) throw Permanent(e.what());  // asking again will not create the name
    throw;
  }
  std::string last_error = "no addresses";
  for (const grove::Address& a : addrs) {
    int fd = ::socket(a.family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) throw std::system_error(errno, std::generic_category(), "socket");
    try {
      grove::connect(fd, a.sockaddr(), a.length);
      return fd;
    } catch (const std::system_error& e) {
      grove::close(fd);
      last_error = e.code().message() + " (" + a.host() + " port " + std::to_string(u.port) + ")";
    }
  }
  throw std::runtime_error("cannot connect to " + u.key() + ": " + last_error);
}

// One response as http_parser reports it.
struct Exchange {
  Exchange(OutputFile* o, Progress* p) : out(o), progress(p) {}
  OutputFile* out;
  Progress* progress;
  int status = 0;
  bool complete = false;
  bool keep_alive = false;
  std::size_t size = 0;
  std::string field, location;
  bool in_location = false;
  bool last_was_value = false;
  std::string write_error;
};

// Header names and values may each arrive in several pieces; a name callback after a value one
// starts a new header.
int on_header_field(http_parser* p, const char* at, std::size_t n) {
  auto* x = static_cast<Exchange*>(p->data);
  if (x->last_was_value) x->field.clear();
  x->last_was_value = false;
  x->field.append(at, n);
  return 0;
}

int on_header_value(http_parser* p, const char* at, std::size_t n) {
  auto* x = static_cast<Exchange*>(p->data);
  if (!x->last_was_value) {
    x->in_location = fetch_common::to_lower(x->field) == "location";
    if (x->in_location) x->location.clear();
  }
  x->last_was_value = true;
  if (x->in_location) x->location.append(at, n);
  return 0;
}

int on_headers_complete(http_parser* p) {
  auto* x = static_cast<Exchange*>(p->data);
  x->status = p->status_code;
  return 0;
}

int on_body(http_parser* p, const char* at, std::size_t n) {
  auto* x = static_cast<Exchange*>(p->data);
  if (x->status < 200 || x->status >= 300) return 0;  // error pages and redirects: not the file
  if (!x->out->write(at, n)) {
    x->write_error = x->out->error();
    return 1;  // stops the parser
  }
  x->size += n;
  x->progress->add_bytes(n);
  return 0;
}

int on_message_complete(http_parser* p) {
  auto* x = static_cast<Exchange*>(p->data);
  x->complete = true;
  x->keep_alive = http_should_keep_alive(p) != 0;
  return 0;
}

const http_parser_settings& settings() {
  static const http_parser_settings s = [] {
    http_parser_settings st;
    http_parser_settings_init(&st);
    st.on_header_field = on_header_field;
    st.on_header_value = on_header_value;
    st.on_headers_complete = on_headers_complete;
    st.on_body = on_body;
    st.on_message_complete = on_message_complete;
    return st;
  }();
  return s;
}

// Raised when a reused keep-alive connection turns out to be closed before any answer: the
// server dropped it while idle, so the request is sent again on a fresh one.
struct StaleConnection {};

// One request/response on a connection (reused or new). Returns the finished exchange.
void exchange(const Url& u, Exchange& x) {
  int fd = -1;
  bool reused = false;
  if (auto& idle = g_idle[u.key()]; !idle.empty()) {
    fd = idle.back();
    idle.pop_back();
    reused = true;
  } else {
    fd = connect_to(u);
  }
  http_parser parser;
  http_parser_init(&parser, HTTP_RESPONSE);
  parser.data = &x;
  std::size_t received = 0;
  try {
    const std::string req = "GET " + u.target + " HTTP/1.1\r\nHost: " + (u.port == 80 ? u.host : u.key()) +
                            "\r\nUser-Agent: grove-fetch/0.1\r\nAccept: */*\r\n\r\n";
    grove::send_all(fd, req.data(), req.size());
    Buffer buffer;
    char* const buf = buffer.p.get();
    while (!x.complete) {
      std::size_t n = grove::recv(fd, buf, kReceiveBuffer);
      if (n == 0 && reused && received == 0) throw StaleConnection{};
      received += n;
      // n == 0 tells the parser about EOF, which ends a close-delimited body.
      const std::size_t used = http_parser_execute(&parser, &settings(), buf, n);
      if (!x.write_error.empty()) throw std::runtime_error(x.write_error);
      if (HTTP_PARSER_ERRNO(&parser) != HPE_OK)
        throw std::runtime_error(std::string("bad HTTP response: ") +
                                 http_errno_description(HTTP_PARSER_ERRNO(&parser)));
      if (used != n) throw std::runtime_error("unexpected data after the response");
      if (n == 0 && !x.complete) throw std::runtime_error("connection closed before the response was complete");
    }
  } catch (const std::system_error& e) {
    grove::close(fd);
    if (reused && received == 0 &&
        (e.code().value() == ECONNRESET || e.code().value() == EPIPE))
      throw StaleConnection{};
    throw;
  } catch (...) {
    grove::close(fd);  // a half-read response leaves the connection unusable
    throw;
  }
  if (x.keep_alive) {
    g_idle[u.key()].push_back(fd);
  } else {
    grove::close(fd);
  }
}

// One attempt: follows redirects; the body of the final 2xx goes to `out`. Returns its size.
// Throws Permanent for 4xx and redirect trouble, std::runtime_error (retryable) for the rest.
std::size_t attempt_once(const std::string& url, OutputFile& out, Progress& progress) {
  Url u = parse_url(url);
  for (int hop = 0;; ++hop) {
    Exchange x(&out, &progress);
    // Each stale idle connection is dropped as found, so this ends on a fresh connection at worst.
    for (;;) {
      try {
        exchange(u, x);
        break;
      } catch (const StaleConnection&) {
        x = Exchange(&out, &progress);
      }
    }
    if (x.status >= 200 && x.status < 300) return x.size;
    if (x.status >= 300 && x.status < 400 && !x.location.empty()) {
      if (hop + 1 > kMaxRedirects) throw Permanent("too many redirects (more than " + std::to_string(kMaxRedirects) + ")");
      u = follow(u, x.location);
      continue;
    }
    if (x.status >= 500) throw std::runtime_error("HTTP status " + std::to_string(x.status));
    throw Permanent("HTTP status " + std::to_string(x.status));
  }
}

void download(const std::string& url, const Options& o, Progress& progress) {
  std::string why;
  int attempts = 0;
  try {
    OutputFile out(o.out_dir, url);
    const auto limit = std::chrono::duration_cast<grove::Duration>(std::chrono::duration<double>(o.timeout_s));
    for (int attempt = 0;; ++attempt) {
      attempts = attempt + 1;
      if (attempt > 0) {
        grove::sleep(fetch_common::backoff(attempt));
        out.reset();
      }
      try {
        std::size_t size;
        {
          grove::Timeout t(limit);
          size = attempt_once(url, out, progress);
        }
        out.commit();
        progress.ok(url, size, attempts);
        return;
      } catch (const Permanent& e) {
        why = e.what();
        break;
      } catch (const grove::TimeoutError&) {
        char msg[64];
        std::snprintf(msg, sizeof msg, "timed out after %g s", o.timeout_s);
        why = msg;
      } catch (const std::exception& e) {
        why = e.what();
      }
      if (attempt >= o.retries) break;
    }
  } catch (const std::exception& e) {
    why = e.what();
  }
  if (attempts > 1) why += " (" + std::to_string(attempts) + " attempts)";
  progress.failed(url, why);
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Download http:// URLs concurrently on grove's cooperative sockets (http_parser, keep-alive,\n"
               "chunked, redirects), one greenlet per download, one thread. https:// is not supported."};
  Options o;
  if (int rc = fetch_common::parse_command_line(app, argc, argv, o, "fetch"); rc >= 0) return rc;
  Progress progress(o.urls.size(), o.quiet);
  grove::Pool pool(static_cast<std::size_t>(o.concurrency));
  for (const std::string& url : o.urls) pool.spawn([&url, &o, &progress] { download(url, o, progress); });
  pool.join();
  for (auto& [key, fds] : g_idle)
    for (int fd : fds) grove::close(fd);
  return progress.summary();
}
