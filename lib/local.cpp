// local.cpp — per-greenlet storage behind grove::local<T>, and Group membership records.
//
// A greenlet's values hang off GreenletCore::locals as a small vector of (key, value, destroy)
// entries, created on the first value. Keys are never reused, so a value outlives the local
// object that made it without ever being mistaken for another's. lifecycle.cpp calls
// destroy_locals() as the greenlet ends (also when it is killed before it ever ran, which is how
// a Group learns that a member it never started has gone). The root and hub greenlets are never
// "ended" by lifecycle.cpp; their values live in a table of the thread's context (context.hpp),
// destroyed at thread exit before the hub.
#include "grove/local.hpp"

#include <atomic>
#include <utility>
#include <vector>

#include "greenlet.hpp"
#include "hub.hpp"
#include "local_table.hpp"

namespace grove::detail {

namespace {

std::atomic<std::uint64_t> g_next_key{1};

void destroy_root_table(void*) noexcept {
  while (auto* t = static_cast<LocalTable*>(std::exchange(tl_ctx.root_locals, nullptr))) destroy_table(t);
}

LocalTable* table_of(GreenletCore* g) noexcept {
  return g->is_root || g->is_hub ? static_cast<LocalTable*>(tl_ctx.root_locals) : static_cast<LocalTable*>(g->locals);
}

void set_table(GreenletCore* g, LocalTable* t) {
  if (g->is_root || g->is_hub) {
    if (t) at_thread_exit(destroy_root_table, nullptr);
    tl_ctx.root_locals = t;
  } else {
    g->locals = t;
  }
}

}  // namespace

void destroy_table(LocalTable* t) noexcept {
  if (!t) return;
  // Reverse order of creation: later values may refer to earlier ones.
  for (auto it = t->entries.rbegin(); it != t->entries.rend(); ++it) it->destroy(it->value);
  delete t;
}

void add_local_to(GreenletCore* g, std::uint64_t key, void* value, LocalDestroy destroy) {
  LocalTable* t = table_of(g);
  if (!t) {
    t = new LocalTable;
    set_table(g, t);
  }
  t->entries.push_back({key, value, destroy});
}

void destroy_locals(GreenletCore* g) noexcept {
  // A destructor that touches a grove::local again makes a new table: loop until none is left.
  while (LocalTable* t = table_of(g)) {
    set_table(g, nullptr);
    destroy_table(t);
  }
}

std::uint64_t new_local_key() noexcept { return g_next_key.fetch_add(1, std::memory_order_relaxed); }

void* find_local(std::uint64_t key) {
  const LocalTable* t = table_of(Hub::get().current());
  if (!t) return nullptr;
  for (const LocalEntry& e : t->entries)
    if (e.key == key) return e.value;
  return nullptr;
}

void add_local(std::uint64_t key, void* value, LocalDestroy destroy) {
  add_local_to(Hub::get().current(), key, value, destroy);
}

}  // namespace grove::detail
