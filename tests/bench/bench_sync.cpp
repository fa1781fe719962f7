// Synchronisation primitives next to P1's plain yield, in one binary so the ratios are
// side by side: what a hand-over through a Queue, a Channel or an Event costs on top of the
// context switch it implies, and what Pool::map costs per task.
//
//   BM_yield               one grove::yield between two greenlets      (ns_per_switch)
//   BM_queue_round_trip    A puts to q1, B gets and puts to q2, A gets (ns_per_handover: 2/iter)
//   BM_channel_round_trip  the same through two rendezvous Channels
//   BM_event_ping_pong     A sets e1 and waits e2, B the reverse        (ns_per_handover: 2/iter)
//   BM_queue_put_get_local put + get by one greenlet, no switch         (the data-structure cost)
//   BM_mutex_lock_unlock   lock + unlock, uncontended                   (ns_per_lock)
//   BM_semaphore_acquire_release  acquire + release, a permit free      (ns_per_acquire)
//   BM_pool_map            Pool(size).map over 100k tiny tasks         (ns_per_task)
//
// The BM_mt_* twins run the same on one hub with the grove::mt types (issue 11): what thread
// safety would cost every single-hub user if the plain types were made thread-safe. They build
// only where grove::mt exists, so the rest of this file still builds against older trees for
// before/after comparisons.
#include <benchmark/benchmark.h>

#include <grove/grove.hpp>

#include <mutex>
#include <numeric>
#include <vector>

#if __has_include(<grove/hub_group.hpp>)
#define GROVE_BENCH_MT 1
#endif

namespace {

void per(benchmark::State& state, const char* name, double per_iteration) {
  state.counters[name] = benchmark::Counter(static_cast<double>(state.iterations()) * per_iteration * 1e-9,
                                            benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
}

void BM_yield(benchmark::State& state) {
  bool done = false;
  auto b = grove::spawn([&done] {
    while (!done) grove::yield();
  });
  auto a = grove::spawn([&] {
    for (auto _ : state) grove::yield();
    done = true;
  });
  a.get();
  b.get();
  per(state, "ns_per_switch", 2);
}
BENCHMARK(BM_yield);

template <class Q>
void round_trip(benchmark::State& state, Q& there, Q& back) {
  auto echo = grove::spawn([&] {
    for (int v : there) back.put(v);
  });
  auto driver = grove::spawn([&] {
    int i = 0;
    for (auto _ : state) {
      there.put(i++);
      benchmark::DoNotOptimize(back.get());
    }
    there.close();
  });
  driver.get();
  echo.get();
  per(state, "ns_per_handover", 2);
}

void BM_queue_round_trip(benchmark::State& state) {
  grove::Queue<int> there(16), back(16);
  round_trip(state, there, back);
}
BENCHMARK(BM_queue_round_trip);

void BM_channel_round_trip(benchmark::State& state) {
  grove::Channel<int> there, back;
  round_trip(state, there, back);
}
BENCHMARK(BM_channel_round_trip);

template <class E>
void event_ping_pong(benchmark::State& state) {
  E ping, pong;
  bool done = false;
  auto b = grove::spawn([&] {
    for (;;) {
      ping.wait();
      ping.clear();
      if (done) return;
      pong.set();
    }
  });
  auto a = grove::spawn([&] {
    for (auto _ : state) {
      ping.set();
      pong.wait();
      pong.clear();
    }
    done = true;
    ping.set();
  });
  a.get();
  b.get();
  per(state, "ns_per_handover", 2);
}
void BM_event_ping_pong(benchmark::State& state) { event_ping_pong<grove::Event>(state); }
BENCHMARK(BM_event_ping_pong);

void BM_queue_put_get_local(benchmark::State& state) {
  grove::Queue<int> q;
  int i = 0;
  for (auto _ : state) {
    q.put(i++);
    benchmark::DoNotOptimize(q.get());
  }
  per(state, "ns_per_put_get", 1);
}
BENCHMARK(BM_queue_put_get_local);

template <class M>
void mutex_lock_unlock(benchmark::State& state) {
  M m;
  auto g = grove::spawn([&] {
    for (auto _ : state) {
      m.lock();
      m.unlock();
    }
  });
  g.get();
  per(state, "ns_per_lock", 1);
}
void BM_mutex_lock_unlock(benchmark::State& state) { mutex_lock_unlock<grove::Mutex>(state); }
BENCHMARK(BM_mutex_lock_unlock);

template <class S>
void semaphore_acquire_release(benchmark::State& state) {
  S s(1);
  for (auto _ : state) {
    s.acquire();
    s.release();
  }
  per(state, "ns_per_acquire", 1);
}
void BM_semaphore_acquire_release(benchmark::State& state) { semaphore_acquire_release<grove::Semaphore>(state); }
BENCHMARK(BM_semaphore_acquire_release);

#if GROVE_BENCH_MT
void BM_mt_queue_round_trip(benchmark::State& state) {
  grove::mt::Queue<int> there(16), back(16);
  round_trip(state, there, back);
}
BENCHMARK(BM_mt_queue_round_trip);

void BM_mt_channel_round_trip(benchmark::State& state) {
  grove::mt::Channel<int> there, back;
  round_trip(state, there, back);
}
BENCHMARK(BM_mt_channel_round_trip);

void BM_mt_event_ping_pong(benchmark::State& state) { event_ping_pong<grove::mt::Event>(state); }
BENCHMARK(BM_mt_event_ping_pong);

void BM_mt_queue_put_get_local(benchmark::State& state) {
  grove::mt::Queue<int> q;
  int i = 0;
  for (auto _ : state) {
    q.put(i++);
    benchmark::DoNotOptimize(q.get());
  }
  per(state, "ns_per_put_get", 1);
}
BENCHMARK(BM_mt_queue_put_get_local);

void BM_mt_mutex_lock_unlock(benchmark::State& state) { mutex_lock_unlock<grove::mt::Mutex>(state); }
BENCHMARK(BM_mt_mutex_lock_unlock);

void BM_mt_semaphore_acquire_release(benchmark::State& state) {
  semaphore_acquire_release<grove::mt::Semaphore>(state);
}
BENCHMARK(BM_mt_semaphore_acquire_release);
#endif

void BM_pool_map(benchmark::State& state) {
  grove::Pool pool(static_cast<std::size_t>(state.range(0)));
  std::vector<int> items(100'000);
  std::iota(items.begin(), items.end(), 0);
  long checksum = 0;
  for (auto _ : state) {
    auto out = pool.map([](int x) { return x + 1; }, items);
    checksum += out.back();
  }
  benchmark::DoNotOptimize(checksum);
  per(state, "ns_per_task", static_cast<double>(items.size()));
}
BENCHMARK(BM_pool_map)->Arg(10)->Arg(100)->Arg(1000)->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
