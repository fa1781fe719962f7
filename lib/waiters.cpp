// waiters.cpp — detail::Waiters (the public headers' view of WaitList) and uninterruptible waits.
#include "assert.hpp"
#include "grove/detail/waiters.hpp"

#include <cstdio>
#include <cstdlib>
#include <new>
#include <string>
#include <utility>

#include "grove/errors.hpp"
#include "greenlet.hpp"
#include "hub.hpp"
#include "uninterruptible.hpp"
#include "waiter.hpp"

namespace grove::detail {

namespace {

static_assert(sizeof(WaitList) <= 3 * sizeof(void*) && alignof(WaitList) <= alignof(void*),
              "detail::Waiters::storage_ is too small for WaitList");

WaitList& list_of(std::byte* storage) noexcept { return *std::launder(reinterpret_cast<WaitList*>(storage)); }
const WaitList& list_of(const std::byte* storage) noexcept {
  return *std::launder(reinterpret_cast<const WaitList*>(storage));
}

}  // namespace

Wake park_on_uninterruptibly(WaitList& list, WaitNode& node, const char* reason, const void* object) {
  GreenletCore* self = node.g;
  SetAside aside(self);
  for (;;) {
    const Wake w = park_on(list, node, reason, INT64_MAX, -1, false, object);
    if (w == Wake::unparked || w == Wake::blocked_forever) return w;
    aside.note_kill();  // killed (or a stray cause): wait on
  }
}

bool join_uninterruptibly(GreenletCore* g) noexcept {
  if (g->state == State::dead) return true;
  WaitNode node = this_waiter();
  while (g->state != State::dead)
    if (park_on_uninterruptibly(g->joiners, node, "join (uninterruptible)", g) == Wake::blocked_forever) return false;
  return true;
}

Waiters::Waiters() noexcept { new (storage_) WaitList; }

Waiters::~Waiters() {
  WaitList& list = list_of(storage_);
  if (!list.empty()) {
    const WaitNode* n = list.front();
    GROVE_FATAL("%s destroyed while %zu greenlet(s) wait on it (first: '%s' in '%s'); wake or kill and join them "
                "before the %s goes out of scope",
                owner_, list.size(), n->g->name.c_str(), n->g->wait_reason ? n->g->wait_reason : "?", owner_);
  }
  list.~WaitList();
}

bool Waiters::empty() const noexcept { return list_of(storage_).empty(); }
std::size_t Waiters::size() const noexcept { return list_of(storage_).size(); }

bool Waiters::park(void* slot, const char* reason, std::int64_t deadline_ns, const void* object) {
  WaitNode node = this_waiter();
  node.data = slot;
  const Wake w = park_on(list_of(storage_), node, reason, deadline_ns, -1, false, object ? object : this);
  switch (w) {
    case Wake::unparked: return true;
    case Wake::deadline: return false;
    default:
      raise_if_interrupted(w);
      throw UsageError(std::string("grove: greenlet '") + node.g->name + "' woken by '" + to_string(w) +
                       "' while waiting in '" + reason + "'");
  }
}

bool Waiters::park_uninterruptibly(void* slot, const char* reason) {
  WaitNode node = this_waiter();
  node.data = slot;
  return park_on_uninterruptibly(list_of(storage_), node, reason, this) == Wake::unparked;
}

bool Waiters::wake_one(void** slot) noexcept {
  WaitNode* n = list_of(storage_).wake_one();
  if (!n) return false;
  if (slot) *slot = n->data;
  return true;
}

std::size_t Waiters::wake_all() noexcept { return list_of(storage_).wake_all(); }

}  // namespace grove::detail
