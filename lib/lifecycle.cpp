// lifecycle.cpp — a greenlet's life: spawn, run, finish, join, kill, free.
//
// References: the handle returned by spawn holds one, and the scheduler holds one from start()
// until the greenlet has finished (dropped in Hub::exit_current or when a not-yet-started greenlet
// is killed). The block is freed when the last one goes; if the greenlet ended with an exception
// nobody looked at, that is logged then, so it is never lost silently.
#include <algorithm>
#include <new>
#include <string>
#include <time.h>

#include "grove/errors.hpp"
#include "greenlet.hpp"
#include "hub.hpp"
#include "log.hpp"

namespace grove::detail {

namespace {

std::size_t block_align(std::size_t body_align) noexcept {
  return std::max({alignof(GreenletCore), body_align, std::size_t{__STDCPP_DEFAULT_NEW_ALIGNMENT__}});
}

std::size_t body_offset(std::size_t align) noexcept { return (sizeof(GreenletCore) + align - 1) / align * align; }

GreenletCore* allocate(Hub* hub, std::size_t body_size, std::size_t body_align) {
  const std::size_t align = block_align(body_align);
  void* mem = ::operator new(body_offset(align) + body_size, std::align_val_t{align});
  auto* g = new (mem) GreenletCore;
  g->alloc_align = align;
  g->hub = hub;
  g->timer.owner = g;
  g->id = hub->next_id();
  return g;
}

void deallocate(GreenletCore* g) noexcept {
  const std::size_t align = g->alloc_align;
  g->~GreenletCore();
  ::operator delete(static_cast<void*>(g), std::align_val_t{align});
}

std::string describe(const std::exception_ptr& e) {
  try {
    std::rethrow_exception(e);
  } catch (const std::exception& ex) {
    return ex.what();
  } catch (const GreenletExit& ex) {
    return ex.what();
  } catch (...) {
    return "an exception not derived from std::exception";
  }
}

// The greenlet is done: wake whoever joins it. The first joiner runs next (handoff, hub.cpp):
// it is the one waiting for this result, and its stack is likely still warm in the cache.
void finish(GreenletCore* g) noexcept {
  g->state = State::dead;
  if (WaitNode* first = g->joiners.wake_one()) {
    if (first->g->state == State::ready) g->hub->make_ready_next(first->g);
  }
  g->joiners.wake_all();
}

}  // namespace

std::int64_t now_ns() noexcept {
  timespec ts;
  ::clock_gettime(CLOCK_MONOTONIC, &ts);
  return std::int64_t{ts.tv_sec} * 1'000'000'000 + ts.tv_nsec;
}

std::int64_t deadline_after(std::chrono::nanoseconds d) noexcept {
  const std::int64_t now = now_ns();
  const std::int64_t n = d.count();
  if (n <= 0) return now;
  return n > kNever - now ? kNever : now + n;
}

GreenletCore* make_root(Hub* hub) {
  learn_thread_state(hub);
  GreenletCore* g = allocate(hub, 0, 1);
  g->is_root = true;
  g->started = true;
  g->state = State::running;
  g->name = "main";
  return g;
}

GreenletCore* make_hub_greenlet(Hub* hub) {
  GreenletCore* g = allocate(hub, 0, 1);
  g->is_hub = true;
  g->name = "hub";
  prepare_context(g);
  return g;
}

GreenletCore* create(std::size_t body_size, std::size_t body_align, SpawnOptions&& opts) {
  Hub& hub = Hub::get();
  GreenletCore* g = allocate(&hub, body_size, body_align);
  g->stack_size = opts.stack_size;
  g->name = opts.name.empty() ? "greenlet-" + std::to_string(g->id) : std::move(opts.name);
  return g;
}

void* body_storage(GreenletCore* g) noexcept {
  return reinterpret_cast<char*>(g) + body_offset(g->alloc_align);
}

void attach(GreenletCore* g, Body* b) noexcept { g->body = b; }

void discard(GreenletCore* g) noexcept { deallocate(g); }

void start(GreenletCore* g, std::chrono::nanoseconds delay) {
  Hub* hub = g->hub;
  hub->adopt(g);
  ++g->refs;  // the scheduler's
  if (delay.count() > 0)
    hub->timers().insert(&g->timer, deadline_after(delay));
  else
    hub->make_ready(g);
}

void ref(GreenletCore* g) noexcept { ++g->refs; }

void unref(GreenletCore* g) noexcept {
  if (--g->refs == 0) release_core(g);
}

void release_core(GreenletCore* g) noexcept {
  if (g->error && !g->error_observed && !g->killed)
    log::write(log::Level::error, "greenlet '%s' died with an exception nobody looked at: %s", g->name.c_str(),
               describe(g->error).c_str());
  if (g->body) g->body->~Body();
  if (!g->is_root && !g->is_hub) g->hub->disown(g);
  deallocate(g);
}

Body* body(GreenletCore* g) noexcept { return g->body; }

void run_and_exit(GreenletCore* g) noexcept {
  try {
    g->body->run();
  } catch (const GreenletExit&) {
    g->killed = true;
    g->error = std::current_exception();
  } catch (...) {
    g->error = std::current_exception();
  }
  destroy_locals(g);
  finish(g);
  g->hub->exit_current();
}

void fail_unstarted(GreenletCore* g, std::exception_ptr e) noexcept {
  g->error = std::move(e);
  destroy_locals(g);
  finish(g);
  unref(g);  // the scheduler's
}

bool ready(const GreenletCore* g) noexcept { return g->state == State::dead; }

bool killed(const GreenletCore* g) noexcept { return g->killed; }

std::exception_ptr error(GreenletCore* g) noexcept {
  if (g->state != State::dead) return nullptr;
  g->error_observed = true;
  return g->error;
}

const std::string& name(const GreenletCore* g) noexcept { return g->name; }
void set_name(GreenletCore* g, std::string n) { g->name = std::move(n); }
std::uint64_t id(const GreenletCore* g) noexcept { return g->id; }

GreenletCore* current() { return Hub::get().current(); }

namespace {

Hub& same_thread_hub(const GreenletCore* g, const char* what) {
  Hub& hub = Hub::get();
  if (g->hub != &hub)
    throw UsageError(std::string("grove: ") + what + " of greenlet '" + g->name +
                     "' from another thread; greenlets belong to the thread that spawned them");
  return hub;
}

}  // namespace

bool join(GreenletCore* g, std::int64_t deadline_ns) {
  if (g->state == State::dead) return true;
  Hub& hub = same_thread_hub(g, "join");
  if (g == hub.current()) throw UsageError("grove: greenlet '" + g->name + "' cannot join itself");
  WaitNode node = this_waiter();
  // Handoff (hub.cpp): joining a greenlet that has not started yet starts it next.
  if (!g->started && g->in_queue) hub.make_ready_next(g);
  for (;;) {
    Wake w = park_on(g->joiners, node, "join", deadline_ns, -1, false, g);
    if (g->state == State::dead) return true;
    if (w == Wake::deadline) return false;
    raise_if_interrupted(w);
  }
}

void kill(GreenletCore* g, bool wait) {
  if (g->state == State::dead) return;
  Hub& hub = same_thread_hub(g, "kill");
  if (g == hub.current()) {
    g->kill_pending = true;
    throw GreenletExit{};
  }
  if (!g->started) {  // never ran: it never will
    hub.unqueue(g);
    hub.timers().cancel(&g->timer);
    g->killed = true;
    g->error_observed = true;
    fail_unstarted(g, std::make_exception_ptr(GreenletExit{}));
    return;
  }
  g->kill_pending = true;
  if (g->is_parked()) unpark(g, g->park_gen, Wake::killed);
  if (wait) join(g, kNever);
}

std::size_t wait_any(GreenletCore* const* gs, std::size_t n, std::int64_t deadline_ns) {
  for (std::size_t i = 0; i < n; ++i)
    if (gs[i]->state == State::dead) return i;
  Hub& hub = Hub::get();
  for (std::size_t i = 0; i < n; ++i) {
    same_thread_hub(gs[i], "wait_any");
    if (gs[i] == hub.current()) throw UsageError("grove: wait_any on the calling greenlet itself");
  }
  std::vector<WaitNode> nodes(n, this_waiter());
  for (std::size_t i = 0; i < n; ++i) gs[i]->joiners.push_back(&nodes[i]);
  Wake w = park("wait_any", deadline_ns);
  for (std::size_t i = 0; i < n; ++i) gs[i]->joiners.remove(&nodes[i]);
  for (std::size_t i = 0; i < n; ++i)
    if (gs[i]->state == State::dead) return i;
  if (w != Wake::deadline) raise_if_interrupted(w);
  return n;
}

}  // namespace grove::detail
