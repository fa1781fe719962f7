// greenlet.hpp — spawning, joining and killing greenlets.
//
//   grove::Greenlet<int> g = grove::spawn([] { grove::sleep(10ms); return 7; });
//   int v = g.get();   // parks until g is done; rethrows g's exception
//
// Greenlets of a thread run one at a time on that thread, switching only where one blocks in a
// grove call. main() (or any thread's own stack) is a greenlet too: a blocking call there runs
// the others until it can continue. A greenlet never moves to another thread (see HubGroup for
// using several), but its handle works anywhere: handles are cheap to copy, may be passed to
// and dropped on any thread, and get(), join(), join(timeout), ready() and kill() work from a
// greenlet of any hub and from a plain thread (which gets a hub of its own to wait in). A kill
// from another thread raises GreenletExit where the greenlet is parked on its own hub, exactly
// as a local kill does. name() and set_name() are for the greenlet's own thread.
#pragma once

#include <cstddef>
#include <functional>
#include <iterator>
#include <optional>
#include <ranges>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

#include "detail/core.hpp"
#include "errors.hpp"
#include "time.hpp"

namespace grove {

// A handle that does not know the greenlet's result type: what current() returns, and the base
// of every Greenlet<T>.
class AnyGreenlet {
 public:
  AnyGreenlet() noexcept = default;
  AnyGreenlet(const AnyGreenlet& o) noexcept : core_(o.core_) {
    if (core_) detail::ref(core_);
  }
  AnyGreenlet(AnyGreenlet&& o) noexcept : core_(std::exchange(o.core_, nullptr)) {}
  AnyGreenlet& operator=(AnyGreenlet o) noexcept {
    std::swap(core_, o.core_);
    return *this;
  }
  ~AnyGreenlet() {
    if (core_) detail::unref(core_);
  }

  explicit operator bool() const noexcept { return core_ != nullptr; }
  friend bool operator==(const AnyGreenlet& a, const AnyGreenlet& b) noexcept { return a.core_ == b.core_; }

  // Finished: returned, threw, or was killed.
  bool ready() const noexcept { return detail::ready(core_); }
  // Finished by returning a value.
  bool successful() const noexcept { return ready() && !detail::error(core_); }
  bool killed() const noexcept { return detail::killed(core_); }
  // The exception the greenlet ended with (GreenletExit if it was killed), or null.
  std::exception_ptr exception() const noexcept { return detail::error(core_); }

  void join() const { detail::join(core_, detail::kNever); }
  // false if the greenlet was still running when `timeout` passed.
  bool join(Duration timeout) const { return detail::join(core_, detail::deadline_after(timeout)); }

  // Raise GreenletExit inside the greenlet at its blocking point and wait until it has finished.
  // Killing a greenlet that has not started yet means it never runs; killing a finished one does
  // nothing. kill_nowait() only delivers the exit.
  void kill() const { detail::kill(core_, true); }
  void kill_nowait() const { detail::kill(core_, false); }

  const std::string& name() const noexcept { return detail::name(core_); }
  void set_name(std::string n) const { detail::set_name(core_, std::move(n)); }
  std::uint64_t id() const noexcept { return detail::id(core_); }

  detail::GreenletCore* core() const noexcept { return core_; }
  // Adopts one reference (internal).
  static AnyGreenlet adopt(detail::GreenletCore* g) noexcept {
    AnyGreenlet h;
    h.core_ = g;
    return h;
  }

 protected:
  detail::GreenletCore* core_ = nullptr;
};

namespace detail {

template <class R>
class ResultBody : public Body {
 public:
  std::optional<R> value;
};

template <>
class ResultBody<void> : public Body {};

template <class R, class Fn, class... A>
class CallBody final : public ResultBody<R> {
 public:
  template <class F2, class... A2>
  explicit CallBody(F2&& f, A2&&... a) : call_(std::in_place, std::forward<F2>(f), std::forward<A2>(a)...) {}

  void run() override {
    struct Release {
      std::optional<std::tuple<Fn, A...>>& call;
      ~Release() { call.reset(); }
    } release{call_};
    if constexpr (std::is_void_v<R>)
      std::apply([](auto&&... xs) { std::invoke(std::move(xs)...); }, std::move(*call_));
    else
      this->value.emplace(std::apply([](auto&&... xs) -> R { return std::invoke(std::move(xs)...); },
                                     std::move(*call_)));
  }

 private:
  std::optional<std::tuple<Fn, A...>> call_;
};

}  // namespace detail

template <class T>
class Greenlet : public AnyGreenlet {
 public:
  using value_type = T;
  Greenlet() noexcept = default;

  // Waits for the greenlet; returns its value or rethrows its exception (GreenletExit if killed).
  std::add_lvalue_reference_t<T> get() const {
    join();
    if (auto e = detail::error(core_)) std::rethrow_exception(e);
    if constexpr (!std::is_void_v<T>) return *static_cast<detail::ResultBody<T>*>(detail::body(core_))->value;
  }

  static Greenlet adopt(detail::GreenletCore* g) noexcept {
    Greenlet h;
    h.core_ = g;
    return h;
  }
};

namespace detail {

template <class F, class... A>
using SpawnResult = std::invoke_result_t<std::decay_t<F>, std::decay_t<A>...>;
template <class F, class... A>
using SpawnBody = CallBody<SpawnResult<F, A...>, std::decay_t<F>, std::decay_t<A>...>;

// Builds f(args...) into the block g (from create or create_on) and returns the handle; the
// caller starts it. Arguments are copied or moved into the block on the calling thread.
template <class F, class... A>
Greenlet<SpawnResult<F, A...>> build(GreenletCore* g, F&& f, A&&... args) {
  using R = SpawnResult<F, A...>;
  static_assert(!std::is_reference_v<R>, "a greenlet's function must return by value (use std::ref for references)");
  using B = SpawnBody<F, A...>;
  B* b;
  try {
    b = new (body_storage(g)) B(std::forward<F>(f), std::forward<A>(args)...);
  } catch (...) {
    discard(g);
    throw;
  }
  attach(g, b);
  return Greenlet<R>::adopt(g);
}

}  // namespace detail

template <class F, class... A>
  requires std::invocable<std::decay_t<F>, std::decay_t<A>...>
auto spawn_later(Duration delay, SpawnOptions opts, F&& f, A&&... args) -> Greenlet<detail::SpawnResult<F, A...>> {
  using B = detail::SpawnBody<F, A...>;
  detail::GreenletCore* g = detail::create(sizeof(B), alignof(B), std::move(opts));
  auto handle = detail::build(g, std::forward<F>(f), std::forward<A>(args)...);
  detail::start(g, delay);
  return handle;
}

// Starts fn(args...) in a new greenlet; it runs once the caller blocks (or yields).
// Arguments are copied or moved into the greenlet, as with std::thread.
template <class F, class... A>
  requires std::invocable<std::decay_t<F>, std::decay_t<A>...>
auto spawn(F&& f, A&&... args) {
  return spawn_later(Duration::zero(), SpawnOptions{}, std::forward<F>(f), std::forward<A>(args)...);
}

template <class F, class... A>
  requires std::invocable<std::decay_t<F>, std::decay_t<A>...>
auto spawn(SpawnOptions opts, F&& f, A&&... args) {
  return spawn_later(Duration::zero(), std::move(opts), std::forward<F>(f), std::forward<A>(args)...);
}

// Starts fn(args...) after `delay`.
template <class F, class... A>
  requires std::invocable<std::decay_t<F>, std::decay_t<A>...>
auto spawn_later(Duration delay, F&& f, A&&... args) {
  return spawn_later(delay, SpawnOptions{}, std::forward<F>(f), std::forward<A>(args)...);
}

// The greenlet running now (main's own greenlet outside any spawned one).
inline AnyGreenlet current() {
  detail::GreenletCore* g = detail::current();
  detail::ref(g);
  return AnyGreenlet::adopt(g);
}

// Waits for every greenlet in the range; false if `timeout` passed first.
template <std::ranges::input_range R>
  requires std::derived_from<std::remove_cvref_t<std::ranges::range_reference_t<R>>, AnyGreenlet>
bool joinall(R&& greenlets, std::optional<Duration> timeout = std::nullopt) {
  const std::int64_t deadline = timeout ? detail::deadline_after(*timeout) : detail::kNever;
  for (const AnyGreenlet& g : greenlets)
    if (!detail::join(g.core(), deadline)) return false;
  return true;
}

// Waits until one greenlet of a non-empty range has finished; returns a reference to it.
template <std::ranges::forward_range R>
  requires std::derived_from<std::remove_cvref_t<std::ranges::range_reference_t<R>>, AnyGreenlet>
std::ranges::range_reference_t<R> wait_any(R&& greenlets) {
  std::vector<detail::GreenletCore*> cores;
  for (const AnyGreenlet& g : greenlets) cores.push_back(g.core());
  if (cores.empty()) throw UsageError("grove::wait_any: no greenlets to wait for");
  std::size_t i = detail::wait_any(cores.data(), cores.size(), detail::kNever);
  return *std::ranges::next(std::ranges::begin(greenlets), static_cast<std::ptrdiff_t>(i));
}

// As above, but gives up after `timeout`: the index of the finished greenlet, or nullopt.
template <std::ranges::forward_range R>
  requires std::derived_from<std::remove_cvref_t<std::ranges::range_reference_t<R>>, AnyGreenlet>
std::optional<std::size_t> wait_any(R&& greenlets, Duration timeout) {
  std::vector<detail::GreenletCore*> cores;
  for (const AnyGreenlet& g : greenlets) cores.push_back(g.core());
  std::size_t i = detail::wait_any(cores.data(), cores.size(), detail::deadline_after(timeout));
  if (i == cores.size()) return std::nullopt;
  return i;
}

}  // namespace grove
