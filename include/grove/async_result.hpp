// async_result.hpp — grove::AsyncResult<T>, a value or an exception delivered once.
//
//   grove::AsyncResult<int> r;
//   grove::spawn([&] { r.set(compute()); });   // or r.set_exception(std::current_exception())
//   int v = r.get();                            // parks until set; rethrows a set exception
//
// Setting it a second time is a grove::UsageError (it is a one-shot promise). get() and wait()
// wake in FIFO order and honour kill() and grove::Timeout scopes. get(timeout) throws
// grove::TimeoutError when the timeout passes first; wait(timeout) returns false instead. The
// AsyncResult must outlive the greenlets waiting on it.
//
// grove::mt::AsyncResult<T> is the same between hubs and plain threads: set it on one, get it on
// another (the value is built by the setter and read by the getters; getters on several threads
// share one value, so T's const operations must be safe to use concurrently).
#pragma once

#include <atomic>
#include <exception>
#include <optional>
#include <string>
#include <type_traits>
#include <utility>

#include "errors.hpp"
#include "event.hpp"

namespace grove {

namespace detail {
[[noreturn]] void throw_result_timeout(const char* what, Duration timeout);
[[noreturn]] void throw_already_set(const char* what);
}  // namespace detail

template <class T>
class AsyncResult {
 public:
  AsyncResult() = default;
  // Internal: the grove::mt constructor.
  explicit AsyncResult(detail::SharedTag t) : done_(t) {}

  template <class U = T>
    requires(!std::is_void_v<T> && std::is_constructible_v<T, U &&>)
  void set(U&& value) {
    Claim c(*this);
    value_.emplace(std::forward<U>(value));
    c.done();
  }
  void set()
    requires std::is_void_v<T>
  {
    Claim c(*this);
    value_.emplace();
    c.done();
  }
  void set_exception(std::exception_ptr e) {
    if (!e) throw UsageError("grove::AsyncResult::set_exception: null exception_ptr");
    Claim c(*this);
    error_ = std::move(e);
    c.done();
  }

  // Set, with a value or an exception.
  bool ready() const noexcept { return done_.is_set(); }
  bool successful() const noexcept { return ready() && !error_; }
  std::exception_ptr exception() const noexcept { return ready() ? error_ : nullptr; }

  // Number of greenlets waiting in get() or wait().
  std::size_t waiting() const noexcept { return done_.waiting(); }

  void wait() { done_.wait(); }
  bool wait(Duration timeout) { return done_.wait(timeout); }

  // Parks until set; returns the value (a reference, valid while the AsyncResult lives) or
  // rethrows the exception.
  std::add_lvalue_reference_t<T> get() {
    done_.wait();
    return result();
  }
  std::add_lvalue_reference_t<T> get(Duration timeout) {
    if (!done_.wait(timeout)) detail::throw_result_timeout("grove::AsyncResult::get", timeout);
    return result();
  }

 private:
  struct Unit {};
  using Stored = std::conditional_t<std::is_void_v<T>, Unit, T>;

  // The one setter's right to write the result; given back if building the value throws.
  class Claim {
   public:
    explicit Claim(AsyncResult& r) : r_(r) {
      if (r_.claimed_.exchange(true, std::memory_order_acq_rel)) detail::throw_already_set("grove::AsyncResult");
    }
    ~Claim() {
      if (!set_) r_.claimed_.store(false, std::memory_order_release);
    }
    void done() noexcept {
      set_ = true;
      r_.done_.set();
    }

   private:
    AsyncResult& r_;
    bool set_ = false;
  };
  std::add_lvalue_reference_t<T> result() {
    if (error_) std::rethrow_exception(error_);
    if constexpr (!std::is_void_v<T>) return *value_;
  }

  Event done_;
  std::atomic<bool> claimed_{false};
  std::optional<Stored> value_;
  std::exception_ptr error_;
};

namespace mt {

// grove::AsyncResult<T> for greenlets of several hubs and plain threads.
template <class T>
class AsyncResult : public grove::AsyncResult<T> {
 public:
  AsyncResult() : grove::AsyncResult<T>(detail::shared) {}
};

}  // namespace mt

}  // namespace grove
