// dns_resolver.cpp — c-ares on the hub: a thread's channels, paced, driven by one greenlet.
//
// Design
// ------
// Each thread that resolves a name gets a Resolver (dns_request.cpp holds it, created by the
// thread's first lookup). Every greenlet of the thread shares it, so a thousand lookups in flight
// are a thousand entries in a few c-ares channels, not a thousand sockets, and each lookup parks
// only its own greenlet:
//
//   lookup greenlet:  submit(Job) → Channel::search → park("dns lookup")       (dns_request.cpp)
//   driver greenlet:  while jobs are in flight:
//                        drain: epoll_wait(private set, 0) → Channel::process for each ready socket
//                        pump: send queued jobs to channels with room
//                        hub.wait_fd(private epoll fd, read, deadline = c-ares' next timeout)
//                        deadline passed → Channel::expire so c-ares retries or gives up
//   completion:       (inside Channel::process in the driver) accounts the job and hands its
//                     answer to the lookup, which stores it and unparks the lookup greenlet.
//
// Pacing: never more answers owed to a socket than its receive buffer can hold. One UDP socket
// per server and channel carries the answers of every query sent on that channel, and when a
// server answers a burst (a thousand lookups against one resolver answer within a millisecond of
// each other), they arrive faster than one thread can take them in. A datagram that does not fit
// in the socket's receive buffer is dropped by the kernel (UdpRcvbufErrors), and its lookup waits
// for c-ares' retry timer: 5 s, then 10 s more, with resolv.conf's defaults. Measured here
// (tests/bench/README.md): 10,000 lookups, A and AAAA, against a local server answering after
// 50 ms, lost 2,000–5,000 answers per run with an 8 MiB buffer; a small loopback answer takes
// 832 bytes of buffer, one of 512 bytes 1,280. So each channel takes at most answers_per_socket
// queries at a time — the receive buffer the kernel actually granted (read back once, on a
// scratch socket) divided by kAnswerCost — and more channels are opened, up to kMaxChannels,
// while every open one is full. Beyond that, jobs wait in a FIFO queue and are sent as answers
// come back. Since each query is owed at most one answer (two in the rare case of a retry whose
// first answer arrives late), the kernel can always queue every answer we are owed, however late
// the driver gets to read them: no loss by construction, not by winning a race.
//
// Rejected, by measurement or by what the Debian versions offer:
//   - a larger receive buffer alone: without CAP_NET_ADMIN the kernel caps it at
//     net.core.rmem_max, 208 KiB by default (416 KiB granted: ~330 answers), and even 8 MiB
//     overflowed with 20,000 answers. We still ask for 4 MiB (fewer channels when granted);
//   - draining fully on every wake-up: c-ares 1.18 already reads a socket until EAGAIN; it is a
//     race against the sender and loses it when the thread is busy or descheduled;
//   - more sockets per server in one channel: c-ares' udp_max_queries (ARES_OPT_UDP_MAX_QUERIES)
//     arrived in 1.20; bookworm has 1.18.1, hence several channels;
//   - a socket per lookup, as glibc does: a thousand fds and socket() calls for what 1–64 do.
// Spare channels are closed when the thread goes idle, so the steady state is one channel.
//
// Why a private epoll set: the channels own a changing set of sockets (UDP per server, TCP for
// truncated answers), and one greenlet has to watch all of them plus c-ares' retry timers. The hub
// parks a greenlet on one fd, so the sockets live in a level-triggered epoll set of their own
// (maintained from c-ares' socket-state callbacks), and the driver waits on that set's fd, which
// the hub watches like any other. Level-triggered matters: c-ares reads a TCP answer a piece per
// call, so "still readable" must be reported again on the next drain. This is the one place
// besides poller_epoll.cpp that includes <sys/epoll.h>, for that reason: the hub's Poller is
// edge-triggered by contract and owns an eventfd we do not need. It is also the one user of the
// hub's internals (wait_fd) in the DNS code.
//
// The driver exists only while jobs are in flight, and exits when the last one completes. An idle
// thread therefore has no greenlet parked on DNS sockets, and the hub's "would block forever"
// report stays truthful. Its drain is bounded (a flood of answers must not starve the greenlets it
// wakes): when the bound is hit it yields and drains again without waiting, because the hub
// watches the set's fd edge-triggered and no new edge would come for data already queued.
#include "dns_resolver.hpp"

#include <sys/epoll.h>

#include <algorithm>
#include <cstring>

#include "grove/greenlet.hpp"
#include "grove/time.hpp"
#include "hub.hpp"
#include "log.hpp"
#include "own_fd.hpp"
#include "sys.hpp"

namespace grove::detail::dns {

namespace {

// Receive-buffer bytes reserved per answer owed: a 512-byte answer (the most c-ares 1.18 asks for
// over UDP, without EDNS) costs 1,280 bytes on loopback, measured; network drivers commonly
// charge a 2 KiB buffer per received frame.
constexpr int kAnswerCost = 2048;
constexpr std::size_t kMaxChannels = 64;
constexpr int kMaxEvents = 64;
constexpr int kDrainRounds = 64;

}  // namespace

Resolver::Resolver(Config cfg) : cfg_(std::move(cfg)) {}

Resolver::~Resolver() {
  if (busy()) {
    // Lookups still parked (the thread exits with greenlets alive, and the hub leaves them to the
    // OS too): c-ares would call back into greenlets that will never run again. Leak instead.
    for (auto& ch : channels_) (void)ch.release();
    return;
  }
  channels_.clear();  // closes their sockets through watch_socket(…, false, false)
  if (epfd_ >= 0) {
    Hub::fd_closing(epfd_);
    disown_fd(epfd_);
    sys::close(epfd_);
  }
}

bool Resolver::usable() {
  if (!channels_.empty()) return true;
  if (failed_) return false;
  failed_ = true;  // until proven otherwise
  if (!resolve_settings(cfg_, settings_, &error_)) {
    GROVE_LOG(error, "dns: no resolver for this thread: %s", error_.c_str());
    return false;
  }
  long ep = sys::epoll_create1(EPOLL_CLOEXEC);
  if (ep < 0) {
    error_ = std::string("dns: epoll_create1: ") + std::strerror(static_cast<int>(-ep));
    GROVE_LOG(error, "%s", error_.c_str());
    return false;
  }
  epfd_ = own_fd(static_cast<int>(ep));  // out of the program's way (own_fd.hpp)
  std::unique_ptr<Channel> first;
  try {
    first = Channel::open(settings_, *this, &error_);
    if (first) channels_.push_back(std::move(first));
  } catch (const std::bad_alloc&) {
    error_ = "out of memory";
  }
  if (channels_.empty()) {
    GROVE_LOG(error, "dns: no resolver for this thread: %s", error_.c_str());
    return false;
  }
  failed_ = false;
  stats_.receive_buffer = Channel::granted_receive_buffer(settings_.udp_receive_buffer);
  stats_.answers_per_socket = std::max(1, stats_.receive_buffer / kAnswerCost);
  stats_.channels_opened = stats_.channels_peak = 1;
  GROVE_LOG(debug, "dns: channel created (servers %s, timeout %d ms, tries %d; receive buffer %d bytes: %d answers "
            "in flight per socket)", settings_.servers.empty() ? "from resolv.conf" : settings_.servers.c_str(),
            settings_.timeout_ms, settings_.tries, stats_.receive_buffer, stats_.answers_per_socket);
  return true;
}

// ---- jobs ---------------------------------------------------------------------------------------

Channel* Resolver::channel_with_room() noexcept {
  const std::size_t room = static_cast<std::size_t>(stats_.answers_per_socket);
  for (auto& ch : channels_)
    if (ch->in_flight < room) return ch.get();
  if (channels_.size() >= kMaxChannels) return nullptr;
  std::string why;
  try {
    std::unique_ptr<Channel> ch = Channel::open(settings_, *this, &why);
    if (!ch) {
      GROVE_LOG(warn, "dns: cannot open another channel (%s); queries wait for room", why.c_str());
      return nullptr;
    }
    channels_.push_back(std::move(ch));
  } catch (const std::bad_alloc&) {
    return nullptr;
  }
  ++stats_.channels_opened;
  stats_.channels_peak = std::max(stats_.channels_peak, channels_.size());
  GROVE_LOG(debug, "dns: %zu channels open", channels_.size());
  return channels_.back().get();
}

void Resolver::submit(Job* job) noexcept {
  job->resolver = this;
  ++in_flight_;
  Channel* ch = queue_head_ ? nullptr : channel_with_room();
  if (ch) {
    send(job, ch);
    return;
  }
  ++stats_.paced;
  job->queued = true;
  job->next = nullptr;
  job->prev = queue_tail_;
  (queue_tail_ ? queue_tail_->next : queue_head_) = job;
  queue_tail_ = job;
}

void Resolver::unqueue(Job* job) noexcept {
  (job->prev ? job->prev->next : queue_head_) = job->next;
  (job->next ? job->next->prev : queue_tail_) = job->prev;
  job->prev = job->next = nullptr;
  job->queued = false;
}

bool Resolver::withdraw(Job* job) noexcept {
  if (!job->queued) return false;
  unqueue(job);
  --in_flight_;
  return true;
}

void Resolver::send(Job* job, Channel* ch) noexcept {
  job->channel = ch;
  ++ch->in_flight;
  ++stats_.queries;
  job->cb = QueryCallback{&Resolver::on_completion, job};
  if (job->search)
    ch->search(job->name.c_str(), job->qtype, &job->cb);
  else
    ch->query(job->name.c_str(), job->qtype, &job->cb);
}

void Resolver::pump() noexcept {
  while (queue_head_) {
    Channel* ch = channel_with_room();
    if (!ch) return;
    Job* job = queue_head_;
    unqueue(job);
    send(job, ch);
  }
}

void Resolver::on_completion(void* arg, const Completion& c) {
  auto* job = static_cast<Job*>(arg);
  Resolver* self = job->resolver;
  --job->channel->in_flight;
  job->channel = nullptr;
  --self->in_flight_;
  if (c.timeouts > 0) ++self->stats_.retried;
  Status st = c.status;
  if (c.refused && self->failures_.take(job->name)) st = Status::server_failure;
  if (self->in_flight_ == 0) self->failures_.clear();
  job->done(job, st, c.msg, c.len);  // may free job
}

void Resolver::cancel_all() noexcept {
  for (auto& ch : channels_) ch->cancel();  // their completions run now, with try_again
  while (Job* job = queue_head_) {
    withdraw(job);
    job->done(job, Status::try_again, nullptr, 0);
  }
}

// ---- the driver -----------------------------------------------------------------------------------

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

void Resolver::watch_socket(Channel& ch, int fd, bool readable, bool writable) noexcept {
  if (!readable && !writable) {
    if (sockets_.erase(fd)) sys::epoll_ctl(epfd_, EPOLL_CTL_DEL, fd, nullptr);
    return;
  }
  epoll_event ev{};
  ev.events = (readable ? EPOLLIN : 0u) | (writable ? EPOLLOUT : 0u);
  ev.data.fd = fd;
  const bool known = sockets_.count(fd) != 0;
  long r = sys::epoll_ctl(epfd_, known ? EPOLL_CTL_MOD : EPOLL_CTL_ADD, fd, &ev);
  if (r < 0) {
    GROVE_LOG(error, "dns: epoll_ctl(%s, fd %d) failed: %s", known ? "MOD" : "ADD", fd,
              std::strerror(static_cast<int>(-r)));
    return;
  }
  try {
    sockets_[fd] = &ch;
  } catch (const std::bad_alloc&) {  // unwatched: its queries end by c-ares' timeout
    sys::epoll_ctl(epfd_, EPOLL_CTL_DEL, fd, nullptr);
  }
}

// Lets c-ares handle every socket that is ready now. A level-triggered set reports a socket again
// while it stays readable, so a TCP answer read in pieces is finished here too. Returns true if
// sockets were still ready when the round limit was reached: the caller must come back without
// waiting (the hub watches the set's fd edge-triggered, and no new edge may come).
bool Resolver::drain() noexcept {
  epoll_event evs[kMaxEvents];
  for (int round = 0; round < kDrainRounds; ++round) {
    long n = sys::epoll_pwait(epfd_, evs, kMaxEvents, 0);
    if (n <= 0) return false;
    for (long i = 0; i < n; ++i) {
      const int fd = evs[i].data.fd;
      // c-ares may have closed fd while handling an earlier event of this batch.
      auto it = sockets_.find(fd);
      if (it == sockets_.end()) continue;
      const bool rd = evs[i].events & (EPOLLIN | EPOLLERR | EPOLLHUP);
      const bool wr = evs[i].events & (EPOLLOUT | EPOLLERR | EPOLLHUP);
      it->second->process(fd, rd, wr);
    }
    pump();
  }
  return true;
}

std::int64_t Resolver::next_deadline() noexcept {
  std::int64_t soonest = -1;
  for (auto& ch : channels_) {
    if (ch->in_flight == 0) continue;
    const std::int64_t t = ch->next_timeout_ns();
    if (t >= 0 && (soonest < 0 || t < soonest)) soonest = t;
  }
  return soonest < 0 ? kNever : now_ns() + soonest;
}

void Resolver::drive() noexcept {
  Hub& hub = Hub::get();
  while (in_flight_ > 0) {
    if (drain()) {
      // Still more to read: let the greenlets woken so far run first, then carry on.
      try {
        grove::yield();
      } catch (...) {  // a kill (see below): fail the lookups rather than strand them
        cancel_all();
      }
      continue;
    }
    pump();
    if (in_flight_ == 0) break;
    const Wake w = hub.wait_fd(epfd_, Interest::read, next_deadline(), "dns: waiting for c-ares sockets", 0);
    if (w == Wake::fd_busy || w == Wake::fd_unpollable) {
      GROVE_LOG(error, "dns: cannot wait on the resolver's epoll fd %d (%s); failing %zu lookups", epfd_,
                to_string(w), in_flight_);
      cancel_all();
      continue;
    }
    if (w == Wake::deadline) {
      for (auto& ch : channels_)
        if (ch->in_flight > 0) ch->expire();  // retries and expiries
      pump();
    } else if (w == Wake::killed || w == Wake::blocked_forever) {
      // Nobody holds the driver's handle, so only a stray kill could get here; the lookups must
      // not hang because of it: fail them all (their completions run now, with try_again).
      GROVE_LOG(error, "dns: driver interrupted (%s); cancelling %zu lookups", to_string(w), in_flight_);
      cancel_all();
    }
  }
  close_spare_channels();
  driver_running_ = false;
  idle_waiters_.wake_all();
}

void Resolver::close_spare_channels() noexcept {
  while (channels_.size() > 1) {
    retired_drops_ += channels_.back()->kernel_drops();
    channels_.pop_back();
  }
}

// ---- for tests and shutdown ------------------------------------------------------------------------

bool Resolver::wait_idle(std::int64_t deadline_ns) {
  if (!busy()) return true;
  WaitNode node = this_waiter();
  park_on(idle_waiters_, node, "dns: waiting for lookups to finish", deadline_ns);
  return !busy();
}

Stats Resolver::stats() const noexcept {
  Stats s = stats_;
  s.kernel_drops = retired_drops_;
  for (const auto& ch : channels_) s.kernel_drops += ch->kernel_drops();
  return s;
}

}  // namespace grove::detail::dns
