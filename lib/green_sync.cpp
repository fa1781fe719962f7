// green_sync.cpp — pthread mutexes, condition variables, rwlocks, barriers, spinlocks and unnamed
// semaphores for green threads, in glibc's own layouts, on green_futex.
//
// The layouts are glibc's public ones (bits/struct_mutex.h and friends), so static initialisers
// and objects a program inspects keep working, and an object glibc initialised before green
// threads were on is read the same way:
//   mutex    __lock is the futex word with glibc's values (0 free, 1 locked, 2 locked and maybe
//            waited for: Drepper's "Futexes are tricky" mutex 2), __owner the owner's id (an OS
//            thread's tid, or -id of a green thread), __count the recursion depth, __kind glibc's
//            kind; __nusers counts holders as glibc does (destroy says EBUSY while held)
//   cond     the low 32 bits of __wseq are a sequence every signal advances; a waiter waits for it
//            to change (spurious wake-ups are allowed); __wrefs keeps glibc's clock and
//            process-shared bits
//   rwlock   __readers is the state (readers, or kWriter), __cur_writer the writer's id,
//            __writers_futex the writers waiting (for the prefer-writer kind, in __flags)
//   barrier  count, arrived, a generation the last arrival advances; pshared in the 4th word
//   sem      glibc's 64-bit data word, value in the low 32 bits; `private` as glibc sets it
// What glibc alone implements — process-shared objects, robust and priority-protocol mutexes —
// is left to glibc (the *_is_ours checks; init functions return kLeaveToGlibc).
//
// Fairness is glibc's too: none. A thread that unlocks and locks again may take the lock before a
// woken waiter runs.
#include <linux/futex.h>
#include <semaphore.h>

#include <cerrno>
#include <climits>
#include <cstring>
#include <ctime>

#include "green_futex.hpp"
#include "green_internal.hpp"
#include "grove/detail/core.hpp"
#include "grove/detail/green.hpp"

namespace grove::green {

using detail::futex_wait;
using detail::futex_wake;
using detail::FutexWait;
using detail::kNever;

namespace {

// glibc's kind bits (nptl/pthreadP.h).
constexpr int kKindMask = 3;
constexpr int kRobust = 16, kPrioInherit = 32, kPrioProtect = 64, kPshared = 128;
constexpr int kNotOurs = kRobust | kPrioInherit | kPrioProtect | kPshared;
constexpr std::uint32_t kWriter = 0xffffffffu;
constexpr int kFutexPrivate = 128;  // glibc's sem `private` for PTHREAD_PROCESS_PRIVATE

std::uint32_t* word_of(int* field) noexcept { return reinterpret_cast<std::uint32_t*>(field); }
std::uint32_t* word_of(unsigned* field) noexcept { return reinterpret_cast<std::uint32_t*>(field); }

std::uint32_t xchg(std::uint32_t* w, std::uint32_t v) noexcept { return __atomic_exchange_n(w, v, __ATOMIC_ACQ_REL); }
bool cas(std::uint32_t* w, std::uint32_t expected, std::uint32_t v) noexcept {
  return __atomic_compare_exchange_n(w, &expected, v, false, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE);
}
std::uint32_t load(const std::uint32_t* w) noexcept { return __atomic_load_n(w, __ATOMIC_ACQUIRE); }

int kind_of(const pthread_mutex_t* m) noexcept { return m->__data.__kind & kKindMask; }

// The mutex's word is taken (1 or 2): record the owner.
void owned(pthread_mutex_t* m, int id) noexcept {
  m->__data.__owner = id;
  if (kind_of(m) == PTHREAD_MUTEX_RECURSIVE) m->__data.__count = 1;
  ++m->__data.__nusers;
}

// Before a lock by its owner goes to the word: recursion, or errorcheck's EDEADLK; -1 to go on.
int relock(pthread_mutex_t* m, int id) noexcept {
  if (m->__data.__owner != id) return -1;
  switch (kind_of(m)) {
    case PTHREAD_MUTEX_RECURSIVE:
      if (m->__data.__count == UINT_MAX) return EAGAIN;
      ++m->__data.__count;
      return 0;
    case PTHREAD_MUTEX_ERRORCHECK: return EDEADLK;
    default: return -1;  // normal and adaptive: a relock deadlocks, as natively
  }
}

}  // namespace

std::int64_t abs_deadline(clockid_t clock, const timespec* abstime) noexcept {
  if (!abstime || abstime->tv_nsec < 0 || abstime->tv_nsec >= 1'000'000'000) return -1;
  timespec now;
  ::clock_gettime(clock, &now);
  const std::int64_t left = (std::int64_t{abstime->tv_sec} - now.tv_sec) * 1'000'000'000 + (abstime->tv_nsec - now.tv_nsec);
  return detail::deadline_after(std::chrono::nanoseconds(left));
}

// --- mutexes -----------------------------------------------------------------------------------

bool mutex_is_ours(const pthread_mutex_t* m) noexcept { return m->__data.__kind == -1 || !(m->__data.__kind & kNotOurs); }

int mutex_init(pthread_mutex_t* m, const pthread_mutexattr_t* attr) noexcept {
  int type = PTHREAD_MUTEX_NORMAL, pshared = PTHREAD_PROCESS_PRIVATE, robust = PTHREAD_MUTEX_STALLED,
      protocol = PTHREAD_PRIO_NONE;
  if (attr) {
    ::pthread_mutexattr_gettype(attr, &type);
    ::pthread_mutexattr_getpshared(attr, &pshared);
    ::pthread_mutexattr_getrobust(attr, &robust);
    ::pthread_mutexattr_getprotocol(attr, &protocol);
  }
  if (pshared != PTHREAD_PROCESS_PRIVATE || robust != PTHREAD_MUTEX_STALLED || protocol != PTHREAD_PRIO_NONE)
    return kLeaveToGlibc;
  std::memset(m, 0, sizeof *m);
  m->__data.__kind = type;
  return 0;
}

int mutex_lock(pthread_mutex_t* m, std::int64_t deadline_ns) noexcept {
  if (m->__data.__kind == -1) return EINVAL;  // destroyed
  const int id = owner_id();
  if (int r = relock(m, id); r >= 0) return r;
  std::uint32_t* w = word_of(&m->__data.__lock);
  if (!cas(w, 0, 1)) {
    if (deadline_ns < 0) return EINVAL;  // an invalid abstime is reported only when it would wait
    std::uint32_t c = xchg(w, 2);
    while (c != 0) {
      if (futex_wait(w, 2, deadline_ns, "pthread_mutex_lock") == FutexWait::timed_out && deadline_ns != kNever) {
        if ((c = xchg(w, 2)) == 0) break;  // freed just now: ours after all
        return ETIMEDOUT;
      }
      c = xchg(w, 2);
    }
  }
  owned(m, id);
  return 0;
}

int mutex_trylock(pthread_mutex_t* m) noexcept {
  if (m->__data.__kind == -1) return EINVAL;
  const int id = owner_id();
  if (kind_of(m) == PTHREAD_MUTEX_RECURSIVE)
    if (int r = relock(m, id); r >= 0) return r;
  if (!cas(word_of(&m->__data.__lock), 0, 1)) return EBUSY;
  owned(m, id);
  return 0;
}

int mutex_unlock(pthread_mutex_t* m) noexcept {
  if (m->__data.__kind == -1) return EINVAL;
  const int kind = kind_of(m);
  if (kind == PTHREAD_MUTEX_RECURSIVE || kind == PTHREAD_MUTEX_ERRORCHECK) {
    if (m->__data.__owner != owner_id() || m->__data.__lock == 0) return EPERM;
    if (kind == PTHREAD_MUTEX_RECURSIVE && --m->__data.__count != 0) return 0;
  }
  m->__data.__owner = 0;
  --m->__data.__nusers;
  std::uint32_t* w = word_of(&m->__data.__lock);
  if (xchg(w, 0) == 2) futex_wake(w, 1);
  return 0;
}

int mutex_destroy(pthread_mutex_t* m) noexcept {
  if (m->__data.__nusers != 0) return EBUSY;
  m->__data.__kind = -1;
  return 0;
}

// --- condition variables -----------------------------------------------------------------------

namespace {
std::uint32_t* seq_of(pthread_cond_t* c) noexcept { return reinterpret_cast<std::uint32_t*>(&c->__data.__wseq); }
constexpr unsigned kCondPshared = 1, kCondMonotonic = 2;  // glibc's __wrefs bits
}  // namespace

bool cond_is_ours(const pthread_cond_t* c) noexcept { return !(c->__data.__wrefs & kCondPshared); }

int cond_init(pthread_cond_t* c, const pthread_condattr_t* attr) noexcept {
  int pshared = PTHREAD_PROCESS_PRIVATE;
  clockid_t clock = CLOCK_REALTIME;
  if (attr) {
    ::pthread_condattr_getpshared(attr, &pshared);
    ::pthread_condattr_getclock(attr, &clock);
  }
  if (pshared != PTHREAD_PROCESS_PRIVATE) return kLeaveToGlibc;
  std::memset(c, 0, sizeof *c);
  if (clock == CLOCK_MONOTONIC) c->__data.__wrefs = kCondMonotonic;
  return 0;
}

clockid_t cond_clock(const pthread_cond_t* c) noexcept {
  return (c->__data.__wrefs & kCondMonotonic) ? CLOCK_MONOTONIC : CLOCK_REALTIME;
}

int cond_wait(pthread_cond_t* c, pthread_mutex_t* m, std::int64_t deadline_ns) noexcept {
  if (deadline_ns < 0) return EINVAL;
  std::uint32_t* seq = seq_of(c);
  const std::uint32_t before = load(seq);  // under the mutex: no signal can slip in unseen
  if (int r = mutex_unlock(m); r != 0) return r;
  const FutexWait w = futex_wait(seq, before, deadline_ns, "pthread_cond_wait");
  mutex_lock(m, kNever);  // held again when it returns, timed out or not
  return w == FutexWait::timed_out && load(seq) == before ? ETIMEDOUT : 0;
}

int cond_signal(pthread_cond_t* c) noexcept {
  std::uint32_t* seq = seq_of(c);
  __atomic_add_fetch(seq, 1u, __ATOMIC_SEQ_CST);
  futex_wake(seq, 1);
  return 0;
}

int cond_broadcast(pthread_cond_t* c) noexcept {
  std::uint32_t* seq = seq_of(c);
  __atomic_add_fetch(seq, 1u, __ATOMIC_SEQ_CST);
  futex_wake(seq, -1);
  return 0;
}

int cond_destroy(pthread_cond_t*) noexcept { return 0; }

// --- rwlocks -------------------------------------------------------------------------------------

bool rwlock_is_ours(const pthread_rwlock_t* l) noexcept { return l->__data.__shared == 0; }

int rwlock_init(pthread_rwlock_t* l, const pthread_rwlockattr_t* attr) noexcept {
  int pshared = PTHREAD_PROCESS_PRIVATE, kind = PTHREAD_RWLOCK_PREFER_READER_NP;
  if (attr) {
    ::pthread_rwlockattr_getpshared(attr, &pshared);
    ::pthread_rwlockattr_getkind_np(attr, &kind);
  }
  if (pshared != PTHREAD_PROCESS_PRIVATE) return kLeaveToGlibc;
  std::memset(l, 0, sizeof *l);
  l->__data.__flags = static_cast<unsigned>(kind);
  return 0;
}

int rwlock_rdlock(pthread_rwlock_t* l, std::int64_t deadline_ns, bool try_only) noexcept {
  if (l->__data.__cur_writer == owner_id() && l->__data.__readers == kWriter) return EDEADLK;
  std::uint32_t* state = word_of(&l->__data.__readers);
  const bool writers_first = l->__data.__flags == PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP;
  for (;;) {
    const std::uint32_t s = load(state);
    if (s != kWriter && !(writers_first && load(word_of(&l->__data.__writers_futex)) != 0)) {
      if (s == kWriter - 1) return EAGAIN;  // as many readers as it can count
      if (cas(state, s, s + 1)) return 0;
      continue;
    }
    if (try_only) return EBUSY;
    if (deadline_ns < 0) return EINVAL;
    if (futex_wait(state, s, deadline_ns, "pthread_rwlock_rdlock") == FutexWait::timed_out &&
        deadline_ns != kNever)
      return ETIMEDOUT;
  }
}

int rwlock_wrlock(pthread_rwlock_t* l, std::int64_t deadline_ns, bool try_only) noexcept {
  const int id = owner_id();
  std::uint32_t* state = word_of(&l->__data.__readers);
  if (l->__data.__cur_writer == id && load(state) == kWriter) return EDEADLK;
  std::uint32_t* waiting = word_of(&l->__data.__writers_futex);
  for (;;) {
    if (cas(state, 0, kWriter)) {
      l->__data.__cur_writer = id;
      return 0;
    }
    if (try_only) return EBUSY;
    if (deadline_ns < 0) return EINVAL;
    const std::uint32_t s = load(state);
    if (s == 0) continue;
    __atomic_add_fetch(waiting, 1u, __ATOMIC_SEQ_CST);
    const FutexWait w = futex_wait(state, s, deadline_ns, "pthread_rwlock_wrlock");
    __atomic_sub_fetch(waiting, 1u, __ATOMIC_SEQ_CST);
    if (w == FutexWait::timed_out && deadline_ns != kNever) {
      futex_wake(state, -1);  // readers that deferred to this writer may go now
      return ETIMEDOUT;
    }
  }
}

int rwlock_unlock(pthread_rwlock_t* l) noexcept {
  std::uint32_t* state = word_of(&l->__data.__readers);
  const std::uint32_t s = load(state);
  if (s == 0) return EPERM;
  if (s == kWriter) {
    l->__data.__cur_writer = 0;
    __atomic_store_n(state, 0u, __ATOMIC_RELEASE);
    futex_wake(state, -1);
    return 0;
  }
  if (__atomic_sub_fetch(state, 1u, __ATOMIC_ACQ_REL) == 0) futex_wake(state, -1);
  return 0;
}

int rwlock_destroy(pthread_rwlock_t*) noexcept { return 0; }

// --- barriers ------------------------------------------------------------------------------------

namespace {
struct Barrier {
  std::uint32_t count, arrived, generation, pshared;
};
static_assert(sizeof(Barrier) <= sizeof(pthread_barrier_t));
Barrier* barrier_of(pthread_barrier_t* b) noexcept { return reinterpret_cast<Barrier*>(b); }
}  // namespace

bool barrier_is_ours(const pthread_barrier_t* b) noexcept {
  return reinterpret_cast<const Barrier*>(b)->pshared == 0;
}

int barrier_init(pthread_barrier_t* b, const pthread_barrierattr_t* attr, unsigned count) noexcept {
  int pshared = PTHREAD_PROCESS_PRIVATE;
  if (attr) ::pthread_barrierattr_getpshared(attr, &pshared);
  if (pshared != PTHREAD_PROCESS_PRIVATE) return kLeaveToGlibc;
  if (count == 0 || count > INT_MAX) return EINVAL;
  std::memset(b, 0, sizeof *b);
  barrier_of(b)->count = count;
  return 0;
}

int barrier_wait(pthread_barrier_t* b) noexcept {
  Barrier* br = barrier_of(b);
  const std::uint32_t gen = load(&br->generation);
  if (__atomic_add_fetch(&br->arrived, 1u, __ATOMIC_ACQ_REL) == br->count) {
    __atomic_store_n(&br->arrived, 0u, __ATOMIC_RELAXED);
    __atomic_store_n(&br->generation, gen + 1, __ATOMIC_RELEASE);
    futex_wake(&br->generation, -1);
    return PTHREAD_BARRIER_SERIAL_THREAD;
  }
  while (load(&br->generation) == gen) futex_wait(&br->generation, gen, kNever, "pthread_barrier_wait");
  return 0;
}

int barrier_destroy(pthread_barrier_t* b) noexcept { return load(&barrier_of(b)->arrived) != 0 ? EBUSY : 0; }

// --- spinlocks: a green thread that spins yields, or the holder would never run -----------------
// glibc's x86-64 spinlock is 1 when free (its lock is a `lock decl` that must reach 0).
constexpr std::uint32_t kSpinFree = 1, kSpinHeld = 0;

int spin_lock(pthread_spinlock_t* s, bool try_only) noexcept {
  auto* w = reinterpret_cast<std::uint32_t*>(const_cast<int*>(s));
  for (;;) {
    if (cas(w, kSpinFree, kSpinHeld)) return 0;
    if (try_only) return EBUSY;
    while (load(w) != kSpinFree) {
      if (here())
        yield();
      else
        __builtin_ia32_pause();
    }
  }
}

int spin_unlock(pthread_spinlock_t* s) noexcept {
  __atomic_store_n(reinterpret_cast<std::uint32_t*>(const_cast<int*>(s)), kSpinFree, __ATOMIC_RELEASE);
  return 0;
}

// --- unnamed semaphores --------------------------------------------------------------------------

namespace {
struct Sem {
  std::uint32_t value;  // the low half of glibc's 64-bit data word
  std::uint32_t nwaiters;
  int priv;
  int pad;
};
static_assert(sizeof(Sem) <= sizeof(sem_t));
Sem* sem_of(sem_t* s) noexcept { return reinterpret_cast<Sem*>(s); }
}  // namespace

bool sem_is_ours(const sem_t* s) noexcept { return reinterpret_cast<const Sem*>(s)->priv == kFutexPrivate; }

int sem_init(sem_t* s, int pshared, unsigned value) noexcept {
  if (value > SEM_VALUE_MAX) return EINVAL;
  if (pshared) return kLeaveToGlibc;
  Sem* sm = sem_of(s);
  sm->value = value;
  sm->nwaiters = 0;
  sm->priv = kFutexPrivate;
  return 0;
}

int sem_wait(sem_t* s, std::int64_t deadline_ns, bool try_only) noexcept {
  std::uint32_t* v = &sem_of(s)->value;
  for (;;) {
    const std::uint32_t n = load(v);
    if (n > 0) {
      if (cas(v, n, n - 1)) return 0;
      continue;
    }
    if (try_only) return EAGAIN;
    if (deadline_ns < 0) return EINVAL;
    switch (futex_wait(v, 0, deadline_ns, "sem_wait", true)) {
      case FutexWait::timed_out:
        if (deadline_ns != kNever) return ETIMEDOUT;
        break;
      case FutexWait::interrupted: return EINTR;
      default: break;
    }
  }
}

int sem_post(sem_t* s) noexcept {
  std::uint32_t* v = &sem_of(s)->value;
  for (std::uint32_t n = load(v);;) {
    if (n == SEM_VALUE_MAX) return EOVERFLOW;
    if (__atomic_compare_exchange_n(v, &n, n + 1, false, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) break;
  }
  futex_wake(v, 1);
  return 0;
}

int sem_getvalue(sem_t* s, int* value) noexcept {
  *value = static_cast<int>(load(&sem_of(s)->value));
  return 0;
}

// --- the program's own futexes -------------------------------------------------------------------

// Without FUTEX_PRIVATE_FLAG the word may be in memory shared with another process; libstdc++ 12
// omits the flag for all its waits all the same. Such waits park too (a wake from another process
// would not reach them: a documented limit), and every wake also asks the kernel, so threads and
// other processes waiting there are woken as well.
bool futex(std::uint32_t* word, int op, std::uint32_t val, const timespec* timeout, std::uint32_t val3,
           long* result) noexcept {
  const int cmd = op & FUTEX_CMD_MASK;
  switch (cmd) {
    case FUTEX_WAKE:
    case FUTEX_WAKE_BITSET:
      if (cmd == FUTEX_WAKE_BITSET && val3 == 0) {
        *result = -EINVAL;
        return true;
      }
      *result = futex_wake(word, val > INT_MAX ? INT_MAX : static_cast<int>(val), true);
      return true;
    case FUTEX_WAIT:
    case FUTEX_WAIT_BITSET: {
      if (cmd == FUTEX_WAIT_BITSET && val3 == 0) {
        *result = -EINVAL;
        return true;
      }
      std::int64_t deadline = kNever;
      if (timeout) {
        if (timeout->tv_nsec < 0 || timeout->tv_nsec >= 1'000'000'000 || timeout->tv_sec < 0) {
          *result = -EINVAL;
          return true;
        }
        if (cmd == FUTEX_WAIT)  // relative
          deadline = detail::deadline_after(std::chrono::seconds(timeout->tv_sec) + std::chrono::nanoseconds(timeout->tv_nsec));
        else  // absolute, on CLOCK_MONOTONIC unless FUTEX_CLOCK_REALTIME
          deadline = abs_deadline((op & FUTEX_CLOCK_REALTIME) ? CLOCK_REALTIME : CLOCK_MONOTONIC, timeout);
      }
      switch (futex_wait(word, val, deadline, "futex", true)) {
        case FutexWait::mismatch: *result = -EAGAIN; break;
        case FutexWait::timed_out: *result = -ETIMEDOUT; break;
        case FutexWait::interrupted: *result = -EINTR; break;
        default: *result = 0; break;
      }
      return true;
    }
    default: return false;  // requeue, wake-op, PI: the kernel's
  }
}

}  // namespace grove::green
