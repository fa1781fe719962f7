// detail/green.hpp — green threads (DESIGN §8): the program's threads as greenlets, and the
// pthread/C11 synchronisation they use, for the interposer. Internal to grove and its interposer.
//
// Every function follows the conventions of the libc call it stands for: a pthread-style errno
// value returned (0 on success), never thrown, errno untouched. Sync objects keep glibc's layout
// (pthread_mutex_t, pthread_cond_t, …): static initialisers work, nothing is allocated per object.
// They work for every caller — a green thread parks, an OS thread without a hub (grove's own, the
// ones glibc starts) waits in the kernel — so the interposer sends every call here once green
// threads are on, except for objects this implementation leaves to glibc (process-shared, robust,
// priority-protocol mutexes), which `*_is_ours` tells.
#pragma once

#include <pthread.h>
#include <semaphore.h>
#include <time.h>

#include <cstddef>
#include <cstdint>

namespace grove::green {

// GROVE_GREEN_THREADS=1 (read once; turned on by the interposer at load).
bool on() noexcept;
void turn_on() noexcept;
// The caller may park (a green thread, the main thread's root greenlet): threads it creates are
// green, and its waits park.
bool here() noexcept;

// --- threads ---------------------------------------------------------------------------------------
// Creates a green thread running fn(arg): a greenlet of the caller's hub. stack_size 0: the
// default (GROVE_STACK_SIZE, else the soft RLIMIT_STACK as for pthreads, else 8 MiB).
int create(pthread_t* out, std::size_t stack_size, bool detached, void* (*fn)(void*), void* arg) noexcept;
bool is_green(pthread_t t) noexcept;  // a handle create() returned (and that was not freed)
// The calling green thread, or 0 when the caller is not one.
pthread_t self() noexcept;
// deadline_ns: monotonic; INT64_MAX waits for ever; try_only: pthread_tryjoin_np.
int join(pthread_t t, void** ret, std::int64_t deadline_ns, bool try_only) noexcept;
int detach(pthread_t t) noexcept;
// pthread_exit in a green thread (ends it, unwinding its stack) or in the main thread (waits for
// the green threads, then exits the process with 0, as the last thread's exit does).
[[noreturn]] void exit(void* ret);
int set_name(pthread_t t, const char* name) noexcept;
int get_name(pthread_t t, char* buf, std::size_t len) noexcept;
int get_attr(pthread_t t, pthread_attr_t* attr) noexcept;  // pthread_getattr_np
// How many green threads are alive (for tests and the process-exit rule).
int live() noexcept;
void yield() noexcept;  // sched_yield in a green thread
// pthread_kill of a green thread: the signal goes to its hub's OS thread and ends that green
// thread's blocking call, as it would end a thread's (sig 0: does it exist).
int kill(pthread_t t, int sig) noexcept;
// True while grove itself starts one of its threads (offload workers…): those stay OS threads.
bool own_thread_starting() noexcept;

// --- thread-specific data (ours: key values at or above kKeyBase; lower ones are glibc's) ---------
inline constexpr pthread_key_t kKeyBase = 0x40000000u;
int key_create(pthread_key_t* key, void (*destructor)(void*)) noexcept;
int key_delete(pthread_key_t key) noexcept;
void* get_specific(pthread_key_t key) noexcept;
int set_specific(pthread_key_t key, const void* value) noexcept;

// May throw what init throws (C++ call_once); the control is then reset, as in glibc.
int once(pthread_once_t* control, void (*init)());

// --- synchronisation in glibc's layouts (green_sync.cpp) -------------------------------------------
// deadline_ns: INT64_MAX for none; abstime variants convert with abs_deadline().
std::int64_t abs_deadline(clockid_t clock, const timespec* abstime) noexcept;  // -1: invalid
bool mutex_is_ours(const pthread_mutex_t* m) noexcept;
int mutex_init(pthread_mutex_t* m, const pthread_mutexattr_t* attr) noexcept;
int mutex_lock(pthread_mutex_t* m, std::int64_t deadline_ns) noexcept;
int mutex_trylock(pthread_mutex_t* m) noexcept;
int mutex_unlock(pthread_mutex_t* m) noexcept;
int mutex_destroy(pthread_mutex_t* m) noexcept;

bool cond_is_ours(const pthread_cond_t* c) noexcept;
int cond_init(pthread_cond_t* c, const pthread_condattr_t* attr) noexcept;
clockid_t cond_clock(const pthread_cond_t* c) noexcept;
int cond_wait(pthread_cond_t* c, pthread_mutex_t* m, std::int64_t deadline_ns) noexcept;
int cond_signal(pthread_cond_t* c) noexcept;
int cond_broadcast(pthread_cond_t* c) noexcept;
int cond_destroy(pthread_cond_t* c) noexcept;

bool rwlock_is_ours(const pthread_rwlock_t* l) noexcept;
int rwlock_init(pthread_rwlock_t* l, const pthread_rwlockattr_t* attr) noexcept;
int rwlock_rdlock(pthread_rwlock_t* l, std::int64_t deadline_ns, bool try_only) noexcept;
int rwlock_wrlock(pthread_rwlock_t* l, std::int64_t deadline_ns, bool try_only) noexcept;
int rwlock_unlock(pthread_rwlock_t* l) noexcept;
int rwlock_destroy(pthread_rwlock_t* l) noexcept;

bool barrier_is_ours(const pthread_barrier_t* b) noexcept;
int barrier_init(pthread_barrier_t* b, const pthread_barrierattr_t* attr, unsigned count) noexcept;
int barrier_wait(pthread_barrier_t* b) noexcept;
int barrier_destroy(pthread_barrier_t* b) noexcept;

int spin_lock(pthread_spinlock_t* s, bool try_only) noexcept;
int spin_unlock(pthread_spinlock_t* s) noexcept;

bool sem_is_ours(const sem_t* s) noexcept;
int sem_init(sem_t* s, int pshared, unsigned value) noexcept;
int sem_wait(sem_t* s, std::int64_t deadline_ns, bool try_only) noexcept;  // EINTR on signals, as libc
int sem_post(sem_t* s) noexcept;
int sem_getvalue(sem_t* s, int* value) noexcept;

// syscall(SYS_futex, …): false if this is not one it handles (process-shared futexes, requeue,
// PI…: the caller makes the real system call); else *result is syscall()'s result or -errno.
bool futex(std::uint32_t* word, int op, std::uint32_t val, const timespec* timeout, std::uint32_t val3,
           long* result) noexcept;

// What init functions return when the object asks for what only glibc implements
// (process-shared, robust, priority inheritance or protection): the caller uses glibc's.
inline constexpr int kLeaveToGlibc = -1;

}  // namespace grove::green
