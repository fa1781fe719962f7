#include "timer_heap.hpp"

namespace grove::detail {

void TimerHeap::insert(TimerNode* n, std::int64_t deadline) {
  if (n->scheduled()) cancel(n);
  n->deadline = deadline;
  n->seq = next_seq_++;
  heap_.push_back(n);
  n->index = heap_.size() - 1;
  sift_up(n->index);
}

void TimerHeap::cancel(TimerNode* n) noexcept {
  if (n->scheduled()) remove_at(n->index);
}

TimerNode* TimerHeap::pop_due(std::int64_t now) noexcept {
  if (heap_.empty() || heap_.front()->deadline > now) return nullptr;
  TimerNode* n = heap_.front();
  remove_at(0);
  return n;
}

void TimerHeap::remove_at(std::size_t i) noexcept {
  TimerNode* gone = heap_[i];
  TimerNode* last = heap_.back();
  heap_.pop_back();
  gone->index = TimerNode::npos;
  if (i == heap_.size()) return;  // it was the last one
  place(i, last);
  if (i > 0 && before(last, heap_[(i - 1) / 2]))
    sift_up(i);
  else
    sift_down(i);
}

void TimerHeap::sift_up(std::size_t i) noexcept {
  TimerNode* n = heap_[i];
  while (i > 0) {
    std::size_t parent = (i - 1) / 2;
    if (!before(n, heap_[parent])) break;
    place(i, heap_[parent]);
    i = parent;
  }
  place(i, n);
}

void TimerHeap::sift_down(std::size_t i) noexcept {
  TimerNode* n = heap_[i];
  const std::size_t size = heap_.size();
  for (;;) {
    std::size_t child = 2 * i + 1;
    if (child >= size) break;
    if (child + 1 < size && before(heap_[child + 1], heap_[child])) ++child;
    if (!before(heap_[child], n)) break;
    place(i, heap_[child]);
    i = child;
  }
  place(i, n);
}

}  // namespace grove::detail
