// dump.cpp — every greenlet of a hub, with what it waits for and its stack (grove/debug.hpp).
//
// A dump is made on the hub's own thread, where nothing else runs meanwhile: the caller of
// dump_greenlets() is the one running greenlet (its stack is the caller's own), every other
// greenlet is switched out and has a saved context to unwind (backtrace.hpp). A dump asked for by
// a signal or by another thread is a callback posted to each hub, so it runs in the hub greenlet
// at the loop's next turn, when no greenlet of that hub runs at all. Nothing here may block or
// park: dumps run inside the hub.
//
// A park's words come from what it stored (waiter.hpp): its reason, fd, object and deadline. The
// reason of a park in a grove primitive has the form "Event::wait"; the dump names it in full
// ("grove::Event::wait") with the address of its wait list, so greenlets waiting on the same
// object can be told apart. A join's object is the joined greenlet: "join of 'worker-3'".
#include "dump.hpp"

#include <pthread.h>
#include <unistd.h>

#include <cinttypes>
#include <cstdio>
#include <cstring>
#include <mutex>

#include "backtrace.hpp"
#include "grove/debug.hpp"
#include "hub.hpp"
#include "timeout_scope.hpp"

namespace grove::detail {

namespace {

std::mutex g_output_mu;  // one hub's dump at a time on stderr

void write_out(std::FILE* out, const std::string& text) {
  std::lock_guard lock(g_output_mu);
  std::fwrite(text.data(), 1, text.size(), out);
  std::fflush(out);
}

bool starts_with(const char* s, const char* prefix) noexcept { return std::strncmp(s, prefix, std::strlen(prefix)) == 0; }

std::string hex(const void* p) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "0x%" PRIxPTR, reinterpret_cast<std::uintptr_t>(p));
  return buf;
}

std::string describe_state(const GreenletCore* g, const GreenletCore* running, std::int64_t now) {
  if (g == running) return "running";
  switch (g->state) {
    case State::parked:
      return describe_wait(g, now) + ", parked " + format_duration(now - g->park_since);
    case State::ready:
      if (!g->started) return "not started, ready";
      if (const Wake w = park_cause(g); w != Wake::none) return std::string("ready, woken: ") + to_string(w);
      return "ready";
    case State::created:
      if (g->timer.scheduled()) return "not started, starts in " + format_duration(g->timer.deadline - now);
      return "not started";
    case State::running: return "running";  // the root while the hub runs a posted dump
    case State::dead: return "finished";
  }
  return "?";
}

void dump_one(std::string& text, const GreenletCore* g, const GreenletCore* running, std::int64_t now) {
  text += "greenlet " + std::to_string(g->id) + " '" + g->name + "' [" + describe_state(g, running, now) + "]";
  backtrace::Trace trace;
  if (g == running) {
    backtrace::of_caller(trace);
  } else if (g->started && g->fctx && g->state != State::dead) {
    backtrace::of_saved_context(g->fctx, trace);
  }
  if (trace.n == 0) {
    text += "\n";
    return;
  }
  text += ":\n" + backtrace::describe(trace, "    ");
}

}  // namespace

void write_dump_text(const std::string& text) { write_out(stderr, text); }

std::string format_duration(std::int64_t ns) {
  char buf[32];
  if (ns < 0) ns = 0;
  if (ns < 10'000'000)
    std::snprintf(buf, sizeof buf, "%.2f ms", static_cast<double>(ns) / 1e6);
  else if (ns < 1'000'000'000)
    std::snprintf(buf, sizeof buf, "%.0f ms", static_cast<double>(ns) / 1e6);
  else if (ns < 100'000'000'000)
    std::snprintf(buf, sizeof buf, "%.1f s", static_cast<double>(ns) / 1e9);
  else
    std::snprintf(buf, sizeof buf, "%.0f s", static_cast<double>(ns) / 1e9);
  return buf;
}

std::string describe_wait(const GreenletCore* g, std::int64_t now) {
  const char* reason = g->wait_reason ? g->wait_reason : "?";
  std::string words;
  if (starts_with(reason, "join") && g->wait_object) {
    words = std::string("join of '") + static_cast<const GreenletCore*>(g->wait_object)->name + "'";
    if (reason[4] != '\0') words += std::string(reason + 4);  // " (uninterruptible)"
  } else {
    // "Event::wait" is a grove primitive's; a reason without "::" (read, sleep, poll) is a call's.
    if (std::strstr(reason, "::") && !starts_with(reason, "grove::")) words = "grove::";
    words += reason;
    if (g->wait_fd >= 0) {
      words += " fd ";
      words += std::to_string(g->wait_fd);
    }
    if (g->wait_object) {
      words += ' ';
      words += hex(g->wait_object);
    }
  }
  if (g->timer.scheduled()) {
    const std::int64_t left = g->timer.deadline - now;
    if (g->park_deadline != kNever && g->park_deadline <= g->timer.deadline)
      words += ", " + format_duration(left) + " left";
    else
      words += ", grove::Timeout in " + format_duration(left);
  }
  return words;
}

std::string dump_text(Hub& hub, const char* why) {
  const std::int64_t now = now_ns();
  const GreenletCore* running = hub.current();
  if (running->is_hub) running = nullptr;  // a posted dump: no greenlet of this hub runs

  std::size_t total = 1, parked = hub.root()->is_parked(), ready = 0;
  for (const GreenletCore* g = hub.first_greenlet(); g; g = g->all_next) {
    if (g->state == State::dead) continue;
    ++total;
    parked += g->is_parked();
    ready += g->state == State::ready;
  }
  char thread_name[32] = "";
  ::pthread_getname_np(::pthread_self(), thread_name, sizeof thread_name);
  char head[256];
  std::snprintf(head, sizeof head, "grove: %zu greenlet%s on the hub of thread %d ('%s')%s%s: %s%zu parked, %zu ready\n",
                total, total == 1 ? "" : "s", static_cast<int>(::gettid()), thread_name, why ? ", " : "",
                why ? why : "", running ? "1 running, " : "", parked, ready);
  std::string text = head;
  const char* why_not = nullptr;
  if (!backtrace::available(&why_not)) text += std::string("(no stacks: ") + why_not + ")\n";

  // main first, then the others from the oldest spawn (the registry keeps the newest first).
  dump_one(text, hub.root(), running, now);
  std::vector<const GreenletCore*> order;
  for (const GreenletCore* g = hub.first_greenlet(); g; g = g->all_next)
    if (g->state != State::dead) order.push_back(g);
  for (auto it = order.rbegin(); it != order.rend(); ++it) dump_one(text, *it, running, now);
  return text;
}

int post_dumps(const char* why) {
  struct Ctx {
    const char* why;
    Hub* self;
    int asked;
  } ctx{why, Hub::get_if(), 0};
  Hub::for_each_hub(
      [](Hub& h, void* arg) {
        auto* c = static_cast<Ctx*>(arg);
        if (&h == c->self) return;
        const char* reason = c->why;
        Hub* target = &h;
        try {
          h.post([target, reason] { write_out(stderr, dump_text(*target, reason)); });
          ++c->asked;
        } catch (...) {
          // Out of memory: this hub is left out of the dump.
        }
      },
      &ctx);
  return ctx.asked;
}

}  // namespace grove::detail

namespace grove {

std::string greenlet_dump() {
  detail::Hub* hub = detail::Hub::get_if();
  return hub ? detail::dump_text(*hub, nullptr) : std::string();
}

void dump_greenlets(std::FILE* out) {
  if (detail::Hub* hub = detail::Hub::get_if()) detail::write_out(out, detail::dump_text(*hub, nullptr));
}

void dump_all_hubs() {
  dump_greenlets(stderr);
  detail::post_dumps(nullptr);
}

}  // namespace grove
