// offload.cpp — the offload thread pool and the cooperative wait for its results.
//
// Protocol, step by step (the API contract is in include/grove/offload.hpp):
//
//   1. The caller (a greenlet on hub H) wraps the job in a Pending record on the heap, shared
//      by itself and the pool, calls H.hold_external() so H does not declare "would block
//      forever" while it waits for another thread, queues the record and parks.
//   2. A worker runs the job, then sends the record itself to H's inbox through the thread's
//      HubLink (Hub::send: no allocation, and H's eventfd is written only if H is asleep).
//   3. On H's thread the callback marks the record finished, calls release_external() — once
//      per job, whatever happened to the caller — and unparks the caller if it is still there.
//   4. A caller woken by a kill or a Timeout first clears `waiter` and leaves. The record
//      outlives it (the callback owns a reference), so step 3 touches only heap memory that is
//      still alive, never the departed caller's stack or GreenletCore.
//
// Every field of Pending except `job` and `keep` is touched on H's thread only; the worker hands
// the record back through H's inbox, whose release/acquire orders the job's writes before the
// caller's reads.
//
// Thread exit: a hub is deleted when its thread exits. A job still running then must not post
// to it: the HubLink's pointer is cleared (under its mutex) by a teardown of the thread's
// context, which runs before the hub is deleted (context.hpp), and a worker that finds it cleared
// drops the completion.
//
// Workers are created on demand while jobs wait and fewer than the maximum exist, and then live
// for the rest of the process (idle ones cost a parked thread each). The pool object is never
// destroyed so that detached workers cannot outlive it at process exit.
#include "assert.hpp"
#include "grove/offload.hpp"

#include <algorithm>
#include <csignal>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <mutex>
#include <new>
#include <pthread.h>
#include <string>
#include <system_error>
#include <thread>

#include "grove/errors.hpp"
#include "greenlet.hpp"
#include "hub.hpp"
#include "log.hpp"
#include "timeout_scope.hpp"

namespace grove {

namespace detail {

namespace {

constexpr std::size_t kDefaultThreads = 8;
constexpr std::size_t kMaxThreads = 1024;

struct HubLink {
  std::mutex mu;
  Hub* hub = nullptr;  // null once the hub's thread is exiting
};

struct Pending : InboxNode {
  std::shared_ptr<OffloadJob> job;
  std::shared_ptr<HubLink> link;
  std::shared_ptr<Pending> keep;  // the worker's reference, while the record is in H's inbox
  // Hub thread only:
  bool finished = false;
  GreenletCore* waiter = nullptr;  // null once the caller has left (finished or interrupted)
  std::uint64_t gen = 0;
};

// The thread's link lives in its context as a heap-held shared_ptr, released at thread exit.
void close_link(void* p) noexcept {
  auto* link = static_cast<std::shared_ptr<HubLink>*>(p);
  {
    std::lock_guard lock((*link)->mu);
    (*link)->hub = nullptr;
  }
  tl_ctx.offload_link = nullptr;
  delete link;
}

std::shared_ptr<HubLink> this_thread_link(Hub& hub) {
  if (!tl_ctx.offload_link) {
    auto link = std::make_unique<std::shared_ptr<HubLink>>(std::make_shared<HubLink>());
    (*link)->hub = &hub;
    at_thread_exit(close_link, link.get());
    tl_ctx.offload_link = link.release();
  }
  return *static_cast<std::shared_ptr<HubLink>*>(tl_ctx.offload_link);
}

std::size_t read_max_threads() noexcept {
  const char* env = std::getenv("GROVE_OFFLOAD_THREADS");
  if (!env || !*env) return kDefaultThreads;
  char* end = nullptr;
  const unsigned long n = std::strtoul(env, &end, 10);
  if (*end != '\0' || n == 0) {
    log::write(log::Level::warn, "GROVE_OFFLOAD_THREADS='%s' is not a positive number; using %zu", env,
               kDefaultThreads);
    return kDefaultThreads;
  }
  return std::min<std::size_t>(n, kMaxThreads);
}

// On the caller's hub thread: the job has run.
void on_complete(Pending& p) noexcept {
  p.finished = true;
  if (Hub* hub = Hub::get_if()) hub->release_external();
  if (p.waiter) unpark(p.waiter, p.gen, Wake::unparked);
}

class WorkerPool {
 public:
  WorkerPool() : max_(read_max_threads()) {}

  void submit(std::shared_ptr<Pending> p) {
    std::unique_lock lock(mu_);
    jobs_.push_back(std::move(p));
    if (jobs_.size() > idle_ && threads_ < max_) {
      try {
        OwnThreadStart own;  // grove's thread: never a green thread
        std::thread([this] { work(); }).detach();
        ++threads_;
      } catch (const std::system_error& e) {
        if (threads_ == 0) {  // nobody could ever run it
          jobs_.pop_back();
          throw std::system_error(e.code(), "grove::offload: cannot start a worker thread");
        }
        GROVE_LOG(warn, "offload: cannot start another worker (%s); %zu keep working", e.what(), threads_);
      }
    }
    lock.unlock();
    cv_.notify_one();
  }

  std::size_t max() const noexcept { return max_; }

  // In the child of fork(): none of the workers exist there. Forget them and the jobs they had
  // (their callers are other threads of the parent, which do not exist either), with fresh locks.
  void after_fork_in_child() noexcept {
    new (&mu_) std::mutex;
    new (&cv_) std::condition_variable;
    new (&jobs_) std::deque<std::shared_ptr<Pending>>;  // the old one's memory is the parent's copy: leaked
    threads_ = 0;
    idle_ = 0;
  }
  std::size_t threads() noexcept {
    std::lock_guard lock(mu_);
    return threads_;
  }

 private:
  [[noreturn]] void work() noexcept {
    // The program's signals are not for grove's threads: a handler running here would interrupt
    // nothing the program waits in, and a process-directed signal must reach the program's own.
    sigset_t all;
    sigfillset(&all);
    ::pthread_sigmask(SIG_BLOCK, &all, nullptr);
    for (;;) {
      std::shared_ptr<Pending> p;
      {
        std::unique_lock lock(mu_);
        ++idle_;
        cv_.wait(lock, [this] { return !jobs_.empty(); });
        --idle_;
        p = std::move(jobs_.front());
        jobs_.pop_front();
      }
      p->job->run();
      complete(std::move(p));
    }
  }

  static void complete(std::shared_ptr<Pending> p) noexcept {
    std::shared_ptr<HubLink> link = p->link;
    std::lock_guard lock(link->mu);
    if (!link->hub) return;  // the caller's thread has exited; the result is dropped here
    Pending* raw = p.get();
    raw->keep = std::move(p);
    raw->run = [](InboxNode* n) {
      std::shared_ptr<Pending> self = std::move(static_cast<Pending*>(n)->keep);
      on_complete(*self);
    };
    link->hub->send(raw);
  }

  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::shared_ptr<Pending>> jobs_;
  std::size_t threads_ = 0;
  std::size_t idle_ = 0;
  const std::size_t max_;
};

WorkerPool*& pool_slot() noexcept {
  static WorkerPool* p = nullptr;
  return p;
}

WorkerPool& pool() {
  static WorkerPool* p = [] {
    auto* made = new WorkerPool;  // never destroyed: detached workers use it until exit
    pool_slot() = made;
    ::pthread_atfork(nullptr, nullptr, [] {
      if (WorkerPool* w = pool_slot()) w->after_fork_in_child();
      // The forking thread's link: a worker of the parent may have held its lock at fork time.
      if (auto* link = static_cast<std::shared_ptr<HubLink>*>(tl_ctx.offload_link)) new (&(*link)->mu) std::mutex;
    });
    return made;
  }();
  return *p;
}

}  // namespace

void offload_wait(std::shared_ptr<OffloadJob> job) {
  Hub& hub = Hub::get();
  GreenletCore* self = hub.current();
  // Interrupted already: do not start work whose result nobody would take.
  if (self->kill_pending) throw GreenletExit{};
  if (const std::int64_t scope = scope_deadline(self); scope != kNever && now_ns() >= scope)
    throw_scope_timeout(self);

  auto p = std::make_shared<Pending>();
  p->job = std::move(job);
  p->link = this_thread_link(hub);
  hub.hold_external();
  try {
    pool().submit(p);
  } catch (...) {
    hub.release_external();
    throw;
  }
  p->waiter = self;
  for (;;) {
    p->gen = self->park_gen;
    const Wake w = park("offload");
    // A result that arrived is the caller's even if a kill came too: the kill is delivered at
    // its next blocking call, as for every hand-over (waiter.hpp).
    if (p->finished) break;
    if (w == Wake::unparked) continue;  // not ours (cannot happen: only on_complete unparks)
    p->waiter = nullptr;  // abandon: on_complete will only count the job off and drop it
    raise_if_interrupted(w);
    throw UsageError("grove::offload: greenlet '" + self->name + "' woken by '" + to_string(w) +
                     "' while waiting for an offloaded call");
  }
  p->waiter = nullptr;
}

}  // namespace detail

std::size_t offload_max_threads() noexcept { return detail::pool().max(); }
std::size_t offload_threads() noexcept { return detail::pool().threads(); }

}  // namespace grove
