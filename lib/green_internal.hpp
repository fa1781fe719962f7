// green_internal.hpp — what the green-thread files share: the record behind a green pthread_t.
#pragma once

#include <pthread.h>
#include <unwind.h>

#include <atomic>
#include <cstdint>

namespace grove::detail {
struct GreenletCore;
}

namespace grove::green {

enum : int { kJoinable, kJoining, kDetached, kEnded };

struct KeyValue {
  std::uint32_t seq = 0;  // the key's sequence when the value was set: stale after a delete
  void* value = nullptr;
};

struct GreenThread {
  static constexpr std::uint32_t kMagic = 0x67726e74;  // "grnt"
  std::uint32_t magic = kMagic;
  std::uint32_t done = 0;  // futex word: 1 once it has ended
  std::atomic<int> state{kJoinable};
  int id = 0;  // > 0; -id is its owner id in mutexes (OS threads use their tid)
  detail::GreenletCore* g = nullptr;
  void* (*fn)(void*) = nullptr;
  void* arg = nullptr;
  void* result = nullptr;
  KeyValue* keys = nullptr;  // PTHREAD_KEYS_MAX slots, made on the first set_specific
  char name[16] = {};
  GreenThread* next_free = nullptr;
  // pthread_exit: a forced unwind up to the start routine's caller, then a jump back into it
  // (green_thread.cpp; as glibc's pthread_exit unwinds to start_thread).
  _Unwind_Exception unwind{};
  void** exit_jump = nullptr;        // __builtin_setjmp buffer on the greenlet's first frame
  std::uintptr_t unwind_limit = 0;   // that frame's address: unwinding stops there
};

// The calling green thread, or nullptr (an OS thread, the root greenlet, a plain greenlet).
GreenThread* current() noexcept;
// The owner id of the caller for mutexes and rwlocks: -id of a green thread, else the OS tid.
int owner_id() noexcept;
// A green thread's start routine returned or called pthread_exit (green_thread.cpp).
void end(GreenThread* t) noexcept;
// Runs the key destructors of t's values (nullptr: the calling OS thread's), as glibc does at a
// thread's end (green_keys.cpp).
void run_key_destructors(GreenThread* t) noexcept;

}  // namespace grove::green
