// GROVE_DUMP_SIGNAL and GROVE_MONITOR in an unmodified C program (dump_target.c) under grove-run,
// with the main thread's hub (GROVE_MAIN_HUB=1): the dump comes on the signal, shows main parked
// in the program's own function, and the program's read is not disturbed by it.
#include <gtest/gtest.h>
#include <signal.h>

#include <string>

#include "../unit/child_process.hpp"

using namespace std::chrono_literals;
using grove_test::Child;
using grove_test::matches;

namespace {

const std::string kGroveRun = GROVE_RUN;
const std::string kTarget = GROVE_DUMP_TARGET;

}  // namespace

TEST(DumpSignal, DumpsAPreloadedProgramOnItsSignalWithoutDisturbingIt) {
  Child c({kGroveRun, "--dump-signal=USR2", "--", kTarget}, {"GROVE_MAIN_HUB=1"});
  ASSERT_TRUE(c.wait_for_out("ready\n", 20s)) << c.err();
  ASSERT_EQ(::kill(c.pid(), SIGUSR2), 0);
  // The dump is made by the hub, at its next turn: main is parked in the read by then.
  ASSERT_TRUE(c.wait_for_err("wait_for_input", 20s)) << c.err();
  SCOPED_TRACE(c.err());
  EXPECT_TRUE(matches(c.err(), "grove: 1 greenlet on the hub of thread # ('dump_target'), on SIGUSR2: 1 parked, 0 ready"));
  EXPECT_NE(c.err().find("greenlet 1 'main' [read fd 0, parked "), std::string::npos);
  EXPECT_NE(c.err().find("dump_target.c:"), std::string::npos);  // file:line of the program's own frames
  // Again: every signal gives a dump.
  const std::size_t first = c.err().size();
  ASSERT_EQ(::kill(c.pid(), SIGUSR2), 0);
  ASSERT_TRUE(c.read_until([&](const std::string&, const std::string& e) { return e.find("wait_for_input", first) != std::string::npos; }, 20s));
  // The read the program is in was not interrupted: it returns the line.
  c.write_stdin("hello\n");
  c.close_stdin();
  EXPECT_EQ(c.finish(20s), 0);
  EXPECT_NE(c.out().find("read 6\n"), std::string::npos) << c.out();
}

TEST(DumpSignal, WithoutAHubSaysThereIsNothingToDumpAndGoesOn) {
  Child c({kGroveRun, "--dump-signal=USR2", "--", kTarget}, {});
  ASSERT_TRUE(c.wait_for_out("ready\n", 20s)) << c.err();
  ASSERT_EQ(::kill(c.pid(), SIGUSR2), 0);
  EXPECT_TRUE(c.wait_for_err("no hub exists yet: nothing to dump", 20s)) << c.err();
  c.write_stdin("hi\n");
  c.close_stdin();
  EXPECT_EQ(c.finish(20s), 0);  // not ended by SIGUSR2's default action
  EXPECT_NE(c.out().find("read 3\n"), std::string::npos) << c.out();
}

TEST(DumpSignal, MonitorNamesTheProgramsMainSpinning) {
  Child c({kGroveRun, "--monitor=100ms", "--", kTarget, "spin"}, {"GROVE_MAIN_HUB=1"});
  EXPECT_TRUE(c.wait_for_err("came back to its loop after", 20s)) << c.err();
  SCOPED_TRACE(c.err());
  EXPECT_NE(c.err().find("greenlet 1 'main' holds it, running:"), std::string::npos);
  EXPECT_TRUE(matches(c.err(), " % spin at *dump_target.c:"));
  c.close_stdin();
  EXPECT_EQ(c.finish(20s), 0);
}

// The parent's dump requests stay the parent's: a child forked after one dumps only when it is
// signalled itself.
TEST(DumpSignal, AForkedChildDumpsOnlyOnItsOwnSignal) {
  Child c({kGroveRun, "--dump-signal=USR2", "--", kTarget, "fork"}, {"GROVE_MAIN_HUB=1"});
  ASSERT_TRUE(c.wait_for_out("ready\n", 20s)) << c.err();
  ASSERT_EQ(::kill(c.pid(), SIGUSR2), 0);
  ASSERT_TRUE(c.wait_for_err("wait_for_input", 20s)) << c.err();
  c.write_stdin("go\n");  // the parent forks
  ASSERT_TRUE(c.read_until([](const std::string& o, const std::string&) { return o.find("child ") != std::string::npos && o.find('\n', o.find("child ")) != std::string::npos; }, 20s)) << c.out();
  const std::size_t at = c.out().find("child ") + 6;
  const int child = std::stoi(c.out().substr(at));
  ASSERT_GT(child, 0);
  const std::string header = "on the hub of thread " + std::to_string(child) + " ";
  ASSERT_EQ(::kill(child, SIGUSR2), 0);
  ASSERT_TRUE(c.wait_for_err(header, 20s)) << c.err();
  c.write_stdin("bye\n");  // the child reads it and ends; then the parent
  c.close_stdin();
  EXPECT_EQ(c.finish(20s), 0);
  SCOPED_TRACE(c.err());
  std::size_t dumps = 0;
  for (std::size_t p = c.err().find(header); p != std::string::npos; p = c.err().find(header, p + 1)) ++dumps;
  EXPECT_EQ(dumps, 1u) << "the child dumped for a signal the parent had received";
  EXPECT_NE(c.out().find("child read 4\n"), std::string::npos) << c.out();
  EXPECT_NE(c.out().find("child exited 0\n"), std::string::npos) << c.out();
}

TEST(DumpSignal, GroveRunRejectsBadValues) {
  for (const std::vector<std::string>& args : {std::vector<std::string>{"--dump-signal=NOPE"}, {"--monitor=soon"}}) {
    std::vector<std::string> argv{kGroveRun};
    argv.insert(argv.end(), args.begin(), args.end());
    argv.insert(argv.end(), {"--", kTarget});
    Child c(argv, {});
    EXPECT_EQ(c.finish(20s), 2) << args[0];
    EXPECT_NE(c.err().find("grove-run: bad"), std::string::npos) << c.err();
  }
}
