// threads.cpp — green threads (GROVE_GREEN_THREADS=1, grove-run --green-threads): pthread_create
// in a thread with a hub makes a greenlet of that hub (lib/green_thread.cpp says how), and the
// calls that take a pthread_t act on green threads as on threads.
//
// Which threads stay real: those created where nothing can park (a thread without a hub, a signal
// handler), grove's own (lib marks their creation), and those glibc makes for itself (aio, timers,
// mq_notify: glibc calls its internal pthread_create, which no hook sees). A pthread_t that is not
// a green thread's goes to glibc.
//
// Refused, with a message in the log: pthread_cancel of a green thread (ENOTSUP). Applied to the
// whole hub thread, with a warning once: pthread_sigmask in a green thread (the mask belongs to the
// OS thread all of its hub's green threads share).
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>

#include "grove/detail/green.hpp"
#include "hook.hpp"

using namespace grove::interpose;
namespace green = grove::green;

namespace {

std::int64_t never() { return INT64_MAX; }

bool green_handle(pthread_t t) noexcept {
  real::ensure_resolved();
  return green::on() && green::is_green(t);
}

void warn_once(std::atomic<bool>& said, const char* what) noexcept {
  if (!said.exchange(true)) grove::nothrow::log_warning(what);
}

std::atomic<bool> g_said_sigmask{false}, g_said_cancel{false};

}  // namespace

extern "C" {

int pthread_create(pthread_t* out, const pthread_attr_t* attr, void* (*fn)(void*), void* arg) {
  real::ensure_resolved();
  if (!green::on() || !green::here() || green::own_thread_starting()) return real::pthread_create(out, attr, fn, arg);
  std::size_t stack = 0;
  int detach = PTHREAD_CREATE_JOINABLE;
  if (attr) {
    ::pthread_attr_getstacksize(attr, &stack);
    ::pthread_attr_getdetachstate(attr, &detach);
    pthread_attr_t defaults;  // a stack size left at glibc's default means "the default" here too
    ::pthread_attr_init(&defaults);
    std::size_t d = 0;
    ::pthread_attr_getstacksize(&defaults, &d);
    ::pthread_attr_destroy(&defaults);
    if (stack == d) stack = 0;
  }
  return green::create(out, stack, detach == PTHREAD_CREATE_DETACHED, fn, arg);
}

int pthread_join(pthread_t t, void** ret) {
  if (!green_handle(t)) return real::pthread_join(t, ret);
  return green::join(t, ret, never(), false);
}

int pthread_tryjoin_np(pthread_t t, void** ret) {
  if (!green_handle(t)) return real::pthread_tryjoin_np(t, ret);
  return green::join(t, ret, never(), true);
}

int pthread_timedjoin_np(pthread_t t, void** ret, const timespec* abstime) {
  if (!green_handle(t)) return real::pthread_timedjoin_np(t, ret, abstime);
  if (!abstime) return green::join(t, ret, never(), false);
  const std::int64_t d = green::abs_deadline(CLOCK_REALTIME, abstime);
  return d < 0 ? EINVAL : green::join(t, ret, d, false);
}

int pthread_clockjoin_np(pthread_t t, void** ret, clockid_t clock, const timespec* abstime) {
  if (!green_handle(t)) return real::pthread_clockjoin_np(t, ret, clock, abstime);
  if (clock != CLOCK_REALTIME && clock != CLOCK_MONOTONIC) return EINVAL;
  if (!abstime) return green::join(t, ret, never(), false);
  const std::int64_t d = green::abs_deadline(clock, abstime);
  return d < 0 ? EINVAL : green::join(t, ret, d, false);
}

int pthread_detach(pthread_t t) {
  if (!green_handle(t)) return real::pthread_detach(t);
  return green::detach(t);
}

void pthread_exit(void* ret) {
  real::ensure_resolved();
  if (green::on() && (green::self() || green::live() > 0)) green::exit(ret);
  real::pthread_exit(ret);
  __builtin_unreachable();
}

pthread_t pthread_self() {
  real::ensure_resolved();
  if (green::on())
    if (pthread_t t = green::self()) return t;
  return real::pthread_self();
}

int pthread_once(pthread_once_t* control, void (*init)()) {
  real::ensure_resolved();
  if (!green::on()) return real::pthread_once(control, init);
  return green::once(control, init);
}

int pthread_getattr_np(pthread_t t, pthread_attr_t* attr) {
  if (!green_handle(t)) return real::pthread_getattr_np(t, attr);
  return green::get_attr(t, attr);
}

int pthread_setname_np(pthread_t t, const char* name) {
  if (!green_handle(t)) return real::pthread_setname_np(t, name);
  return green::set_name(t, name);
}

int pthread_getname_np(pthread_t t, char* buf, size_t len) {
  if (!green_handle(t)) return real::pthread_getname_np(t, buf, len);
  return green::get_name(t, buf, len);
}

int pthread_key_create(pthread_key_t* key, void (*destructor)(void*)) {
  real::ensure_resolved();
  if (!green::on()) return real::pthread_key_create(key, destructor);
  return green::key_create(key, destructor);
}

int pthread_key_delete(pthread_key_t key) {
  real::ensure_resolved();
  if (!green::on() || key < green::kKeyBase) return real::pthread_key_delete(key);
  return green::key_delete(key);
}

void* pthread_getspecific(pthread_key_t key) {
  real::ensure_resolved();
  if (!green::on() || key < green::kKeyBase) return real::pthread_getspecific(key);
  return green::get_specific(key);
}

int pthread_setspecific(pthread_key_t key, const void* value) {
  real::ensure_resolved();
  if (!green::on() || key < green::kKeyBase) return real::pthread_setspecific(key, value);
  return green::set_specific(key, value);
}

// A signal for a green thread goes to the OS thread of its hub, and ends that green thread's
// blocking call (EINTR, or a restart under SA_RESTART) as it would end a thread's.
int pthread_kill(pthread_t t, int sig) {
  if (!green_handle(t)) return real::pthread_kill(t, sig);
  return green::kill(t, sig);
}

int pthread_cancel(pthread_t t) {
  if (!green_handle(t)) return real::pthread_cancel(t);
  warn_once(g_said_cancel, "pthread_cancel of a green thread is not supported: it returns ENOTSUP and the thread "
                           "goes on (see README, green threads)");
  return ENOTSUP;
}

int pthread_sigmask(int how, const sigset_t* set, sigset_t* old) {
  real::ensure_resolved();
  if (green::on() && green::self() && set)
    warn_once(g_said_sigmask, "pthread_sigmask in a green thread sets the mask of the OS thread that all green "
                              "threads of its hub share");
  return real::pthread_sigmask(how, set, old);
}

int sched_yield() {
  real::ensure_resolved();
  if (!green::on() || !green::here()) return real::sched_yield();
  green::yield();
  return 0;
}

}  // extern "C"

// pthread_yield (deprecated; the headers may rename it to sched_yield, old binaries import it):
// defined under its symbol name whatever the headers say.
extern "C" int grove_pthread_yield() __asm__("pthread_yield") __attribute__((visibility("default")));
extern "C" int grove_pthread_yield() { return sched_yield(); }

// glibc's double-underscore names, which libgcc_s and older libraries import.
GROVE_ALIAS(pthread_key_create, __pthread_key_create)
GROVE_ALIAS(pthread_getspecific, __pthread_getspecific)
GROVE_ALIAS(pthread_setspecific, __pthread_setspecific)
GROVE_ALIAS(pthread_once, __pthread_once)
GROVE_ALIAS(sched_yield, __sched_yield)
