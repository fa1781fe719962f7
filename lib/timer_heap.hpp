// timer_heap.hpp — deadlines, in a binary min-heap of intrusive nodes.
//
// A node lives inside its owner (a greenlet's park state); the heap stores pointers and writes
// each node's index back into it, so cancel is O(log n) without a search and without allocation.
// Equal deadlines fire in insertion order (a sequence number breaks ties). The heap knows nothing
// of greenlets: the hub maps a fired node back to its owner.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace grove::detail {

struct TimerNode {
  std::int64_t deadline = 0;  // steady-clock nanoseconds
  std::uint64_t seq = 0;
  std::size_t index = npos;   // position in the heap, npos when not scheduled
  void* owner = nullptr;      // whoever embeds the node; the heap never looks at it
  static constexpr std::size_t npos = ~std::size_t{0};
  bool scheduled() const noexcept { return index != npos; }
};

class TimerHeap {
 public:
  void insert(TimerNode* n, std::int64_t deadline);
  void cancel(TimerNode* n) noexcept;  // no-op when not scheduled
  bool empty() const noexcept { return heap_.empty(); }
  std::size_t size() const noexcept { return heap_.size(); }
  TimerNode* top() const noexcept { return heap_.empty() ? nullptr : heap_.front(); }
  // The earliest node if its deadline is <= now, removed from the heap; else nullptr.
  TimerNode* pop_due(std::int64_t now) noexcept;

 private:
  static bool before(const TimerNode* a, const TimerNode* b) noexcept {
    return a->deadline < b->deadline || (a->deadline == b->deadline && a->seq < b->seq);
  }
  void place(std::size_t i, TimerNode* n) noexcept {
    heap_[i] = n;
    n->index = i;
  }
  void sift_up(std::size_t i) noexcept;
  void sift_down(std::size_t i) noexcept;
  void remove_at(std::size_t i) noexcept;

  std::vector<TimerNode*> heap_;
  std::uint64_t next_seq_ = 0;
};

}  // namespace grove::detail
