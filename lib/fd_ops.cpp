#include "fd_ops.hpp"

#include <limits.h>
#include <sys/uio.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <vector>

#include "sys.hpp"

namespace grove::detail {

namespace {

// Reads and writes that must go on until `total`: each step does one cooperative call for what is
// left and returns its Result; a step that fails after progress ends the loop with the count so far.
template <class Step>
Result until_done(std::size_t total, Step step) {
  std::size_t done = 0;
  for (;;) {
    const Result r = step(done);
    if (!r.ok()) return done > 0 ? Result::done(static_cast<long>(done)) : r;
    if (r.value == 0) return Result::done(static_cast<long>(done));  // end of file, or nothing to send
    done += static_cast<std::size_t>(r.value);
    if (done >= total) return Result::done(static_cast<long>(done));
  }
}

// True if blocking writes to this fd are emulated and must send everything.
bool writes_fully(const FdFacts& f, const Policy& p) noexcept {
  return p.full_count && waitable(f, p) && (f.kind != FdKind::socket || f.stream);
}

// A copy of an iovec array that can be advanced past the bytes already transferred (the caller's
// array is const, and a partial transfer may end inside any element).
class IovCursor {
 public:
  IovCursor(const iovec* iov, int cnt) {
    const auto n = static_cast<std::size_t>(std::max(cnt, 0));
    if (n > kInline) {
      heap_.assign(iov, iov + n);
      v_ = heap_.data();
    } else {
      std::copy(iov, iov + n, inline_);
      v_ = inline_;
    }
    n_ = n;
    for (std::size_t i = 0; i < n; ++i) total_ += iov[i].iov_len;
  }
  std::size_t total() const noexcept { return total_; }
  iovec* data() noexcept { return v_; }
  int count() const noexcept { return static_cast<int>(n_); }
  void advance(std::size_t bytes) noexcept {
    while (n_ > 0 && bytes > 0) {
      const std::size_t k = std::min(bytes, v_->iov_len);
      v_->iov_base = static_cast<char*>(v_->iov_base) + k;
      v_->iov_len -= k;
      bytes -= k;
      if (v_->iov_len == 0) {
        ++v_;
        --n_;
      }
    }
    while (n_ > 0 && v_->iov_len == 0) {
      ++v_;
      --n_;
    }
  }
  // The elements covering at most `limit` bytes (the last one shortened in `scratch`).
  int limited(std::size_t limit, iovec& scratch, iovec*& out) const noexcept {
    out = v_;
    std::size_t sum = 0;
    for (std::size_t i = 0; i < n_; ++i) {
      if (sum + v_[i].iov_len >= limit) {
        if (i == 0) {
          scratch = {v_[0].iov_base, limit};
          out = &scratch;
          return 1;
        }
        return static_cast<int>(i);
      }
      sum += v_[i].iov_len;
    }
    return static_cast<int>(n_);
  }

 private:
  static constexpr std::size_t kInline = 8;
  iovec inline_[kInline];
  std::vector<iovec> heap_;
  iovec* v_ = nullptr;
  std::size_t n_ = 0;
  std::size_t total_ = 0;
};

// A receive that takes what it returns off the queue (no MSG_PEEK, MSG_OOB, MSG_ERRQUEUE…): only
// then does a short one say the queue is empty.
bool consuming(int flags) noexcept { return (flags & ~(MSG_WAITALL | MSG_NOSIGNAL | MSG_CMSG_CLOEXEC)) == 0; }

long recvmsg_iov(int fd, iovec* iov, int cnt, int flags) noexcept {
  msghdr m{};
  m.msg_iov = iov;
  m.msg_iovlen = static_cast<std::size_t>(cnt);
  return sys::recvmsg(fd, &m, flags);
}

long sendmsg_iov(int fd, iovec* iov, int cnt, int flags) noexcept {
  msghdr m{};
  m.msg_iov = iov;
  m.msg_iovlen = static_cast<std::size_t>(cnt);
  return sys::sendmsg(fd, &m, flags);
}

}  // namespace

// --- reads ----------------------------------------------------------------------------------------

Result co_read(int fd, void* buf, std::size_t n, const Policy& p) {
  if (n == 0) return Result::of(sys::read(fd, buf, 0));  // never waits, consumes nothing
  FdFacts f = fd_facts(fd);
  iovec v{buf, n};
  return fd_call(
      fd, f, Interest::read, p, Form::read_write, "read",
      [&](Try t) -> long {
        switch (t) {
          case Try::dontwait: return sys::recvfrom(fd, buf, n, MSG_DONTWAIT, nullptr, nullptr);
          case Try::nowait: return sys::preadv2(fd, &v, 1, RWF_NOWAIT);
          default: return sys::read(fd, buf, n);
        }
      },
      n);
}

Result co_readv(int fd, const iovec* iov, int cnt, const Policy& p) {
  FdFacts f = fd_facts(fd);
  IovCursor c(iov, cnt);
  if (c.total() == 0 || cnt <= 0) return Result::of(sys::readv(fd, iov, cnt));
  return fd_call(
      fd, f, Interest::read, p, Form::read_write, "readv",
      [&](Try t) -> long {
        switch (t) {
          case Try::dontwait: return recvmsg_iov(fd, c.data(), c.count(), MSG_DONTWAIT);
          case Try::nowait: return sys::preadv2(fd, c.data(), c.count(), RWF_NOWAIT);
          default: return sys::readv(fd, iov, cnt);
        }
      },
      c.total());
}

Result co_recvfrom(int fd, void* buf, std::size_t n, int flags, sockaddr* from, socklen_t* fromlen, const Policy& p) {
  const socklen_t len_in = fromlen ? *fromlen : 0;
  auto call = [&](std::size_t done, int fl) {
    if (fromlen) *fromlen = len_in;  // the kernel wrote it on a failed try too
    return sys::recvfrom(fd, static_cast<char*>(buf) + done, n - done, fl, from, fromlen);
  };
  if (flags & MSG_DONTWAIT) return Result::of(call(0, flags));  // the program asked not to wait
  FdFacts f = fd_facts(fd);
  const bool consumes = consuming(flags);
  auto step = [&](std::size_t done) {
    return fd_call(
        fd, f, Interest::read, p, Form::socket_call, "recv",
        [&](Try t) -> long { return call(done, t == Try::dontwait ? (flags & ~MSG_WAITALL) | MSG_DONTWAIT : flags); },
        consumes ? n - done : 0);
  };
  if ((flags & MSG_WAITALL) && f.stream && waitable(f, p) && n > 0) return until_done(n, step);
  return step(0);
}

Result co_recvmsg(int fd, msghdr* msg, int flags, const Policy& p) {
  if (flags & MSG_DONTWAIT) return Result::of(sys::recvmsg(fd, msg, flags));
  FdFacts f = fd_facts(fd);
  // MSG_WAITALL on a stream fills every buffer; the address, ancillary data and flags are those
  // of the first piece.
  const bool all = (flags & MSG_WAITALL) && f.stream && waitable(f, p);
  const int fl = all ? flags & ~MSG_WAITALL : flags;
  const socklen_t name_in = msg->msg_namelen;
  const std::size_t control_in = msg->msg_controllen;
  IovCursor c(msg->msg_iov, static_cast<int>(msg->msg_iovlen));
  std::size_t advanced = 0;
  auto step = [&](std::size_t done) {
    c.advance(done - advanced);
    advanced = done;
    msghdr m = *msg;
    if (done) {
      m = msghdr{};
      m.msg_iov = c.data();
      m.msg_iovlen = static_cast<std::size_t>(c.count());
    }
    Result r = fd_call(
        fd, f, Interest::read, p, Form::socket_call, "recvmsg",
        [&](Try t) -> long {
          if (!done) {  // the kernel wrote them on a failed try too
            m.msg_namelen = name_in;
            m.msg_controllen = control_in;
          }
          return sys::recvmsg(fd, &m, t == Try::dontwait ? fl | MSG_DONTWAIT : fl);
        },
        consuming(flags) ? c.total() - done : 0);
    if (!done && r.ok()) {
      msg->msg_namelen = m.msg_namelen;
      msg->msg_controllen = m.msg_controllen;
      msg->msg_flags = m.msg_flags;
    }
    return r;
  };
  return all && c.total() > 0 ? until_done(c.total(), step) : step(0);
}

Result co_recvmmsg(int fd, mmsghdr* v, unsigned n, int flags, const Policy& p) {
  if ((flags & MSG_DONTWAIT) || n == 0) return Result::of(sys::recvmmsg(fd, v, n, flags, nullptr));
  FdFacts f = fd_facts(fd);
  unsigned got = 0;
  for (;;) {
    // A blocking recvmmsg waits for all n messages; MSG_WAITFORONE makes it return after the first.
    const int fl = flags & ~MSG_WAITFORONE;
    Result r = fd_call(fd, f, Interest::read, p, Form::socket_call, "recvmmsg", [&](Try t) -> long {
      return sys::recvmmsg(fd, v + got, n - got, t == Try::dontwait ? fl | MSG_DONTWAIT : fl, nullptr);
    });
    if (!r.ok()) return got ? Result::done(got) : r;
    got += static_cast<unsigned>(r.value);
    if (got >= n || r.value == 0 || (flags & MSG_WAITFORONE) || !waitable(f, p)) return Result::done(got);
  }
}

// --- writes ---------------------------------------------------------------------------------------

Result co_write(int fd, const void* buf, std::size_t n, const Policy& p) {
  if (n == 0) return Result::of(sys::write(fd, buf, 0));
  FdFacts f = fd_facts(fd);
  const char* b = static_cast<const char*>(buf);
  auto step = [&](std::size_t done) {
    const char* at = b + done;
    const std::size_t left = n - done;
    return fd_call(fd, f, Interest::write, p, Form::read_write, "write", [&](Try t) -> long {
      switch (t) {
        case Try::dontwait:  // after a first piece, an error is reported by the next call, SIGPIPE too
          return sys::sendto(fd, at, left, MSG_DONTWAIT | (done ? MSG_NOSIGNAL : 0), nullptr, 0);
        case Try::nowait: {
          iovec v{const_cast<char*>(at), left};
          return sys::pwritev2(fd, &v, 1, RWF_NOWAIT);
        }
        case Try::after_poll: return sys::write(fd, at, std::min<std::size_t>(left, PIPE_BUF));
        default: return sys::write(fd, at, left);
      }
    });
  };
  return writes_fully(f, p) ? until_done(n, step) : step(0);
}

Result co_writev(int fd, const iovec* iov, int cnt, const Policy& p) {
  FdFacts f = fd_facts(fd);
  IovCursor c(iov, cnt);
  if (c.total() == 0 || cnt <= 0) return Result::of(sys::writev(fd, iov, cnt));
  const std::size_t total = c.total();
  std::size_t advanced = 0;
  auto step = [&](std::size_t done) {
    c.advance(done - advanced);
    advanced = done;
    return fd_call(fd, f, Interest::write, p, Form::read_write, "writev", [&](Try t) -> long {
      switch (t) {
        case Try::dontwait: return sendmsg_iov(fd, c.data(), c.count(), MSG_DONTWAIT | (done ? MSG_NOSIGNAL : 0));
        case Try::nowait: return sys::pwritev2(fd, c.data(), c.count(), RWF_NOWAIT);
        case Try::after_poll: {
          iovec scratch, *v;
          const int k = c.limited(PIPE_BUF, scratch, v);
          return sys::writev(fd, v, k);
        }
        default: return sys::writev(fd, c.data(), c.count());
      }
    });
  };
  return writes_fully(f, p) ? until_done(total, step) : step(0);
}

Result co_sendto(int fd, const void* buf, std::size_t n, int flags, const sockaddr* to, socklen_t tolen,
                 const Policy& p) {
  if ((flags & (MSG_DONTWAIT | MSG_FASTOPEN)) || n == 0) return Result::of(sys::sendto(fd, buf, n, flags, to, tolen));
  FdFacts f = fd_facts(fd);
  const char* b = static_cast<const char*>(buf);
  auto step = [&](std::size_t done) {
    const int fl = flags | (done ? MSG_NOSIGNAL : 0);
    return fd_call(fd, f, Interest::write, p, Form::socket_call, "send", [&](Try t) -> long {
      return sys::sendto(fd, b + done, n - done, t == Try::dontwait ? fl | MSG_DONTWAIT : fl, to, tolen);
    });
  };
  return writes_fully(f, p) ? until_done(n, step) : step(0);
}

Result co_sendmsg(int fd, const msghdr* msg, int flags, const Policy& p) {
  if (flags & (MSG_DONTWAIT | MSG_FASTOPEN)) return Result::of(sys::sendmsg(fd, msg, flags));
  FdFacts f = fd_facts(fd);
  IovCursor c(msg->msg_iov, static_cast<int>(msg->msg_iovlen));
  std::size_t advanced = 0;
  auto step = [&](std::size_t done) {
    c.advance(done - advanced);
    advanced = done;
    msghdr m = *msg;  // address and ancillary data go with the first piece only
    if (done) {
      m.msg_control = nullptr;
      m.msg_controllen = 0;
      m.msg_iov = c.data();
      m.msg_iovlen = static_cast<std::size_t>(c.count());
    }
    const int fl = flags | (done ? MSG_NOSIGNAL : 0);
    return fd_call(fd, f, Interest::write, p, Form::socket_call, "sendmsg", [&](Try t) -> long {
      return sys::sendmsg(fd, &m, t == Try::dontwait ? fl | MSG_DONTWAIT : fl);
    });
  };
  return writes_fully(f, p) && c.total() > 0 ? until_done(c.total(), step) : step(0);
}

Result co_sendmmsg(int fd, mmsghdr* v, unsigned n, int flags, const Policy& p) {
  if ((flags & MSG_DONTWAIT) || n == 0) return Result::of(sys::sendmmsg(fd, v, n, flags));
  FdFacts f = fd_facts(fd);
  unsigned sent = 0;
  for (;;) {
    Result r = fd_call(fd, f, Interest::write, p, Form::socket_call, "sendmmsg", [&](Try t) -> long {
      return sys::sendmmsg(fd, v + sent, n - sent, t == Try::dontwait ? flags | MSG_DONTWAIT : flags);
    });
    if (!r.ok()) return sent ? Result::done(sent) : r;
    sent += static_cast<unsigned>(r.value);
    // Whole messages only: on a stream socket the last one may have gone out in part, and the
    // caller has to see that (as natively, where the count may be below n).
    if (sent >= n || r.value == 0 || f.stream || !p.full_count || !waitable(f, p)) return Result::done(sent);
  }
}

}  // namespace grove::detail
