// offload.hpp — run blocking or CPU-heavy code on a pool of OS threads, waiting cooperatively.
//
//   auto n = grove::offload([] { return expensive_or_blocking(); });
//
// fn runs on one of a bounded set of worker threads (GROVE_OFFLOAD_THREADS, default 8, created
// lazily, shared by every hub of the process). The calling greenlet parks until fn has returned
// or thrown; other greenlets of its thread keep running meanwhile. fn's value is returned and its
// exception rethrown in the caller. Jobs start in submission order.
//
// Interruption: a kill or an expiring grove::Timeout scope wakes the caller at once with
// GreenletExit or TimeoutError. fn cannot be stopped — it keeps running on its worker — so its
// result (or exception) is then discarded when it arrives, on the caller's hub thread. The job's
// state lives on the heap, shared by the caller and the worker, so a caller that has left never
// has its stack touched. Hence fn must not capture references to the caller's stack when the
// caller can be killed or timed out: capture by value (or shared ownership) instead.
//
// fn and its captures are destroyed on the worker right after the call; the result is destroyed
// on the caller's thread. fn must not call grove's blocking API (it runs outside any hub).
#pragma once

#include <cstddef>
#include <exception>
#include <functional>
#include <memory>
#include <optional>
#include <type_traits>
#include <utility>

namespace grove {

namespace detail {

// A unit of work for the offload pool; run() executes on a worker thread and must not throw.
class OffloadJob {
 public:
  virtual ~OffloadJob() = default;
  virtual void run() noexcept = 0;
};

// Queues `job` and parks the calling greenlet until the job has run. Throws GreenletExit or
// TimeoutError if the caller is interrupted first (the job then still runs, and is freed later).
void offload_wait(std::shared_ptr<OffloadJob> job);

template <class R, class Fn>
class OffloadCall final : public OffloadJob {
 public:
  template <class F2>
  explicit OffloadCall(F2&& f) : fn_(std::in_place, std::forward<F2>(f)) {}

  void run() noexcept override {
    try {
      if constexpr (std::is_void_v<R>)
        std::invoke(std::move(*fn_));
      else
        value_.emplace(std::invoke(std::move(*fn_)));
    } catch (...) {
      error_ = std::current_exception();
    }
    fn_.reset();  // captures die on the worker, not on the hub thread
  }

  R take() {
    if (error_) std::rethrow_exception(error_);
    if constexpr (!std::is_void_v<R>) return std::move(*value_);
  }

 private:
  std::optional<Fn> fn_;
  std::conditional_t<std::is_void_v<R>, char, std::optional<R>> value_{};
  std::exception_ptr error_;
};

}  // namespace detail

// Runs fn() on the offload pool and returns its result (see the top of this file).
template <class F>
auto offload(F&& fn) -> std::invoke_result_t<std::decay_t<F>> {
  using R = std::invoke_result_t<std::decay_t<F>>;
  static_assert(!std::is_reference_v<R>, "grove::offload: fn must return by value");
  auto job = std::make_shared<detail::OffloadCall<R, std::decay_t<F>>>(std::forward<F>(fn));
  detail::offload_wait(job);
  return job->take();
}

// How many worker threads the pool may have (GROVE_OFFLOAD_THREADS, read once) and has now.
std::size_t offload_max_threads() noexcept;
std::size_t offload_threads() noexcept;

}  // namespace grove
