// function_ref.hpp — a non-owning reference to a callable (C++26's std::function_ref, reduced).
//
// Lets one non-template function take "the system call to attempt" from many call sites without
// a std::function allocation or a template instantiation per caller: an object pointer and a
// trampoline, one indirect call per invocation.
#pragma once

#include <type_traits>
#include <utility>

namespace grove::detail {

template <class Sig>
class FunctionRef;

template <class R, class... A>
class FunctionRef<R(A...)> {
 public:
  template <class F, class = std::enable_if_t<!std::is_same_v<std::decay_t<F>, FunctionRef>>>
  FunctionRef(F&& f) noexcept  // NOLINT: implicit, like std::function_ref
      : obj_(const_cast<void*>(static_cast<const void*>(std::addressof(f)))),
        call_([](void* o, A... a) -> R { return (*static_cast<std::remove_reference_t<F>*>(o))(std::forward<A>(a)...); }) {}

  R operator()(A... a) const { return call_(obj_, std::forward<A>(a)...); }

 private:
  void* obj_;
  R (*call_)(void*, A...);
};

}  // namespace grove::detail
