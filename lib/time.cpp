// time.cpp — sleep, yield and grove::Timeout scopes.
//
// A Timeout does not arm a timer of its own. Scopes form a stack per greenlet (they are strictly
// nested), each caching the earliest deadline of itself and its enclosing scopes, and park() folds
// that deadline into the one timer of the park. Creating and leaving a scope costs no allocation
// and no system call.
#include "assert.hpp"
#include "grove/time.hpp"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "grove/errors.hpp"
#include "greenlet.hpp"
#include "hub.hpp"
#include "timeout_scope.hpp"

namespace grove {

struct TimeoutAccess {
  static std::int64_t effective(const Timeout* t) noexcept { return t->effective_ns_; }
  static std::int64_t own(const Timeout* t) noexcept { return t->deadline_ns_; }
  static const Timeout* outer(const Timeout* t) noexcept { return t->outer_; }
};

namespace detail {

std::int64_t scope_deadline(const GreenletCore* g) noexcept {
  return g->timeouts ? TimeoutAccess::effective(g->timeouts) : kNever;
}

void throw_scope_timeout(const GreenletCore* g) {
  const Timeout* first = g->timeouts;
  for (const Timeout* t = g->timeouts; t; t = TimeoutAccess::outer(t))
    if (TimeoutAccess::own(t) < TimeoutAccess::own(first)) first = t;
  const double late_ms = static_cast<double>(now_ns() - TimeoutAccess::own(first)) / 1e6;
  char msg[256];
  std::snprintf(msg, sizeof msg, "grove: Timeout expired in greenlet '%s' (deadline passed %.3f ms ago)",
                g->name.c_str(), late_ms);
  throw TimeoutError(first, msg);
}

// A yield is a blocking call like any other: a kill or an expired Timeout is raised there, so a
// loop that only yields can still be stopped.
void raise_pending(const GreenletCore* self) {
  if (self->kill_pending) throw GreenletExit{};
  if (self->timeouts && now_ns() >= scope_deadline(self)) throw_scope_timeout(self);
}

}  // namespace detail

void yield() {
  detail::Hub& hub = detail::Hub::get();
  detail::GreenletCore* self = hub.current();
  if (self->kill_pending || self->timeouts) [[unlikely]] detail::raise_pending(self);
  hub.make_ready(self);
  detail::GreenletCore* next = hub.pick_next();
  if (next == self) {
    self->state = detail::State::running;
    return;
  }
  // The check after the switch is in there: a tail call here keeps the switch path short.
  detail::switch_to_then_check(self, next);
}

void sleep(Duration d) {
  if (d.count() <= 0) return yield();
  detail::Wake w = detail::park("sleep", detail::deadline_after(d));
  if (w != detail::Wake::deadline) detail::raise_if_interrupted(w);
}

void sleep_until(Clock::time_point t) {
  // libstdc++'s steady_clock is CLOCK_MONOTONIC, the clock of every grove deadline.
  const std::int64_t deadline = std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count();
  if (deadline <= detail::now_ns()) return yield();
  detail::Wake w = detail::park("sleep", deadline);
  if (w != detail::Wake::deadline) detail::raise_if_interrupted(w);
}

Timeout::Timeout(Duration d) {
  detail::GreenletCore* self = detail::current();
  owner_ = self;
  outer_ = self->timeouts;
  deadline_ns_ = detail::deadline_after(d);
  effective_ns_ = outer_ ? std::min(deadline_ns_, outer_->effective_ns_) : deadline_ns_;
  self->timeouts = this;
}

Timeout::~Timeout() {
  auto* self = static_cast<detail::GreenletCore*>(owner_);
  GROVE_ASSERT(self->timeouts == this, "grove::Timeout destroyed out of order or by another greenlet than '%s'",
               self->name.c_str());
  self->timeouts = outer_;
}

bool Timeout::expired() const noexcept { return detail::now_ns() >= deadline_ns_; }

Clock::time_point Timeout::deadline() const noexcept {
  return Clock::time_point(std::chrono::nanoseconds(deadline_ns_));
}

Duration Timeout::remaining() const noexcept {
  return Duration(std::max<std::int64_t>(0, deadline_ns_ - detail::now_ns()));
}

}  // namespace grove
