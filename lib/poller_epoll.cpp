#include <sys/epoll.h>
#include <sys/eventfd.h>

#include <system_error>

#include "poller.hpp"
#include "own_fd.hpp"
#include "stack.hpp"
#include "sys.hpp"

namespace grove::detail {

namespace {
constexpr std::uint64_t kWakeToken = ~std::uint64_t{0};
constexpr int kMaxEvents = 256;
}  // namespace

// valgrind 3.19 does not know epoll_pwait2 (it fails with ENOSYS, with a warning on stderr).
Poller::Poller() : have_pwait2_(!running_on_valgrind()) { open(); }

void Poller::open() {
  long ep = sys::epoll_create1(EPOLL_CLOEXEC);
  if (ep < 0) throw std::system_error(static_cast<int>(-ep), std::generic_category(), "grove: epoll_create1");
  own_fd(static_cast<int>(ep), &epfd_);
  long ev = sys::eventfd2(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (ev < 0) {
    close_fds();
    throw std::system_error(static_cast<int>(-ev), std::generic_category(), "grove: eventfd");
  }
  own_fd(static_cast<int>(ev), &wakefd_);
  epoll_event e{};
  e.events = EPOLLIN | EPOLLET;
  e.data.u64 = kWakeToken;
  sys::epoll_ctl(epfd_.load(), EPOLL_CTL_ADD, wakefd_.load(), &e);
}

void Poller::close_fds() noexcept {
  for (std::atomic<int>* fd : {&wakefd_, &epfd_}) {
    const int n = fd->exchange(-1);
    if (n < 0) continue;
    disown_fd(n);
    sys::close(n);
  }
}

void Poller::renew() {
  close_fds();
  open();
}

Poller::~Poller() { close_fds(); }

int Poller::add(int fd, std::uint64_t token) noexcept {
  epoll_event e{};
  e.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLPRI | EPOLLET;
  e.data.u64 = token;
  long r = sys::epoll_ctl(epfd_.load(std::memory_order_relaxed), EPOLL_CTL_ADD, fd, &e);
  if (r == -EEXIST) r = sys::epoll_ctl(epfd_.load(std::memory_order_relaxed), EPOLL_CTL_MOD, fd, &e);  // registered behind our back
  return static_cast<int>(r);
}

void Poller::remove(int fd) noexcept { sys::epoll_ctl(epfd_.load(std::memory_order_relaxed), EPOLL_CTL_DEL, fd, nullptr); }

int Poller::wait(std::int64_t timeout_ns, const std::function<void(const PollEvent&)>& on_event) {
  epoll_event evs[kMaxEvents];
  long n = 0;
  if (have_pwait2_) {
    timespec ts{};
    timespec* tsp = nullptr;
    if (timeout_ns >= 0) {
      ts.tv_sec = timeout_ns / 1'000'000'000;
      ts.tv_nsec = timeout_ns % 1'000'000'000;
      tsp = &ts;
    }
    n = sys::epoll_pwait2(epfd_.load(std::memory_order_relaxed), evs, kMaxEvents, tsp);
    if (n == -ENOSYS) have_pwait2_ = false;
  }
  if (!have_pwait2_) {
    // Round up: waking early would spin, waking up to 1 ms late is what the old API allows.
    int ms = timeout_ns < 0 ? -1 : static_cast<int>((timeout_ns + 999'999) / 1'000'000);
    n = sys::epoll_pwait(epfd_.load(std::memory_order_relaxed), evs, kMaxEvents, ms);
  }
  if (n < 0) {
    if (n == -EINTR) return 0;
    throw std::system_error(static_cast<int>(-n), std::generic_category(), "grove: epoll_wait in the hub");
  }
  int reported = 0;
  for (long i = 0; i < n; ++i) {
    if (evs[i].data.u64 == kWakeToken) {
      std::uint64_t drain;
      sys::read(wakefd_.load(std::memory_order_relaxed), &drain, sizeof drain);
      continue;
    }
    const std::uint32_t ev = evs[i].events;
    const bool trouble = ev & (EPOLLERR | EPOLLHUP);
    on_event(PollEvent{evs[i].data.u64, trouble || (ev & (EPOLLIN | EPOLLRDHUP | EPOLLPRI)) != 0,
                       trouble || (ev & EPOLLOUT) != 0, trouble || (ev & (EPOLLPRI | EPOLLRDHUP)) != 0});
    ++reported;
  }
  return reported;
}

void Poller::notify() noexcept {
  std::uint64_t one = 1;
  sys::write(wakefd_.load(std::memory_order_relaxed), &one, sizeof one);
}

}  // namespace grove::detail
