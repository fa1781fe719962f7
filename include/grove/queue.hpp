// queue.hpp — grove::Queue<T>, LifoQueue<T>, PriorityQueue<T> and Channel<T>.
//
//   grove::Queue<Job> q(100);                       // bounded: put() parks while 100 are queued
//   grove::spawn([&] { for (auto& j : jobs) q.put(j); q.close(); });
//   for (Job& j : q) handle(j);                     // ends once closed and drained
//
// Capacity: Queue<T>() is unbounded, Queue<T>(n) holds at most n (n >= 1). Channel<T> holds
// nothing: put() parks until a getter takes the item (a rendezvous, gevent's Channel).
//
// Order and fairness: getters are served FIFO, and so are putters waiting for room. An item put
// while a getter waits is handed straight to the longest-waiting getter; an item taken from a
// full queue lets the longest-waiting putter's item in, at the tail. A waiter that was handed an
// item (or whose item was taken) owns that outcome even if it is killed or times out before it
// runs — nothing is lost or delivered twice; the interruption comes at its next blocking call.
// A waiter interrupted first gets nothing and loses nothing: its item stays with it.
//
// Closing: close() is final. Items already queued stay and are drained by getters; after that,
// get() throws grove::QueueClosed and iteration ends; try_get() returns nullopt (check
// closed()). put() on a closed queue throws QueueClosed, also to putters parked at close() (their
// items were not queued).
//
// Timeouts: put(item, timeout) and get(timeout) give up after `timeout` (false / nullopt) and
// leave the queue and the caller's item untouched; the try_ forms never block. Every blocking
// form honours kill() (GreenletExit) and grove::Timeout scopes (TimeoutError). A queue must
// outlive the greenlets waiting on it.
//
// PriorityQueue pops the smallest item first (by Compare, std::less by default, as Python's and
// gevent's do); equal items come out in no particular order. LifoQueue pops the newest item.
//
// Between hubs: grove::Queue & co. belong to one hub (the first that waits on or wakes through
// them). grove::mt::Queue, mt::LifoQueue, mt::PriorityQueue and mt::Channel work between
// greenlets of different hubs and plain threads with every guarantee above (FIFO across all of
// them, nothing lost or delivered twice on kill or timeout, close and iteration). Items are moved
// under a spin lock: T's move constructor should not block. A plain thread may put into a queue
// with room (or a Channel with a getter waiting) without a hub; a wait gives it a hub of its own.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <iterator>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <utility>
#include <vector>

#include "detail/waiters.hpp"
#include "time.hpp"

namespace grove {

// get() on a closed, drained queue, or put() on a closed one.
class QueueClosed : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

namespace detail {

[[noreturn]] void throw_queue_closed(const char* op);
std::size_t checked_capacity(std::size_t capacity);  // UsageError for 0

template <class T>
class FifoStore {
 public:
  void push(T&& v) { items_.push_back(std::move(v)); }
  T pop() {
    T v = std::move(items_.front());
    items_.pop_front();
    return v;
  }
  std::size_t size() const noexcept { return items_.size(); }

 private:
  std::deque<T> items_;
};

template <class T>
class LifoStore {
 public:
  void push(T&& v) { items_.push_back(std::move(v)); }
  T pop() {
    T v = std::move(items_.back());
    items_.pop_back();
    return v;
  }
  std::size_t size() const noexcept { return items_.size(); }

 private:
  std::vector<T> items_;
};

template <class T, class Compare>
class HeapStore {
 public:
  void push(T&& v) {
    items_.push_back(std::move(v));
    std::push_heap(items_.begin(), items_.end(), after_);
  }
  T pop() {
    std::pop_heap(items_.begin(), items_.end(), after_);
    T v = std::move(items_.back());
    items_.pop_back();
    return v;
  }
  std::size_t size() const noexcept { return items_.size(); }

 private:
  // std's heap functions put the *greatest* first; inverting Compare puts the smallest first.
  struct After {
    Compare less;
    bool operator()(const T& a, const T& b) const { return less(b, a); }
  } after_{};
  std::vector<T> items_;
};

template <class T, class Store>
class BasicQueue {
 public:
  using value_type = T;
  static constexpr std::size_t kUnbounded = SIZE_MAX;

  BasicQueue(const BasicQueue&) = delete;
  BasicQueue& operator=(const BasicQueue&) = delete;

  // Parks while full. Throws QueueClosed.
  void put(T item) { put_until(item, kNever, true); }
  // false if `timeout` passed first; the item is moved from only when it returns true.
  bool put(T&& item, Duration timeout) { return put_until(item, deadline_after(timeout), true); }
  bool put(const T& item, Duration timeout) {
    T copy(item);
    return put_until(copy, deadline_after(timeout), true);
  }
  // Puts only if that needs no waiting (room, or a getter waiting); moves only on success.
  bool try_put(T&& item) { return put_until(item, kNever, false); }
  bool try_put(const T& item) {
    T copy(item);
    return put_until(copy, kNever, false);
  }

  // Parks while empty. Throws QueueClosed once closed and drained.
  T get() {
    std::optional<T> out;
    if (get_until(out, kNever, true) == Got::closed) throw_queue_closed("get");
    return std::move(*out);
  }
  // nullopt if `timeout` passed first. Throws QueueClosed once closed and drained.
  std::optional<T> get(Duration timeout) {
    std::optional<T> out;
    if (get_until(out, deadline_after(timeout), true) == Got::closed) throw_queue_closed("get");
    return out;
  }
  // An item if one can be had without waiting; nullopt when empty (or closed and drained).
  std::optional<T> try_get() {
    std::optional<T> out;
    get_until(out, kNever, false);
    return out;
  }

  // No more puts; getters drain what is left, then get QueueClosed. Wakes every waiter.
  void close() noexcept { lock_.shared() ? close_impl<true>() : close_impl<false>(); }

  bool closed() const noexcept {
    std::lock_guard lock(lock_);
    return closed_;
  }
  std::size_t size() const noexcept {
    std::lock_guard lock(lock_);
    return store_.size();
  }
  bool empty() const noexcept { return size() == 0; }
  bool full() const noexcept { return size() >= capacity_; }
  std::size_t capacity() const noexcept { return capacity_; }  // kUnbounded if unbounded
  std::size_t getters_waiting() const noexcept {
    std::lock_guard lock(lock_);
    return getters_.size();
  }
  std::size_t putters_waiting() const noexcept {
    std::lock_guard lock(lock_);
    return putters_.size();
  }

  // Range-for: items until the queue is closed and drained. Each step is a get().
  class iterator {
   public:
    using iterator_category = std::input_iterator_tag;
    using value_type = T;
    using difference_type = std::ptrdiff_t;
    using reference = T&;
    iterator() = default;
    explicit iterator(BasicQueue* q) : q_(q) { next(); }
    T& operator*() const { return *const_cast<std::optional<T>&>(item_); }
    T* operator->() const { return &**this; }
    iterator& operator++() {
      next();
      return *this;
    }
    void operator++(int) { next(); }
    friend bool operator==(const iterator& it, std::default_sentinel_t) noexcept { return !it.item_; }

   private:
    void next() {
      item_.reset();
      q_->get_until(item_, kNever, true);  // leaves item_ empty when closed and drained
    }
    BasicQueue* q_ = nullptr;
    std::optional<T> item_;
  };
  iterator begin() { return iterator(this); }
  std::default_sentinel_t end() const noexcept { return {}; }

 protected:
  BasicQueue(std::size_t capacity, const char* name, bool shared = false) : lock_(shared), capacity_(capacity) {
    getters_.set_owner_name(name);
    putters_.set_owner_name(name);
    if (shared) {
      getters_.set_shared();
      putters_.set_shared();
    }
  }

 private:
  enum class Got { item, none, closed };
  // What a parked putter offers; a getter that takes the item sets `taken`.
  struct PutSlot {
    T* item;
    bool taken = false;
  };

  // The hub-local path stays inline in the caller, as it was before grove::mt; the shared one is
  // a call of its own. (Measured: with both behind one out-of-line call, the Queue round trip
  // cost 13-18 % more — one more return after the context switch, which mispredicts.)
  [[gnu::always_inline]] bool put_until(T& item, std::int64_t deadline_ns, bool wait) {
    if (!lock_.shared()) [[likely]]
      return put_impl<false>(item, deadline_ns, wait);
    return put_shared(item, deadline_ns, wait);
  }
  [[gnu::always_inline]] Got get_until(std::optional<T>& out, std::int64_t deadline_ns, bool wait) {
    if (!lock_.shared()) [[likely]]
      return get_impl<false>(out, deadline_ns, wait);
    return get_shared(out, deadline_ns, wait);
  }
  [[gnu::noinline]] bool put_shared(T& item, std::int64_t deadline_ns, bool wait) {
    return put_impl<true>(item, deadline_ns, wait);
  }
  [[gnu::noinline]] Got get_shared(std::optional<T>& out, std::int64_t deadline_ns, bool wait) {
    return get_impl<true>(out, deadline_ns, wait);
  }

  template <bool Shared>
  bool put_impl(T& item, std::int64_t deadline_ns, bool wait) {
    Section<Shared> op(lock_);
    for (;;) {
      if (closed_) {
        op.unlock();
        throw_queue_closed("put");
      }
      void* s = nullptr;
      if (op.wake_one(getters_, &s)) {  // a getter waits, so the store is empty: hand it over
        static_cast<std::optional<T>*>(s)->emplace(std::move(item));
        return true;
      }
      if (store_.size() < capacity_) {
        store_.push(std::move(item));
        return true;
      }
      if (!wait) return false;
      PutSlot slot{&item};
      if (!op.park(putters_, &slot, "Queue::put", deadline_ns)) return false;
      if (slot.taken) return true;
      // Woken without the item taken: closed, or a getter failed to move it. Look again.
    }
  }

  template <bool Shared>
  Got get_impl(std::optional<T>& out, std::int64_t deadline_ns, bool wait) {
    Section<Shared> op(lock_);
    for (;;) {
      if (store_.size() > 0) {
        out.emplace(store_.pop());
        admit_putter(op);
        return Got::item;
      }
      void* s = nullptr;
      if (op.wake_one(putters_, &s)) {  // empty store with a putter waiting: a rendezvous
        auto* slot = static_cast<PutSlot*>(s);
        out.emplace(std::move(*slot->item));
        slot->taken = true;
        return Got::item;
      }
      if (closed_) return Got::closed;
      if (!wait) return Got::none;
      if (!op.park(getters_, &out, "Queue::get", deadline_ns)) return Got::none;
      if (out) return Got::item;
      // Woken empty-handed: closed, or a putter failed to move its item. Look again.
    }
  }

  // There is room again: the longest-waiting putter's item joins the tail.
  template <bool Shared>
  void admit_putter(Section<Shared>& op) noexcept {
    if (store_.size() >= capacity_) return;
    void* s = nullptr;
    if (!op.wake_one(putters_, &s)) return;
    auto* slot = static_cast<PutSlot*>(s);
    try {
      store_.push(std::move(*slot->item));
      slot->taken = true;
    } catch (...) {
      // Out of memory: the putter wakes with its item not taken and tries again itself.
    }
  }

  template <bool Shared>
  void close_impl() noexcept {
    Section<Shared> op(lock_);
    closed_ = true;
    op.wake_all(getters_);
    op.wake_all(putters_);
  }

  mutable PrimitiveLock lock_;
  Store store_;
  std::size_t capacity_;
  bool closed_ = false;
  Waiters getters_;
  Waiters putters_;
};

}  // namespace detail

template <class T>
class Queue : public detail::BasicQueue<T, detail::FifoStore<T>> {
  using Base = detail::BasicQueue<T, detail::FifoStore<T>>;

 public:
  Queue() : Base(Base::kUnbounded, "grove::Queue") {}
  // capacity >= 1; 0 is a grove::UsageError (use Channel<T> for a rendezvous).
  explicit Queue(std::size_t capacity) : Base(detail::checked_capacity(capacity), "grove::Queue") {}
};

template <class T>
class LifoQueue : public detail::BasicQueue<T, detail::LifoStore<T>> {
  using Base = detail::BasicQueue<T, detail::LifoStore<T>>;

 public:
  LifoQueue() : Base(Base::kUnbounded, "grove::LifoQueue") {}
  explicit LifoQueue(std::size_t capacity) : Base(detail::checked_capacity(capacity), "grove::LifoQueue") {}
};

template <class T, class Compare = std::less<T>>
class PriorityQueue : public detail::BasicQueue<T, detail::HeapStore<T, Compare>> {
  using Base = detail::BasicQueue<T, detail::HeapStore<T, Compare>>;

 public:
  PriorityQueue() : Base(Base::kUnbounded, "grove::PriorityQueue") {}
  explicit PriorityQueue(std::size_t capacity)
      : Base(detail::checked_capacity(capacity), "grove::PriorityQueue") {}
};

// A rendezvous: put() parks until a getter has taken the item.
template <class T>
class Channel : public detail::BasicQueue<T, detail::FifoStore<T>> {
  using Base = detail::BasicQueue<T, detail::FifoStore<T>>;

 public:
  Channel() : Base(0, "grove::Channel") {}
};

// The same four, for greenlets of several hubs and plain threads.
namespace mt {

template <class T>
class Queue : public detail::BasicQueue<T, detail::FifoStore<T>> {
  using Base = detail::BasicQueue<T, detail::FifoStore<T>>;

 public:
  Queue() : Base(Base::kUnbounded, "grove::mt::Queue", true) {}
  explicit Queue(std::size_t capacity) : Base(detail::checked_capacity(capacity), "grove::mt::Queue", true) {}
};

template <class T>
class LifoQueue : public detail::BasicQueue<T, detail::LifoStore<T>> {
  using Base = detail::BasicQueue<T, detail::LifoStore<T>>;

 public:
  LifoQueue() : Base(Base::kUnbounded, "grove::mt::LifoQueue", true) {}
  explicit LifoQueue(std::size_t capacity) : Base(detail::checked_capacity(capacity), "grove::mt::LifoQueue", true) {}
};

template <class T, class Compare = std::less<T>>
class PriorityQueue : public detail::BasicQueue<T, detail::HeapStore<T, Compare>> {
  using Base = detail::BasicQueue<T, detail::HeapStore<T, Compare>>;

 public:
  PriorityQueue() : Base(Base::kUnbounded, "grove::mt::PriorityQueue", true) {}
  explicit PriorityQueue(std::size_t capacity)
      : Base(detail::checked_capacity(capacity), "grove::mt::PriorityQueue", true) {}
};

template <class T>
class Channel : public detail::BasicQueue<T, detail::FifoStore<T>> {
  using Base = detail::BasicQueue<T, detail::FifoStore<T>>;

 public:
  Channel() : Base(0, "grove::mt::Channel", true) {}
};

}  // namespace mt

}  // namespace grove
