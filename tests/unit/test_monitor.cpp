// GROVE_MONITOR: a hub held longer than the threshold is reported, with who holds it and how,
// once, and once more when it comes back; below the threshold, or off, nothing — not even a
// thread. monitor_probe (beside this file) holds its hub in each of the ways there are.
#include <gtest/gtest.h>

#include <string>

#include "child_process.hpp"

using namespace std::chrono_literals;
using grove_test::Child;
using grove_test::matches;
using grove_test::number_after;

namespace {

const std::string kProbe = GROVE_MONITOR_PROBE;

struct ProbeRun {
  std::string out, err;
  int status;
};

// Runs the probe; once it is done holding its hub, waits (bounded) for `until` in its stderr if
// given, then lets it end.
ProbeRun run(const std::vector<std::string>& args, const std::vector<std::string>& env, const std::string& until = "") {
  std::vector<std::string> argv{kProbe};
  argv.insert(argv.end(), args.begin(), args.end());
  Child c(argv, env);
  EXPECT_TRUE(c.wait_for_out("held-done", 20s)) << c.err();
  if (!until.empty()) {
    EXPECT_TRUE(c.wait_for_err(until, 10s)) << c.err();
  }
  c.close_stdin();
  const int status = c.finish(10s);
  return {c.out(), c.err(), status};
}

}  // namespace

TEST(Monitor, ReportsAGreenletSpinningLongerThanTheThresholdWithItsStack) {
  const ProbeRun r = run({"spin", "300"}, {"GROVE_MONITOR=100ms"}, "came back to its loop");
  SCOPED_TRACE(r.err);
  EXPECT_EQ(r.status, 0);
  const std::size_t held = r.err.find("has not come back to its loop for ");
  ASSERT_NE(held, std::string::npos);
  EXPECT_NE(r.err.find("warning: monitor: the hub of thread "), std::string::npos);
  EXPECT_TRUE(matches(r.err, "greenlet # 'spinner' holds it, running:"));
  EXPECT_NE(r.err.find("spin_for(long)", held), std::string::npos);  // its own stack, sampled by signal
  // Once when it crosses the threshold, once when it comes back with the total.
  EXPECT_EQ(r.err.find("has not come back", held + 1), std::string::npos);
  const std::size_t back = r.err.find("came back to its loop after ");
  ASSERT_NE(back, std::string::npos);
  EXPECT_TRUE(matches(r.err.substr(back), "came back to its loop after # ms (held by greenlet # 'spinner')"));
  const long total = number_after(r.err.substr(back), "came back to its loop after ");
  EXPECT_GE(total, 300);
  EXPECT_LT(total, 1500);
  EXPECT_NE(r.out.find("watch-threads=1"), std::string::npos);
}

TEST(Monitor, SilentBelowTheThreshold) {
  const ProbeRun r = run({"spin", "50"}, {"GROVE_MONITOR=100ms"});
  EXPECT_EQ(r.status, 0);
  EXPECT_EQ(r.err.find("monitor"), std::string::npos) << r.err;
  EXPECT_NE(r.out.find("watch-threads=1"), std::string::npos);  // it was watching
}

TEST(Monitor, OffByDefaultWithoutAThread) {
  const ProbeRun r = run({"spin", "300"}, {});
  EXPECT_EQ(r.status, 0);
  EXPECT_EQ(r.err, "");
  EXPECT_NE(r.out.find("watch-threads=0"), std::string::npos) << r.out;
}

TEST(Monitor, SamplesAThreadInARestartableCallWithoutDisturbingIt) {
  const ProbeRun r = run({"futex", "300"}, {"GROVE_MONITOR=100ms"}, "came back to its loop");
  SCOPED_TRACE(r.err);
  EXPECT_TRUE(matches(r.err, "greenlet # 'locker' holds it, blocked in the kernel in futex:"));
  EXPECT_NE(r.err.find("block_in_futex(long)"), std::string::npos);
  // The signal restarted the futex wait transparently: it ended when the other thread woke it.
  EXPECT_NE(r.out.find("futex rc=0 errno=-"), std::string::npos) << r.out;
  EXPECT_GE(number_after(r.out, "elapsed="), 299);
}

TEST(Monitor, LeavesATimedFutexWaitAlone) {
  const ProbeRun r = run({"futex-timed", "300"}, {"GROVE_MONITOR=100ms"}, "came back to its loop");
  SCOPED_TRACE(r.err);
  EXPECT_NE(r.err.find("the thread is blocked in the kernel in futex (not sampled"), std::string::npos);
  EXPECT_NE(r.out.find("futex rc=-1 errno=Connection timed out"), std::string::npos) << r.out;  // not EINTR
}

TEST(Monitor, NamesACallItMustNotInterrupt) {
  const ProbeRun r = run({"nanosleep", "300"}, {"GROVE_MONITOR=100ms"}, "came back to its loop");
  SCOPED_TRACE(r.err);
  EXPECT_NE(r.err.find("the thread is blocked in the kernel in nanosleep (not sampled"), std::string::npos);
  EXPECT_NE(r.out.find("nanosleep rc=0 errno=-"), std::string::npos) << r.out;  // no EINTR
}

TEST(Monitor, NamesARealCallOfAHook) {
  const ProbeRun r = run({"real-call", "300"}, {"GROVE_MONITOR=100ms"}, "came back to its loop");
  SCOPED_TRACE(r.err);
  const std::size_t at = r.out.find("object=");
  ASSERT_NE(at, std::string::npos);
  const std::string object = r.out.substr(at + 7, r.out.find('\n', at) - at - 7);
  EXPECT_TRUE(matches(r.err, "greenlet # 'blocker' is blocked in the kernel in pthread_mutex_lock " + object +
                                 " (a real call, for "));
  EXPECT_NE(r.out.find("nanosleep rc=0"), std::string::npos) << r.out;
}

TEST(Monitor, AcceptsDurationsAndRejectsNonsense) {
  const ProbeRun ok = run({"spin", "1"}, {"GROVE_MONITOR=1.5s"});
  EXPECT_EQ(ok.err, "");
  EXPECT_NE(ok.out.find("watch-threads=1"), std::string::npos);
  const ProbeRun bad = run({"spin", "1"}, {"GROVE_MONITOR=soon"});
  EXPECT_NE(bad.err.find("GROVE_MONITOR=soon not understood"), std::string::npos) << bad.err;
  EXPECT_NE(bad.out.find("watch-threads=0"), std::string::npos);
}
