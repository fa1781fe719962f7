// startup.cpp — what the interposer does when it is loaded, after the originals are resolved.
//
// By default nothing: a thread's hooks act once the thread has a hub, which its first grove call
// creates (a program linked with grove), and a thread that never makes one keeps libc's calls.
// GROVE_MAIN_HUB=1 gives the main thread its hub right away, so that an unmodified program's
// blocking calls go through grove's cooperative paths from the start — what green threads build
// on, and how the tests run unmodified programs through those paths.
#include <cstdio>
#include <cstring>

#include "hook.hpp"

namespace {

__attribute__((constructor(102))) void start() {
  using namespace grove::interpose;
  if (!real::main_hub) return;
  if (const int r = grove::nothrow::start_hub(); r < 0)
    std::fprintf(stderr, "grove: GROVE_MAIN_HUB: cannot start the main thread's hub: %s; its calls go to libc\n",
                 std::strerror(-r));
}

}  // namespace
