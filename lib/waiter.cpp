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

Wake park(const char* reason, std::int64_t deadline_ns, int fd, bool interruptible, const void* object) {
  Hub& hub = Hub::get();
  GreenletCore* self = hub.current();
  if (self->kill_pending) return Wake::killed;
  const std::int64_t scope = scope_deadline(self);
  if (scope != kNever && now_ns() >= scope) return Wake::scope_timeout;
  if (self->is_hub) [[unlikely]]
    GROVE_FATAL("blocking call ('%s') inside the hub (a callback posted to the hub must not block)", reason);
  const std::int64_t wake_at = std::min(deadline_ns, scope);
  self->wait_reason = reason;
  self->wait_object = object;
  self->wait_fd = fd;
  self->park_since = hub.watch.turn_ns.load(std::memory_order_relaxed);
  self->interruptible = interruptible;
  self->park_deadline = deadline_ns;
  self->wake = Wake::none;
  self->state = State::parked;
  if (wake_at != kNever) hub.timers().insert(&self->timer, wake_at);
  hub.reschedule();
  hub.timers().cancel(&self->timer);
  ++self->park_gen;
  self->wait_reason = nullptr;
  self->wait_fd = -1;
  Wake w = self->wake;
  if (w == Wake::deadline && scope < deadline_ns) w = Wake::scope_timeout;
  return w;
}

bool unpark(GreenletCore* g, std::uint64_t gen, Wake cause) noexcept {
  if (g->state != State::parked || g->park_gen != gen) return false;
  g->wake = cause;
  g->hub->make_ready(g);
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

void WaitList::push_back(WaitNode* n) noexcept {
  n->next = nullptr;
  n->prev = tail_;
  (tail_ ? tail_->next : head_) = n;
  tail_ = n;
  n->linked = true;
  ++size_;
}

void WaitList::remove(WaitNode* n) noexcept {
  if (!n->linked) return;
  (n->prev ? n->prev->next : head_) = n->next;
  (n->next ? n->next->prev : tail_) = n->prev;
  n->next = n->prev = nullptr;
  n->linked = false;
  --size_;
}

WaitNode* WaitList::pop_front() noexcept {
  WaitNode* n = head_;
  if (n) remove(n);
  return n;
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
