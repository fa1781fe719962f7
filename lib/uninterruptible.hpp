// uninterruptible.hpp — waits that must complete even while the greenlet is being killed.
//
// std::condition_variable::wait must hold the lock again when it returns *or throws*, and a
// Pool's map must not return while tasks that may use the caller's stack are still alive. Both
// need a wait that a pending kill or an expired Timeout scope does not cut short (park() returns
// at once while either is pending). These set both aside for the wait, note any kill that
// arrives meanwhile, and restore them afterwards, so the next blocking call delivers them.
#pragma once

#include "waiter.hpp"

namespace grove::detail {

// park_on() with interruptions set aside. Returns Wake::unparked, or Wake::blocked_forever when
// nothing can ever wake the caller (then it gives up; the node is off the list).
Wake park_on_uninterruptibly(WaitList& list, WaitNode& node, const char* reason, const void* object = nullptr);

// Waits until g has finished, uninterruptibly; false if the hub reports it never will.
bool join_uninterruptibly(GreenletCore* g) noexcept;

}  // namespace grove::detail
