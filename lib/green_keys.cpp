// green_keys.cpp — pthread keys and pthread_once for green threads.
//
// Keys: up to PTHREAD_KEYS_MAX, numbered from kKeyBase up (keys below it are glibc's, handed out
// before green threads were on; the interposer sends those to glibc). Each key has a sequence
// number, odd while it is in use; a value remembers the sequence it was set under, so a value
// left from a deleted key is never seen through a new one. A green thread's values hang off its
// record; an OS thread's (the main thread's own code, grove's threads) off its context, and their
// destructors run when the thread exits — not for the main thread at exit(), as in glibc.
//
// pthread_once: 0 not run, 1 running, 2 done (glibc's values without its fork generation). A
// second caller waits on the word (green_futex) until the first is done; an initialiser that
// throws (C++ call_once) leaves it at 0 and wakes the waiters, as glibc does.
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <new>
#include <utility>

#include "context.hpp"
#include "green_futex.hpp"
#include "green_internal.hpp"
#include "grove/detail/core.hpp"
#include "grove/detail/green.hpp"
#include "sys.hpp"

namespace grove::green {

namespace {

struct Key {
  std::atomic<std::uint32_t> seq{0};  // odd: in use
  std::atomic<void (*)(void*)> destructor{nullptr};
};
Key g_keys[PTHREAD_KEYS_MAX];  // constant-initialised

KeyValue* values_of(GreenThread* t, bool make) noexcept {
  KeyValue*& v = t ? t->keys : reinterpret_cast<KeyValue*&>(detail::tl_ctx.key_values);
  if (!v && make) {
    v = new (std::nothrow) KeyValue[PTHREAD_KEYS_MAX];
    if (v && !t)
      detail::at_thread_exit(
          [](void*) {
            // glibc runs no key destructors for the main thread when the process exits.
            if (sys::detail::call(SYS_gettid) != ::getpid()) run_key_destructors(nullptr);
            delete[] static_cast<KeyValue*>(std::exchange(detail::tl_ctx.key_values, nullptr));
          },
          nullptr);
  }
  return v;
}

bool index_of(pthread_key_t key, unsigned* i) noexcept {
  if (key < kKeyBase || key - kKeyBase >= PTHREAD_KEYS_MAX) return false;
  *i = key - kKeyBase;
  return g_keys[*i].seq.load(std::memory_order_acquire) & 1;
}

}  // namespace

int key_create(pthread_key_t* key, void (*destructor)(void*)) noexcept {
  for (unsigned i = 0; i < PTHREAD_KEYS_MAX; ++i) {
    std::uint32_t s = g_keys[i].seq.load(std::memory_order_relaxed);
    if (s & 1) continue;
    g_keys[i].destructor.store(destructor, std::memory_order_relaxed);
    if (g_keys[i].seq.compare_exchange_strong(s, s + 1, std::memory_order_acq_rel)) {
      *key = kKeyBase + i;
      return 0;
    }
  }
  return EAGAIN;
}

int key_delete(pthread_key_t key) noexcept {
  unsigned i;
  if (!index_of(key, &i)) return EINVAL;
  std::uint32_t s = g_keys[i].seq.load(std::memory_order_relaxed);
  return g_keys[i].seq.compare_exchange_strong(s, s + 1, std::memory_order_acq_rel) ? 0 : EINVAL;
}

void* get_specific(pthread_key_t key) noexcept {
  unsigned i;
  if (!index_of(key, &i)) return nullptr;
  KeyValue* v = values_of(current(), false);
  if (!v || v[i].seq != g_keys[i].seq.load(std::memory_order_relaxed)) return nullptr;
  return v[i].value;
}

int set_specific(pthread_key_t key, const void* value) noexcept {
  unsigned i;
  if (!index_of(key, &i)) return EINVAL;
  KeyValue* v = values_of(current(), true);
  if (!v) return ENOMEM;
  v[i] = {g_keys[i].seq.load(std::memory_order_relaxed), const_cast<void*>(value)};
  return 0;
}

void run_key_destructors(GreenThread* t) noexcept {
  KeyValue* v = values_of(t, false);
  if (!v) return;
  for (int round = 0; round < PTHREAD_DESTRUCTOR_ITERATIONS; ++round) {
    bool ran = false;
    for (unsigned i = 0; i < PTHREAD_KEYS_MAX; ++i) {
      const std::uint32_t s = g_keys[i].seq.load(std::memory_order_acquire);
      if (!(s & 1) || v[i].seq != s || !v[i].value) continue;
      void (*d)(void*) = g_keys[i].destructor.load(std::memory_order_relaxed);
      void* value = v[i].value;
      v[i].value = nullptr;
      if (d) {
        d(value);
        ran = true;
      }
    }
    if (!ran) break;
  }
}

int once(pthread_once_t* control, void (*init)()) {
  auto* word = reinterpret_cast<std::uint32_t*>(control);
  for (;;) {
    std::uint32_t v = __atomic_load_n(word, __ATOMIC_ACQUIRE);
    if (v == 2) return 0;
    if (v == 0 && __atomic_compare_exchange_n(word, &v, 1u, false, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) {
      struct Reset {  // the initialiser threw: not done, and someone else may try
        std::uint32_t* w;
        bool armed = true;
        ~Reset() {
          if (!armed) return;
          __atomic_store_n(w, 0u, __ATOMIC_RELEASE);
          detail::futex_wake(w, -1);
        }
      } reset{word};
      init();
      reset.armed = false;
      __atomic_store_n(word, 2u, __ATOMIC_RELEASE);
      detail::futex_wake(word, -1);
      return 0;
    }
    if (v == 1) detail::futex_wait(word, 1, detail::kNever, "pthread_once");
  }
}

}  // namespace grove::green
