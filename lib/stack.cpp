#include "stack.hpp"

#include <sys/mman.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <cstring>
#include <system_error>

#include "log.hpp"
#include "sys.hpp"

#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/asan_interface.h>
#endif
#include <valgrind/valgrind.h>  // client requests: a few no-op instructions when not under valgrind

namespace grove::detail {

namespace {

constexpr int kMadvGuardInstall = 102;  // MADV_GUARD_INSTALL, Linux 6.13; not in bookworm's headers
constexpr std::size_t kGuardPages = 4;  // a frame up to 16 KiB cannot jump over it

std::size_t page_size() noexcept {
  static const std::size_t ps = static_cast<std::size_t>(::sysconf(_SC_PAGESIZE));
  return ps;
}

std::size_t round_to_pages(std::size_t n) noexcept {
  const std::size_t ps = page_size();
  return (n + ps - 1) / ps * ps;
}

// 0 = not probed yet, 1 = MADV_GUARD_INSTALL works, 2 = mprotect fallback.
std::atomic<int> g_guard_method{0};

void install_guard(char* base, std::size_t guard) {
  int method = g_guard_method.load(std::memory_order_relaxed);
  if (method == 0 && RUNNING_ON_VALGRIND) {
    g_guard_method.store(2, std::memory_order_relaxed);
    method = 2;
    log::write(log::Level::debug, "stack guards: running under valgrind, using mprotect");
  }
  if (method != 2) {
    long r = sys::madvise(base, guard, kMadvGuardInstall);
    if (r == 0) {
      g_guard_method.store(1, std::memory_order_relaxed);
      return;
    }
    if (method == 1 || (r != -EINVAL && r != -ENOSYS))
      throw std::system_error(static_cast<int>(-r), std::generic_category(),
                              "grove: madvise(MADV_GUARD_INSTALL) on a new stack");
    g_guard_method.store(2, std::memory_order_relaxed);
    log::write(log::Level::debug,
               "stack guards: kernel lacks MADV_GUARD_INSTALL, using mprotect (two mappings per stack)");
  }
  long r = sys::mprotect(base, guard, PROT_NONE);
  if (r != 0)
    throw std::system_error(static_cast<int>(-r), std::generic_category(),
                            "grove: mprotect(PROT_NONE) for a stack guard page (vm.max_map_count reached?)");
}

Stack map_stack(std::size_t usable) {
  Stack s;
  s.guard = kGuardPages * page_size();
  s.mapped = s.guard + usable;
  void* p = sys::mmap(nullptr, s.mapped, PROT_READ | PROT_WRITE,
                      MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_STACK, -1, 0);
  if (p == MAP_FAILED)
    throw std::system_error(ENOMEM, std::generic_category(),
                            "grove: mmap of a " + std::to_string(usable) + "-byte greenlet stack");
  s.base = static_cast<char*>(p);
  try {
    install_guard(s.base, s.guard);
  } catch (...) {
    sys::munmap(s.base, s.mapped);
    throw;
  }
#if defined(__SANITIZE_ADDRESS__)
  // Raw mmap/munmap bypass ASan's interceptors, so its shadow still describes whatever used these
  // addresses before (say, a stack unmapped when another thread's hub went away). Start clean.
  __asan_unpoison_memory_region(s.bottom(), s.usable());
#endif
  if (RUNNING_ON_VALGRIND) s.valgrind_id = VALGRIND_STACK_REGISTER(s.bottom(), s.top());
  return s;
}

void unmap_stack(const Stack& s) noexcept {
  if (s.valgrind_id) VALGRIND_STACK_DEREGISTER(s.valgrind_id);
  sys::munmap(s.base, s.mapped);
}

}  // namespace

bool running_on_valgrind() noexcept { return RUNNING_ON_VALGRIND != 0; }

std::size_t default_stack_size() noexcept {
  std::size_t size = 128 * 1024;
  if (const char* env = std::getenv("GROVE_STACK_SIZE"); env && *env) {
    char* end = nullptr;
    unsigned long long v = std::strtoull(env, &end, 10);
    if (end && (*end == 'k' || *end == 'K')) v <<= 10, ++end;
    else if (end && (*end == 'm' || *end == 'M')) v <<= 20, ++end;
    if (end && *end == '\0' && v >= 16 * 1024 && v <= (1ull << 30))
      size = static_cast<std::size_t>(v);
    else
      log::write(log::Level::warn, "GROVE_STACK_SIZE=%s ignored: want bytes (or K/M) between 16K and 1G", env);
  }
  return round_to_pages(size);
}

GuardMethod StackPool::guard_method() noexcept {
  return g_guard_method.load() == 2 ? GuardMethod::mprotect : GuardMethod::guard_install;
}

std::size_t StackPool::guard_size() noexcept { return kGuardPages * page_size(); }

StackPool::StackPool(std::size_t default_size, std::size_t keep)
    : default_size_(round_to_pages(default_size)), keep_(keep) {
  free_.reserve(keep_);  // release() is noexcept: never grow there
}

StackPool::~StackPool() {
  for (Stack& s : free_) unmap_stack(s);
}

Stack StackPool::acquire(std::size_t size) {
  size = size == 0 ? default_size_ : round_to_pages(size);
  if (size == default_size_ && !free_.empty()) {
    Stack s = free_.back();
    free_.pop_back();
#if defined(__SANITIZE_ADDRESS__)
    // Frames of the greenlet that used it last may still be poisoned.
    __asan_unpoison_memory_region(s.bottom(), s.usable());
#endif
    return s;
  }
  return map_stack(size);
}

void StackPool::release(Stack s) noexcept {
  if (!s) return;
  if (s.usable() == default_size_ && free_.size() < keep_) {
    free_.push_back(s);
    return;
  }
  unmap_stack(s);
}

}  // namespace grove::detail
