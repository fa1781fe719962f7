// dump.hpp — the greenlet dump (dump.cpp) as the rest of lib/ uses it.
#pragma once

#include <cstdint>
#include <string>

namespace grove::detail {

class Hub;
struct GreenletCore;

// The dump of `hub` (see grove/debug.hpp). On the hub's own thread only. `why` goes into the
// heading ("on SIGUSR2"); may be null.
std::string dump_text(Hub& hub, const char* why);
// What g waits for, in words: "read fd 7, 1.5 s left", "join of 'worker-3'", "grove::Event::wait 0x…".
std::string describe_wait(const GreenletCore* g, std::int64_t now);
// Has every hub but the caller's dump itself to stderr at its loop's next turn; `why` must outlive
// the dumps (a string literal, a static). Returns how many hubs were asked. Any thread.
int post_dumps(const char* why);
// Writes text to stderr whole, never interleaved with a hub's dump.
void write_dump_text(const std::string& text);
// "1.5 s", "120 ms", "0.30 ms".
std::string format_duration(std::int64_t ns);

}  // namespace grove::detail
