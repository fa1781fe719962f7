// P1 — the cost of one switch between two greenlets through grove's hub, next to the limit: a raw
// Boost.Context switch (two fcontexts ping-ponging with jump_fcontext) in the same binary.
//
// Both benchmarks count two switches per iteration (there and back) and report the cost of one
// as the counter `ns_per_switch`. For grove one switch is one grove::yield(): the yielding
// greenlet goes to the tail of the ready queue and the other one runs. Every kBatch switches the
// hub greenlet runs once (timers, posted callbacks; no epoll with no fd waiters), and that cost is
// included, as it is in real programs.
#include <benchmark/benchmark.h>

#include <boost/context/detail/fcontext.hpp>
#include <grove/grove.hpp>

#include <cstddef>
#include <cstdlib>
#include <memory>

namespace ctx = boost::context::detail;

namespace {

void report_per_switch(benchmark::State& state) {
  // Two switches per iteration; kIsRate|kInvert turns "switches per second" into seconds per switch.
  state.counters["ns_per_switch"] = benchmark::Counter(
      static_cast<double>(state.iterations()) * 2 * 1e-9, benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
}

// Greenlet A runs the timed loop (Google Benchmark's State only needs memory, not a particular
// stack); greenlet B yields back each time. main (the root greenlet) just waits in join().
void BM_grove_yield(benchmark::State& state) {
  bool done = false;
  auto b = grove::spawn([&done] {
    while (!done) grove::yield();
  });
  auto a = grove::spawn([&state, &done] {
    for (auto _ : state) grove::yield();
    done = true;
  });
  a.get();
  b.get();
  report_per_switch(state);
}
BENCHMARK(BM_grove_yield);

// The limit: main and one fcontext jumping to each other. This is exactly the primitive grove's
// switch_to() wraps (grove adds the ready queue, the exception-state swap and bookkeeping).
struct RawPingPong {
  static constexpr std::size_t kStack = 64 * 1024;
  std::unique_ptr<char[]> stack{new char[kStack]};
  ctx::fcontext_t other = nullptr;

  static void body(ctx::transfer_t t) noexcept {
    // Jump back forever; whoever created us simply stops jumping in (the stack is then freed
    // while suspended, which is fine: nothing on it needs destroying).
    for (;;) t = ctx::jump_fcontext(t.fctx, nullptr);
  }
};

void BM_raw_fcontext(benchmark::State& state) {
  RawPingPong p;
  p.other = ctx::make_fcontext(p.stack.get() + RawPingPong::kStack, RawPingPong::kStack, &RawPingPong::body);
  for (auto _ : state) {
    ctx::transfer_t t = ctx::jump_fcontext(p.other, nullptr);
    p.other = t.fctx;
  }
  report_per_switch(state);
}
BENCHMARK(BM_raw_fcontext);

// Not a target, a reference for reading P1: the same raw jump reached through two plain function
// calls on each side (as any switch behind an API is: the caller calls yield(), which calls the
// jump). Boost's jump_fcontext resumes with an indirect jump, never a `ret`, so the returns after
// it are mispredicted; on some CPUs that alone costs more than everything else a yield does.
namespace behind_calls {
ctx::fcontext_t other = nullptr;
[[gnu::noinline]] void* jump(void* d) {
  ctx::transfer_t t = ctx::jump_fcontext(other, d);
  other = t.fctx;
  return t.data;
}
[[gnu::noinline]] void* api(void* d) {
  void* r = jump(d);
  benchmark::DoNotOptimize(r);
  return r;
}
void body(ctx::transfer_t t) noexcept {
  other = t.fctx;
  for (;;) api(nullptr);
}
}  // namespace behind_calls

void BM_raw_fcontext_behind_calls(benchmark::State& state) {
  std::unique_ptr<char[]> stack{new char[RawPingPong::kStack]};
  behind_calls::other = ctx::make_fcontext(stack.get() + RawPingPong::kStack, RawPingPong::kStack, &behind_calls::body);
  for (auto _ : state) behind_calls::api(nullptr);
  report_per_switch(state);
}
BENCHMARK(BM_raw_fcontext_behind_calls);

}  // namespace

BENCHMARK_MAIN();
