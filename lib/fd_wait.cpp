// fd_wait.cpp — the hub's side of fd readiness: parking on an fd, poller events, close.
//
// Every cooperative fd call ends up here when its non-blocking attempt would block (fd_call.cpp):
// wait_fd parks the greenlet on the fd's record (fd_record.hpp) until the poller reports an edge,
// the deadline passes, the fd is closed, or the greenlet is interrupted.
//
// Ownership: a record's wait state belongs to one hub, the first that waits on the fd, until the
// fd is closed; only that hub's thread touches it. A greenlet of another thread's hub that wants
// to wait on it gets Wake::fd_busy (the interposer then makes the call blocking for real, as libc
// would; the C++ API reports a usage error). Registration is edge-triggered and happens once per
// fd, on its first wait; an edge that arrives while nobody waits sets the record's ready flag, so
// the next wait returns at once.
//
// Close: the generation of the number changes first (fd_retire), so events and wake-ups for the
// old file are recognised as stale. If this thread's hub owns the record, its waiters are woken
// with fd_closed and the fd leaves the poller before the real close — epoll watches open file
// descriptions, and a registration of a dup()ed description would outlive the close. If another
// thread's hub owns it, that hub is told through its post queue; its waiters are woken there. A
// hub that finds its state older than the record's generation (a close it was not told about in
// time) wakes and resets it before the next wait.
#include <cerrno>
#include <mutex>
#include <vector>

#include "assert.hpp"
#include "hub.hpp"

namespace grove::detail {

namespace {

// Every live hub, so that a close on one thread can safely reach the hub of another.
std::mutex g_hubs_mu;
Hub* g_hubs = nullptr;

// What the hub knows of the fd's readiness and registration: forgotten when the file behind the
// number changes hands.
void clear_wait_flags(FdRecord& r) noexcept {
  r.registered = r.unpollable = r.read_ready = r.write_ready = r.read_drained = r.no_wait_first = false;
}

void reset_wait_state(FdRecord& r, Wake wake_cause) noexcept {
  r.readers.wake_all(wake_cause);
  r.writers.wake_all(wake_cause);
  r.watchers.wake_all(wake_cause);
  clear_wait_flags(r);
}

}  // namespace

void Hub::join_registry() noexcept {
  std::lock_guard lock(g_hubs_mu);
  hubs_prev_ = nullptr;
  hubs_next_ = g_hubs;
  if (g_hubs) g_hubs->hubs_prev_ = this;
  g_hubs = this;
}

void Hub::for_each_hub(void (*fn)(Hub&, void*), void* arg) {
  std::lock_guard lock(g_hubs_mu);
  for (Hub* h = g_hubs; h; h = h->hubs_next_) fn(*h, arg);
}

void Hub::leave_registry() noexcept {
  {
    std::lock_guard lock(g_hubs_mu);
    (hubs_prev_ ? hubs_prev_->hubs_next_ : g_hubs) = hubs_next_;
    if (hubs_next_) hubs_next_->hubs_prev_ = hubs_prev_;
  }
  // Records this hub still owns: nobody waits on them any more (no greenlet is alive), and its
  // poller goes with it.
  for_each_fd_record(
      [](int, FdRecord& r, void* self) {
        if (r.owner.load(std::memory_order_relaxed) != self) return;
        reset_wait_state(r, Wake::fd_closed);
        r.owner.store(nullptr, std::memory_order_release);
      },
      this);
}

void Hub::fds_after_fork() noexcept {
  // This hub is the only one left in the child; its greenlets waiting on fds retry and register
  // with the new poller. Other hubs' threads do not exist here: their waiters are dropped as is.
  new (&g_hubs_mu) std::mutex;
  g_hubs = this;
  hubs_prev_ = hubs_next_ = nullptr;
  for_each_fd_record(
      [](int, FdRecord& r, void* self) {
        Hub* o = r.owner.load(std::memory_order_relaxed);
        if (!o) return;
        if (o == self) {
          reset_wait_state(r, Wake::fd_ready);
        } else {
          r.readers = WaitList{};
          r.writers = WaitList{};
          r.watchers = WaitList{};
          clear_wait_flags(r);
        }
        r.owner.store(nullptr, std::memory_order_relaxed);
      },
      this);
}

// Makes this hub the owner of fd's wait state, resetting state left from an earlier file of the
// same number. False if another thread's hub owns it.
bool Hub::claim_fd(int, FdRecord& r) noexcept {
  const std::uint32_t gen = r.gen.load(std::memory_order_acquire);
  Hub* o = r.owner.load(std::memory_order_acquire);
  if (o == this) {
    if (r.wait_gen != gen) {  // closed, maybe on another thread, and reused since
      reset_wait_state(r, Wake::fd_closed);
      r.wait_gen = gen;
    }
    return true;
  }
  if (o != nullptr || !r.owner.compare_exchange_strong(o, this, std::memory_order_acq_rel)) return false;
  GROVE_ASSERT(r.readers.empty() && r.writers.empty() && r.watchers.empty(), "waiters on an unowned fd record");
  clear_wait_flags(r);
  r.wait_gen = gen;
  return true;
}

int Hub::register_fd(int fd, FdRecord& r) noexcept {
  if (r.registered || r.unpollable) return 0;
  int e = poller_.add(fd, fd_token(fd, r.wait_gen));
  if (e == -EPERM) {  // regular file or similar: the kernel cannot poll it
    r.unpollable = true;
    return 0;
  }
  if (e < 0) return e;
  r.registered = true;
  return 0;
}

Wake Hub::wait_fd(int fd, Interest in, std::int64_t deadline_ns, const char* reason, unsigned flags) {
  FdRecord* r = fd_record(fd);
  if (!r) return Wake::fd_unpollable;
  if (!claim_fd(fd, *r)) return Wake::fd_busy;
  if (register_fd(fd, *r) < 0 || r->unpollable) return Wake::fd_unpollable;
  if (in == Interest::read) r->read_drained = false;  // the caller reads (or not) after this
  if (bool& flag = r->ready(in); flag) {
    flag = false;
    return Wake::fd_ready;
  }
  WaitList& list = r->waiters(in);
  if ((flags & kWaitExclusive) && !list.empty()) return Wake::fd_busy;
  WaitNode node = this_waiter();
  ++fd_waiters_;
  const Wake w = park_on(list, node, reason, deadline_ns, fd, flags & kWaitInterruptible);
  --fd_waiters_;
  return w;
}

bool Hub::read_drained(int fd) noexcept {
  const FdRecord* r = find_fd_record(fd);
  return r && r->read_drained && r->registered && r->owner.load(std::memory_order_relaxed) == this &&
         r->wait_gen == r->gen.load(std::memory_order_acquire);
}

void Hub::note_read(int fd, bool drained) noexcept {
  FdRecord* r = find_fd_record(fd);
  if (!r || r->owner.load(std::memory_order_relaxed) != this || !r->registered) return;
  r->read_drained = drained && !r->no_wait_first && r->wait_gen == r->gen.load(std::memory_order_acquire);
}

Wake Hub::wait_fds(const pollfd* fds, std::size_t n, std::int64_t deadline_ns, const char* reason,
                   bool interruptible) {
  constexpr std::size_t kInline = 16;
  WaitNode inline_nodes[kInline];
  std::vector<WaitNode> heap_nodes;
  WaitNode* nodes = inline_nodes;
  if (n > kInline) {
    heap_nodes.resize(n);
    nodes = heap_nodes.data();
  }
  const WaitNode me = this_waiter();
  Wake w = Wake::fd_unpollable;
  std::size_t watched = 0;
  for (; watched < n; ++watched) {
    const int fd = fds[watched].fd;
    if (fd < 0) continue;
    FdRecord* r = fd_record(fd);
    if (!r || !claim_fd(fd, *r)) break;
    const int e = register_fd(fd, *r);
    if (e == -EBADF) continue;  // poll reports POLLNVAL for it; the caller's own poll sees that
    if (e < 0 || r->unpollable) break;
    nodes[watched] = me;
    r->watchers.push_back(&nodes[watched]);
  }
  if (watched == n) {
    ++fd_waiters_;
    w = park(reason, deadline_ns, -1, interruptible);
    --fd_waiters_;
  }
  for (std::size_t i = 0; i < watched; ++i) {
    if (!nodes[i].linked) continue;
    if (FdRecord* r = find_fd_record(fds[i].fd)) r->watchers.remove(&nodes[i]);
  }
  return w;
}

GreenletCore* Hub::fd_waiter(int fd, Interest in) noexcept {
  FdRecord* r = find_fd_record(fd);
  if (!r || r->owner.load(std::memory_order_relaxed) != this || r->waiters(in).empty()) return nullptr;
  return r->waiters(in).front()->g;
}

void Hub::on_poll_event(const PollEvent& ev) noexcept {
  const int fd = token_fd(ev.token);
  FdRecord* r = find_fd_record(fd);
  if (!r || r->owner.load(std::memory_order_relaxed) != this || r->wait_gen != token_gen(ev.token) ||
      r->gen.load(std::memory_order_acquire) != r->wait_gen)
    return;  // for a closed, maybe reused, number
  auto wake = [r](Interest in) {
    WaitList& list = r->waiters(in);
    if (list.empty())
      r->ready(in) = true;
    else
      list.wake_all(Wake::fd_ready);
  };
  if (ev.final_or_urgent) r->no_wait_first = true;
  if (ev.readable) wake(Interest::read);
  if (ev.writable) wake(Interest::write);
  r->watchers.wake_all(Wake::fd_ready);
}

// On the owner's thread: the file of generation closed_gen - 1 is being (or was) closed.
void Hub::drop_fd(int fd, FdRecord& r, std::uint32_t closed_gen) noexcept {
  if (r.owner.load(std::memory_order_relaxed) != this || r.wait_gen != closed_gen - 1) return;
  // Deregister only while the number still means the closing file (a close on this thread,
  // before the real one); after a close elsewhere it may name another file already.
  if (r.registered && r.gen.load(std::memory_order_acquire) == closed_gen) poller_.remove(fd);
  reset_wait_state(r, Wake::fd_closed);
  r.owner.store(nullptr, std::memory_order_release);
}

void Hub::fd_closing(int fd) noexcept {
  FdRecord* r = find_fd_record(fd);
  if (!r) return;  // never seen by grove
  const std::uint32_t gen = fd_retire(fd);
  Hub* owner = r->owner.load(std::memory_order_acquire);
  if (!owner) return;
  if (owner == tl_ctx.hub) {
    owner->drop_fd(fd, *r, gen);
    return;
  }
  std::lock_guard lock(g_hubs_mu);
  for (Hub* h = g_hubs; h; h = h->hubs_next_) {
    if (h != owner) continue;
    try {
      h->post([h, fd, gen] {
        if (FdRecord* rec = find_fd_record(fd)) h->drop_fd(fd, *rec, gen);
      });
    } catch (...) {
      // Out of memory: that hub finds the record stale at its next wait on the number.
    }
    return;
  }
}

}  // namespace grove::detail
