// sync.cpp — pthread mutexes, condition variables, rwlocks, barriers, spinlocks and unnamed
// semaphores under green threads: a green thread that waits parks, and every thread — green or
// not — uses the same implementation on the same objects (lib/green_sync.cpp), in glibc's layout.
// Without green threads every call is glibc's. Objects green threads leave to glibc (process-
// shared, robust, priority-protocol) stay glibc's throughout.
#include <errno.h>
#include <pthread.h>
#include <semaphore.h>
#include <time.h>

#include "grove/detail/green.hpp"
#include "hook.hpp"

using namespace grove::interpose;
namespace green = grove::green;

namespace {

constexpr std::int64_t kNever = INT64_MAX;

bool on() noexcept {
  real::ensure_resolved();
  return green::on();
}

// A pthread deadline: -1 (EINVAL) for a bad abstime, as the wait would report it.
std::int64_t deadline(clockid_t clock, const timespec* abstime) noexcept {
  if (clock != CLOCK_REALTIME && clock != CLOCK_MONOTONIC) return -1;
  return green::abs_deadline(clock, abstime);
}

// sem_* report failures through errno.
int sem_result(int e) noexcept {
  if (e == 0) return 0;
  errno = e;
  return -1;
}

}  // namespace

extern "C" {

// --- mutexes --------------------------------------------------------------------------------------

int pthread_mutex_init(pthread_mutex_t* m, const pthread_mutexattr_t* attr) {
  if (!on()) return real::pthread_mutex_init(m, attr);
  const int r = green::mutex_init(m, attr);
  return r == green::kLeaveToGlibc ? real::pthread_mutex_init(m, attr) : r;
}

int pthread_mutex_destroy(pthread_mutex_t* m) {
  if (!on() || !green::mutex_is_ours(m)) return real::pthread_mutex_destroy(m);
  return green::mutex_destroy(m);
}

int pthread_mutex_lock(pthread_mutex_t* m) {
  if (!on() || !green::mutex_is_ours(m)) return real::pthread_mutex_lock(m);
  return green::mutex_lock(m, kNever);
}

int pthread_mutex_trylock(pthread_mutex_t* m) {
  if (!on() || !green::mutex_is_ours(m)) return real::pthread_mutex_trylock(m);
  return green::mutex_trylock(m);
}

int pthread_mutex_timedlock(pthread_mutex_t* m, const timespec* abstime) {
  if (!on() || !green::mutex_is_ours(m)) return real::pthread_mutex_timedlock(m, abstime);
  return green::mutex_lock(m, deadline(CLOCK_REALTIME, abstime));
}

int pthread_mutex_clocklock(pthread_mutex_t* m, clockid_t clock, const timespec* abstime) {
  if (!on() || !green::mutex_is_ours(m)) return real::pthread_mutex_clocklock(m, clock, abstime);
  if (clock != CLOCK_REALTIME && clock != CLOCK_MONOTONIC) return EINVAL;
  return green::mutex_lock(m, deadline(clock, abstime));
}

int pthread_mutex_unlock(pthread_mutex_t* m) {
  if (!on() || !green::mutex_is_ours(m)) return real::pthread_mutex_unlock(m);
  return green::mutex_unlock(m);
}

// --- condition variables --------------------------------------------------------------------------

int pthread_cond_init(pthread_cond_t* c, const pthread_condattr_t* attr) {
  if (!on()) return real::pthread_cond_init(c, attr);
  const int r = green::cond_init(c, attr);
  return r == green::kLeaveToGlibc ? real::pthread_cond_init(c, attr) : r;
}

int pthread_cond_destroy(pthread_cond_t* c) {
  if (!on() || !green::cond_is_ours(c)) return real::pthread_cond_destroy(c);
  return green::cond_destroy(c);
}

int pthread_cond_wait(pthread_cond_t* c, pthread_mutex_t* m) {
  if (!on() || !green::cond_is_ours(c) || !green::mutex_is_ours(m)) return real::pthread_cond_wait(c, m);
  return green::cond_wait(c, m, kNever);
}

int pthread_cond_timedwait(pthread_cond_t* c, pthread_mutex_t* m, const timespec* abstime) {
  if (!on() || !green::cond_is_ours(c) || !green::mutex_is_ours(m)) return real::pthread_cond_timedwait(c, m, abstime);
  return green::cond_wait(c, m, deadline(green::cond_clock(c), abstime));
}

int pthread_cond_clockwait(pthread_cond_t* c, pthread_mutex_t* m, clockid_t clock, const timespec* abstime) {
  if (!on() || !green::cond_is_ours(c) || !green::mutex_is_ours(m))
    return real::pthread_cond_clockwait(c, m, clock, abstime);
  return green::cond_wait(c, m, deadline(clock, abstime));
}

int pthread_cond_signal(pthread_cond_t* c) {
  if (!on() || !green::cond_is_ours(c)) return real::pthread_cond_signal(c);
  return green::cond_signal(c);
}

int pthread_cond_broadcast(pthread_cond_t* c) {
  if (!on() || !green::cond_is_ours(c)) return real::pthread_cond_broadcast(c);
  return green::cond_broadcast(c);
}

// --- rwlocks --------------------------------------------------------------------------------------

int pthread_rwlock_init(pthread_rwlock_t* l, const pthread_rwlockattr_t* attr) {
  if (!on()) return real::pthread_rwlock_init(l, attr);
  const int r = green::rwlock_init(l, attr);
  return r == green::kLeaveToGlibc ? real::pthread_rwlock_init(l, attr) : r;
}

int pthread_rwlock_destroy(pthread_rwlock_t* l) {
  if (!on() || !green::rwlock_is_ours(l)) return real::pthread_rwlock_destroy(l);
  return green::rwlock_destroy(l);
}

int pthread_rwlock_rdlock(pthread_rwlock_t* l) {
  if (!on() || !green::rwlock_is_ours(l)) return real::pthread_rwlock_rdlock(l);
  return green::rwlock_rdlock(l, kNever, false);
}

int pthread_rwlock_tryrdlock(pthread_rwlock_t* l) {
  if (!on() || !green::rwlock_is_ours(l)) return real::pthread_rwlock_tryrdlock(l);
  return green::rwlock_rdlock(l, kNever, true);
}

int pthread_rwlock_timedrdlock(pthread_rwlock_t* l, const timespec* abstime) {
  if (!on() || !green::rwlock_is_ours(l)) return real::pthread_rwlock_timedrdlock(l, abstime);
  return green::rwlock_rdlock(l, deadline(CLOCK_REALTIME, abstime), false);
}

int pthread_rwlock_clockrdlock(pthread_rwlock_t* l, clockid_t clock, const timespec* abstime) {
  if (!on() || !green::rwlock_is_ours(l)) return real::pthread_rwlock_clockrdlock(l, clock, abstime);
  if (clock != CLOCK_REALTIME && clock != CLOCK_MONOTONIC) return EINVAL;
  return green::rwlock_rdlock(l, deadline(clock, abstime), false);
}

int pthread_rwlock_wrlock(pthread_rwlock_t* l) {
  if (!on() || !green::rwlock_is_ours(l)) return real::pthread_rwlock_wrlock(l);
  return green::rwlock_wrlock(l, kNever, false);
}

int pthread_rwlock_trywrlock(pthread_rwlock_t* l) {
  if (!on() || !green::rwlock_is_ours(l)) return real::pthread_rwlock_trywrlock(l);
  return green::rwlock_wrlock(l, kNever, true);
}

int pthread_rwlock_timedwrlock(pthread_rwlock_t* l, const timespec* abstime) {
  if (!on() || !green::rwlock_is_ours(l)) return real::pthread_rwlock_timedwrlock(l, abstime);
  return green::rwlock_wrlock(l, deadline(CLOCK_REALTIME, abstime), false);
}

int pthread_rwlock_clockwrlock(pthread_rwlock_t* l, clockid_t clock, const timespec* abstime) {
  if (!on() || !green::rwlock_is_ours(l)) return real::pthread_rwlock_clockwrlock(l, clock, abstime);
  if (clock != CLOCK_REALTIME && clock != CLOCK_MONOTONIC) return EINVAL;
  return green::rwlock_wrlock(l, deadline(clock, abstime), false);
}

int pthread_rwlock_unlock(pthread_rwlock_t* l) {
  if (!on() || !green::rwlock_is_ours(l)) return real::pthread_rwlock_unlock(l);
  return green::rwlock_unlock(l);
}

// --- barriers and spinlocks -----------------------------------------------------------------------

int pthread_barrier_init(pthread_barrier_t* b, const pthread_barrierattr_t* attr, unsigned count) {
  if (!on()) return real::pthread_barrier_init(b, attr, count);
  const int r = green::barrier_init(b, attr, count);
  return r == green::kLeaveToGlibc ? real::pthread_barrier_init(b, attr, count) : r;
}

int pthread_barrier_destroy(pthread_barrier_t* b) {
  if (!on() || !green::barrier_is_ours(b)) return real::pthread_barrier_destroy(b);
  return green::barrier_destroy(b);
}

int pthread_barrier_wait(pthread_barrier_t* b) {
  if (!on() || !green::barrier_is_ours(b)) return real::pthread_barrier_wait(b);
  return green::barrier_wait(b);
}

int pthread_spin_lock(pthread_spinlock_t* s) {
  if (!on()) return real::pthread_spin_lock(s);
  return green::spin_lock(s, false);
}

int pthread_spin_trylock(pthread_spinlock_t* s) {
  if (!on()) return real::pthread_spin_trylock(s);
  return green::spin_lock(s, true);
}

int pthread_spin_unlock(pthread_spinlock_t* s) {
  if (!on()) return real::pthread_spin_unlock(s);
  return green::spin_unlock(s);
}

// --- unnamed semaphores (named ones are process-shared: glibc's) ----------------------------------

int sem_init(sem_t* s, int pshared, unsigned value) {
  if (!on()) return real::sem_init(s, pshared, value);
  const int r = green::sem_init(s, pshared, value);
  return r == green::kLeaveToGlibc ? real::sem_init(s, pshared, value) : sem_result(r);
}

int sem_destroy(sem_t* s) {
  if (!on() || !green::sem_is_ours(s)) return real::sem_destroy(s);
  return 0;
}

int sem_wait(sem_t* s) {
  if (!on() || !green::sem_is_ours(s)) return real::sem_wait(s);
  return sem_result(green::sem_wait(s, kNever, false));
}

int sem_trywait(sem_t* s) {
  if (!on() || !green::sem_is_ours(s)) return real::sem_trywait(s);
  return sem_result(green::sem_wait(s, kNever, true));
}

int sem_timedwait(sem_t* s, const timespec* abstime) {
  if (!on() || !green::sem_is_ours(s)) return real::sem_timedwait(s, abstime);
  return sem_result(green::sem_wait(s, deadline(CLOCK_REALTIME, abstime), false));
}

int sem_clockwait(sem_t* s, clockid_t clock, const timespec* abstime) {
  if (!on() || !green::sem_is_ours(s)) return real::sem_clockwait(s, clock, abstime);
  if (clock != CLOCK_REALTIME && clock != CLOCK_MONOTONIC) return sem_result(EINVAL);
  return sem_result(green::sem_wait(s, deadline(clock, abstime), false));
}

int sem_post(sem_t* s) {
  if (!on() || !green::sem_is_ours(s)) return real::sem_post(s);
  return sem_result(green::sem_post(s));
}

int sem_getvalue(sem_t* s, int* value) {
  if (!on() || !green::sem_is_ours(s)) return real::sem_getvalue(s, value);
  return green::sem_getvalue(s, value);
}

}  // extern "C"

// glibc's double-underscore names, which libgcc_s and older libraries import.
GROVE_ALIAS(pthread_mutex_init, __pthread_mutex_init)
GROVE_ALIAS(pthread_mutex_destroy, __pthread_mutex_destroy)
GROVE_ALIAS(pthread_mutex_lock, __pthread_mutex_lock)
GROVE_ALIAS(pthread_mutex_trylock, __pthread_mutex_trylock)
GROVE_ALIAS(pthread_mutex_unlock, __pthread_mutex_unlock)
GROVE_ALIAS(pthread_rwlock_init, __pthread_rwlock_init)
GROVE_ALIAS(pthread_rwlock_destroy, __pthread_rwlock_destroy)
GROVE_ALIAS(pthread_rwlock_rdlock, __pthread_rwlock_rdlock)
GROVE_ALIAS(pthread_rwlock_tryrdlock, __pthread_rwlock_tryrdlock)
GROVE_ALIAS(pthread_rwlock_wrlock, __pthread_rwlock_wrlock)
GROVE_ALIAS(pthread_rwlock_trywrlock, __pthread_rwlock_trywrlock)
GROVE_ALIAS(pthread_rwlock_unlock, __pthread_rwlock_unlock)
