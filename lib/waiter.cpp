#include "waiter.hpp"

#include <string>

#include "grove/errors.hpp"
#include "grove/time.hpp"
#include "assert.hpp"
#include "greenlet.hpp"
#include "hub.hpp"
#include "timeout_scope.hpp"

namespace grove::detail {

const char* to_string(Wake w) noexcept {
  switch (w) {
    case Wake::none: return "none";
    case Wake::unparked: return "unparked";
    case Wake::deadline: return "deadline";
    case Wake::fd_ready: return "fd ready";
    case Wake::fd_closed: return "fd closed";
    case Wake::killed: return "killed";
    case Wake::scope_timeout: return "timeout";
    case Wake::blocked_forever: return "blocked forever";
    case Wake::interrupted: return "interrupted";
    case Wake::interrupted_restart: return "interrupted (SA_RESTART)";
    case Wake::fd_busy: return "fd busy";
    case Wake::fd_unpollable: return "fd unpollable";
  }
  return "?";
}

const char* to_string(State s) noexcept {
  switch (s) {
    case State::created: return "created";
    case State::ready: return "ready";
    case State::running: return "running";
    case State::parked: return "parked";
    case State::dead: return "dead";
  }
  return "?";
}

namespace {

constexpr unsigned kCauseBits = 8;
constexpr std::uint64_t kCauseMask = 0x7f;
constexpr std::uint64_t kShared = 0x80;  // wakers on other threads may claim this park

inline std::uint64_t open_word(std::uint64_t gen) noexcept { return gen << kCauseBits; }

// The message a claimed wake-up travels in when the waker is on another thread.
void on_wake_message(InboxNode* n) noexcept {
  GreenletCore* g = static_cast<GreenletMessage*>(n)->g;
  GROVE_ASSERT(g->state == State::parked, "a wake-up from another thread for greenlet '%s', which is %s, not parked",
               g->name.c_str(), to_string(g->state));
  g->hub->make_ready(g);
}

}  // namespace

bool claim(GreenletCore* g, std::uint64_t gen, Wake cause) noexcept {
  const std::uint64_t open = open_word(gen);
  std::uint64_t w = g->park_word.load(std::memory_order_acquire);
  if ((w & ~kShared) != open) return false;  // another generation, or ended already
  const std::uint64_t ended = w | static_cast<std::uint8_t>(cause);
  if (!(w & kShared)) {
    // Nobody but this hub's thread can end this park (waiter.hpp): no atomic read-modify-write.
    g->park_word.store(ended, std::memory_order_relaxed);
    return true;
  }
  return g->park_word.compare_exchange_strong(w, ended, std::memory_order_acq_rel, std::memory_order_relaxed);
}

void end_park(GreenletCore* g) noexcept {
  ++g->park_gen;
  g->park_word.store(open_word(g->park_gen), std::memory_order_release);
}

Wake park_cause(const GreenletCore* g) noexcept {
  return static_cast<Wake>(g->park_word.load(std::memory_order_relaxed) & kCauseMask);
}

void share_park(GreenletCore* self) noexcept {
  // An or, not a store: a wait on several things (wait_any) shares its park once per thing, and
  // a waker of an earlier one may have claimed it already; the claim must stand.
  self->park_word.fetch_or(kShared, std::memory_order_relaxed);
}

namespace {

[[gnu::noinline]] void deliver_elsewhere(GreenletCore* g) noexcept {
  g->wake_msg.g = g;
  g->wake_msg.run = on_wake_message;
  g->hub->send(&g->wake_msg);
}

// On the greenlet's own hub a claimed park is one of a parked greenlet (no switch happens
// between publishing a wait node and parking); the remote path asserts it (on_wake_message).
inline void deliver_inline(GreenletCore* g) noexcept {
  Hub* hub = g->hub;
  if (hub != tl_ctx.hub) [[unlikely]]
    return deliver_elsewhere(g);
  hub->make_ready(g);
}

}  // namespace

void deliver(GreenletCore* g) noexcept { deliver_inline(g); }

Wake park(const char* reason, std::int64_t deadline_ns, int fd, bool interruptible, const void* object) {
  Hub& hub = Hub::get();
  GreenletCore* self = hub.current();
  if (self->is_hub) [[unlikely]]
    GROVE_FATAL("blocking call ('%s') inside the hub (a callback posted to the hub must not block)", reason);
  const std::int64_t scope = scope_deadline(self);
  // A pending kill or an expired scope ends the park before it starts — through a claim like
  // any other cause, since a waker on another thread may have claimed it already (waiter.hpp).
  Wake early = Wake::none;
  if (self->kill_pending)
    early = Wake::killed;
  else if (scope != kNever && now_ns() >= scope)
    early = Wake::scope_timeout;
  if (early != Wake::none && claim(self, self->park_gen, early)) {
    end_park(self);
    return early;
  }
  const std::int64_t wake_at = early != Wake::none ? kNever : std::min(deadline_ns, scope);  // claimed: no timer
  self->wait_reason = reason;
  self->wait_object = object;
  self->wait_fd = fd;
  self->park_since = hub.watch.turn_ns.load(std::memory_order_relaxed);
  self->interruptible = interruptible;
  self->park_deadline = deadline_ns;
  self->state = State::parked;
  if (wake_at != kNever) hub.timers().insert(&self->timer, wake_at);
  hub.reschedule();
  hub.timers().cancel(&self->timer);
  self->wait_reason = nullptr;
  self->wait_fd = -1;
  Wake w = static_cast<Wake>(self->park_word.load(std::memory_order_acquire) & kCauseMask);
  end_park(self);
  if (w == Wake::deadline && scope < deadline_ns) w = Wake::scope_timeout;
  return w;
}

bool unpark(GreenletCore* g, std::uint64_t gen, Wake cause) noexcept {
  if (!claim(g, gen, cause)) return false;
  deliver_inline(g);
  return true;
}

void raise_if_interrupted(Wake w) {
  switch (w) {
    case Wake::killed:
      throw GreenletExit{};
    case Wake::scope_timeout:
      throw_scope_timeout(Hub::get().current());
    case Wake::blocked_forever:
      throw BlockedForever(Hub::get().blocked_report());
    default:
      return;
  }
}

WaitNode this_waiter() noexcept {
  GreenletCore* self = Hub::get().current();
  WaitNode n;
  n.g = self;
  n.gen = self->park_gen;
  return n;
}

WaitNode* WaitList::claim_one(Wake cause) noexcept {
  while (WaitNode* n = pop_front())
    if (claim(n->g, n->gen, cause)) return n;
  return nullptr;
}

WaitNode* WaitList::wake_one(Wake cause) noexcept {
  while (WaitNode* n = pop_front())
    if (unpark(n->g, n->gen, cause)) return n;
  return nullptr;
}

std::size_t WaitList::wake_all(Wake cause) noexcept {
  std::size_t woken = 0;
  while (WaitNode* n = pop_front()) woken += unpark(n->g, n->gen, cause);
  return woken;
}

Wake park_on(WaitList& list, WaitNode& node, const char* reason, std::int64_t deadline_ns, int fd,
             bool interruptible, const void* object) {
  node.gen = node.g->park_gen;
  list.push_back(&node);
  Wake w = park(reason, deadline_ns, fd, interruptible, object);
  list.remove(&node);  // still linked unless a waker took it off
  return w;
}

}  // namespace grove::detail
