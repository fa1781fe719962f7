// resolve_foreign.cpp — see resolve_foreign.hpp, and the registry of the lists libc made.
#include "context.hpp"
#include "resolve_foreign.hpp"

#include <netdb.h>

#include <algorithm>
#include <atomic>
#include <cstring>
#include <mutex>
#include <unordered_set>
#include <utility>
#include <vector>

#include "grove/detail/libc_resolver.hpp"
#include "grove/errors.hpp"
#include "grove/offload.hpp"
#include "log.hpp"

namespace grove::detail {

namespace {

using gai_fn = int (*)(const char*, const char*, const addrinfo*, addrinfo**);
using freeai_fn = void (*)(addrinfo*);
using gni_fn = int (*)(const sockaddr*, socklen_t, char*, socklen_t, char*, socklen_t, int);
using ghbn_fn = int (*)(const char*, int, hostent*, char*, std::size_t, hostent**, int*);
using ghba_fn = int (*)(const void*, socklen_t, int, hostent*, char*, std::size_t, hostent**, int*);

// libc's functions as the linker binds them, until set_libc_resolver says otherwise (under the
// interposer these names are its hooks, hence the registration).
std::atomic<gai_fn> g_getaddrinfo{&::getaddrinfo};
std::atomic<freeai_fn> g_freeaddrinfo{&::freeaddrinfo};
std::atomic<gni_fn> g_getnameinfo{&::getnameinfo};
std::atomic<ghbn_fn> g_gethostbyname2_r{&::gethostbyname2_r};
std::atomic<ghba_fn> g_gethostbyaddr_r{&::gethostbyaddr_r};

template <class F>
void set_if(std::atomic<F>& slot, F fn) noexcept {
  if (fn) slot.store(fn, std::memory_order_release);
}

// Set on an offload worker while it runs one of the functions above. If grove's resolver is
// entered then, "libc's" function was a replacement that calls grove (an interposer that did not
// register the originals): answering by offloading again would recurse from worker to worker
// until the pool is exhausted, so the sources grove has answer instead (see foreign_allowed).
struct InLibcCall {
  InLibcCall() noexcept { tl_ctx.in_libc_lookup = true; }
  ~InLibcCall() { tl_ctx.in_libc_lookup = false; }
};

}  // namespace

void set_libc_resolver(const LibcResolver& f) noexcept {
  set_if(g_getaddrinfo, f.getaddrinfo);
  set_if(g_freeaddrinfo, f.freeaddrinfo);
  set_if(g_getnameinfo, f.getnameinfo);
  set_if(g_gethostbyname2_r, f.gethostbyname2_r);
  set_if(g_gethostbyaddr_r, f.gethostbyaddr_r);
}

namespace resolve {

bool foreign_allowed() noexcept {
  if (!tl_ctx.in_libc_lookup) return true;
  static std::atomic<bool> said{false};
  if (!said.exchange(true))
    GROVE_LOG(error, "dns: libc's getaddrinfo & co. lead back to grove (an interposer that did not call "
                     "grove::detail::set_libc_resolver); nsswitch sources other than files and dns are ignored");
  return false;
}

namespace {

void set_interrupted(NameResult& r, Wake w) noexcept {
  r.code = EAI_SYSTEM;
  r.wake = w;
  r.sys_errno = w == Wake::killed ? ECANCELED : ETIMEDOUT;
}

// Runs fn on the offload pool and returns its result; an interrupted wait returns the
// interruption instead (fn's result, when it comes, is dropped on the worker's side).
template <class R, class F>
R offloaded(F&& fn) {
  try {
    return grove::offload(std::forward<F>(fn));
  } catch (const GreenletExit&) {
    R r;
    set_interrupted(r, Wake::killed);
    return r;
  } catch (const TimeoutError&) {
    R r;
    set_interrupted(r, Wake::scope_timeout);
    return r;
  }
}

// A hostent from a _r call, copied out of its buffer.
HostResult from_hostent(int rc, const hostent* h, int herr, int err, int family) {
  HostResult r;
  r.family = family;
  r.rc = rc;
  if (!h) {
    r.h_errno_value = herr ? herr : NETDB_INTERNAL;
    if (r.h_errno_value == NETDB_INTERNAL) r.sys_errno = rc ? rc : (err ? err : EIO);
    return r;
  }
  r.name = h->h_name ? h->h_name : "";
  for (char** a = h->h_aliases; a && *a; ++a) r.aliases.emplace_back(*a);
  const std::size_t len = h->h_addrtype == AF_INET ? 4 : 16;
  for (char** p = h->h_addr_list; p && *p; ++p) {
    Addr ad;
    ad.family = h->h_addrtype;
    std::memcpy(ad.bytes, *p, len);
    r.addrs.push_back(ad);
  }
  return r;
}

// Calls a gethostby*_r function with a buffer that grows while it says ERANGE.
template <class Call>
HostResult hostent_call(int family, Call&& call) {
  std::vector<char> buf(4096);
  hostent he{};
  hostent* res = nullptr;
  int herr = 0;
  int rc = 0;
  while ((rc = call(&he, buf.data(), buf.size(), &res, &herr)) == ERANGE && buf.size() < (1u << 22))
    buf.resize(buf.size() * 2);
  return from_hostent(rc, res, herr, errno, family);
}

std::mutex g_foreign_mu;
std::unordered_set<const addrinfo*> g_foreign;
std::atomic<std::size_t> g_foreign_count{0};

}  // namespace

GaiResult foreign_getaddrinfo(const char* node, const char* service, const addrinfo* hints) {
  struct Out {
    int code = 0;
    int err = 0;
    addrinfo* ai = nullptr;
  };
  // A result that arrives after the caller left is freed where it lands (see offload.hpp).
  struct Holder {
    Out out;
    Holder() = default;
    Holder(Holder&& o) noexcept : out(std::exchange(o.out, Out{})) {}
    ~Holder() {
      if (out.ai) g_freeaddrinfo.load(std::memory_order_acquire)(out.ai);
    }
  };
  GaiResult r;
  std::string n = node ? node : "", sv = service ? service : "";
  const bool has_n = node, has_s = service, has_h = hints;
  addrinfo hh{};
  if (hints) {
    hh.ai_flags = hints->ai_flags;
    hh.ai_family = hints->ai_family;
    hh.ai_socktype = hints->ai_socktype;
    hh.ai_protocol = hints->ai_protocol;
  }
  try {
    Holder got = grove::offload([=] {
      Holder h;
      InLibcCall mark;
      h.out.code = g_getaddrinfo.load(std::memory_order_acquire)(has_n ? n.c_str() : nullptr,
                                                                 has_s ? sv.c_str() : nullptr, has_h ? &hh : nullptr,
                                                                 &h.out.ai);
      h.out.err = errno;
      return h;
    });
    r.code = got.out.code;
    r.sys_errno = got.out.err;
    r.foreign = std::exchange(got.out.ai, nullptr);
  } catch (const GreenletExit&) {
    set_interrupted(r, Wake::killed);
  } catch (const TimeoutError&) {
    set_interrupted(r, Wake::scope_timeout);
  } catch (...) {
    r.code = EAI_MEMORY;
  }
  return r;
}

HostResult foreign_gethostbyname(const char* name, int family) {
  std::string n = name;
  return offloaded<HostResult>([n, family] {
    InLibcCall mark;
    const ghbn_fn fn = g_gethostbyname2_r.load(std::memory_order_acquire);
    return hostent_call(family, [&](hostent* he, char* buf, std::size_t len, hostent** res, int* herr) {
      return fn(n.c_str(), family, he, buf, len, res, herr);
    });
  });
}

HostResult foreign_gethostbyaddr(const Addr& addr) {
  return offloaded<HostResult>([addr] {
    InLibcCall mark;
    const ghba_fn fn = g_gethostbyaddr_r.load(std::memory_order_acquire);
    const socklen_t len = addr.family == AF_INET ? 4 : 16;
    return hostent_call(addr.family, [&](hostent* he, char* buf, std::size_t blen, hostent** res, int* herr) {
      return fn(addr.bytes, len, addr.family, he, buf, blen, res, herr);
    });
  });
}

NameResult foreign_getnameinfo(const sockaddr* sa, socklen_t salen, bool want_host, bool want_serv, int flags) {
  sockaddr_storage ss{};
  std::memcpy(&ss, sa, std::min<std::size_t>(salen, sizeof ss));
  return offloaded<NameResult>([ss, salen, want_host, want_serv, flags] {
    InLibcCall mark;
    NameResult r;
    char host[NI_MAXHOST] = "", serv[NI_MAXSERV] = "";
    r.code = g_getnameinfo.load(std::memory_order_acquire)(reinterpret_cast<const sockaddr*>(&ss), salen,
                                                           want_host ? host : nullptr, want_host ? sizeof host : 0,
                                                           want_serv ? serv : nullptr, want_serv ? sizeof serv : 0,
                                                           flags);
    if (r.code == EAI_SYSTEM) r.sys_errno = errno;
    r.host = host;
    r.service = serv;
    return r;
  });
}

bool is_foreign(const addrinfo* ai) noexcept {
  if (g_foreign_count.load(std::memory_order_acquire) == 0) return false;
  std::lock_guard lock(g_foreign_mu);
  return g_foreign.count(ai) != 0;
}

void remember_foreign(addrinfo* ai) {
  std::lock_guard lock(g_foreign_mu);
  g_foreign.insert(ai);
  g_foreign_count.store(g_foreign.size(), std::memory_order_release);
}

void free_foreign(addrinfo* ai) noexcept {
  {
    std::lock_guard lock(g_foreign_mu);
    g_foreign.erase(ai);
    g_foreign_count.store(g_foreign.size(), std::memory_order_release);
  }
  g_freeaddrinfo.load(std::memory_order_acquire)(ai);
}

}  // namespace resolve

}  // namespace grove::detail
