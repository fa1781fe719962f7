// waiter.hpp — the one park/unpark pair every blocking primitive is built on.
//
// park(reason, deadline) suspends the running greenlet until one wake source fires and returns
// which one: an explicit unpark (a primitive handing something over), its deadline, fd readiness
// or close, a kill, the deadline of an enclosing grove::Timeout scope, or the hub finding that
// nothing can ever wake it. A greenlet that wakes for any reason but `unparked` must take itself
// off whatever list it put itself on before parking.
//
// Generations: a waker is (greenlet, park_gen). park_gen advances each time a park ends, so a
// waker held from an earlier park — a timer that raced a notify, a list entry that was not
// removed — finds a different generation and does nothing. A greenlet that is ready but not yet
// running keeps the first cause that woke it: a primitive that handed it a permit or an item
// never sees that hand-over undone by a later kill or timeout (those are delivered at the next
// blocking call instead).
#pragma once

#include <cstdint>

namespace grove::detail {

struct GreenletCore;

enum class Wake : std::uint8_t {
  none,
  unparked,         // unpark() by another greenlet or the hub
  deadline,         // the park's own deadline passed
  fd_ready,         // the fd it waits on may be ready: retry the syscall
  fd_closed,        // the fd it waits on was closed (EBADF)
  killed,           // GreenletExit pending
  scope_timeout,    // an enclosing grove::Timeout expired
  blocked_forever,  // nothing can ever wake it
  interrupted,      // a signal handler ran (interruptible parks only): EINTR
  interrupted_restart,  // the same, for a handler installed with SA_RESTART
  // Not causes of a park, but what Hub::wait_fd answers instead of parking:
  fd_busy,        // another greenlet waits in that direction (exclusive), or another thread's hub owns the fd
  fd_unpollable,  // the poller cannot watch the fd: make the call blocking for real
};

const char* to_string(Wake w) noexcept;

// Parks the running greenlet. `reason` must outlive the park (a string literal); it shows in
// logs, dumps and the would-block-forever report, with `fd` and `object` when given: dumps show a
// join's object (the joined greenlet) by its name and any other as "<reason> 0x…". Returns at once,
// without switching, with `killed` or `scope_timeout` when one is already pending. An
// `interruptible` park (a blocking libc call made by the program, through the interposer) also ends
// when a signal handler runs on the thread, as the kernel would end the real call.
Wake park(const char* reason, std::int64_t deadline_ns = INT64_MAX, int fd = -1, bool interruptible = false,
          const void* object = nullptr);

// Makes g ready with `cause` if it is still in the park of generation `gen`; false if stale.
bool unpark(GreenletCore* g, std::uint64_t gen, Wake cause) noexcept;

// Throws GreenletExit, TimeoutError or BlockedForever for the causes that mean so; other causes
// return normally. The C++ API calls this after park(); the C layer maps them to errno instead.
void raise_if_interrupted(Wake w);

// A greenlet waiting in a list (join, Event, Queue …). Lives on the waiter's stack for the park.
struct WaitNode {
  GreenletCore* g = nullptr;
  std::uint64_t gen = 0;
  WaitNode* next = nullptr;
  WaitNode* prev = nullptr;
  bool linked = false;
  void* data = nullptr;  // what the primitive hands over, if anything
};

// Makes a node for the running greenlet's next park.
WaitNode this_waiter() noexcept;

// FIFO of WaitNodes, intrusive, O(1) removal.
class WaitList {
 public:
  bool empty() const noexcept { return head_ == nullptr; }
  std::size_t size() const noexcept { return size_; }
  WaitNode* front() const noexcept { return head_; }
  void push_back(WaitNode* n) noexcept;
  void remove(WaitNode* n) noexcept;  // no-op when not linked
  WaitNode* pop_front() noexcept;
  // Wakes the first waiter whose park is still current; returns it, or nullptr.
  WaitNode* wake_one(Wake cause = Wake::unparked) noexcept;
  std::size_t wake_all(Wake cause = Wake::unparked) noexcept;

 private:
  WaitNode* head_ = nullptr;
  WaitNode* tail_ = nullptr;
  std::size_t size_ = 0;
};

// Parks on `list` (FIFO) until unparked or interrupted; the node is off the list when it returns.
Wake park_on(WaitList& list, WaitNode& node, const char* reason, std::int64_t deadline_ns = INT64_MAX, int fd = -1,
             bool interruptible = false, const void* object = nullptr);

}  // namespace grove::detail
