// grove/debug.hpp — seeing inside a running program: which greenlets exist and what each waits for.
//
// A dump lists every greenlet of a hub, like Go's goroutine dump on SIGQUIT or gevent's
// print_run_info():
//
//   grove: 3 greenlets on the hub of thread 4242 ('server'), 1 running, 2 parked
//   greenlet 1 'main' [join of 'worker-3', parked 1.2 s]:
//       #0  0x7f…  grove::detail::switch_to(…) at lib/greenlet.cpp:81
//       …
//   greenlet 4 'worker-3' [read fd 7, parked 0.8 s, 4.2 s left]:
//       …
//
// with each parked greenlet's own stack: function names, and file:line where the program has
// debug information. How long a greenlet has waited is counted from the hub loop's last turn
// before it parked: exact to within the time greenlets ran between two turns of the loop
// (GROVE_MONITOR reports a hub held longer than you like).
//
// Without calling anything: GROVE_DUMP_SIGNAL=USR2 (or grove-run --dump-signal=USR2) dumps every
// hub of the process to stderr when the process receives that signal; the dump is made by each
// hub's loop, outside the signal handler, so the program is not disturbed.
#pragma once

#include <cstdio>
#include <string>

namespace grove {

// The calling thread's hub, written to `out` (one write; nothing if this thread has no hub).
void dump_greenlets(std::FILE* out = stderr);
// The same, as text.
std::string greenlet_dump();
// Every hub of the process, to stderr: the calling thread's now, every other hub at its loop's
// next turn (a hub held by a greenlet that never parks is dumped when it is let go).
void dump_all_hubs();

}  // namespace grove
