// pool.hpp — grove::Group and grove::Pool: sets of greenlets managed together.
//
//   grove::Pool pool(100);                          // at most 100 run at once
//   for (auto& url : urls) pool.spawn(fetch, url);  // parks while 100 are running
//   pool.join();
//   std::vector<Page> pages = pool.map(fetch, urls);           // results in input order
//   for (Page& p : pool.imap_unordered(fetch, urls)) use(p);   // as they finish
//
// A Group tracks the greenlets spawned through it until they end (however they end — return,
// exception, kill, even a kill before they ever ran). join() waits until none is left, kill()
// kills them all and waits. A Pool is a Group of bounded size: spawn() parks (FIFO) while `size`
// members are alive, so the pool never runs more than `size` at once.
//
// map/imap/imap_unordered run fn(item) for every item of a range, each in a member greenlet
// (the item is copied into it). imap is lazy: it starts work when iterated and keeps at most the
// pool's size (or, for a Group, every item) in flight. map collects results as tasks finish and
// returns them in input order. A task that throws makes the call (or, for imap, the step that
// reaches its result) rethrow; map rethrows the first failure at once; a task killed by someone else
// surfaces as std::runtime_error. These calls are structured: before map returns or throws, and
// before an imap range is destroyed, tasks still running are killed and waited for — even when
// the caller itself is being killed — so fn may safely use the caller's stack. fn must return a
// value (spawn and join for void work).
//
// Destroying a Group does not stop its members; they run on, no longer tracked. Waits honour
// kill() and grove::Timeout scopes; join(timeout)/wait_available(timeout) return false / 0 when
// the timeout passes. To bound a Pool::spawn that may park, put it in a grove::Timeout scope.
//
// Wake order: spawners parked on a full Pool get freed slots FIFO. wait_available() is the one
// exception: every call parked in it wakes whenever a slot frees and looks again (it takes no
// slot, so there is nothing to hand over), and a parked spawner may take that slot first.
#pragma once

#include <cstddef>
#include <deque>
#include <functional>
#include <iterator>
#include <memory>
#include <optional>
#include <ranges>
#include <type_traits>
#include <unordered_map>
#include <utility>
#include <vector>

#include "detail/waiters.hpp"
#include "greenlet.hpp"
#include "time.hpp"

namespace grove {

namespace detail {

class GroupCore;
// Told when a member it was registered for ends (from the member's end-of-life record, so every
// way of ending is covered). Must not block.
class MemberObserver {
 public:
  virtual void member_ended(GreenletCore* g) noexcept = 0;

 protected:
  ~MemberObserver() = default;
};
// Kills (if not finished) and waits for each greenlet, uninterruptibly (see uninterruptible.hpp).
void reap(const std::vector<GreenletCore*>& gs) noexcept;
// Index of the first finished greenlet; parks until one finishes.
std::size_t wait_first(const std::vector<GreenletCore*>& gs);
[[noreturn]] void throw_task_killed(const AnyGreenlet& task, const char* op);

}  // namespace detail

class Group {
 public:
  Group();
  ~Group();
  Group(const Group&) = delete;
  Group& operator=(const Group&) = delete;

  // Spawns fn(args...) as a member (a Pool parks first while it is full).
  template <class F, class... A>
    requires std::invocable<std::decay_t<F>, std::decay_t<A>...>
  auto spawn(F&& f, A&&... args) {
    return spawn_observed(nullptr, std::forward<F>(f), std::forward<A>(args)...);
  }

  // Members alive now.
  std::size_t size() const noexcept;
  // Waits until the group is empty; false if `timeout` passed first.
  void join();
  bool join(Duration timeout);
  // Kills every member and waits for them. Called from a member, the caller is killed last.
  void kill();

  // Results in input order. Tasks are collected as they finish, so the first failure is
  // rethrown at once (not after every earlier item has finished).
  template <class F, std::ranges::input_range R>
  auto map(F&& fn, R&& items) {
    std::vector<std::optional<result_t<F, R>>> slots;
    if constexpr (std::ranges::sized_range<R>) slots.reserve(std::ranges::size(items));
    auto results = imap_unordered(std::forward<F>(fn), std::forward<R>(items));
    for (auto it = results.begin(); it != results.end(); ++it) {
      const std::size_t i = results.index();
      if (slots.size() <= i) slots.resize(i + 1);
      slots[i].emplace(std::move(*it));
    }
    std::vector<result_t<F, R>> out;
    out.reserve(slots.size());
    for (auto& v : slots) out.push_back(std::move(*v));
    return out;
  }
  // Results in input order, computed ahead up to the pool's size.
  template <class F, std::ranges::input_range R>
  auto imap(F&& fn, R&& items) {
    return Mapping<std::decay_t<F>, R>(*this, std::forward<F>(fn), std::forward<R>(items), true);
  }
  // Results as tasks finish.
  template <class F, std::ranges::input_range R>
  auto imap_unordered(F&& fn, R&& items) {
    return Mapping<std::decay_t<F>, R>(*this, std::forward<F>(fn), std::forward<R>(items), false);
  }

  template <class F, class R>
  using result_t = std::invoke_result_t<std::decay_t<F>&, std::ranges::range_value_t<R>>;

  // The lazy range returned by imap/imap_unordered (iterate it once).
  template <class Fn, class R>
  class Mapping final : private detail::MemberObserver {
   public:
    using Item = std::ranges::range_value_t<R>;
    using Result = std::invoke_result_t<Fn&, Item>;
    static_assert(!std::is_void_v<Result>, "grove::Group::map/imap: fn must return a value");

    template <class F2, class R2>
    Mapping(Group& group, F2&& fn, R2&& items, bool ordered)
        : group_(group), fn_(std::forward<F2>(fn)), items_(std::forward<R2>(items)), ordered_(ordered) {}
    Mapping(const Mapping&) = delete;
    Mapping& operator=(const Mapping&) = delete;
    ~Mapping() { stop(); }

    class iterator {
     public:
      using iterator_category = std::input_iterator_tag;
      using value_type = Result;
      using difference_type = std::ptrdiff_t;
      iterator() = default;
      explicit iterator(Mapping* m) : m_(m) { m_->advance(); }
      Result& operator*() const { return *m_->current_; }
      Result* operator->() const { return &*m_->current_; }
      iterator& operator++() {
        m_->advance();
        return *this;
      }
      void operator++(int) { m_->advance(); }
      friend bool operator==(const iterator& it, std::default_sentinel_t) noexcept { return it.at_end(); }

     private:
      bool at_end() const noexcept { return !m_->current_; }
      Mapping* m_ = nullptr;
    };
    // Position in the input of the current result.
    std::size_t index() const noexcept { return current_index_; }
    iterator begin() {
      next_ = std::ranges::begin(items_);
      return iterator(this);
    }
    std::default_sentinel_t end() const noexcept { return {}; }

   private:
    // Runs as a member: calls fn on its own copy of the item.
    struct Task {
      Fn* fn;
      Result operator()(Item item) const { return std::invoke(*fn, std::move(item)); }
    };
    struct InFlight {
      Greenlet<Result> g;
      std::size_t index;
    };

    // A task ended (any way): its group record tells us, so waiting for "any" costs O(1).
    void member_ended(detail::GreenletCore* g) noexcept override {
      try {
        ended_.push_back(g);
      } catch (...) {  // out of memory: fall back to finding it by scanning (see next_ended)
        lost_ended_ = true;
      }
      wake_.wake_one();
    }

    detail::GreenletCore* next_ended() {
      for (;;) {
        if (!ended_.empty()) {
          detail::GreenletCore* g = ended_.front();
          ended_.pop_front();
          if (inflight_.count(g)) return g;
          continue;  // already consumed in order
        }
        if (lost_ended_) {
          lost_ended_ = false;
          for (auto& [g, f] : inflight_)
            if (f.g.ready()) return g;
        }
        wake_.park(nullptr, "Group::imap_unordered");
      }
    }

    void advance() {
      current_.reset();
      try {
        // Keep the window full: at most the group's limit in flight.
        while (next_ != std::ranges::end(items_) && inflight_.size() < group_.limit()) {
          auto g = group_.spawn_observed(this, Task{&fn_}, *next_);
          detail::GreenletCore* core = g.core();
          inflight_.emplace(core, InFlight{std::move(g), spawned_++});
          if (ordered_) order_.push_back(core);
          ++next_;
        }
        if (inflight_.empty()) return;
        detail::GreenletCore* core;
        if (ordered_) {
          core = order_.front();
          inflight_.at(core).g.join();  // while in the window, so stop() reaps it if this throws
          order_.pop_front();
        } else {
          core = next_ended();
        }
        auto node = inflight_.extract(core);
        InFlight& f = node.mapped();
        current_index_ = f.index;
        f.g.join();
        if (f.g.killed()) detail::throw_task_killed(f.g, ordered_ ? "imap" : "imap_unordered");
        current_.emplace(std::move(f.g.get()));
      } catch (...) {
        stop();
        throw;
      }
    }

    void stop() noexcept {
      next_ = std::ranges::end(items_);
      if (inflight_.empty()) return;
      std::vector<detail::GreenletCore*> cores;
      try {
        cores.reserve(inflight_.size());
      } catch (...) {
      }
      for (auto& [core, f] : inflight_) cores.push_back(core);
      detail::reap(cores);
      inflight_.clear();
      order_.clear();
      ended_.clear();
    }

    Group& group_;
    Fn fn_;
    R items_;  // a reference for an lvalue range, owned for an rvalue
    std::ranges::iterator_t<R> next_{};
    bool ordered_;
    std::unordered_map<detail::GreenletCore*, InFlight> inflight_;
    std::deque<detail::GreenletCore*> order_;  // in flight, in input order (imap)
    std::deque<detail::GreenletCore*> ended_;  // ended, not yet consumed (imap_unordered)
    bool lost_ended_ = false;
    detail::Waiters wake_;
    std::size_t spawned_ = 0;
    std::size_t current_index_ = 0;
    std::optional<Result> current_;
  };

 protected:
  explicit Group(std::size_t limit);
  // Most members at once (SIZE_MAX for a Group).
  std::size_t limit() const noexcept;
  std::shared_ptr<detail::GroupCore> core_;

 private:
  template <class F, class... A>
  auto spawn_observed(detail::MemberObserver* observer, F&& f, A&&... args) {
    reserve_slot();
    decltype(grove::spawn(std::forward<F>(f), std::forward<A>(args)...)) g;
    try {
      g = grove::spawn(std::forward<F>(f), std::forward<A>(args)...);
    } catch (...) {
      unreserve_slot();
      throw;
    }
    adopt(g.core(), observer);
    return g;
  }
  void reserve_slot();
  void unreserve_slot() noexcept;
  void adopt(detail::GreenletCore* g, detail::MemberObserver* observer);
};

class Pool : public Group {
 public:
  // size >= 1 (grove::UsageError otherwise).
  explicit Pool(std::size_t size);

  std::size_t capacity() const noexcept { return limit(); }
  // Slots free now (0 while spawners wait).
  std::size_t free_count() const noexcept;
  // Parks until a slot is free; returns free_count(). With a timeout: 0 if it passed first.
  std::size_t wait_available();
  std::size_t wait_available(Duration timeout);
};

}  // namespace grove
