// lifecycle.cpp — a greenlet's life: spawn, run, finish, join, kill, free.
//
// References: the handle returned by spawn holds one, and the scheduler holds one from start()
// until the greenlet has finished (dropped in Hub::exit_current or when a not-yet-started greenlet
// is killed). The block is freed when the last one goes; if the greenlet ended with an exception
// nobody looked at, that is logged then, so it is never lost silently. Handles may be copied,
// dropped and used on any thread: the count is atomic, and a finished greenlet's block no longer
// refers to its hub (it leaves the hub's registry when it finishes), so it may outlive the hub.
//
// Across hubs. A greenlet runs only on its own hub, but its handle works from anywhere:
//
//   ready/get/error  read `join_state` (kJoinDone, release/acquire) and then the final result;
//   join             a joiner of the same hub waits in `joiners`, touched on that thread only;
//                    a joiner of another hub (or of a plain thread, which gets a hub of its own
//                    for the wait) sets kJoinRemoteWaiters and waits in `remote_joiners`, both
//                    under `remote_lock`. finish() sets kJoinDone with one atomic or, and only
//                    if it sees kJoinRemoteWaiters does it take the lock and wake that list.
//                    Either the joiner sees kJoinDone, or finish() sees the joiner's bit: the
//                    two or-operations on one word are ordered;
//   kill             from another thread, a message to the victim's hub (its embedded kill_msg,
//                    sent once: kJoinKillSent), which kills it there as a local kill would —
//                    GreenletExit where it is parked. It is sent under remote_lock, and finish()
//                    takes that lock when it sees kJoinKillSent, so the hub cannot finish the
//                    greenlet (and go away) while the message is being sent;
//   start            spawn_on (hub_group.cpp) sends the new greenlet's start_msg to its hub.
#include <algorithm>
#include <atomic>
#include <mutex>
#include <new>
#include <string>
#include <time.h>
#include <vector>

#include "grove/detail/waiters.hpp"
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
  // On another thread than the hub's (spawn_on), take an id of the global counter directly.
  g->id = hub == tl_ctx.hub ? hub->next_id() : Hub::id_elsewhere();
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
  g->hub->disown(g);
  const unsigned before = g->join_state.fetch_or(kJoinDone, std::memory_order_acq_rel);
  if (WaitNode* first = g->joiners.wake_one()) {
    if (first->g->state == State::ready) g->hub->make_ready_next(first->g);
  }
  g->joiners.wake_all();
  if (before & (kJoinRemoteWaiters | kJoinKillSent)) {
    Wakeups wk;  // delivered after the lock is released
    std::lock_guard lock(g->remote_lock);
    while (WaitNode* n = g->remote_joiners.claim_one()) wk.add(n);
  }
}

// On the greenlet's own hub: what kill() does there, without waiting.
void kill_here(GreenletCore* g) noexcept {
  if (g->state == State::dead) return;
  if (!g->started) {  // never ran: it never will
    g->hub->unqueue(g);
    g->hub->timers().cancel(&g->timer);
    g->killed = true;
    g->error_observed.store(true, std::memory_order_relaxed);
    fail_unstarted(g, std::make_exception_ptr(GreenletExit{}));
    return;
  }
  g->kill_pending = true;
  if (g->is_parked()) unpark(g, g->park_gen, Wake::killed);
}

void on_kill_message(InboxNode* n) noexcept {
  GreenletCore* g = static_cast<GreenletMessage*>(n)->g;
  kill_here(g);
  unref(g);  // the message's
}

void on_start_message(InboxNode* n) noexcept {
  GreenletCore* g = static_cast<GreenletMessage*>(n)->g;
  g->hub->adopt(g);
  g->hub->make_ready(g);
}

// From a thread that is not the greenlet's: have its hub kill it (see the top of the file).
void kill_from_elsewhere(GreenletCore* g) noexcept {
  std::lock_guard lock(g->remote_lock);
  const unsigned before = g->join_state.fetch_or(kJoinKillSent, std::memory_order_acq_rel);
  if (before & (kJoinDone | kJoinKillSent)) return;  // finished, or a kill is already on its way
  ref(g);
  g->kill_msg.g = g;
  g->kill_msg.run = on_kill_message;
  g->hub->send(&g->kill_msg);
}

// Puts `node` (the caller's, for its next park) on g's list of joiners: the local list when g
// belongs to `here`, the remote one otherwise. False if g has finished meanwhile.
bool add_joiner(GreenletCore* g, WaitNode& node, const Hub* here) {
  node.gen = node.g->park_gen;
  if (g->hub == here) {
    g->joiners.push_back(&node);
    return true;
  }
  share_park(node.g);
  std::lock_guard lock(g->remote_lock);
  if (g->join_state.fetch_or(kJoinRemoteWaiters, std::memory_order_acq_rel) & kJoinDone) return false;
  g->remote_joiners.push_back(&node);
  return true;
}

void remove_joiner(GreenletCore* g, WaitNode& node, const Hub* here) noexcept {
  if (g->hub == here) {
    g->joiners.remove(&node);
    return;
  }
  std::lock_guard lock(g->remote_lock);
  g->remote_joiners.remove(&node);
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
  return create_on(&Hub::get(), body_size, body_align, std::move(opts));
}

GreenletCore* create_on(Hub* hub, std::size_t body_size, std::size_t body_align, SpawnOptions&& opts) {
  GreenletCore* g = allocate(hub, body_size, body_align);
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
  g->refs.store(2, std::memory_order_relaxed);  // the handle's and the scheduler's; nobody else has it yet
  if (delay.count() > 0)
    hub->timers().insert(&g->timer, deadline_after(delay));
  else
    hub->make_ready(g);
}

void start_elsewhere(GreenletCore* g) noexcept {
  g->refs.store(2, std::memory_order_relaxed);
  g->start_msg.g = g;
  g->start_msg.run = on_start_message;
  g->hub->send(&g->start_msg);
}

void ref(GreenletCore* g) noexcept { g->refs.fetch_add(1, std::memory_order_relaxed); }

void unref(GreenletCore* g) noexcept {
  if (g->refs.fetch_sub(1, std::memory_order_acq_rel) == 1) release_core(g);
}

void release_core(GreenletCore* g) noexcept {
  if (g->error && !g->error_observed.load(std::memory_order_relaxed) && !g->killed)
    log::write(log::Level::error, "greenlet '%s' died with an exception nobody looked at: %s", g->name.c_str(),
               describe(g->error).c_str());
  if (g->body) g->body->~Body();
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

bool ready(const GreenletCore* g) noexcept { return g->done(); }

bool killed(const GreenletCore* g) noexcept { return g->killed; }

std::exception_ptr error(GreenletCore* g) noexcept {
  if (!g->done()) return nullptr;
  g->error_observed.store(true, std::memory_order_relaxed);
  return g->error;
}

const std::string& name(const GreenletCore* g) noexcept { return g->name; }
void set_name(GreenletCore* g, std::string n) { g->name = std::move(n); }
std::uint64_t id(const GreenletCore* g) noexcept { return g->id; }

GreenletCore* current() { return Hub::get().current(); }

bool join(GreenletCore* g, std::int64_t deadline_ns) {
  if (g->done()) return true;
  Hub& hub = Hub::get();
  if (g == hub.current()) throw UsageError("grove: greenlet '" + g->name + "' cannot join itself");
  WaitNode node = this_waiter();
  const bool here = g->hub == &hub;
  // Handoff (hub.cpp): joining a greenlet that has not started yet starts it next.
  if (here && !g->started && g->in_queue) hub.make_ready_next(g);
  for (;;) {
    if (!add_joiner(g, node, &hub)) return true;
    if (!here) hub.begin_shared_wait();  // woken from another thread: not "blocked forever"
    const Wake w = park(here ? "join" : "join (a greenlet of another hub)", deadline_ns, -1, false, g);
    if (!here) hub.end_shared_wait();
    remove_joiner(g, node, &hub);
    if (g->done()) return true;
    if (w == Wake::deadline) return false;
    raise_if_interrupted(w);
  }
}

void kill(GreenletCore* g, bool wait) {
  if (g->done()) return;
  Hub* hub = Hub::get_if();
  if (g->hub != hub) {
    kill_from_elsewhere(g);
  } else if (g == hub->current()) {
    g->kill_pending = true;
    throw GreenletExit{};
  } else {
    kill_here(g);
  }
  if (wait) join(g, kNever);
}

std::size_t wait_any(GreenletCore* const* gs, std::size_t n, std::int64_t deadline_ns) {
  for (std::size_t i = 0; i < n; ++i)
    if (gs[i]->done()) return i;
  Hub& hub = Hub::get();
  bool elsewhere = false;
  for (std::size_t i = 0; i < n; ++i) {
    if (gs[i] == hub.current()) throw UsageError("grove: wait_any on the calling greenlet itself");
    elsewhere = elsewhere || gs[i]->hub != &hub;
  }
  std::vector<WaitNode> nodes(n, this_waiter());
  std::size_t added = 0;
  while (added < n && add_joiner(gs[added], nodes[added], &hub)) ++added;
  Wake w = Wake::unparked;
  if (added == n) {  // else one has finished meanwhile: no need to park
    if (elsewhere) hub.begin_shared_wait();
    w = park("wait_any", deadline_ns);
    if (elsewhere) hub.end_shared_wait();
  }
  for (std::size_t i = 0; i < added; ++i) remove_joiner(gs[i], nodes[i], &hub);
  if (added < n && elsewhere) {
    // One finished before the park, but a greenlet of another hub added before it may have
    // claimed the park already, its wake-up then on its way here: close the park, or take it.
    GreenletCore* self = hub.current();
    if (claim(self, self->park_gen, Wake::unparked))
      end_park(self);
    else
      park("wait_any", kNever);
  }
  for (std::size_t i = 0; i < n; ++i)
    if (gs[i]->done()) return i;
  if (w != Wake::deadline) raise_if_interrupted(w);
  return n;
}

}  // namespace grove::detail
