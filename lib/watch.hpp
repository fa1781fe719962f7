// watch.hpp — what a hub shows of itself to other threads, for seeing inside a running program.
//
// The hub's own thread writes these fields; grove's monitor thread (monitor.cpp) and dumps
// (dump.cpp) read them. The loop records each time it comes round (a count and the time), and
// whether it sleeps in the poller: a hub that is awake and whose count stands still is held by
// one greenlet (or by a call blocking in the kernel). The time of the last turn is also the start
// of every park made until the next turn, which is how a dump says how long a greenlet has
// waited without a clock read per park.
//
// Costs: relaxed atomic stores, plain moves on x86, once per turn of the loop and never per
// switch.
//
// Green-threads mode (issue 8) adds the case of a thread held inside a real blocking call that a
// hook had to make (a lock grove cannot see, a regular file): the hook brackets that call with
// nothrow::real_call_begin/real_call_end, which fill `real_call` below, and the monitor names the
// call, its object and the greenlet that made it.
#pragma once

#include <sys/types.h>

#include <atomic>
#include <cstdint>

namespace grove::detail {

struct HubWatch {
  std::atomic<std::uint64_t> turns{0};   // +1 each time the loop comes round
  std::atomic<std::int64_t> turn_ns{0};  // monotonic ns of the last turn (or of the hub's creation)
  std::atomic<bool> asleep{false};       // in the poller's wait: nobody holds the hub
  pid_t tid = 0;                         // the hub's thread, for the monitor's sampling signal

  // A hook's real blocking call in progress on this thread (nothrow::real_call_begin), or null.
  // `real_call_seq` is odd while the fields below it are being written (a seqlock: the monitor
  // reads them, then checks the count did not move).
  std::atomic<std::uint32_t> real_call_seq{0};
  std::atomic<const char*> real_call{nullptr};
  std::atomic<const void*> real_call_object{nullptr};
  std::atomic<std::int64_t> real_call_since{0};
  std::atomic<std::uint64_t> real_call_greenlet{0};  // its id
  std::atomic<char> real_call_name[48] = {};         // its name, cut (written under the seqlock)

  // The longest time between two turns, sleeps in the poller left out, since the monitor last
  // took it (exchange with 0): how long a hub that came back was held, to the loop's clock.
  std::atomic<std::int64_t> longest_gap{0};

  // At the top of the loop: the greenlets have run since the last turn.
  void came_back(std::int64_t now) noexcept {
    const std::int64_t gap = now - turn_ns.load(std::memory_order_relaxed);
    if (gap > longest_gap.load(std::memory_order_relaxed)) longest_gap.store(gap, std::memory_order_relaxed);
    woke(now);
  }
  // After the poller's wait: a turn, but the time asleep held nobody.
  void woke(std::int64_t now) noexcept {
    turns.store(turns.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
    turn_ns.store(now, std::memory_order_relaxed);
  }
};

}  // namespace grove::detail
