// uninterruptible.hpp — waits that must complete even while the greenlet is being killed.
//
// std::condition_variable::wait must hold the lock again when it returns *or throws*, and a
// Pool's map must not return while tasks that may use the caller's stack are still alive. Both
// need a wait that a pending kill or an expired Timeout scope does not cut short (park() returns
// at once while either is pending). These set both aside for the wait, note any kill that
// arrives meanwhile, and restore them afterwards, so the next blocking call delivers them.
#pragma once

#include <utility>

#include "greenlet.hpp"
#include "waiter.hpp"

namespace grove::detail {

// Sets aside the running greenlet's pending kill and Timeout scopes for a wait; restores them on
// exit, so that the next blocking call delivers them.
class SetAside {
 public:
  explicit SetAside(GreenletCore* self) noexcept
      : self_(self), kill_(std::exchange(self->kill_pending, false)), scopes_(std::exchange(self->timeouts, nullptr)) {}
  ~SetAside() {
    self_->kill_pending = self_->kill_pending || kill_;
    self_->timeouts = scopes_;
  }
  SetAside(const SetAside&) = delete;
  SetAside& operator=(const SetAside&) = delete;
  // A kill arrived during the wait: keep it for later, and let the next park really park.
  void note_kill() noexcept { kill_ = kill_ || std::exchange(self_->kill_pending, false); }

 private:
  GreenletCore* self_;
  bool kill_;
  Timeout* scopes_;
};

// park_on() with interruptions set aside. Returns Wake::unparked, or Wake::blocked_forever when
// nothing can ever wake the caller (then it gives up; the node is off the list).
Wake park_on_uninterruptibly(WaitList& list, WaitNode& node, const char* reason, const void* object = nullptr);

// Waits until g has finished, uninterruptibly; false if the hub reports it never will.
bool join_uninterruptibly(GreenletCore* g) noexcept;

}  // namespace grove::detail
