// hub_group.cpp — grove::HubGroup: n threads with a hub each, spawn_on, and a clean shutdown.
//
// Each thread's own stack is its hub's root greenlet. It publishes the hub in its Slot, then
// parks (holding the hub "external", so an idle hub sleeps in epoll instead of reporting that
// nothing can ever wake it) while the greenlets spawned on it run. Everything another thread
// does to a hub goes through the hub's inbox while holding the slot's lock, and the hub thread
// takes that lock before it lets go of the hub, so nothing is ever sent to a hub that is gone:
//
//   spawn_on(i)   lock; refuse unless accepting; send the greenlet's start message; unlock
//   stop()        for each slot: lock; accepting = false; send the stop message; unlock
//   hub thread    on the stop message: kill every greenlet alive on the hub (GreenletExit where
//                 it is parked; one not yet started never runs), join them, repeat until none
//                 is left (a greenlet may spawn others while it unwinds); then lock, forget the
//                 hub, unlock, count itself off `running`, and return — the thread's context
//                 deletes the hub, which first waits for senders still inside Hub::send.
//   join()        waits on `running` (a grove::mt::WaitGroup: cooperative from a greenlet,
//                 blocking for a plain thread), then std::thread::join (the threads are at
//                 their very end by then).
//
// Spawn messages that were sent before stop() precede its stop message in the inbox, so the
// hub has adopted them when it starts killing: none is left behind.
#include "grove/hub_group.hpp"

#include <pthread.h>
#include <sched.h>

#include <atomic>
#include <condition_variable>
#include <cstring>
#include <mutex>
#include <string>
#include <system_error>
#include <thread>
#include <vector>

#include "assert.hpp"
#include "grove/errors.hpp"
#include "grove/wait_group.hpp"
#include "greenlet.hpp"
#include "hub.hpp"
#include "log.hpp"

namespace grove {

namespace detail {

namespace {

struct Slot;

struct StopMessage : InboxNode {
  Slot* slot = nullptr;
};

struct Slot {
  std::size_t index = 0;
  std::thread thread;
  SpinLock lock;                   // held while hub and accepting change, and around every send to the hub
  std::atomic<Hub*> hub{nullptr};  // while the thread serves
  bool accepting = false;  // spawn_on allowed
  StopMessage stop_msg;
  // The hub's thread only:
  bool stop_requested = false;
  WaitList idle;  // the root greenlet, waiting for the stop message
};

void on_stop_message(InboxNode* n) noexcept {
  Slot* s = static_cast<StopMessage*>(n)->slot;
  s->stop_requested = true;
  s->idle.wake_all();
}

// Kills what is alive on this hub and waits until nothing is, on the root greenlet.
void end_greenlets(Hub& hub, std::size_t index) noexcept {
  while (hub.live_greenlets() > 0) {
    std::vector<AnyGreenlet> alive;
    for (GreenletCore* g = hub.alive_list(); g; g = g->all_next) {
      ref(g);
      alive.push_back(AnyGreenlet::adopt(g));
    }
    try {
      for (const AnyGreenlet& g : alive) g.kill_nowait();
      for (const AnyGreenlet& g : alive) g.join();
    } catch (const BlockedForever& e) {
      // A greenlet caught GreenletExit and waits for something that never comes.
      log::write(log::Level::error, "HubGroup: hub %zu cannot end its greenlets (%s); its thread leaves them", index,
                 e.what());
      return;
    } catch (...) {
      log::write(log::Level::error, "HubGroup: hub %zu: unexpected error while ending its greenlets", index);
      return;
    }
  }
}

void pin_to(int cpu, std::size_t index) noexcept {
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(cpu, &set);
  if (int e = ::pthread_setaffinity_np(::pthread_self(), sizeof set, &set); e != 0)
    log::write(log::Level::warn, "HubGroup: cannot pin hub %zu to CPU %d: %s", index, cpu, std::strerror(e));
}

}  // namespace

class HubGroupState {
 public:
  explicit HubGroupState(std::size_t n, HubGroupOptions opts) : opts_(std::move(opts)), slots_(n) {
    for (std::size_t i = 0; i < n; ++i) {
      slots_[i].index = i;
      slots_[i].stop_msg.slot = &slots_[i];
      slots_[i].stop_msg.run = on_stop_message;
    }
  }

  std::size_t size() const noexcept { return slots_.size(); }
  Slot& slot(std::size_t i) {
    if (i >= slots_.size())
      throw UsageError("grove::HubGroup::spawn_on(" + std::to_string(i) + "): the group has " +
                       std::to_string(slots_.size()) + " hubs (0 to " + std::to_string(slots_.size() - 1) + ")");
    return slots_[i];
  }

  void start() {
    running_.add(slots_.size());
    std::size_t started = 0;
    try {
      for (; started < slots_.size(); ++started) {
        Slot& s = slots_[started];
        s.thread = std::thread([this, &s] { serve(s); });
      }
    } catch (...) {
      for (std::size_t i = started; i < slots_.size(); ++i) running_.done();  // never started
      stop();
      join();
      throw;
    }
    // Wait until every hub exists, so that spawn_on never finds one missing.
    std::unique_lock lock(ready_mu_);
    ready_cv_.wait(lock, [&] { return ready_ == slots_.size(); });
  }

  void stop() noexcept {
    if (stopping_.exchange(true, std::memory_order_acq_rel)) return;
    for (Slot& s : slots_) {
      std::lock_guard lock(s.lock);
      Hub* hub = s.hub.load(std::memory_order_relaxed);
      if (!hub) continue;  // already gone (or not started yet: it sees stopping_)
      s.accepting = false;
      hub->send(&s.stop_msg);
    }
  }

  bool stopped() const noexcept { return stopping_.load(std::memory_order_acquire); }

  void join() {
    if (current_index()) throw UsageError("grove::HubGroup::join on one of the group's own threads: it would wait for itself");
    running_.wait();
    std::lock_guard lock(join_mu_);
    for (Slot& s : slots_)
      if (s.thread.joinable()) s.thread.join();
  }

  std::optional<std::size_t> current_index() const noexcept {
    const Hub* here = tl_ctx.hub;
    if (!here) return std::nullopt;
    for (const Slot& s : slots_)
      if (s.hub.load(std::memory_order_relaxed) == here) return s.index;
    return std::nullopt;
  }

 private:
  void serve(Slot& s) noexcept {
    const std::string name = opts_.name + std::to_string(s.index);
    ::pthread_setname_np(::pthread_self(), name.substr(0, 15).c_str());
    if (!opts_.cpus.empty()) pin_to(opts_.cpus[s.index % opts_.cpus.size()], s.index);
    Hub* hub = nullptr;
    try {
      hub = &Hub::get();
    } catch (const std::exception& e) {
      GROVE_FATAL("HubGroup: hub %zu cannot start: %s", s.index, e.what());
    }
    {
      std::lock_guard lock(s.lock);
      s.hub.store(hub, std::memory_order_relaxed);
      s.accepting = !stopping_.load(std::memory_order_acquire);
      if (!s.accepting) s.stop_requested = true;  // stop() ran before this hub existed
    }
    {
      std::lock_guard lock(ready_mu_);
      ++ready_;
    }
    ready_cv_.notify_all();

    hub->hold_external();  // an idle hub sleeps, it is not "blocked forever"
    WaitNode node = this_waiter();
    while (!s.stop_requested) park_on(s.idle, node, "HubGroup: serving");
    hub->release_external();
    end_greenlets(*hub, s.index);
    {
      std::lock_guard lock(s.lock);
      s.hub.store(nullptr, std::memory_order_relaxed);
      s.accepting = false;
    }
    running_.done();
  }

  const HubGroupOptions opts_;
  std::vector<Slot> slots_;
  std::atomic<bool> stopping_{false};
  mt::WaitGroup running_;
  std::mutex ready_mu_;
  std::condition_variable ready_cv_;
  std::size_t ready_ = 0;
  std::mutex join_mu_;
};

GreenletCore* group_create(HubGroupState& st, std::size_t i, std::size_t body_size, std::size_t body_align,
                           SpawnOptions&& opts) {
  Slot& s = st.slot(i);
  Hub* hub;
  {
    std::lock_guard lock(s.lock);
    hub = s.accepting ? s.hub.load(std::memory_order_relaxed) : nullptr;
  }
  if (!hub) throw UsageError("grove::HubGroup::spawn_on(" + std::to_string(i) + ") after stop()");
  return create_on(hub, body_size, body_align, std::move(opts));  // only records the hub
}

void group_start(HubGroupState& st, std::size_t i, GreenletCore* g) {
  Slot& s = st.slot(i);
  std::unique_lock lock(s.lock);
  if (!s.accepting || s.hub.load(std::memory_order_relaxed) != g->hub) {
    lock.unlock();
    throw UsageError("grove::HubGroup::spawn_on(" + std::to_string(i) + ") after stop()");
  }
  if (g->hub == tl_ctx.hub)
    start(g, std::chrono::nanoseconds::zero());
  else
    start_elsewhere(g);
}

}  // namespace detail

HubGroup::HubGroup(std::size_t n, HubGroupOptions options) {
  if (n == 0) throw UsageError("grove::HubGroup of 0 hubs: give it at least one");
  state_ = std::make_unique<detail::HubGroupState>(n, std::move(options));
  state_->start();
}

HubGroup::~HubGroup() {
  if (!state_) return;
  state_->stop();
  state_->join();
}

std::size_t HubGroup::size() const noexcept { return state_->size(); }
std::optional<std::size_t> HubGroup::current_index() const noexcept { return state_->current_index(); }
void HubGroup::stop() noexcept { state_->stop(); }
bool HubGroup::stopped() const noexcept { return state_->stopped(); }
void HubGroup::join() { state_->join(); }

}  // namespace grove
