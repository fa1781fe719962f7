// local.hpp — grove::local<T>: greenlet-local storage (gevent.local, thread_local for greenlets).
//
//   grove::local<RequestContext> ctx;          // usually a global or a static
//   void handle() { ctx->user = "ann"; log(ctx->user); }   // each greenlet sees its own
//
// Each greenlet gets its own T, constructed on its first access (by T() or by the initializer
// given to the constructor) and destroyed when that greenlet ends — returns, throws or is killed —
// in reverse order of creation, just before its joiners wake. The thread's root greenlet (main)
// keeps its values until the thread exits; callbacks run by the hub share the root's values.
// The local object is only a key: destroying it does not destroy the values greenlets hold, and a
// greenlet's values never outlive that greenlet. Destructors of the values run on the ending
// greenlet and must not block (a kill arriving then would throw out of a destructor).
//
// Access costs a call and a short scan of the greenlet's values (a handful, typically).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <utility>

namespace grove {

namespace detail {

using LocalDestroy = void (*)(void*) noexcept;
std::uint64_t new_local_key() noexcept;
// The running greenlet's value for `key`, or null.
void* find_local(std::uint64_t key);
// Stores `value` for `key` in the running greenlet; it is destroyed by `destroy` as the greenlet
// ends. Throws std::bad_alloc (then `value` was not taken).
void add_local(std::uint64_t key, void* value, LocalDestroy destroy);

}  // namespace detail

template <class T>
class local {
 public:
  local() : key_(detail::new_local_key()) {}
  // `init()` makes each greenlet's first value.
  template <class F>
    requires std::is_invocable_r_v<T, F&>
  explicit local(F init) : key_(detail::new_local_key()), init_(std::move(init)) {}
  local(const local&) = delete;
  local& operator=(const local&) = delete;

  // The calling greenlet's value, constructed now if this is its first access.
  T& get() {
    if (void* p = detail::find_local(key_)) return *static_cast<T*>(p);
    return create();
  }
  T& operator*() { return get(); }
  T* operator->() { return &get(); }
  // Whether the calling greenlet has a value already (does not create one).
  bool has_value() const { return detail::find_local(key_) != nullptr; }

 private:
  T& create() {
    std::unique_ptr<T> v(init_ ? new T(init_()) : new T());
    detail::add_local(key_, v.get(), [](void* p) noexcept { delete static_cast<T*>(p); });
    return *v.release();
  }

  const std::uint64_t key_;
  std::function<T()> init_;
};

}  // namespace grove
