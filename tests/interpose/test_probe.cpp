// The interposer keeps libc's semantics: the probe program (probe.c) prints the results of a
// fixed sequence of blocking calls; run natively and with libgrove_preload.so preloaded, the
// outputs must be identical line for line.
#include <gtest/gtest.h>

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <sstream>
#include <string>
#include <vector>

namespace {

struct ProbeRun {
  std::string out;
  int status = -1;
  bool stdin_nonblock_after = false;  // the parent's view of the pipe the child read from
};

// How the probe runs: natively; preloaded, its thread without a hub (every hook passes through
// after noting what it must); preloaded with GROVE_MAIN_HUB=1, every blocking call on grove's
// cooperative paths.
enum class Mode { native, pass_through, main_hub };

ProbeRun run_probe(Mode mode, const std::vector<std::string>& args, const std::string& stdin_data) {
  const bool preload = mode != Mode::native;
  int in[2], out[2];
  EXPECT_EQ(::pipe(in), 0);
  EXPECT_EQ(::pipe(out), 0);
  pid_t pid = ::fork();
  if (pid == 0) {
    ::dup2(in[0], 0);
    ::dup2(out[1], 1);
    ::close(in[1]);
    ::close(out[0]);
    if (preload)
      ::setenv("LD_PRELOAD", GROVE_PRELOAD_LIB, 1);
    else
      ::unsetenv("LD_PRELOAD");
    if (mode == Mode::main_hub)
      ::setenv("GROVE_MAIN_HUB", "1", 1);
    else
      ::unsetenv("GROVE_MAIN_HUB");
    std::vector<char*> argv{const_cast<char*>(GROVE_PROBE)};
    for (auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    ::alarm(60);  // a hang fails the test instead of the suite's timeout
    ::execv(GROVE_PROBE, argv.data());
    ::_exit(127);
  }
  ::close(out[1]);
  if (!stdin_data.empty()) {
    EXPECT_EQ(::write(in[1], stdin_data.data(), stdin_data.size()), (ssize_t)stdin_data.size());
  }
  ::close(in[1]);
  ProbeRun r;
  char buf[4096];
  for (ssize_t n; (n = ::read(out[0], buf, sizeof buf)) > 0;) r.out.append(buf, static_cast<std::size_t>(n));
  ::close(out[0]);
  ::waitpid(pid, &r.status, 0);
  r.stdin_nonblock_after = ::fcntl(in[0], F_GETFL) & O_NONBLOCK;
  ::close(in[0]);
  return r;
}

std::vector<std::string> lines(const std::string& s) {
  std::vector<std::string> v;
  std::istringstream is(s);
  for (std::string l; std::getline(is, l);) v.push_back(l);
  return v;
}

void expect_same(const ProbeRun& native, const ProbeRun& preloaded) {
  ASSERT_TRUE(WIFEXITED(native.status) && WEXITSTATUS(native.status) == 0) << native.out;
  ASSERT_TRUE(WIFEXITED(preloaded.status)) << "preloaded probe died; output so far:\n" << preloaded.out;
  EXPECT_EQ(WEXITSTATUS(preloaded.status), 0);
  auto a = lines(native.out), b = lines(preloaded.out);
  for (std::size_t i = 0; i < std::max(a.size(), b.size()); ++i)
    EXPECT_EQ(i < a.size() ? a[i] : "<missing>", i < b.size() ? b[i] : "<missing>") << "line " << i + 1;
}

}  // namespace

TEST(Probe, SameResultsNativeAndPreloaded) {
  ProbeRun native = run_probe(Mode::native, {}, "");
  ASSERT_GT(lines(native.out).size(), 60u) << native.out;  // the probe really ran its sequence
  expect_same(native, run_probe(Mode::pass_through, {}, ""));
}

TEST(Probe, SameResultsNativeAndThroughTheMainThreadsHub) {
  expect_same(run_probe(Mode::native, {}, ""), run_probe(Mode::main_hub, {}, ""));
}

TEST(Probe, InheritedStdinPipeIsReadAndLeftBlocking) {
  ProbeRun native = run_probe(Mode::native, {"stdin"}, "from-the-parent\n");
  for (Mode m : {Mode::pass_through, Mode::main_hub}) {
    ProbeRun run = run_probe(m, {"stdin"}, "from-the-parent\n");
    expect_same(native, run);
    EXPECT_NE(run.out.find("stdin: 16 from-the-parent"), std::string::npos) << run.out;
    EXPECT_FALSE(run.stdin_nonblock_after);  // O_NONBLOCK never leaked into the parent's pipe
  }
}

TEST(Probe, DisabledPreloadIsAPassThrough) {
  ::setenv("GROVE_DISABLE", "1", 1);
  ProbeRun off = run_probe(Mode::main_hub, {}, "");
  ::unsetenv("GROVE_DISABLE");
  expect_same(run_probe(Mode::native, {}, ""), off);
}
