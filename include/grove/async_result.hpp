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
#pragma once

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

  template <class U = T>
    requires(!std::is_void_v<T> && std::is_constructible_v<T, U &&>)
  void set(U&& value) {
    check_unset();
    value_.emplace(std::forward<U>(value));
    done_.set();
  }
  void set()
    requires std::is_void_v<T>
  {
    check_unset();
    value_.emplace();
    done_.set();
  }
  void set_exception(std::exception_ptr e) {
    check_unset();
    if (!e) throw UsageError("grove::AsyncResult::set_exception: null exception_ptr");
    error_ = std::move(e);
    done_.set();
  }

  // Set, with a value or an exception.
  bool ready() const noexcept { return done_.is_set(); }
  bool successful() const noexcept { return ready() && !error_; }
  std::exception_ptr exception() const noexcept { return error_; }

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

  void check_unset() const {
    if (done_.is_set()) detail::throw_already_set("grove::AsyncResult");
  }
  std::add_lvalue_reference_t<T> result() {
    if (error_) std::rethrow_exception(error_);
    if constexpr (!std::is_void_v<T>) return *value_;
  }

  Event done_;
  std::optional<Stored> value_;
  std::exception_ptr error_;
};

}  // namespace grove
