// green_thread.cpp — green threads: the program's threads as greenlets (DESIGN §8).
//
// Design
// ------
// pthread_create in a thread that has a hub (the main thread under --green-threads, or a green
// thread) makes a greenlet on that hub instead of an OS thread. Its pthread_t is a pointer to a
// GreenThread record, kept in one reserved address range so that any pthread_t can be told apart
// from glibc's (is_green: a range check) — the hooks send glibc's own handles to glibc.
//
// A green thread's life: its greenlet runs fn(arg); pthread_exit throws GreenExit, a forced unwind
// (abi::__forced_unwind, as glibc's own pthread_exit unwinds), so destructors and cleanup run as
// natively and the greenlet ends where it started; then the key destructors run
// (PTHREAD_DESTRUCTOR_ITERATIONS rounds), `done` is set and joiners are woken (green_futex: a
// joiner may be an OS thread). A detached thread's record is freed as it ends, a joinable one's by
// its join.
//
// Per green thread: errno and the C++ exception state (switched with the greenlet), pthread keys
// (grove's keys live above kKeyBase; keys glibc handed out before green threads were on stay
// glibc's, per OS thread), names, the stack attributes. Shared by the green threads of one hub, as
// documented: thread_local/__thread variables, gettid(), the signal mask.
#include "grove/detail/green.hpp"

#include <cxxabi.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <signal.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <mutex>
#include <new>
#include <string>

#include "assert.hpp"
#include "grove/detail/spin_lock.hpp"
#include "grove/errors.hpp"
#include "green_futex.hpp"
#include "green_internal.hpp"
#include "hub.hpp"
#include "log.hpp"
#include "sys.hpp"

namespace grove::green {

using detail::FutexWait;
using detail::GreenletCore;
using detail::Hub;
using detail::kNever;
using detail::SpinLock;
using detail::tl_ctx;

namespace {

// --- the on switch ----------------------------------------------------------------------------------

std::atomic<int> g_on{-1};  // -1: not read yet

bool env_on() noexcept {
  const char* v = std::getenv("GROVE_GREEN_THREADS");
  const char* off = std::getenv("GROVE_DISABLE");
  return v && *v && std::strcmp(v, "0") != 0 && !(off && *off && std::strcmp(off, "0") != 0);
}

// --- records ------------------------------------------------------------------------------------------

// One reserved range (address space only, committed as used) holds every record, so that a
// pthread_t is recognised as green by its address. 2^18 records of 256 bytes: 64 MiB of it.
constexpr std::size_t kRecordSize = 256;
constexpr std::size_t kMaxRecords = std::size_t{1} << 18;
static_assert(sizeof(GreenThread) <= kRecordSize, "GreenThread outgrew its slot");

std::atomic<char*> g_arena{nullptr};
SpinLock g_arena_lock;
std::size_t g_arena_used = 0;       // under g_arena_lock
GreenThread* g_free = nullptr;      // under g_arena_lock
std::atomic<int> g_next_id{1};
std::uint32_t g_live = 0;           // futex word: green threads alive
bool g_main_gone = false;           // in a child forked by a green thread: main is not there

// In the child of fork() only the forking thread exists (POSIX); the hub has abandoned the other
// green threads (Hub::keep_only_current_after_fork). If the forking thread is a green thread, the
// child ends when it does, as a process ends with its last thread.
__attribute__((constructor)) void track_fork() {
  ::pthread_atfork(nullptr, nullptr, [] {
    tl_ctx.tid = 0;
    g_live = current() ? 1 : 0;
    g_main_gone = current() != nullptr;
    new (&g_arena_lock) SpinLock;  // another thread may have held it at fork time
  });
}

GreenThread* new_record() noexcept {
  std::lock_guard lock(g_arena_lock);
  char* arena = g_arena.load(std::memory_order_acquire);
  if (!arena) {
    void* p = sys::mmap(nullptr, kRecordSize * kMaxRecords, PROT_READ | PROT_WRITE,
                        MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (p == MAP_FAILED) return nullptr;
    arena = static_cast<char*>(p);
    g_arena.store(arena, std::memory_order_release);
  }
  void* slot;
  if (g_free) {
    slot = g_free;
    g_free = g_free->next_free;
  } else {
    if (g_arena_used == kMaxRecords) return nullptr;
    slot = arena + kRecordSize * g_arena_used++;
  }
  return new (slot) GreenThread;
}

void free_record(GreenThread* t) noexcept {
  delete[] t->keys;
  t->~GreenThread();
  t->magic = 0;
  std::lock_guard lock(g_arena_lock);
  t->next_free = g_free;
  g_free = t;
}

std::size_t default_green_stack() noexcept {
  if (const char* env = std::getenv("GROVE_STACK_SIZE"); env && *env) return 0;  // the hub's default then
  rlimit rl{};
  if (::getrlimit(RLIMIT_STACK, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur >= 16 * 1024 &&
      rl.rlim_cur <= (std::size_t{1} << 30))
    return rl.rlim_cur;
  return std::size_t{8} << 20;  // glibc's default when the limit is unlimited
}

// pthread_exit's forced unwind (the personality routines run every frame's cleanups and
// catch(...) blocks, which must rethrow, as for glibc's): stops on reaching the frame of
// Body::run, then jumps back into it.
_Unwind_Reason_Code stop_at_start(int, _Unwind_Action actions, _Unwind_Exception_Class, _Unwind_Exception*,
                                  _Unwind_Context* ctx, void* param) {
  auto* t = static_cast<GreenThread*>(param);
  if ((actions & _UA_END_OF_STACK) || _Unwind_GetCFA(ctx) >= t->unwind_limit) __builtin_longjmp(t->exit_jump, 1);
  return _URC_NO_REASON;
}

[[noreturn]] void unwind_green_thread(GreenThread* t, void* ret) {
  t->result = ret;
  t->unwind = {};
  // glibc's class for its own forced unwinds: libstdc++ then sees abi::__forced_unwind, which
  // library code (iostreams, std::thread) knows to rethrow.
  _Unwind_Exception_Class c = 0;
  for (const char ch : {'G', 'N', 'U', 'C', 'F', 'O', 'R', '\0'}) c = c << 8 | static_cast<unsigned char>(ch);
  t->unwind.exception_class = c;
  _Unwind_ForcedUnwind(&t->unwind, stop_at_start, t);
  GROVE_FATAL("pthread_exit in green thread %d: the stack could not be unwound", t->id);
}

class Body final : public detail::Body {
 public:
  explicit Body(GreenThread* t) : t_(t) {}
  void run() override { run_thread(t_); }

 private:
  __attribute__((noinline)) static void run_thread(GreenThread* t) {
    void* jump[5];
    t->exit_jump = jump;
    t->unwind_limit = reinterpret_cast<std::uintptr_t>(__builtin_frame_address(0));
    if (__builtin_setjmp(jump) == 0) call(t);  // else pthread_exit unwound to here; result is set
    end(t);
  }
  __attribute__((noinline)) static void call(GreenThread* t) {
    try {
      t->result = t->fn(t->arg);
    } catch (abi::__forced_unwind&) {
      throw;  // pthread_exit on its way to run_thread
    } catch (const GreenletExit&) {
      throw;  // killed through grove's own API: a greenlet's end, not the thread's business
    } catch (...) {
      // An exception that leaves a thread's start routine ends the program natively.
      log::write(log::Level::error, "an exception left the start routine of green thread %d", t->id);
      std::terminate();
    }
  }

  GreenThread* t_;
};

}  // namespace

// --- internal helpers (green_internal.hpp) ---------------------------------------------------------

GreenThread* current() noexcept {
  Hub* hub = tl_ctx.hub;
  return hub ? static_cast<GreenThread*>(hub->current()->green_thread) : nullptr;
}

int owner_id() noexcept {
  if (GreenThread* t = current()) return -t->id;
  if (tl_ctx.tid == 0) tl_ctx.tid = static_cast<int>(sys::detail::call(SYS_gettid));
  return tl_ctx.tid;
}

void end(GreenThread* t) noexcept {
  run_key_destructors(t);
  __atomic_store_n(&t->done, 1u, __ATOMIC_SEQ_CST);
  detail::futex_wake(&t->done, -1);
  GreenletCore* g = t->g;
  g->green_thread = nullptr;
  const int state = t->state.exchange(kEnded, std::memory_order_acq_rel);
  if (state == kDetached) free_record(t);
  detail::unref(g);  // the record's reference; the scheduler's keeps the greenlet until it is gone
  if (__atomic_sub_fetch(&g_live, 1u, __ATOMIC_SEQ_CST) == 0) {
    if (g_main_gone) std::exit(0);  // the last thread of a child forked by a green thread
    detail::futex_wake(&g_live, -1);
  }
}

// --- the API -----------------------------------------------------------------------------------------

bool on() noexcept {
  int v = g_on.load(std::memory_order_acquire);
  if (v < 0) {
    v = env_on() ? 1 : 0;
    int unset = -1;
    if (!g_on.compare_exchange_strong(unset, v)) v = unset;
  }
  return v == 1;
}

void turn_on() noexcept { g_on.store(1, std::memory_order_release); }

bool here() noexcept {
  Hub* hub = tl_ctx.hub;
  return hub && !hub->current()->is_hub && !tl_ctx.handler_frame;
}

int create(pthread_t* out, std::size_t stack_size, bool detached, void* (*fn)(void*), void* arg) noexcept {
  GreenThread* t = new_record();
  if (!t) return EAGAIN;
  t->id = g_next_id.fetch_add(1, std::memory_order_relaxed);
  t->fn = fn;
  t->arg = arg;
  t->state.store(detached ? kDetached : kJoinable, std::memory_order_relaxed);
  std::snprintf(t->name, sizeof t->name, "thread-%d", t->id);
  try {
    SpawnOptions opts{t->name, stack_size ? stack_size : default_green_stack()};
    GreenletCore* g = detail::create(sizeof(Body), alignof(Body), std::move(opts));
    auto* body = new (detail::body_storage(g)) Body(t);
    detail::attach(g, body);
    g->green_thread = t;
    t->g = g;
    __atomic_add_fetch(&g_live, 1u, __ATOMIC_SEQ_CST);
    detail::start(g, std::chrono::nanoseconds(0));
  } catch (...) {
    free_record(t);
    return EAGAIN;  // as pthread_create says when it lacks resources
  }
  *out = reinterpret_cast<pthread_t>(t);
  return 0;
}

bool is_green(pthread_t t) noexcept {
  const char* arena = g_arena.load(std::memory_order_acquire);
  const auto* p = reinterpret_cast<const char*>(t);
  if (!arena || p < arena || p >= arena + kRecordSize * kMaxRecords) return false;
  return reinterpret_cast<const GreenThread*>(p)->magic == GreenThread::kMagic;
}

pthread_t self() noexcept { return reinterpret_cast<pthread_t>(current()); }

int join(pthread_t handle, void** ret, std::int64_t deadline_ns, bool try_only) noexcept {
  auto* t = reinterpret_cast<GreenThread*>(handle);
  if (t == current()) return EDEADLK;
  int expect = kJoinable;
  if (!t->state.compare_exchange_strong(expect, kJoining) && expect != kEnded) return EINVAL;  // detached, or joined
  while (__atomic_load_n(&t->done, __ATOMIC_SEQ_CST) == 0) {
    if (try_only) {
      t->state.compare_exchange_strong(expect = kJoining, kJoinable);
      return EBUSY;
    }
    const FutexWait w = detail::futex_wait(&t->done, 0, deadline_ns, "pthread_join");
    if (w == FutexWait::timed_out && __atomic_load_n(&t->done, __ATOMIC_SEQ_CST) == 0) {
      expect = kJoining;
      t->state.compare_exchange_strong(expect, kJoinable);
      return ETIMEDOUT;
    }
  }
  if (ret) *ret = t->result;
  free_record(t);
  return 0;
}

int detach(pthread_t handle) noexcept {
  auto* t = reinterpret_cast<GreenThread*>(handle);
  int expect = kJoinable;
  if (t->state.compare_exchange_strong(expect, kDetached)) return 0;
  if (expect == kEnded) {
    free_record(t);
    return 0;
  }
  return EINVAL;
}

void exit(void* ret) {
  if (GreenThread* t = current()) unwind_green_thread(t, ret);
  // The main thread (or any other real one that reaches here): the process ends when its last
  // thread does. Wait for the green threads, then exit with 0 as that last exit would.
  run_key_destructors(nullptr);
  for (std::uint32_t n; (n = __atomic_load_n(&g_live, __ATOMIC_SEQ_CST)) != 0;)
    detail::futex_wait(&g_live, n, kNever, "pthread_exit (waiting for the other threads)");
  std::exit(0);
}

int set_name(pthread_t handle, const char* name) noexcept {
  auto* t = reinterpret_cast<GreenThread*>(handle);
  if (std::strlen(name) >= sizeof t->name) return ERANGE;
  std::strcpy(t->name, name);
  if (t->g) t->g->name = t->name;
  return 0;
}

int get_name(pthread_t handle, char* buf, std::size_t len) noexcept {
  auto* t = reinterpret_cast<GreenThread*>(handle);
  if (std::strlen(t->name) + 1 > len) return ERANGE;
  std::strcpy(buf, t->name);
  return 0;
}

int get_attr(pthread_t handle, pthread_attr_t* attr) noexcept {
  auto* t = reinterpret_cast<GreenThread*>(handle);
  if (int r = ::pthread_attr_init(attr); r != 0) return r;
  ::pthread_attr_setdetachstate(attr, t->state.load() == kDetached ? PTHREAD_CREATE_DETACHED : PTHREAD_CREATE_JOINABLE);
  if (GreenletCore* g = t->g; g && g->stack) {
    ::pthread_attr_setstack(attr, g->stack.bottom(), g->stack.usable());
    ::pthread_attr_setguardsize(attr, g->stack.mapped - g->stack.usable());
  }
  return 0;
}

int kill(pthread_t handle, int sig) noexcept {
  auto* t = reinterpret_cast<GreenThread*>(handle);
  if (sig == 0) return 0;
  if (sig < 0 || sig >= NSIG) return EINVAL;
  GreenletCore* g = t->g;
  if (!g || t->state.load() == kEnded) return 0;  // ended, not joined yet: as glibc, nothing to do
  g->signal_target = true;
  return static_cast<int>(-sys::detail::call(SYS_tgkill, ::getpid(), g->hub->thread_id(), sig));
}

bool own_thread_starting() noexcept { return tl_ctx.own_thread_starting; }

int live() noexcept { return static_cast<int>(__atomic_load_n(&g_live, __ATOMIC_SEQ_CST)); }

void yield() noexcept {
  if (!here()) {
    sys::detail::call(SYS_sched_yield);
    return;
  }
  Hub& hub = Hub::get();
  hub.make_ready(hub.current());
  hub.reschedule();
}

}  // namespace grove::green
