// dns_channel.cpp — see dns_channel.hpp. The only file that includes <ares.h>.
#include "dns_channel.hpp"

#include <ares.h>
#include <linux/sock_diag.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <mutex>

#include "dns_config.hpp"
#include "log.hpp"
#include "own_fd.hpp"
#include "sys.hpp"

namespace grove::detail::dns {

namespace {

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

void library_init() {
  static std::once_flag once;
  std::call_once(once, [] {
    int r = ares_library_init(ARES_LIB_INIT_ALL);
    if (r != ARES_SUCCESS) GROVE_LOG(error, "dns: ares_library_init failed: %s", ares_strerror(r));
  });
}

// Datagrams the kernel dropped on fd because its receive queue was full.
std::uint64_t drops_of(int fd) noexcept {
  std::uint32_t mem[SK_MEMINFO_VARS] = {};
  unsigned len = sizeof mem;
  if (sys::getsockopt(fd, SOL_SOCKET, SO_MEMINFO, mem, &len) < 0 || len <= SK_MEMINFO_DROPS * sizeof mem[0]) return 0;
  return mem[SK_MEMINFO_DROPS];
}

// Asks for `bytes` of receive buffer: beyond rmem_max with CAP_NET_ADMIN, else up to it.
void ask_receive_buffer(long fd, int bytes) noexcept {
  if (sys::detail::call(SYS_setsockopt, fd, SOL_SOCKET, SO_RCVBUFFORCE, &bytes, sizeof bytes) < 0)
    sys::detail::call(SYS_setsockopt, fd, SOL_SOCKET, SO_RCVBUF, &bytes, sizeof bytes);
}

}  // namespace

struct Channel::Impl {
  Channel* self = nullptr;
  ChannelOwner* owner = nullptr;
  ares_channel ch = nullptr;
  ares_socket_functions funcs{};
  int receive_buffer = 0;
  std::vector<int> udp_fds;
  std::uint64_t closed_drops = 0;

  // ---- c-ares' socket functions: raw syscalls. c-ares reads errno after a -1; sys:: returns
  // -errno and leaves errno alone, so each sets it here.
  static ares_socket_t on_socket(int domain, int type, int proto, void* ud) {
    auto* im = static_cast<Impl*>(ud);
    long r = sys::socket(domain, type | SOCK_NONBLOCK | SOCK_CLOEXEC, proto);
    if (r < 0) {
      errno = static_cast<int>(-r);
      return ARES_SOCKET_BAD;
    }
    r = own_fd(static_cast<int>(r));  // out of the program's way (own_fd.hpp)
    if ((type & 0xf) == SOCK_DGRAM) {
      ask_receive_buffer(r, im->receive_buffer);
      try {
        im->udp_fds.push_back(static_cast<int>(r));
      } catch (...) {  // not counted in kernel_drops(); the socket works
      }
    }
    return static_cast<ares_socket_t>(r);
  }
  static int on_close(ares_socket_t fd, void* ud) {
    auto* im = static_cast<Impl*>(ud);
    im->owner->watch_socket(*im->self, fd, false, false);  // out of the watched set before close
    if (auto it = std::find(im->udp_fds.begin(), im->udp_fds.end(), fd); it != im->udp_fds.end()) {
      im->closed_drops += drops_of(fd);
      im->udp_fds.erase(it);
    }
    disown_fd(fd);
    long r = sys::close(fd);
    if (r < 0) {
      errno = static_cast<int>(-r);
      return -1;
    }
    return 0;
  }
  static int on_connect(ares_socket_t fd, const sockaddr* addr, ares_socklen_t len, void*) {
    long r = sys::connect(fd, addr, len);
    if (r < 0) {
      errno = static_cast<int>(-r);
      return -1;
    }
    return 0;
  }
  static ares_ssize_t on_recvfrom(ares_socket_t fd, void* buf, size_t n, int flags, sockaddr* from,
                                  ares_socklen_t* fromlen, void* ud) {
    long r = sys::recvfrom(fd, buf, n, flags | MSG_DONTWAIT, from, fromlen);
    if (r < 0) {
      errno = static_cast<int>(-r);
      return -1;
    }
    // c-ares asks for the sender on UDP only: then this is one whole message.
    if (from) static_cast<Impl*>(ud)->owner->datagram(static_cast<const unsigned char*>(buf), static_cast<std::size_t>(r));
    return r;
  }
  static ares_ssize_t on_sendv(ares_socket_t fd, const iovec* iov, int iovcnt, void*) {
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
  static void on_socket_state(void* ud, ares_socket_t fd, int readable, int writable) {
    auto* im = static_cast<Impl*>(ud);
    im->owner->watch_socket(*im->self, fd, readable != 0, writable != 0);
  }
  static void on_answer(void* arg, int status, int timeouts, unsigned char* abuf, int alen) {
    auto* cb = static_cast<QueryCallback*>(arg);
    Completion c;
    c.status = from_ares(status);
    c.refused = status == ARES_ECONNREFUSED;
    c.timeouts = timeouts;
    if (status == ARES_SUCCESS && abuf && alen > 0) {
      c.msg = abuf;
      c.len = static_cast<std::size_t>(alen);
    }
    GROVE_LOG(trace, "dns: answer: %s (%d bytes, %d timeouts)", ares_strerror(status), alen, timeouts);
    cb->done(cb->arg, c);
  }
};

Channel::Channel(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) { impl_->self = this; }

std::unique_ptr<Channel> Channel::open(const Settings& s, ChannelOwner& owner, std::string* error) {
  library_init();
  auto im = std::make_unique<Impl>();
  im->owner = &owner;
  im->receive_buffer = s.udp_receive_buffer;
  ares_options opts{};
  int mask = ARES_OPT_SOCK_STATE_CB | ARES_OPT_TIMEOUTMS | ARES_OPT_TRIES;
  opts.sock_state_cb = &Impl::on_socket_state;
  opts.sock_state_cb_data = im.get();
  opts.timeout = s.timeout_ms;
  opts.tries = s.tries;
  if (s.rotate) mask |= ARES_OPT_ROTATE;
  if (!s.resolv_conf.empty()) {
    opts.resolvconf_path = const_cast<char*>(s.resolv_conf.c_str());
    mask |= ARES_OPT_RESOLVCONF;
  }
  int r = ares_init_options(&im->ch, &opts, mask);
  if (r != ARES_SUCCESS) {
    *error = "c-ares could not be initialised from " + (s.resolv_conf.empty() ? std::string("/etc/resolv.conf") : s.resolv_conf) +
             ": " + ares_strerror(r);
    return nullptr;
  }
  if (!s.servers.empty()) {
    r = ares_set_servers_ports_csv(im->ch, s.servers.c_str());
    if (r != ARES_SUCCESS) {
      *error = "GROVE_DNS_SERVERS='" + s.servers + "' is not a list of ip[:port] (" + ares_strerror(r) + ")";
      ares_destroy(im->ch);
      return nullptr;
    }
  }
  im->funcs = {&Impl::on_socket, &Impl::on_close, &Impl::on_connect, &Impl::on_recvfrom, &Impl::on_sendv};
  ares_set_socket_functions(im->ch, &im->funcs, im.get());
  return std::unique_ptr<Channel>(new Channel(std::move(im)));
}

Channel::~Channel() { ares_destroy(impl_->ch); }

void Channel::search(const char* name, int qtype, QueryCallback* cb) noexcept {
  ares_search(impl_->ch, name, 1 /* IN */, qtype, &Impl::on_answer, cb);
}

void Channel::query(const char* name, int qtype, QueryCallback* cb) noexcept {
  ares_query(impl_->ch, name, 1 /* IN */, qtype, &Impl::on_answer, cb);
}

void Channel::process(int fd, bool readable, bool writable) noexcept {
  ares_process_fd(impl_->ch, readable ? fd : ARES_SOCKET_BAD, writable ? fd : ARES_SOCKET_BAD);
}

void Channel::expire() noexcept { ares_process_fd(impl_->ch, ARES_SOCKET_BAD, ARES_SOCKET_BAD); }

std::int64_t Channel::next_timeout_ns() noexcept {
  timeval tv{};
  timeval* t = ares_timeout(impl_->ch, nullptr, &tv);
  if (!t) return -1;
  return std::int64_t{t->tv_sec} * 1'000'000'000 + std::int64_t{t->tv_usec} * 1000;
}

void Channel::cancel() noexcept { ares_cancel(impl_->ch); }

std::uint64_t Channel::kernel_drops() const noexcept {
  std::uint64_t n = impl_->closed_drops;
  for (int fd : impl_->udp_fds) n += drops_of(fd);
  return n;
}

int Channel::granted_receive_buffer(int requested) noexcept {
  long fd = sys::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return 0;
  ask_receive_buffer(fd, requested);
  int granted = 0;
  unsigned len = sizeof granted;
  if (sys::getsockopt(static_cast<int>(fd), SOL_SOCKET, SO_RCVBUF, &granted, &len) < 0) granted = 0;
  sys::close(static_cast<int>(fd));
  return granted;
}

}  // namespace grove::detail::dns
