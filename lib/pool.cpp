// pool.cpp — Group and Pool: membership through greenlet-local records, slots through a Semaphore.
//
// A member is tracked by an entry in its greenlet-local table (local_table.hpp) whose destroy
// function runs as the member ends — after it returns or throws, when it is killed, and also
// when it is killed before it ever ran (lifecycle.cpp's fail_unstarted). That single exit path
// gives the slot back and wakes joiners, so no way of ending can leak a Pool slot. The group's
// state is shared with those records, so a Group destroyed before its members end is safe.
#include "grove/pool.hpp"

#include <cstdint>
#include <stdexcept>
#include <string>
#include <unordered_set>

#include "grove/detail/waiters.hpp"
#include "grove/semaphore.hpp"
#include "greenlet.hpp"
#include "hub.hpp"
#include "local_table.hpp"
#include "log.hpp"
#include "uninterruptible.hpp"

namespace grove {

namespace detail {

class GroupCore {
 public:
  explicit GroupCore(std::size_t limit) : limit(limit), slots(limit) {
    idle.set_owner_name("grove::Group (join)");
    available.set_owner_name("grove::Pool (wait_available)");
  }

  bool bounded() const noexcept { return limit != SIZE_MAX; }

  // A member has ended (runs on the ending greenlet, or on its killer if it never ran).
  void member_ended(GreenletCore* g) noexcept {
    members.erase(g);
    if (bounded()) {
      slots.release();  // to the longest-waiting spawner, if any
      available.wake_all();
    }
    if (members.empty()) idle.wake_all();
  }

  const std::size_t limit;
  const std::uint64_t key = new_local_key();
  Semaphore slots;  // free places in a Pool
  std::unordered_set<GreenletCore*> members;
  Waiters idle;       // join()
  Waiters available;  // wait_available()
};

namespace {

struct Membership {
  std::shared_ptr<GroupCore> group;
  GreenletCore* g;
  MemberObserver* observer;  // an imap waiting for its tasks, or null
};

void end_membership(void* p) noexcept {
  auto* m = static_cast<Membership*>(p);
  m->group->member_ended(m->g);
  if (m->observer) m->observer->member_ended(m->g);
  delete m;
}

}  // namespace

void reap(const std::vector<GreenletCore*>& gs) noexcept {
  for (GreenletCore* g : gs) {
    if (g->state == State::dead) continue;
    try {
      kill(g, false);
    } catch (...) {  // only for the caller itself, which is never in `gs`
    }
  }
  for (GreenletCore* g : gs)
    if (!join_uninterruptibly(g))
      log::write(log::Level::error,
                 "greenlet '%s' was killed but never ended (does it catch GreenletExit and block?); leaving it",
                 g->name.c_str());
}

std::size_t wait_first(const std::vector<GreenletCore*>& gs) {
  return wait_any(gs.data(), gs.size(), kNever);
}

void throw_task_killed(const AnyGreenlet& task, const char* op) {
  throw std::runtime_error("grove: a task of " + std::string(op) + " (greenlet '" + task.name() +
                           "') was killed before it returned a result");
}

}  // namespace detail

Group::Group() : Group(SIZE_MAX) {}

Group::Group(std::size_t limit) : core_(std::make_shared<detail::GroupCore>(limit)) {}

Group::~Group() = default;

std::size_t Group::limit() const noexcept { return core_->limit; }

std::size_t Group::size() const noexcept { return core_->members.size(); }

void Group::reserve_slot() {
  if (core_->bounded()) core_->slots.acquire();
}

void Group::unreserve_slot() noexcept {
  if (core_->bounded()) core_->slots.release();
}

void Group::adopt(detail::GreenletCore* g, detail::MemberObserver* observer) {
  auto* m = new detail::Membership{core_, g, observer};
  try {
    core_->members.insert(g);
    try {
      detail::add_local_to(g, core_->key, m, &detail::end_membership);
    } catch (...) {
      core_->members.erase(g);
      throw;
    }
  } catch (...) {
    delete m;
    detail::kill(g, false);  // not started yet: it will never run
    unreserve_slot();
    throw;
  }
}

namespace {

void check_not_member(const detail::GroupCore& core) {
  detail::GreenletCore* self = detail::current();
  if (core.members.count(self))
    throw UsageError("grove::Group::join called by its own member '" + self->name +
                     "'; it would wait for itself — join from outside the group");
}

}  // namespace

void Group::join() {
  check_not_member(*core_);
  while (!core_->members.empty()) core_->idle.park(nullptr, "Group::join");
}

bool Group::join(Duration timeout) {
  check_not_member(*core_);
  const std::int64_t deadline = detail::deadline_after(timeout);
  while (!core_->members.empty())
    if (!core_->idle.park(nullptr, "Group::join", deadline)) return core_->members.empty();
  return true;
}

void Group::kill() {
  detail::GreenletCore* self = detail::current();
  bool self_member = false;
  std::vector<AnyGreenlet> targets;
  for (detail::GreenletCore* g : core_->members) {
    if (g == self) {
      self_member = true;
      continue;
    }
    detail::ref(g);
    targets.push_back(AnyGreenlet::adopt(g));
  }
  for (auto& g : targets) g.kill_nowait();
  for (auto& g : targets) g.join();
  if (self_member) detail::kill(self, false);  // throws GreenletExit
}

Pool::Pool(std::size_t size) : Group(size) {
  if (size == 0 || size == SIZE_MAX)
    throw UsageError("grove::Pool: size " + std::to_string(size) +
                     " — a pool needs at least one slot (use grove::Group for no limit)");
}

std::size_t Pool::free_count() const noexcept { return core_->slots.available(); }

std::size_t Pool::wait_available() {
  while (free_count() == 0) core_->available.park(nullptr, "Pool::wait_available");
  return free_count();
}

std::size_t Pool::wait_available(Duration timeout) {
  const std::int64_t deadline = detail::deadline_after(timeout);
  while (free_count() == 0)
    if (!core_->available.park(nullptr, "Pool::wait_available", deadline)) return free_count();
  return free_count();
}

}  // namespace grove
