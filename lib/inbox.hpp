// inbox.hpp — how other threads reach a hub: a lock-free MPSC queue and the sleep handshake.
//
// Every hub has one Inbox. Any thread may push a node into it; only the hub's own thread pops
// and runs them, in the hub loop (never inside a greenlet). What travels through it:
//
//   * wake-ups: a waker on another thread that won a greenlet's park (waiter.hpp: claim) sends
//     the greenlet's own embedded node; the hub makes it ready. Nothing is allocated;
//   * kills and starts of greenlets from other threads (lifecycle.cpp, hub_group.cpp), with
//     nodes embedded in the greenlet;
//   * Hub::post callbacks (a cross-thread close, fd_wait.cpp) and offload completions, whose
//     nodes live in the object that is being handed over.
//
// The queue (Vyukov's intrusive MPSC queue, written from its description):
//
//   push:  n.next = null; prev = back.exchange(n); prev.next = n.
//          One atomic exchange; wait-free. Between the exchange and the link the queue looks
//          shorter to the consumer than it is — it may even look empty.
//   pop:   follows `next` from `front_` (a stub node keeps the list non-empty). A node is
//          returned only once its successor is linked, so no producer writes into a node after
//          its handler has run (handlers may free their node or reuse it at once). When the
//          last node is reached, the stub is pushed behind it so that it can be taken.
//   idle:  front_ is the stub and back is the stub: nothing pushed that was not taken. A push
//          that has exchanged `back` but not linked yet counts as pending — the hub polls
//          again instead of sleeping until the link appears (a few instructions later).
//
// The sleep handshake (Go's netpollWakeSig, Seastar's _sleeping). Writing the hub's eventfd is a
// system call, and a hub that is running will see the node at its next turn anyway, so a
// producer writes it only when the hub is asleep in (or about to enter) epoll_wait, and only
// the first producer to see it asleep does. The word `sleep_` has three values:
//
//   awake     the hub runs; producers only push
//   asleep    the hub is in, or about to enter, its poller wait
//   notified  asleep, and one producer has written the eventfd (others need not)
//
//   hub (consumer)                          producer
//   --------------                          --------
//   sleep_.store(asleep)      (seq_cst)     back.exchange(n)          (seq_cst)
//   if !idle(): do not block  (seq_cst)     if sleep_.load() == asleep (seq_cst)
//   epoll_wait(timeout)                        and CAS asleep -> notified: write the eventfd
//   sleep_.store(awake)
//
// This is Dekker's pattern: each side stores, then loads the other side's word, all seq_cst.
// Either the hub's load sees the producer's exchange (it does not block), or the producer's load
// sees `asleep` (it writes the eventfd, and epoll_wait returns) — never neither. A write that
// arrives after the hub woke for another reason only costs one spurious turn of the loop.
//
// Signal handlers on the hub's own thread use the same word (nothrow.cpp: a handler that runs
// while the hub is asleep writes the eventfd). A std::atomic<int> is lock-free, hence
// async-signal-safe.
//
// The word lives in the Hub object, not in the thread's context (context.hpp): other threads
// read it, and a hub whose thread exited with greenlets still parked is left allocated (its
// memory and eventfd stay valid) while the thread's TLS does not.
#pragma once

#include <atomic>

namespace grove::detail {

struct InboxNode {
  std::atomic<InboxNode*> next{nullptr};
  void (*run)(InboxNode*) = nullptr;  // called once on the hub's thread; may free the node
};

class Inbox {
 public:
  Inbox() noexcept : back_(&stub_), front_(&stub_) {}
  Inbox(const Inbox&) = delete;
  Inbox& operator=(const Inbox&) = delete;

  // Any thread. True when the hub is asleep and this caller must write its eventfd.
  bool push(InboxNode* n) noexcept {
    link(n);
    int s = kAsleep;
    return sleep_.load(std::memory_order_seq_cst) == kAsleep &&
           sleep_.compare_exchange_strong(s, kNotified, std::memory_order_seq_cst);
  }

  // --- the hub's thread only ---------------------------------------------------------------
  // The oldest node whose push has completed, or null.
  InboxNode* pop() noexcept {
    InboxNode* f = front_;
    InboxNode* next = f->next.load(std::memory_order_acquire);
    if (f == &stub_) {
      if (!next) return nullptr;
      front_ = f = next;
      next = next->next.load(std::memory_order_acquire);
    }
    if (next) {
      front_ = next;
      return f;
    }
    if (f != back_.load(std::memory_order_acquire)) return nullptr;  // a push behind f is mid-way
    link(&stub_);
    next = f->next.load(std::memory_order_acquire);
    if (next) {
      front_ = next;
      return f;
    }
    return nullptr;  // another push got in before the stub; f is taken next time
  }
  // Nothing pushed that was not popped (see "idle" above).
  bool idle() const noexcept {
    return front_ == &stub_ && back_.load(std::memory_order_seq_cst) == &stub_;
  }
  // The handshake: announce the sleep, then look once more. False: do not block.
  bool begin_sleep() noexcept {
    sleep_.store(kAsleep, std::memory_order_seq_cst);
    return idle();
  }
  void end_sleep() noexcept { sleep_.store(kAwake, std::memory_order_relaxed); }

  // Any thread, signal handlers included.
  bool asleep() const noexcept { return sleep_.load(std::memory_order_relaxed) != kAwake; }

  // In the child of fork(), where the threads that were pushing do not exist: keep the nodes
  // that were completely linked, forget a push that was half done (it can never complete).
  void after_fork() noexcept {
    InboxNode* last = front_;
    while (InboxNode* n = last->next.load(std::memory_order_relaxed)) last = n;
    back_.store(last, std::memory_order_relaxed);
    sleep_.store(kAwake, std::memory_order_relaxed);
  }

 private:
  static constexpr int kAwake = 0, kAsleep = 1, kNotified = 2;

  void link(InboxNode* n) noexcept {
    n->next.store(nullptr, std::memory_order_relaxed);
    InboxNode* prev = back_.exchange(n, std::memory_order_seq_cst);
    prev->next.store(n, std::memory_order_release);
  }

  alignas(64) std::atomic<InboxNode*> back_;  // producers
  std::atomic<int> sleep_{kAwake};
  alignas(64) InboxNode* front_;  // consumer
  InboxNode stub_;
};

}  // namespace grove::detail
