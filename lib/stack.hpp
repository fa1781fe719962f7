// stack.hpp — greenlet stacks: mmap'd, committed lazily, guarded, recycled.
//
// A stack is one anonymous MAP_NORESERVE mapping: [guard | usable]. The guard is installed with
// madvise(MADV_GUARD_INSTALL) where the kernel has it (Linux >= 6.13): that marks page-table
// entries and does not split the mapping, so neighbouring stacks merge into one VMA and a process
// can hold a million of them under the default vm.max_map_count (65530). On older kernels we fall
// back to mprotect(PROT_NONE), which costs a second VMA per stack and so caps a process near 32k
// live greenlets; `StackPool::guard_method()` says which one is in use.
//
// Freed stacks of the default size go back to a per-thread free list; mapping and guarding a
// fresh stack costs two system calls and a page fault, reusing one costs nothing.
//
// Under valgrind every stack is registered with it (VALGRIND_STACK_REGISTER) for as long as it is
// mapped, so that a switch between greenlets is not taken for a huge stack-pointer move, and
// guards are made with mprotect: memcheck tracks mprotect'ed pages, but not MADV_GUARD_INSTALL
// (valgrind 3.19 passes the advice through without knowing the pages became inaccessible).
#pragma once

#include <cstddef>
#include <vector>

namespace grove::detail {

struct Stack {
  char* base = nullptr;        // start of the mapping (the guard)
  std::size_t mapped = 0;      // guard + usable
  std::size_t guard = 0;
  unsigned valgrind_id = 0;    // VALGRIND_STACK_REGISTER's, under valgrind

  char* top() const noexcept { return base + mapped; }
  char* bottom() const noexcept { return base + guard; }  // lowest usable byte
  std::size_t usable() const noexcept { return mapped - guard; }
  bool in_guard(const void* addr) const noexcept {
    auto* p = static_cast<const char*>(addr);
    return base != nullptr && p >= base && p < base + guard;
  }
  explicit operator bool() const noexcept { return base != nullptr; }
};

enum class GuardMethod { guard_install, mprotect };

class StackPool {
 public:
  StackPool(std::size_t default_size, std::size_t keep);
  ~StackPool();
  StackPool(const StackPool&) = delete;
  StackPool& operator=(const StackPool&) = delete;

  // A stack with at least `size` usable bytes (0: the default). Throws std::system_error.
  Stack acquire(std::size_t size = 0);
  void release(Stack s) noexcept;

  std::size_t default_size() const noexcept { return default_size_; }
  std::size_t cached() const noexcept { return free_.size(); }
  static GuardMethod guard_method() noexcept;
  static std::size_t guard_size() noexcept;

 private:
  std::size_t default_size_;
  std::size_t keep_;
  std::vector<Stack> free_;
};

// The program runs under valgrind (stack.cpp is the one user of its client requests).
bool running_on_valgrind() noexcept;

// GROVE_STACK_SIZE (bytes, or with a K/M suffix), else 128 KiB; rounded up to whole pages.
std::size_t default_stack_size() noexcept;

}  // namespace grove::detail
