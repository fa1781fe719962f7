// backtrace.hpp — the stack of a greenlet as a list of frames, and its frames in words.
//
// backtrace.cpp is the only user of libunwind and of Boost.Stacktrace. Three ways in:
//   - of_saved_context: a greenlet that is switched out (parked, ready, or the root while another
//     greenlet runs), unwound from the registers Boost.Context saved on its stack, without
//     resuming it;
//   - of_caller: the code that calls it;
//   - of_signal: the code a signal interrupted, from the handler's ucontext; async-signal-safe
//     (grove's monitor samples a greenlet that holds its hub this way).
// Frames are program counters; describe() turns them into function names, and file:line where
// debug information exists — outside any signal handler.
#pragma once

#include <cstdint>
#include <string>

namespace grove::detail::backtrace {

inline constexpr int kMaxFrames = 48;

struct Trace {
  std::uintptr_t pc[kMaxFrames];
  int n = 0;
  bool first_exact = false;  // pc[0] is the interrupted instruction itself (of_signal), not a return address
  bool truncated = false;    // the stack goes deeper than kMaxFrames
};

// Whether stacks can be unwound here (libunwind is loaded on first use); if not, *why says why.
// Call it once outside signal handlers before relying on of_signal.
bool available(const char** why = nullptr) noexcept;

// `fctx` is GreenletCore::fctx of a greenlet that is not running: Boost.Context's saved context.
void of_saved_context(const void* fctx, Trace& out) noexcept;
void of_caller(Trace& out) noexcept;
void of_signal(void* ucontext, Trace& out) noexcept;

// One line per frame: `indent`#N 0x… function at file:line (or function+offset in library).
std::string describe(const Trace& t, const char* indent);

}  // namespace grove::detail::backtrace
