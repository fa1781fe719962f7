// mutex.cpp — a greenlet-owned lock; ownership is handed over FIFO through detail::Waiters.
//
// In shared mode (grove::mt::Mutex) the owner and the wait list change under lock_, and
// ownership passes to a waiter of another hub before its wake-up is delivered, so nobody can
// take the lock in between.
#include "assert.hpp"
#include "grove/mutex.hpp"

#include <cstdio>
#include <cstdlib>
#include <mutex>
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

bool Mutex::held() const {
  const detail::GreenletCore* o = owner_.load(std::memory_order_relaxed);
  return o != nullptr && o == detail::current();
}

bool Mutex::try_lock() {
  detail::GreenletCore* self = detail::current();
  std::lock_guard lock(lock_);
  if (owner_.load(std::memory_order_relaxed)) return false;
  owner_.store(self, std::memory_order_relaxed);
  return true;
}

void Mutex::lock() { lock_until(detail::kNever); }

bool Mutex::try_lock_for(Duration timeout) { return lock_until(detail::deadline_after(timeout)); }

template <bool Shared>
bool Mutex::lock_impl(std::int64_t deadline_ns) {
  detail::GreenletCore* self = detail::current();
  detail::Section<Shared> op(lock_);
  detail::GreenletCore* owner = owner_.load(std::memory_order_relaxed);
  if (!owner) {
    owner_.store(self, std::memory_order_relaxed);
    return true;
  }
  if (owner == self) {
    op.unlock();
    throw UsageError("grove::Mutex: greenlet '" + self->name +
                     "' locks a mutex it already holds (grove::Mutex is not recursive); it would wait for itself");
  }
  LockSlot slot{self};
  while (!slot.granted)
    if (!op.park(waiters_, &slot, "Mutex::lock", deadline_ns)) return false;
  return true;
}

bool Mutex::lock_until(std::int64_t deadline_ns) {
  return lock_.shared() ? lock_impl<true>(deadline_ns) : lock_impl<false>(deadline_ns);
}

template <bool Shared>
void Mutex::relock_impl() noexcept {
  detail::GreenletCore* self = detail::current();
  detail::Section<Shared> op(lock_);
  if (!owner_.load(std::memory_order_relaxed)) {
    owner_.store(self, std::memory_order_relaxed);
    return;
  }
  LockSlot slot{self};
  while (!slot.granted) {
    if (!op.park_uninterruptibly(waiters_, &slot, "CondVar::wait (re-locking)"))
      GROVE_FATAL("greenlet '%s' cannot re-take its mutex after CondVar::wait: it is held by '%s', which never "
                  "releases it", self->name.c_str(), owner_.load(std::memory_order_relaxed)->name.c_str());
  }
}

void Mutex::relock_uninterruptibly() noexcept { lock_.shared() ? relock_impl<true>() : relock_impl<false>(); }

template <bool Shared>
void Mutex::unlock_impl() noexcept {
  detail::Section<Shared> op(lock_);
  void* s = nullptr;
  if (op.wake_one(waiters_, &s)) {
    auto* slot = static_cast<LockSlot*>(s);
    owner_.store(slot->g, std::memory_order_relaxed);  // ownership passes now: nobody can take it in between
    slot->granted = true;
  } else {
    owner_.store(nullptr, std::memory_order_relaxed);
  }
}

void Mutex::unlock_held() noexcept { lock_.shared() ? unlock_impl<true>() : unlock_impl<false>(); }

void Mutex::unlock() {
  detail::GreenletCore* self = detail::current();
  detail::GreenletCore* owner = owner_.load(std::memory_order_relaxed);
  if (owner != self)
    throw UsageError("grove::Mutex::unlock by greenlet '" + self->name + "', but the mutex is held by " + who(owner) +
                     "; only the greenlet that locked it may unlock it");
  unlock_held();
}

}  // namespace grove
