// The interposer keeps libc's semantics: the probe programs (probe.c, corners.c) print the results
// of a fixed sequence of blocking calls; run natively and with libgrove_preload.so preloaded, the
// outputs must be identical line for line. Preloaded twice: with the program's thread left without
// a hub (every hook passes through, noting what it must) and with GROVE_MAIN_HUB=1 (every blocking
// call on grove's cooperative paths). Each program is built twice, with and without
// _FILE_OFFSET_BITS=64, so both glibc symbol sets (fcntl64 and fcntl, …) are exercised.
#include <gtest/gtest.h>

#include <fcntl.h>
#include <stdlib.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <sstream>
#include <string>
#include <vector>

namespace {

struct ProbeRun {
  std::string out;
  std::string err;  // what it wrote to stderr
  int status = -1;
  bool stdin_nonblock_after = false;  // the parent's view of the pipe the child read from
};

enum class Mode { native, pass_through, main_hub, green_threads };

ProbeRun run_probe(const char* probe, Mode mode, const std::vector<std::string>& args,
                   const std::string& stdin_data) {
  const bool preload = mode != Mode::native;
  int in[2], out[2];
  char err_path[] = "/tmp/grove-probe-err-XXXXXX";
  const int err_fd = ::mkstemp(err_path);
  ::unlink(err_path);
  EXPECT_EQ(::pipe(in), 0);
  EXPECT_EQ(::pipe(out), 0);
  pid_t pid = ::fork();
  if (pid == 0) {
    ::dup2(in[0], 0);
    ::dup2(out[1], 1);
    ::dup2(err_fd, 2);
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
    if (mode == Mode::green_threads)
      ::setenv("GROVE_GREEN_THREADS", "1", 1);
    else
      ::unsetenv("GROVE_GREEN_THREADS");
    std::vector<char*> argv{const_cast<char*>(probe)};
    for (auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    ::execv(probe, argv.data());
    ::_exit(127);
  }
  ::close(out[1]);
  if (!stdin_data.empty()) {
    EXPECT_EQ(::write(in[1], stdin_data.data(), stdin_data.size()), (ssize_t)stdin_data.size());
  }
  ::close(in[1]);
  // A hang fails the test instead of the suite's timeout. The bound is kept here, not by an alarm
  // in the child: the probe arms ITIMER_REAL itself, which would replace it.
  ProbeRun r;
  char buf[4096];
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  for (;;) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    pollfd p{out[0], POLLIN, 0};
    if (left.count() <= 0 || ::poll(&p, 1, static_cast<int>(left.count())) == 0) {
      ::kill(pid, SIGKILL);
      r.out += "<probe hung: killed after 30 s>\n";
      break;
    }
    ssize_t n = ::read(out[0], buf, sizeof buf);
    if (n <= 0) break;
    r.out.append(buf, static_cast<std::size_t>(n));
  }
  ::close(out[0]);
  ::waitpid(pid, &r.status, 0);
  ::lseek(err_fd, 0, SEEK_SET);
  for (ssize_t n; (n = ::read(err_fd, buf, sizeof buf)) > 0;) r.err.append(buf, static_cast<std::size_t>(n));
  ::close(err_fd);
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
  // Compare the lines even when the preloaded run hung or died: the first difference says where.
  EXPECT_TRUE(WIFEXITED(preloaded.status) && WEXITSTATUS(preloaded.status) == 0)
      << "preloaded probe did not exit 0 (status " << preloaded.status << ")";
  auto a = lines(native.out), b = lines(preloaded.out);
  int shown = 0, more = 0;
  for (std::size_t i = 0; i < std::max(a.size(), b.size()); ++i) {
    std::string want = i < a.size() ? a[i] : "<missing>", got = i < b.size() ? b[i] : "<missing>";
    if (want == got) continue;
    if (shown++ < 8)
      EXPECT_EQ(want, got) << "line " << i + 1;
    else
      ++more;
  }
  EXPECT_EQ(more, 0) << "more differing lines not shown";
}

std::string build_name(const ::testing::TestParamInfo<const char*>& info) {
  return std::string(info.param).ends_with("_nolfs") ? "WithoutLargeFileNames" : "WithLargeFileNames";
}

}  // namespace

class Probe : public ::testing::TestWithParam<const char*> {};

TEST_P(Probe, SameResultsNativeAndPreloaded) {
  ProbeRun native = run_probe(GetParam(), Mode::native, {}, "");
  ASSERT_GT(lines(native.out).size(), 80u) << native.out;  // the probe really ran its sequence
  expect_same(native, run_probe(GetParam(), Mode::pass_through, {}, ""));
}

TEST_P(Probe, SameResultsNativeAndThroughTheMainThreadsHub) {
  expect_same(run_probe(GetParam(), Mode::native, {}, ""), run_probe(GetParam(), Mode::main_hub, {}, ""));
}

TEST_P(Probe, InheritedStdinPipeIsReadAndLeftBlocking) {
  ProbeRun native = run_probe(GetParam(), Mode::native, {"stdin"}, "from-the-parent\n");
  for (Mode m : {Mode::pass_through, Mode::main_hub}) {
    ProbeRun run = run_probe(GetParam(), m, {"stdin"}, "from-the-parent\n");
    expect_same(native, run);
    EXPECT_NE(run.out.find("stdin: 16 from-the-parent"), std::string::npos) << run.out;
    EXPECT_FALSE(run.stdin_nonblock_after);  // O_NONBLOCK never leaked into the parent's pipe
  }
}

TEST_P(Probe, DisabledPreloadIsAPassThrough) {
  ::setenv("GROVE_DISABLE", "1", 1);
  ProbeRun off = run_probe(GetParam(), Mode::main_hub, {}, "");
  ::unsetenv("GROVE_DISABLE");
  expect_same(run_probe(GetParam(), Mode::native, {}, ""), off);
}

// The probe's two builds: the symbol names differ (nm -D), the printed results must not.
INSTANTIATE_TEST_SUITE_P(Builds, Probe, ::testing::Values(GROVE_PROBE_LFS, GROVE_PROBE_NOLFS), build_name);

class Corners : public ::testing::TestWithParam<const char*> {};

TEST_P(Corners, SameResultsNativeAndPreloaded) {
  ProbeRun native = run_probe(GetParam(), Mode::native, {}, "");
  ASSERT_GT(lines(native.out).size(), 30u) << native.out;
  expect_same(native, run_probe(GetParam(), Mode::pass_through, {}, ""));
  expect_same(native, run_probe(GetParam(), Mode::main_hub, {}, ""));
}

INSTANTIATE_TEST_SUITE_P(Builds, Corners, ::testing::Values(GROVE_CORNERS_LFS, GROVE_CORNERS_NOLFS), build_name);

// Green threads: the same programs natively and with their threads as greenlets
// (GROVE_GREEN_THREADS=1): pthreads of every family, C++'s std::thread & co., C11 threads.
class GreenThreads : public ::testing::TestWithParam<const char*> {};

TEST_P(GreenThreads, SameResultsNativeAndAsGreenThreads) {
  ProbeRun native = run_probe(GetParam(), Mode::native, {}, "");
  ASSERT_GT(lines(native.out).size(), 5u) << native.out;
  ProbeRun green = run_probe(GetParam(), Mode::green_threads, {}, "");
  expect_same(native, green);
  // While its 1000 threads sleep, the process has one OS thread per hub (here one), not 1001.
  if (native.err.find("os threads while 1000 threads sleep: ") != std::string::npos) {
    EXPECT_NE(native.err.find("sleep: 1001\n"), std::string::npos) << native.err;
    EXPECT_NE(green.err.find("sleep: 1\n"), std::string::npos) << green.err;
  }
}

INSTANTIATE_TEST_SUITE_P(Programs, GreenThreads,
                         ::testing::Values(GROVE_GREEN_PTHREADS_LFS, GROVE_GREEN_PTHREADS_NOLFS, GROVE_GREEN_CXX,
                                           GROVE_GREEN_C11),
                         [](const ::testing::TestParamInfo<const char*>& info) {
                           const std::string p = info.param;
                           if (p.ends_with("_lfs")) return std::string("PthreadsWithLargeFileNames");
                           if (p.ends_with("_nolfs")) return std::string("PthreadsWithoutLargeFileNames");
                           return p.ends_with("green_cxx") ? std::string("Cxx") : std::string("C11");
                         });
