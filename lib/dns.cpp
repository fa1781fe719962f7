// dns.cpp — c-ares on the hub: one channel per thread, every lookup parks only its own greenlet.
//
// Design
// ------
// Each thread that resolves a name gets a Resolver (thread_local, created by its first lookup):
// one c-ares channel, shared by every greenlet of that thread, so a thousand lookups in flight
// are a thousand entries in one channel over one UDP socket per server, not a thousand sockets.
//
//   lookup greenlet:  ares_search(name) with a heap-allocated Request → park("dns lookup")
//   driver greenlet:  while requests are in flight:
//                        drain: epoll_wait(private set, 0) → ares_process_fd for each ready socket
//                        hub.wait_fd(private epoll fd, read, deadline = now + ares_timeout())
//                        deadline passed → ares_process_fd(BAD, BAD) so c-ares retries/expires
//   c-ares callback:  (runs inside ares_process_fd in the driver) stores the answer and unparks
//                     the lookup greenlet with its park generation.
//
// Why a private epoll set: c-ares owns a handful of sockets that come and go (UDP per server, TCP
// for truncated answers), and one greenlet has to watch all of them plus c-ares' retry timer. The
// hub parks a greenlet on one fd, so c-ares' sockets live in a level-triggered epoll set of their
// own (maintained from c-ares' socket-state callback), and the driver waits on that set's fd,
// which the hub watches like any other. Level-triggered matters: c-ares reads a TCP answer a
// piece per ares_process_fd call, so "still readable" must be reported again on the next drain.
// This is the one place besides poller_epoll.cpp that includes <sys/epoll.h>, for that reason:
// the hub's Poller is edge-triggered by contract and owns an eventfd we do not need.
//
// The driver exists only while requests are in flight, and exits when the last one completes. An
// idle thread therefore has no greenlet parked on DNS sockets, and the hub's "would block forever"
// report stays truthful.
//
// Abandoned lookups: a greenlet that is killed or whose grove::Timeout expires leaves its park
// before c-ares has answered, and c-ares 1.18 cannot cancel one query. The Request therefore lives
// on the heap, not on the greenlet's stack: the lookup marks it abandoned and forgets it; the
// callback, when c-ares eventually completes or times the query out, sees the mark and frees it
// without touching the (possibly freed) greenlet. Unparks carry the park generation, so even a
// late callback for a greenlet that has moved on to another park does nothing.
//
// The drain is bounded (a flood of answers must not starve the greenlets it wakes): when the
// bound is hit the driver yields and drains again without waiting, because the hub watches the
// set's fd edge-triggered and no new edge would come for data already queued.
//
// c-ares' I/O goes through ares_set_socket_functions to lib/sys.hpp's raw syscalls: under the
// interposer, socket/recvfrom/sendto are hooked process-wide and c-ares must not re-enter them.
// The UDP socket gets a 4 MiB receive buffer (rmem_max permitting): a thousand answers arriving
// within a millisecond overflow the default and are lost until c-ares' retry timer, which is
// what P7 measured before. Our recvfrom also notes SERVFAIL/REFUSED answers by question name,
// because c-ares 1.18 reports "all servers failed" as ECONNREFUSED and glibc tells the two apart.
//
// Configuration: c-ares reads resolv.conf's nameservers, search, domain, ndots and sortlist
// itself; glibc's timeout:/attempts:/rotate options (which c-ares 1.18 does not know) are read
// here, with glibc's defaults (5 s, 2 attempts). GROVE_DNS_SERVERS/TIMEOUT/TRIES override.
#include "dns.hpp"

#include <ares.h>
#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <memory>
#include <mutex>
#include <sstream>
#include <string>
#include <unordered_set>

#include "grove/greenlet.hpp"
#include "grove/time.hpp"
#include "greenlet.hpp"
#include "hub.hpp"
#include "log.hpp"
#include "sys.hpp"

namespace grove::detail::dns {

namespace {

constexpr int kClassIn = 1;
constexpr int kTypeA = 1;
constexpr int kTypePtr = 12;
constexpr int kTypeAaaa = 28;
constexpr int kUdpReceiveBuffer = 4 << 20;

Status from_ares(int st) noexcept {
  switch (st) {
    case ARES_SUCCESS: return Status::ok;
    case ARES_ENOTFOUND: return Status::not_found;
    case ARES_ENODATA: return Status::no_data;
    case ARES_ESERVFAIL:
    case ARES_EREFUSED:
    case ARES_EFORMERR:
    case ARES_ENOTIMP: return Status::server_failure;
    case ARES_ETIMEOUT:
    case ARES_ECONNREFUSED:
    case ARES_ECANCELLED:
    case ARES_EDESTRUCTION: return Status::try_again;
    case ARES_EBADNAME:
    case ARES_EBADSTR: return Status::bad_name;
    case ARES_ENOMEM: return Status::no_memory;
    default: return Status::fail;  // EBADRESP, EBADQUERY …
  }
}

// Status of two parallel queries as one: an answer wins; otherwise the "most hopeful" error, as
// glibc does (a timeout on one family and NXDOMAIN on the other is still worth retrying).
Status combine(Status a, Status b) noexcept {
  if (a == Status::ok || b == Status::ok) return Status::ok;
  auto rank = [](Status s) {
    switch (s) {
      case Status::no_data: return 6;
      case Status::try_again: return 5;
      case Status::server_failure: return 4;
      case Status::not_found: return 3;
      case Status::fail: return 2;
      default: return 1;
    }
  };
  return rank(a) >= rank(b) ? a : b;
}

// ---- raw socket functions for c-ares ------------------------------------------------------------
// c-ares reads errno after a -1; sys:: returns -errno and leaves errno alone, so set it here.

ares_socket_t raw_socket(int domain, int type, int proto, void*) {
  long r = sys::socket(domain, type | SOCK_NONBLOCK | SOCK_CLOEXEC, proto);
  if (r < 0) {
    errno = static_cast<int>(-r);
    return ARES_SOCKET_BAD;
  }
  if ((type & 0xf) == SOCK_DGRAM) {
    // One UDP socket per server carries every answer of the thread: a thousand answers arriving
    // together overflow the default 208 KiB buffer (each datagram costs ~1 KiB of it) and are
    // dropped, to be retried only after a timeout. Ask for more; the kernel caps it at rmem_max,
    // and with CAP_NET_ADMIN the FORCE variant may exceed that.
    int size = kUdpReceiveBuffer;
    if (sys::detail::call(SYS_setsockopt, r, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof size) < 0)
      sys::detail::call(SYS_setsockopt, r, SOL_SOCKET, SO_RCVBUF, &size, sizeof size);
  }
  return static_cast<ares_socket_t>(r);
}

int raw_close(ares_socket_t fd, void* ud);  // needs the Resolver: below

int raw_connect(ares_socket_t fd, const sockaddr* addr, ares_socklen_t len, void*) {
  long r = sys::connect(fd, addr, len);
  if (r < 0) {
    errno = static_cast<int>(-r);
    return -1;
  }
  return 0;
}

void note_server_failure(void* ud, const unsigned char* msg, long n);  // needs the Resolver: below

ares_ssize_t raw_recvfrom(ares_socket_t fd, void* buf, size_t n, int flags, sockaddr* from, ares_socklen_t* fromlen,
                          void* ud) {
  long r = sys::recvfrom(fd, buf, n, flags | MSG_DONTWAIT, from, fromlen);
  if (r < 0) {
    errno = static_cast<int>(-r);
    return -1;
  }
  if (from) note_server_failure(ud, static_cast<const unsigned char*>(buf), r);  // UDP: one whole message
  return r;
}

ares_ssize_t raw_sendv(ares_socket_t fd, const iovec* iov, int iovcnt, void*) {
  msghdr msg{};
  msg.msg_iov = const_cast<iovec*>(iov);
  msg.msg_iovlen = static_cast<size_t>(iovcnt);
  long r = sys::sendmsg(fd, &msg, MSG_NOSIGNAL | MSG_DONTWAIT);
  if (r < 0) {
    errno = static_cast<int>(-r);
    return -1;
  }
  return r;
}

// ---- configuration ---------------------------------------------------------------------------

std::string env(const char* name) {
  const char* v = std::getenv(name);
  return v ? v : "";
}

// The resolv.conf options glibc honours and c-ares 1.18 does not read (it knows only the BSD
// spellings retrans:/retry:): timeout:N (seconds, at most 30), attempts:N (at most 5) and rotate.
// Later lines win, and RES_OPTIONS in the environment wins over the file, as in glibc.
struct ResolvOptions {
  int timeout_s = 5;  // glibc's RES_TIMEOUT
  int attempts = 2;   // glibc's RES_DFLRETRY
  bool rotate = false;
};

void apply_options(const std::string& words, ResolvOptions& o) {
  std::istringstream ls(words);
  std::string w;
  while (ls >> w) {
    if (w.rfind("timeout:", 0) == 0)
      o.timeout_s = std::clamp(std::atoi(w.c_str() + 8), 1, 30);
    else if (w.rfind("attempts:", 0) == 0)
      o.attempts = std::clamp(std::atoi(w.c_str() + 9), 1, 5);
    else if (w == "rotate")
      o.rotate = true;
  }
}

ResolvOptions read_resolv_options(const std::string& path) {
  ResolvOptions o;
  std::ifstream in(path);
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream ls(line);
    std::string word;
    if ((ls >> word) && word == "options") apply_options(line.substr(line.find("options") + 7), o);
  }
  apply_options(env("RES_OPTIONS"), o);
  return o;
}

int parse_positive(const std::string& s, double scale, const char* what, std::string* err) {
  char* end = nullptr;
  double v = std::strtod(s.c_str(), &end);
  if (end == s.c_str() || *end != '\0' || !(v > 0) || v * scale > 1e9) {
    *err = std::string(what) + "='" + s + "' is not a positive number";
    return -1;
  }
  return static_cast<int>(v * scale + 0.5);
}

// ---- the per-thread resolver -------------------------------------------------------------------

struct Request;

class Resolver {
 public:
  explicit Resolver(Config cfg) : cfg_(std::move(cfg)) {}
  ~Resolver();
  Resolver(const Resolver&) = delete;
  Resolver& operator=(const Resolver&) = delete;

  // The channel, created on first use; nullptr (and error()) if it cannot be.
  ares_channel channel();
  const std::string& error() const noexcept { return error_; }
  std::size_t in_flight() const noexcept { return in_flight_; }
  // In use: lookups in flight, or the driver greenlet still holds `this`.
  bool busy() const noexcept { return in_flight_ > 0 || driver_running_; }

  // Called before each ares_search/ares_query; the callback calls finished().
  void started() noexcept { ++in_flight_; }
  void finished() noexcept {
    if (--in_flight_ == 0) failed_names_.clear();
  }
  // Makes sure the driver greenlet runs while requests are in flight.
  void ensure_driver();

  void on_socket_state(int fd, bool readable, bool writable) noexcept;
  void forget_socket(int fd) noexcept;

  // c-ares 1.18 reports "every server said SERVFAIL/REFUSED" as ECONNREFUSED, which glibc tells
  // apart from a server that is not there (it answers EAI_NONAME for one and EAI_AGAIN for the
  // other in places). So the UDP answers' rcodes are noted here, by question name, as they pass
  // through our recvfrom, and the callback asks.
  void server_failed(std::string qname) {
    if (failed_names_.size() < 4096) failed_names_.insert(std::move(qname));
  }
  bool took_server_failure(const std::string& name) {
    std::string n = name;
    for (auto& c : n) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    while (!n.empty() && n.back() == '.') n.pop_back();
    bool hit = false;
    for (auto it = failed_names_.begin(); it != failed_names_.end();) {
      // The name itself, or the name with a search-list suffix.
      if (*it == n || (it->size() > n.size() && it->compare(0, n.size(), n) == 0 && (*it)[n.size()] == '.')) {
        hit = true;
        it = failed_names_.erase(it);
      } else {
        ++it;
      }
    }
    return hit;
  }

 private:
  ares_channel create_channel();
  void drive() noexcept;
  bool drain() noexcept;

  Config cfg_;
  ares_channel channel_ = nullptr;
  bool failed_ = false;
  std::string error_;
  int epfd_ = -1;
  std::unordered_set<int> watched_;
  std::unordered_set<std::string> failed_names_;
  std::size_t in_flight_ = 0;
  bool driver_running_ = false;
  ares_socket_functions funcs_{};
};

thread_local std::unique_ptr<Resolver> tl_resolver;
thread_local Config tl_config;  // what configure() last set for this thread

Resolver& resolver() {
  if (!tl_resolver) tl_resolver = std::make_unique<Resolver>(tl_config);
  return *tl_resolver;
}

int raw_close(ares_socket_t fd, void* ud) {
  static_cast<Resolver*>(ud)->forget_socket(fd);
  long r = sys::close(fd);
  if (r < 0) {
    errno = static_cast<int>(-r);
    return -1;
  }
  return 0;
}

void note_server_failure(void* ud, const unsigned char* msg, long n) {
  if (n < 12 || !(msg[2] & 0x80)) return;  // not a response
  const int rcode = msg[3] & 0x0f;
  if (rcode != 2 && rcode != 4 && rcode != 5) return;  // SERVFAIL, NOTIMP, REFUSED
  std::string qname;
  for (long p = 12; p < n && msg[p] != 0;) {
    const int len = msg[p++];
    if (len > 63 || p + len > n) return;
    if (!qname.empty()) qname += '.';
    for (int i = 0; i < len; ++i) qname += static_cast<char>(std::tolower(msg[p + i]));
    p += len;
  }
  try {
    static_cast<Resolver*>(ud)->server_failed(std::move(qname));
  } catch (...) {  // out of memory: the status stays "could not contact", no worse than c-ares'
  }
}

void socket_state_cb(void* data, ares_socket_t fd, int readable, int writable) {
  static_cast<Resolver*>(data)->on_socket_state(fd, readable != 0, writable != 0);
}

void library_init() {
  static std::once_flag once;
  std::call_once(once, [] {
    int r = ares_library_init(ARES_LIB_INIT_ALL);
    if (r != ARES_SUCCESS) GROVE_LOG(error, "dns: ares_library_init failed: %s", ares_strerror(r));
  });
}

ares_channel Resolver::channel() {
  if (channel_ || failed_) return channel_;
  ares_channel ch = create_channel();
  if (!ch) GROVE_LOG(error, "dns: no resolver for this thread: %s", error_.c_str());  // once per configuration
  return ch;
}

ares_channel Resolver::create_channel() {
  library_init();
  const std::string resolv = cfg_.resolv_conf.empty() ? "/etc/resolv.conf" : cfg_.resolv_conf;

  // Settings: explicit config, then GROVE_DNS_* variables, then resolv.conf, then glibc defaults.
  std::string servers = cfg_.servers.empty() ? env("GROVE_DNS_SERVERS") : cfg_.servers;
  int timeout_ms = cfg_.timeout_ms;
  int tries = cfg_.tries;
  if (timeout_ms <= 0 && !env("GROVE_DNS_TIMEOUT").empty()) {
    timeout_ms = parse_positive(env("GROVE_DNS_TIMEOUT"), 1000.0, "GROVE_DNS_TIMEOUT (seconds)", &error_);
    if (timeout_ms < 0) return failed_ = true, nullptr;
  }
  if (tries <= 0 && !env("GROVE_DNS_TRIES").empty()) {
    tries = parse_positive(env("GROVE_DNS_TRIES"), 1.0, "GROVE_DNS_TRIES", &error_);
    if (tries < 0) return failed_ = true, nullptr;
  }
  const ResolvOptions ro = read_resolv_options(resolv);
  if (timeout_ms <= 0) timeout_ms = ro.timeout_s * 1000;
  if (tries <= 0) tries = ro.attempts;

  ares_options opts{};
  int mask = ARES_OPT_SOCK_STATE_CB;
  opts.sock_state_cb = socket_state_cb;
  opts.sock_state_cb_data = this;
  if (timeout_ms > 0) {
    opts.timeout = timeout_ms;
    mask |= ARES_OPT_TIMEOUTMS;
  }
  if (tries > 0) {
    opts.tries = tries;
    mask |= ARES_OPT_TRIES;
  }
  if (ro.rotate) mask |= ARES_OPT_ROTATE;
  if (!cfg_.resolv_conf.empty()) {
    opts.resolvconf_path = const_cast<char*>(cfg_.resolv_conf.c_str());
    mask |= ARES_OPT_RESOLVCONF;
  }
  ares_channel ch = nullptr;
  int r = ares_init_options(&ch, &opts, mask);
  if (r != ARES_SUCCESS) {
    error_ = std::string("c-ares could not be initialised from ") + resolv + ": " + ares_strerror(r);
    failed_ = true;
    return nullptr;
  }
  if (!servers.empty()) {
    r = ares_set_servers_ports_csv(ch, servers.c_str());
    if (r != ARES_SUCCESS) {
      error_ = "GROVE_DNS_SERVERS='" + servers + "' is not a list of ip[:port] (" + ares_strerror(r) + ")";
      ares_destroy(ch);
      failed_ = true;
      return nullptr;
    }
  }
  long ep = sys::epoll_create1(EPOLL_CLOEXEC);
  if (ep < 0) {
    error_ = std::string("dns: epoll_create1: ") + std::strerror(static_cast<int>(-ep));
    ares_destroy(ch);
    failed_ = true;
    return nullptr;
  }
  epfd_ = static_cast<int>(ep);
  funcs_ = {raw_socket, raw_close, raw_connect, raw_recvfrom, raw_sendv};
  ares_set_socket_functions(ch, &funcs_, this);
  channel_ = ch;
  GROVE_LOG(debug, "dns: channel created (servers %s, timeout %d ms, tries %d)",
            servers.empty() ? "from resolv.conf" : servers.c_str(), timeout_ms, tries);
  return channel_;
}

Resolver::~Resolver() {
  if (busy()) {
    // Lookups still parked (the thread exits with greenlets alive, and the hub leaves them to the
    // OS too): c-ares would call back into greenlets that will never run again. Leak instead.
    return;
  }
  if (channel_) ares_destroy(channel_);
  if (epfd_ >= 0) {
    Hub::fd_closing(epfd_);
    sys::close(epfd_);
  }
}

void Resolver::on_socket_state(int fd, bool readable, bool writable) noexcept {
  if (!readable && !writable) {
    forget_socket(fd);
    return;
  }
  epoll_event ev{};
  ev.events = (readable ? EPOLLIN : 0u) | (writable ? EPOLLOUT : 0u);
  ev.data.fd = fd;
  const bool known = watched_.count(fd) != 0;
  long r = sys::epoll_ctl(epfd_, known ? EPOLL_CTL_MOD : EPOLL_CTL_ADD, fd, &ev);
  if (r < 0) {
    GROVE_LOG(error, "dns: epoll_ctl(%s, fd %d) failed: %s", known ? "MOD" : "ADD", fd,
              std::strerror(static_cast<int>(-r)));
    return;
  }
  watched_.insert(fd);
}

void Resolver::forget_socket(int fd) noexcept {
  if (watched_.erase(fd)) sys::epoll_ctl(epfd_, EPOLL_CTL_DEL, fd, nullptr);
}

void Resolver::ensure_driver() {
  if (driver_running_ || in_flight_ == 0) return;
  driver_running_ = true;
  try {
    grove::spawn(SpawnOptions{"grove-dns-driver", 0}, [this] { drive(); });
  } catch (...) {
    driver_running_ = false;
    throw;
  }
}

// Lets c-ares handle every socket that is ready now. A level-triggered set reports a socket again
// while it stays readable, so a TCP answer read in pieces is finished here too. Returns true if
// sockets were still ready when the round limit was reached: the caller must come back without
// waiting (the hub watches the set's fd edge-triggered, and no new edge may come).
bool Resolver::drain() noexcept {
  epoll_event evs[64];
  for (int round = 0; round < 64; ++round) {
    long n = sys::epoll_pwait(epfd_, evs, 64, 0);
    if (n <= 0) return false;
    for (long i = 0; i < n; ++i) {
      const int fd = evs[i].data.fd;
      const bool rd = evs[i].events & (EPOLLIN | EPOLLERR | EPOLLHUP);
      const bool wr = evs[i].events & (EPOLLOUT | EPOLLERR | EPOLLHUP);
      // c-ares may close fd while handling an earlier event of this batch.
      if (!watched_.count(fd)) continue;
      ares_process_fd(channel_, rd ? fd : ARES_SOCKET_BAD, wr ? fd : ARES_SOCKET_BAD);
    }
  }
  return true;
}

void Resolver::drive() noexcept {
  Hub& hub = Hub::get();
  while (in_flight_ > 0) {
    if (drain()) {
      // Still more to read: let the greenlets woken so far run first, then carry on.
      try {
        grove::yield();
      } catch (...) {  // a kill (see below): fail the lookups rather than strand them
        ares_cancel(channel_);
      }
      continue;
    }
    if (in_flight_ == 0) break;
    timeval tv{};
    std::int64_t deadline = kNever;
    if (timeval* t = ares_timeout(channel_, nullptr, &tv))
      deadline = now_ns() + std::int64_t{t->tv_sec} * 1'000'000'000 + std::int64_t{t->tv_usec} * 1000;
    const Wake w = hub.wait_fd(epfd_, Interest::read, deadline, "dns: waiting for c-ares sockets", 0);
    if (w == Wake::fd_busy || w == Wake::fd_unpollable) {
      GROVE_LOG(error, "dns: cannot wait on the resolver's epoll fd %d (%s); failing %zu lookups", epfd_,
                to_string(w), in_flight_);
      ares_cancel(channel_);
      continue;
    }
    if (w == Wake::deadline) {
      ares_process_fd(channel_, ARES_SOCKET_BAD, ARES_SOCKET_BAD);  // retries and expiries
    } else if (w == Wake::killed || w == Wake::blocked_forever) {
      // Nobody holds the driver's handle, so only a stray kill could get here; the lookups must
      // not hang because of it: fail them all (their callbacks run now, with ECANCELLED).
      GROVE_LOG(error, "dns: driver interrupted (%s); cancelling %zu lookups", to_string(w), in_flight_);
      ares_cancel(channel_);
    }
  }
  driver_running_ = false;
}

// ---- requests -------------------------------------------------------------------------------

struct Request {
  GreenletCore* g = nullptr;
  std::uint64_t gen = 0;
  bool abandoned = false;
  int pending = 0;
  Resolver* owner = nullptr;
  std::string name;
  // Answers are kept here, not on the greenlet's stack, which may be gone when they arrive.
  HostAnswer host_result;
  PtrAnswer ptr_result;
  Ip ptr_ip;
};

void finish_one(Request* rq) noexcept {
  rq->owner->finished();
  if (--rq->pending > 0) return;
  if (rq->abandoned) {
    delete rq;
    return;
  }
  unpark(rq->g, rq->gen, Wake::unparked);
}

// The owner name at the end of the answer's CNAME chain, starting from the question's name.
// (c-ares 1.18's hostent names the first CNAME target, not the last one; glibc reports the last.)
std::string final_owner(const unsigned char* abuf, int alen) {
  auto u16 = [&](const unsigned char* p) { return (p[0] << 8) | p[1]; };
  if (alen < 12) return {};
  const int qd = u16(abuf + 4), an = u16(abuf + 6);
  const unsigned char* p = abuf + 12;
  std::string current;
  for (int i = 0; i < qd; ++i) {
    char* name = nullptr;
    long len = 0;
    if (ares_expand_name(p, abuf, alen, &name, &len) != ARES_SUCCESS) return {};
    if (i == 0) current = name;
    ares_free_string(name);
    p += len + 4;
    if (p > abuf + alen) return {};
  }
  for (int i = 0; i < an; ++i) {
    char* owner = nullptr;
    long len = 0;
    if (ares_expand_name(p, abuf, alen, &owner, &len) != ARES_SUCCESS) return {};
    std::string o = owner;
    ares_free_string(owner);
    p += len;
    if (p + 10 > abuf + alen) return {};
    const int type = u16(p), rdlen = u16(p + 8);
    p += 10;
    if (p + rdlen > abuf + alen) return {};
    if (type == 5 && ::strcasecmp(o.c_str(), current.c_str()) == 0) {
      char* target = nullptr;
      if (ares_expand_name(p, abuf, alen, &target, &len) != ARES_SUCCESS) return {};
      current = target;
      ares_free_string(target);
    }
    p += rdlen;
  }
  return current;
}

void store_host(HostAnswer& out, int type, int status, unsigned char* abuf, int alen) {
  Status& fam = type == kTypeA ? out.v4 : out.v6;
  if (status != ARES_SUCCESS) {
    fam = from_ares(status);
    return;
  }
  hostent* h = nullptr;
  int r = type == kTypeA ? ares_parse_a_reply(abuf, alen, &h, nullptr, nullptr)
                         : ares_parse_aaaa_reply(abuf, alen, &h, nullptr, nullptr);
  if (r != ARES_SUCCESS) {
    fam = from_ares(r);
    return;
  }
  if (!h->h_addr_list || !h->h_addr_list[0]) {
    // NOERROR with CNAMEs but no address at the end of the chain: glibc calls that NO_RECOVERY.
    ares_free_hostent(h);
    fam = Status::fail;
    return;
  }
  fam = Status::ok;
  // The A answer's owner name wins, whichever answer arrived first (glibc's order).
  if (type == kTypeA || out.canonical.empty()) {
    std::string canon = final_owner(abuf, alen);
    if (canon.empty() && h->h_name) canon = h->h_name;
    out.canonical = canon;
  }
  for (char** a = h->h_aliases; a && *a; ++a) {
    bool dup = false;
    for (const auto& s : out.aliases) dup |= s == *a;
    if (!dup) out.aliases.emplace_back(*a);
  }
  std::vector<Ip> mine;
  for (char** p = h->h_addr_list; p && *p; ++p) {
    Ip ip;
    ip.family = type == kTypeA ? AF_INET : AF_INET6;
    std::memcpy(ip.bytes, *p, type == kTypeA ? 4 : 16);
    mine.push_back(ip);
  }
  // A before AAAA, whatever order the two answers arrived in.
  if (type == kTypeA)
    out.addrs.insert(out.addrs.begin(), mine.begin(), mine.end());
  else
    out.addrs.insert(out.addrs.end(), mine.begin(), mine.end());
  ares_free_hostent(h);
}

template <int Type>
void on_host_answer(void* arg, int status, int /*timeouts*/, unsigned char* abuf, int alen) {
  auto* rq = static_cast<Request*>(arg);
  GROVE_LOG(debug, "dns: %s answer: %s (%d bytes)%s", Type == kTypeA ? "A" : "AAAA", ares_strerror(status), alen,
            rq->abandoned ? ", lookup abandoned" : "");
  if (status == ARES_ECONNREFUSED && rq->owner->took_server_failure(rq->name)) status = ARES_ESERVFAIL;
  if (!rq->abandoned) store_host(rq->host_result, Type, status, abuf, alen);
  finish_one(rq);
}

void on_ptr_answer(void* arg, int status, int /*timeouts*/, unsigned char* abuf, int alen) {
  auto* rq = static_cast<Request*>(arg);
  if (status == ARES_ECONNREFUSED && rq->owner->took_server_failure(rq->name)) status = ARES_ESERVFAIL;
  if (!rq->abandoned) {
    PtrAnswer& out = rq->ptr_result;
    if (status != ARES_SUCCESS) {
      out.status = from_ares(status);
    } else {
      hostent* h = nullptr;
      const int len = rq->ptr_ip.family == AF_INET ? 4 : 16;
      int r = ares_parse_ptr_reply(abuf, alen, rq->ptr_ip.bytes, len, rq->ptr_ip.family, &h);
      if (r != ARES_SUCCESS) {
        out.status = from_ares(r);
      } else {
        out.status = Status::ok;
        out.name = h->h_name ? h->h_name : "";
        for (char** a = h->h_aliases; a && *a; ++a)
          if (out.name != *a) out.aliases.emplace_back(*a);  // c-ares repeats the name there; glibc does not
        ares_free_hostent(h);
      }
    }
  }
  finish_one(rq);
}

// Parks until every query of rq has been answered. Returns Wake::unparked, or the interruption;
// on an interruption rq is abandoned (the last callback frees it) and must not be touched.
Wake wait_for(Request* rq, Resolver& res) {
  Hub& hub = Hub::get();
  try {
    res.ensure_driver();
  } catch (...) {
    // No memory for the driver greenlet: unless c-ares has already answered (inside ares_search),
    // leave the queries to whoever drives the channel next and report the failure.
    if (rq->pending == 0) return Wake::unparked;
    rq->abandoned = true;
    return Wake::none;
  }
  GreenletCore* self = hub.current();
  while (rq->pending > 0) {
    rq->g = self;
    rq->gen = self->park_gen;
    Wake w = park("dns lookup");
    if (w == Wake::unparked && rq->pending == 0) break;
    if (w == Wake::killed || w == Wake::scope_timeout || w == Wake::blocked_forever) {
      if (rq->pending > 0) {
        rq->abandoned = true;
        return w;
      }
      // Answered in the same turn: take the answer. The interruption is not lost: a kill stays
      // pending and an expired Timeout fires again at the caller's next blocking call.
      break;
    }
  }
  return Wake::unparked;
}

}  // namespace

const char* to_string(Status s) noexcept {
  switch (s) {
    case Status::ok: return "ok";
    case Status::not_found: return "name not found (NXDOMAIN)";
    case Status::no_data: return "no records of that type";
    case Status::server_failure: return "server failure (SERVFAIL, REFUSED, FORMERR or NOTIMP)";
    case Status::try_again: return "no answer in time";
    case Status::fail: return "an answer without usable records";
    case Status::bad_name: return "not a valid DNS name";
    case Status::no_memory: return "out of memory";
    case Status::config: return "resolver not configured";
    case Status::interrupted: return "interrupted";
  }
  return "?";
}

void query_host(const char* name, int family, HostAnswer& out) {
  out = HostAnswer{};
  Resolver& res = resolver();
  ares_channel ch = res.channel();
  if (!ch) {
    out.status = Status::config;
    return;
  }
  auto* rq = new (std::nothrow) Request;
  if (!rq) {
    out.status = Status::no_memory;
    return;
  }
  rq->owner = &res;
  rq->name = name;
  rq->pending = family == AF_UNSPEC ? 2 : 1;
  // Both queries are counted before either is sent: a callback may run inside ares_search.
  rq->pending += 1;  // held by us until both are sent
  if (family == AF_INET || family == AF_UNSPEC) {
    res.started();
    ares_search(ch, name, kClassIn, kTypeA, on_host_answer<kTypeA>, rq);
  }
  if (family == AF_INET6 || family == AF_UNSPEC) {
    res.started();
    ares_search(ch, name, kClassIn, kTypeAaaa, on_host_answer<kTypeAaaa>, rq);
  }
  --rq->pending;
  if (family == AF_INET) rq->host_result.v6 = Status::no_data;
  if (family == AF_INET6) rq->host_result.v4 = Status::no_data;
  Wake w = wait_for(rq, res);
  if (w != Wake::unparked) {
    out.status = w == Wake::none ? Status::no_memory : Status::interrupted;
    out.wake = w;
    return;
  }
  out = std::move(rq->host_result);
  delete rq;
  if (family == AF_INET)
    out.status = out.v4;
  else if (family == AF_INET6)
    out.status = out.v6;
  else
    out.status = combine(out.v4, out.v6);
}

void query_ptr(const Ip& ip, PtrAnswer& out) {
  out = PtrAnswer{};
  Resolver& res = resolver();
  ares_channel ch = res.channel();
  if (!ch) {
    out.status = Status::config;
    return;
  }
  std::string qname;
  char buf[8];
  if (ip.family == AF_INET) {
    for (int i = 3; i >= 0; --i) {
      std::snprintf(buf, sizeof buf, "%u.", ip.bytes[i]);
      qname += buf;
    }
    qname += "in-addr.arpa";
  } else {
    static const char hex[] = "0123456789abcdef";
    for (int i = 15; i >= 0; --i) {
      qname += hex[ip.bytes[i] & 0xf];
      qname += '.';
      qname += hex[ip.bytes[i] >> 4];
      qname += '.';
    }
    qname += "ip6.arpa";
  }
  auto* rq = new (std::nothrow) Request;
  if (!rq) {
    out.status = Status::no_memory;
    return;
  }
  rq->owner = &res;
  rq->name = qname;
  rq->ptr_ip = ip;
  rq->pending = 2;
  res.started();
  ares_query(ch, qname.c_str(), kClassIn, kTypePtr, on_ptr_answer, rq);
  --rq->pending;
  Wake w = wait_for(rq, res);
  if (w != Wake::unparked) {
    out.status = w == Wake::none ? Status::no_memory : Status::interrupted;
    out.wake = w;
    return;
  }
  out = std::move(rq->ptr_result);
  delete rq;
}

bool configure(const Config& cfg) {
  if (tl_resolver && tl_resolver->busy()) return false;
  tl_resolver.reset();
  tl_config = cfg;
  return true;
}

std::string config_error() {
  Resolver& res = resolver();
  res.channel();
  return res.error();
}

std::size_t in_flight() noexcept { return tl_resolver ? tl_resolver->in_flight() : 0; }

}  // namespace grove::detail::dns
