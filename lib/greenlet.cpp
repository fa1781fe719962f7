// greenlet.cpp — context creation and switching; the only user of Boost.Context (see greenlet.hpp).
#include "greenlet.hpp"

#include <boost/context/detail/fcontext.hpp>

#include <cerrno>

#include "hub.hpp"

#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/common_interface_defs.h>
#define GROVE_ASAN 1
#endif
// ThreadSanitizer: each greenlet is a TSan fiber, and each switch a synchronising fiber switch
// (greenlets of one hub never run at once; what they share needs no lock).
#if defined(__SANITIZE_THREAD__)
#include <sanitizer/tsan_interface.h>
#define GROVE_TSAN 1
#endif

namespace ctx = boost::context::detail;

// libstdc++/libsupc++: the per-thread record of exceptions being handled (caught, not yet
// finished) and thrown but not yet caught. Its layout is the Itanium C++ ABI's.
struct __cxa_eh_globals;
extern "C" __cxa_eh_globals* __cxa_get_globals() noexcept;

namespace grove::detail {

namespace {

struct EhGlobals {
  void* caught;
  unsigned int uncaught;
};

EhGlobals* eh_globals() noexcept { return reinterpret_cast<EhGlobals*>(__cxa_get_globals()); }

// The greenlet switched away from has died: its stack goes back to the pool. Out of line, so the
// switch path keeps a small frame.
[[gnu::noinline, gnu::cold]] void release_dying_stack() noexcept {
  Hub* hub = Hub::get_if();
  hub->stacks().release(std::exchange(hub->dying_stack(), Stack{}));
#if GROVE_TSAN
  if (void* f = std::exchange(hub->dying_fiber, nullptr)) __tsan_destroy_fiber(f);
#endif
}

// Runs in the greenlet that was just switched to, on its own stack. `t.data` is the greenlet
// that switched away (its context is saved here), or null when that one died.
void on_arrival(ctx::transfer_t t, [[maybe_unused]] GreenletCore* self) noexcept {
  auto* prev = static_cast<GreenletCore*>(t.data);
#if GROVE_ASAN
  const void* prev_bottom = nullptr;
  std::size_t prev_size = 0;
  __sanitizer_finish_switch_fiber(self->asan_fake_stack, &prev_bottom, &prev_size);
  if (prev && prev->is_root && !prev->asan_bottom) {  // learn the native stack's bounds
    prev->asan_bottom = prev_bottom;
    prev->asan_size = prev_size;
  }
#endif
  if (prev) [[likely]]
    prev->fctx = t.fctx;
  else
    release_dying_stack();
}

void entry(ctx::transfer_t t) noexcept {
  Hub* hub = Hub::get_if();
  GreenletCore* self = hub->current();
  on_arrival(t, self);
  if (self->is_hub) hub->loop();
  run_and_exit(self);
}

// The thread's exception record and errno become `to`'s (both per thread natively; here per
// greenlet). Their addresses never move for the thread's life: fetched once per hub, when its
// root greenlet is made (learn_thread_state).
void swap_thread_state(Hub* hub, GreenletCore* from, GreenletCore* to) noexcept {
  auto* eh = static_cast<EhGlobals*>(hub->eh_globals);
  int* err = hub->errno_location;
  if (from) {
    from->eh_caught = eh->caught;
    from->eh_uncaught = eh->uncaught;
    from->saved_errno = *err;
  }
  eh->caught = to->eh_caught;
  eh->uncaught = to->eh_uncaught;
  *err = to->saved_errno;
}

}  // namespace

void learn_thread_state(Hub* hub) noexcept {
  hub->eh_globals = eh_globals();
  hub->errno_location = &errno;
}

void prepare_context(GreenletCore* g) {
  g->stack = g->hub->stacks().acquire(g->stack_size);
  g->fctx = ctx::make_fcontext(g->stack.top(), g->stack.usable(), &entry);
  g->asan_bottom = g->stack.bottom();
  g->asan_size = g->stack.usable();
#if GROVE_TSAN
  g->tsan_fiber = __tsan_create_fiber(0);
#endif
  g->started = true;
}

void switch_to(GreenletCore* from, GreenletCore* to) noexcept {
  Hub* hub = from->hub;
  hub->set_current(to);
  to->state = State::running;
  swap_thread_state(hub, from, to);
#if GROVE_ASAN
  __sanitizer_start_switch_fiber(&from->asan_fake_stack, to->asan_bottom, to->asan_size);
#endif
#if GROVE_TSAN
  if (!from->tsan_fiber) from->tsan_fiber = __tsan_get_current_fiber();  // the thread's own: the root
  __tsan_switch_to_fiber(to->tsan_fiber, 0);
#endif
  ctx::transfer_t t = ctx::jump_fcontext(std::exchange(to->fctx, nullptr), from);
  on_arrival(t, from);
}

void switch_to_then_check(GreenletCore* from, GreenletCore* to) {
  switch_to(from, to);
  if (from->kill_pending || from->timeouts) [[unlikely]] raise_pending(from);
}

void switch_away_dead(GreenletCore* to) noexcept {
  Hub* hub = to->hub;
  hub->set_current(to);
  to->state = State::running;
  swap_thread_state(hub, nullptr, to);
#if GROVE_ASAN
  __sanitizer_start_switch_fiber(nullptr, to->asan_bottom, to->asan_size);
#endif
#if GROVE_TSAN
  __tsan_switch_to_fiber(to->tsan_fiber, 0);  // the dead one's fiber is destroyed on arrival
#endif
  ctx::jump_fcontext(std::exchange(to->fctx, nullptr), nullptr);
  __builtin_unreachable();
}

}  // namespace grove::detail
