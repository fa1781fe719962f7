// c11.cpp — C11 <threads.h> under green threads. glibc ≥ 2.34 implements thrd_*, mtx_*, cnd_*,
// call_once and tss_* with its internal pthread functions, which no hook sees, so each is hooked
// by its own name here and mapped onto the green implementation (C11's types are glibc's pthread
// types). Without green threads every call is glibc's.
#include <errno.h>
#include <stdint.h>
#include <threads.h>

#include <dlfcn.h>

#include <new>
#include <utility>

#include "grove/detail/green.hpp"
#include "hook.hpp"

using namespace grove::interpose;
namespace green = grove::green;

// glibc's own C11 functions, for when green threads are off.
#define GROVE_REAL_C11(X)                                                   \
  X(thrd_create, int, (thrd_t*, thrd_start_t, void*))                       \
  X(thrd_join, int, (thrd_t, int*))                                         \
  X(thrd_detach, int, (thrd_t))                                             \
  X(thrd_exit, void, (int))                                                 \
  X(thrd_current, thrd_t, ())                                               \
  X(thrd_sleep, int, (const timespec*, timespec*))                          \
  X(thrd_yield, void, ())                                                   \
  X(mtx_init, int, (mtx_t*, int))                                           \
  X(mtx_lock, int, (mtx_t*))                                                \
  X(mtx_timedlock, int, (mtx_t*, const timespec*))                          \
  X(mtx_trylock, int, (mtx_t*))                                             \
  X(mtx_unlock, int, (mtx_t*))                                              \
  X(mtx_destroy, void, (mtx_t*))                                            \
  X(cnd_init, int, (cnd_t*))                                                \
  X(cnd_signal, int, (cnd_t*))                                              \
  X(cnd_broadcast, int, (cnd_t*))                                           \
  X(cnd_wait, int, (cnd_t*, mtx_t*))                                        \
  X(cnd_timedwait, int, (cnd_t*, mtx_t*, const timespec*))                  \
  X(cnd_destroy, void, (cnd_t*))                                            \
  X(call_once, void, (once_flag*, void (*)()))                              \
  X(tss_create, int, (tss_t*, tss_dtor_t))                                  \
  X(tss_delete, void, (tss_t))                                              \
  X(tss_get, void*, (tss_t))                                                \
  X(tss_set, int, (tss_t, void*))

namespace {

#define GROVE_C11_SLOT(name, ret, params) ret(*real_##name) params = nullptr;
GROVE_REAL_C11(GROVE_C11_SLOT)
#undef GROVE_C11_SLOT

__attribute__((constructor(101))) void resolve_c11() {
#define GROVE_C11_RESOLVE(name, ret, params) \
  real_##name = reinterpret_cast<ret(*) params>(::dlsym(RTLD_NEXT, #name));
  GROVE_REAL_C11(GROVE_C11_RESOLVE)
#undef GROVE_C11_RESOLVE
}

bool on() noexcept {
  if (!real_mtx_lock) resolve_c11();
  return green::on();
}

// C11's results from pthread's.
int c11(int e) noexcept {
  switch (e) {
    case 0: return thrd_success;
    case EBUSY: return thrd_busy;
    case ETIMEDOUT: return thrd_timedout;
    case ENOMEM: return thrd_nomem;
    default: return thrd_error;
  }
}

pthread_mutex_t* mutex(mtx_t* m) noexcept { return reinterpret_cast<pthread_mutex_t*>(m); }
pthread_cond_t* cond(cnd_t* c) noexcept { return reinterpret_cast<pthread_cond_t*>(c); }

struct Start {
  thrd_start_t fn;
  void* arg;
};

void* run_c11(void* p) {
  const Start s = *static_cast<Start*>(p);
  delete static_cast<Start*>(p);
  return reinterpret_cast<void*>(static_cast<intptr_t>(s.fn(s.arg)));
}

}  // namespace

extern "C" {

int thrd_create(thrd_t* t, thrd_start_t fn, void* arg) {
  if (!on() || !green::here() || green::own_thread_starting()) return real_thrd_create(t, fn, arg);
  auto* s = new (std::nothrow) Start{fn, arg};
  if (!s) return thrd_nomem;
  pthread_t p;
  const int r = green::create(&p, 0, false, run_c11, s);
  if (r != 0) {
    delete s;
    return r == EAGAIN ? thrd_nomem : thrd_error;
  }
  *t = p;
  return thrd_success;
}

int thrd_join(thrd_t t, int* res) {
  if (!on() || !green::is_green(t)) return real_thrd_join(t, res);
  void* ret = nullptr;
  const int r = green::join(t, &ret, INT64_MAX, false);
  if (r == 0 && res) *res = static_cast<int>(reinterpret_cast<intptr_t>(ret));
  return c11(r);
}

int thrd_detach(thrd_t t) {
  if (!on() || !green::is_green(t)) return real_thrd_detach(t);
  return c11(green::detach(t));
}

void thrd_exit(int res) {
  if (on() && (green::self() || green::live() > 0)) green::exit(reinterpret_cast<void*>(static_cast<intptr_t>(res)));
  real_thrd_exit(res);
  __builtin_unreachable();
}

thrd_t thrd_current() {
  if (on())
    if (pthread_t t = green::self()) return t;
  return real_thrd_current();
}

// glibc's thrd_sleep calls its internal clock_nanosleep: route it through the hooked one.
int thrd_sleep(const timespec* duration, timespec* remaining) {
  if (!on()) return real_thrd_sleep(duration, remaining);
  // Like glibc's, it reports through its result only: errno is left as it was.
  const int saved = errno;
  if (::nanosleep(duration, remaining) == 0) return 0;
  const int e = std::exchange(errno, saved);
  return e == EINTR ? -1 : -2;  // C11: -1 interrupted, another negative value on error
}

void thrd_yield() {
  if (!on() || !green::here()) return real_thrd_yield();
  green::yield();
}

int mtx_init(mtx_t* m, int type) {
  if (!on()) return real_mtx_init(m, type);
  if (type & ~(mtx_plain | mtx_recursive | mtx_timed)) return thrd_error;
  pthread_mutexattr_t a;
  ::pthread_mutexattr_init(&a);
  ::pthread_mutexattr_settype(&a, (type & mtx_recursive) ? PTHREAD_MUTEX_RECURSIVE : PTHREAD_MUTEX_NORMAL);
  const int r = green::mutex_init(mutex(m), &a);
  ::pthread_mutexattr_destroy(&a);
  return c11(r);
}

int mtx_lock(mtx_t* m) { return on() ? c11(green::mutex_lock(mutex(m), INT64_MAX)) : real_mtx_lock(m); }

int mtx_timedlock(mtx_t* m, const timespec* abstime) {
  if (!on()) return real_mtx_timedlock(m, abstime);
  return c11(green::mutex_lock(mutex(m), green::abs_deadline(CLOCK_REALTIME, abstime)));
}

int mtx_trylock(mtx_t* m) { return on() ? c11(green::mutex_trylock(mutex(m))) : real_mtx_trylock(m); }

int mtx_unlock(mtx_t* m) { return on() ? c11(green::mutex_unlock(mutex(m))) : real_mtx_unlock(m); }

void mtx_destroy(mtx_t* m) {
  if (!on()) return real_mtx_destroy(m);
  green::mutex_destroy(mutex(m));
}

int cnd_init(cnd_t* c) { return on() ? c11(green::cond_init(cond(c), nullptr)) : real_cnd_init(c); }
int cnd_signal(cnd_t* c) { return on() ? c11(green::cond_signal(cond(c))) : real_cnd_signal(c); }
int cnd_broadcast(cnd_t* c) { return on() ? c11(green::cond_broadcast(cond(c))) : real_cnd_broadcast(c); }
int cnd_wait(cnd_t* c, mtx_t* m) { return on() ? c11(green::cond_wait(cond(c), mutex(m), INT64_MAX)) : real_cnd_wait(c, m); }

int cnd_timedwait(cnd_t* c, mtx_t* m, const timespec* abstime) {
  if (!on()) return real_cnd_timedwait(c, m, abstime);
  return c11(green::cond_wait(cond(c), mutex(m), green::abs_deadline(CLOCK_REALTIME, abstime)));
}

void cnd_destroy(cnd_t* c) {
  if (!on()) return real_cnd_destroy(c);
  green::cond_destroy(cond(c));
}

void call_once(once_flag* flag, void (*fn)()) {
  if (!on()) return real_call_once(flag, fn);
  green::once(reinterpret_cast<pthread_once_t*>(flag), fn);
}

int tss_create(tss_t* key, tss_dtor_t dtor) { return on() ? c11(green::key_create(key, dtor)) : real_tss_create(key, dtor); }

void tss_delete(tss_t key) {
  if (!on() || key < green::kKeyBase) return real_tss_delete(key);
  green::key_delete(key);
}

void* tss_get(tss_t key) { return on() && key >= green::kKeyBase ? green::get_specific(key) : real_tss_get(key); }

int tss_set(tss_t key, void* value) {
  if (!on() || key < green::kKeyBase) return real_tss_set(key, value);
  return c11(green::set_specific(key, value));
}

}  // extern "C"
