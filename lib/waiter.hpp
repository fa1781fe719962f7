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
//
// Wakers on other threads. Ending a park is two steps: claim, then deliver. claim() is a
// compare-and-swap on the greenlet's park word (greenlet.hpp) from "generation g, open" to
// "generation g, ended by <cause>": whoever succeeds first — a timer or an fd on the greenlet's
// own hub, a grove::mt primitive on another thread — owns the wake-up, and everyone else finds
// the park closed, so "first cause wins" holds across threads with one atomic operation and no
// lock. A park is marked shared (share_park) before its greenlet makes it reachable from
// another thread (a node on a grove::mt primitive's list, a join of a greenlet of another hub);
// an unshared park can only be ended on its own hub's thread, and claiming it is a plain load
// and store — single-hub wake-ups pay no atomic read-modify-write. deliver() then makes the greenlet ready: directly when the caller runs on the greenlet's
// hub, else by sending the greenlet's embedded message through that hub's inbox (inbox.hpp). A
// primitive that hands something over claims, writes the hand-over into the waiter's slot, and
// delivers only then — after releasing its lock (WakeBatch) — so a waiter never runs before its
// slot is filled, and no system call is made under a lock.
//
// Invariant: a claimed park is always delivered, and the delivery finds the greenlet parked in
// that very park. A remote waker may claim in the instants between a greenlet publishing its
// wait node (under the primitive's lock) and calling park(); park() then still parks, and the
// message, which its hub can only handle after the greenlet has switched away, makes it ready.
// So a greenlet's messages are never in its hub's inbox twice, and no park ends twice.
#pragma once

#include <cstddef>
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
// Any thread: claim() then deliver().
bool unpark(GreenletCore* g, std::uint64_t gen, Wake cause) noexcept;
// Ends g's park of generation `gen` with `cause` if nobody has yet; any thread. A successful
// claim must be followed by exactly one deliver(g).
bool claim(GreenletCore* g, std::uint64_t gen, Wake cause) noexcept;
void deliver(GreenletCore* g) noexcept;
// The running greenlet's next park may be claimed from other threads: call before publishing
// its wait node where another thread can find it.
void share_park(GreenletCore* self) noexcept;

// The park of g's current generation is over: the next one opens, and every waker still holding
// the old generation finds it stale. park() calls it when it returns; also for a greenlet that
// will never run again (fork's child abandoning the other green threads).
void end_park(GreenletCore* g) noexcept;

// What ended g's current park, for a greenlet made ready by it and not yet run; Wake::none while
// the park is open or when g is ready for another reason (spawned, yielded). Any thread; a snapshot.
Wake park_cause(const GreenletCore* g) noexcept;

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
  void push_back(WaitNode* n) noexcept {
    n->next = nullptr;
    n->prev = tail_;
    (tail_ ? tail_->next : head_) = n;
    tail_ = n;
    n->linked = true;
    ++size_;
  }
  void remove(WaitNode* n) noexcept {  // no-op when not linked
    if (!n->linked) return;
    (n->prev ? n->prev->next : head_) = n->next;
    (n->next ? n->next->prev : tail_) = n->prev;
    n->next = n->prev = nullptr;
    n->linked = false;
    --size_;
  }
  WaitNode* pop_front() noexcept {
    WaitNode* n = head_;
    if (n) remove(n);
    return n;
  }
  // Wakes the first waiter whose park is still current; returns it, or nullptr.
  WaitNode* wake_one(Wake cause = Wake::unparked) noexcept;
  std::size_t wake_all(Wake cause = Wake::unparked) noexcept;
  // Claims the first waiter whose park is still current and takes it off the list, without
  // delivering it (the caller delivers, usually through a WakeBatch); nullptr if none.
  WaitNode* claim_one(Wake cause = Wake::unparked) noexcept;

  // detail::Waiters reads head_ inline, as the first pointer of its storage.
  static constexpr std::size_t head_offset() noexcept { return offsetof(WaitList, head_); }

 private:
  WaitNode* head_ = nullptr;
  WaitNode* tail_ = nullptr;
  std::size_t size_ = 0;
};

// Parks on `list` (FIFO) until unparked or interrupted; the node is off the list when it returns.
Wake park_on(WaitList& list, WaitNode& node, const char* reason, std::int64_t deadline_ns = INT64_MAX, int fd = -1,
             bool interruptible = false, const void* object = nullptr);

}  // namespace grove::detail
