// mutex.cpp — a greenlet-owned lock; ownership is handed over FIFO through detail::Waiters.
#include "assert.hpp"
#include "grove/mutex.hpp"

#include <cstdio>
#include <cstdlib>
#include <string>

#include "grove/errors.hpp"
#include "greenlet.hpp"

namespace grove {

namespace {

// What a waiter parks with: unlock() makes `g` the owner and sets `granted`.
struct LockSlot {
  detail::GreenletCore* g;
  bool granted = false;
};

std::string who(const detail::GreenletCore* g) { return g ? "'" + g->name + "'" : "nobody"; }

}  // namespace

bool Mutex::held() const { return owner_ != nullptr && owner_ == detail::current(); }

bool Mutex::try_lock() {
  if (owner_) return false;
  owner_ = detail::current();
  return true;
}

void Mutex::lock() { lock_until(detail::kNever); }

bool Mutex::try_lock_for(Duration timeout) { return lock_until(detail::deadline_after(timeout)); }

bool Mutex::lock_until(std::int64_t deadline_ns) {
  detail::GreenletCore* self = detail::current();
  if (!owner_) {
    owner_ = self;
    return true;
  }
  if (owner_ == self)
    throw UsageError("grove::Mutex: greenlet '" + self->name +
                     "' locks a mutex it already holds (grove::Mutex is not recursive); it would wait for itself");
  LockSlot slot{self};
  while (!slot.granted)
    if (!waiters_.park(&slot, "Mutex::lock", deadline_ns)) return false;
  return true;
}

void Mutex::relock_uninterruptibly() noexcept {
  detail::GreenletCore* self = detail::current();
  if (!owner_) {
    owner_ = self;
    return;
  }
  LockSlot slot{self};
  while (!slot.granted) {
    if (!waiters_.park_uninterruptibly(&slot, "CondVar::wait (re-locking)"))
      GROVE_FATAL("greenlet '%s' cannot re-take its mutex after CondVar::wait: it is held by '%s', which never "
                  "releases it", self->name.c_str(), owner_->name.c_str());
  }
}

void Mutex::unlock() {
  detail::GreenletCore* self = detail::current();
  if (owner_ != self)
    throw UsageError("grove::Mutex::unlock by greenlet '" + self->name + "', but the mutex is held by " + who(owner_) +
                     "; only the greenlet that locked it may unlock it");
  void* s = nullptr;
  if (waiters_.wake_one(&s)) {
    auto* slot = static_cast<LockSlot*>(s);
    owner_ = slot->g;  // ownership passes now, so nobody can take the lock in between
    slot->granted = true;
  } else {
    owner_ = nullptr;
  }
}

}  // namespace grove
