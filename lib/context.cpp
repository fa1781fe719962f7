#include "context.hpp"

#include "assert.hpp"
#include "hub.hpp"
#include "log.hpp"

namespace grove::detail {

thread_local constinit ThreadContext tl_ctx __attribute__((tls_model("initial-exec"))) = {};

namespace {

// Runs the teardowns at thread exit (a thread_local with a destructor, constructed on the first
// registration), then deletes the hub — unless greenlets other than the root are still alive:
// their stacks cannot be unwound safely, so then the hub is left to the OS.
struct Teardowns {
  struct Entry {
    void (*fn)(void*);
    void* arg;
  };
  static constexpr int kMax = 16;
  Entry entries[kMax];
  int n = 0;

  ~Teardowns() {
    while (n > 0) {
      const Entry e = entries[--n];
      e.fn(e.arg);
    }
    Hub* h = tl_ctx.hub;
    if (!h) return;
    tl_ctx.hub = nullptr;
    if (h->live_greenlets() == 0 && h->current() == h->root()) {
      delete h;
    } else {
      GROVE_LOG(debug, "thread exits with %zu greenlets alive; leaving their memory to the OS", h->live_greenlets());
    }
  }
};
thread_local Teardowns tl_teardowns;

}  // namespace

void at_thread_exit(void (*fn)(void*), void* arg) {
  for (int i = 0; i < tl_teardowns.n; ++i)
    if (tl_teardowns.entries[i].fn == fn && tl_teardowns.entries[i].arg == arg) return;
  GROVE_ASSERT(tl_teardowns.n < Teardowns::kMax, "more than %d per-thread teardowns", Teardowns::kMax);
  tl_teardowns.entries[tl_teardowns.n++] = {fn, arg};
}

// The hub registers nothing itself but must be deleted at exit: make sure the destructor above
// exists for every thread that has a hub.
void own_hub_at_thread_exit() noexcept { (void)&tl_teardowns; }

}  // namespace grove::detail
