// The interposer keeps the kernel's view the program's: flags it never set stay unset, blocking
// calls keep their blocking semantics (full counts, MSG_WAITALL), O_NONBLOCK is shared across dup
// as the kernel shares it, a kill or Timeout inside C code leaves the connection broken rather than
// out of step, and a thread that never used grove pays nothing. A program linked with the
// interposer (the same effect as preloading it), plain libc calls inside greenlets.
#include <gtest/gtest.h>

#include <grove/grove.hpp>
#include <grove/nothrow.hpp>

#include <arpa/inet.h>
#include <dirent.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

using namespace std::chrono_literals;

namespace {

// The kernel's O_NONBLOCK, asked with a raw system call (no hook in between).
bool kernel_nonblock(int fd) { return ::syscall(SYS_fcntl, fd, F_GETFL) & O_NONBLOCK; }

std::string pattern(std::size_t n) {
  std::string s(n, '\0');
  for (std::size_t i = 0; i < n; ++i) s[i] = static_cast<char>('a' + (i * 7 + i / 4096) % 26);
  return s;
}

// Reads fd until EOF with plain read(), in a greenlet.
grove::Greenlet<std::string> drain(int fd) {
  return grove::spawn([fd] {
    std::string got;
    char buf[65536];
    for (ssize_t n; (n = ::read(fd, buf, sizeof buf)) > 0;) got.append(buf, static_cast<std::size_t>(n));
    return got;
  });
}

// The numbers of this process's fds whose link contains `what`.
std::vector<int> fds_linking_to(const char* what) {
  std::vector<int> out;
  DIR* d = ::opendir("/proc/self/fd");
  while (dirent* e = ::readdir(d)) {
    char path[320], target[256];
    std::snprintf(path, sizeof path, "/proc/self/fd/%s", e->d_name);
    ssize_t len = ::readlink(path, target, sizeof target - 1);
    if (len <= 0) continue;
    target[len] = '\0';
    if (std::strstr(target, what)) out.push_back(std::atoi(e->d_name));
  }
  ::closedir(d);
  return out;
}

int count_fds_linking_to(const char* what) { return static_cast<int>(fds_linking_to(what).size()); }

struct Listener {
  int fd;
  sockaddr_in addr{};
  Listener() {
    fd = ::socket(AF_INET, SOCK_STREAM, 0);
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    EXPECT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
    socklen_t len = sizeof addr;
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
    EXPECT_EQ(::listen(fd, 64), 0);
  }
  ~Listener() { ::close(fd); }
  int connect() const {
    int c = ::socket(AF_INET, SOCK_STREAM, 0);
    EXPECT_EQ(::connect(c, reinterpret_cast<const sockaddr*>(&addr), sizeof addr), 0) << std::strerror(errno);
    return c;
  }
};

}  // namespace

TEST(Faithful, SocketsKeepTheProgramsFlagsThroughParksAndConnect) {
  Listener l;
  auto server = grove::spawn([&] {
    int c = ::accept(l.fd, nullptr, nullptr);
    EXPECT_FALSE(kernel_nonblock(c));
    grove::sleep(20ms);  // the client's read parks meanwhile
    ::write(c, "x", 1);
    ::close(c);
  });
  int s = ::socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_EQ(::connect(s, reinterpret_cast<sockaddr*>(&l.addr), sizeof l.addr), 0);
  EXPECT_FALSE(kernel_nonblock(s));  // set for the connect only, and cleared again
  char c;
  EXPECT_EQ(::read(s, &c, 1), 1);
  EXPECT_FALSE(kernel_nonblock(s));
  EXPECT_FALSE(::fcntl(s, F_GETFL) & O_NONBLOCK);
  EXPECT_FALSE(kernel_nonblock(l.fd));  // accept waited for readiness instead
  server.join();
  ::close(s);
}

TEST(Faithful, StdioOnASocketReadsAndWritesLines) {
  // stdio's own reads are libc-internal: with a blocking socket underneath they just work. The
  // peer is another thread (the internal read blocks this one, as natively).
  int sv[2];
  ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
  std::thread peer([fd = sv[1]] {
    char buf[64];
    ssize_t n = ::read(fd, buf, sizeof buf);
    std::string line(buf, n > 0 ? static_cast<std::size_t>(n) : 0);
    std::string reply = "echo: " + line;
    ::write(fd, reply.data(), reply.size());
  });
  grove::Greenlet<std::string> g = grove::spawn([fd = sv[0]] {
    FILE* f = ::fdopen(fd, "r+");
    std::fputs("hello\n", f);
    std::fflush(f);
    char line[64] = {};
    const char* got = std::fgets(line, sizeof line, f);
    std::string r = got ? line : std::string("fgets failed: ") + std::strerror(errno);
    std::fclose(f);
    return r;
  });
  EXPECT_EQ(g.get(), "echo: hello\n");
  peer.join();
  ::close(sv[1]);
}

TEST(Faithful, BlockingWriteToAStreamSocketSendsEverything) {
  int sv[2];
  ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
  const std::string data = pattern(10 << 20);
  auto reader = drain(sv[1]);
  EXPECT_EQ(::write(sv[0], data.data(), data.size()), static_cast<ssize_t>(data.size()));
  ::shutdown(sv[0], SHUT_WR);
  EXPECT_EQ(reader.get(), data);
  ::close(sv[0]);
  ::close(sv[1]);
}

TEST(Faithful, SendfileOfTenMegabytesToABlockingSocketSendsEverything) {
  char path[] = "/tmp/grove-sendfile-XXXXXX";
  int file = ::mkstemp(path);
  ASSERT_GE(file, 0);
  ::unlink(path);
  const std::string data = pattern(10 << 20);
  ASSERT_EQ(::write(file, data.data(), data.size()), static_cast<ssize_t>(data.size()));
  Listener l;
  int s = l.connect();
  int c = ::accept(l.fd, nullptr, nullptr);
  auto reader = drain(c);
  off_t offset = 0;
  EXPECT_EQ(::sendfile(s, file, &offset, data.size()), static_cast<ssize_t>(data.size()));
  EXPECT_EQ(offset, static_cast<off_t>(data.size()));
  EXPECT_FALSE(kernel_nonblock(s));
  ::shutdown(s, SHUT_WR);
  EXPECT_EQ(reader.get(), data);
  ::close(s);
  ::close(c);
  ::close(file);
}

TEST(Faithful, PipeAndFifoWritesOfAMegabyteParkAndArriveWhole) {
  const std::string data = pattern(1 << 20);
  int p[2];
  ASSERT_EQ(::pipe(p), 0);
  auto reader = drain(p[0]);
  EXPECT_EQ(::write(p[1], data.data(), data.size()), static_cast<ssize_t>(data.size()));
  EXPECT_FALSE(kernel_nonblock(p[1]));
  ::close(p[1]);
  EXPECT_EQ(reader.get(), data);
  EXPECT_FALSE(kernel_nonblock(p[0]));
  ::close(p[0]);

  // A FIFO has no RWF_NOWAIT: readiness first, then pieces that cannot block.
  std::string fifo = "/tmp/grove-fifo-" + std::to_string(::getpid());
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  int rd = ::open(fifo.c_str(), O_RDONLY | O_NONBLOCK);
  int wr = ::open(fifo.c_str(), O_WRONLY);
  ::fcntl(rd, F_SETFL, 0);  // blocking again, through the hook
  ::unlink(fifo.c_str());
  auto fifo_reader = drain(rd);
  EXPECT_EQ(::write(wr, data.data(), data.size()), static_cast<ssize_t>(data.size()));
  ::close(wr);
  EXPECT_EQ(fifo_reader.get(), data);
  ::close(rd);
}

TEST(Faithful, RecvWaitallFillsTheBuffer) {
  int sv[2];
  ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
  auto writer = grove::spawn([&] {
    for (const char* piece : {"ab", "cde", "fgh"}) {
      grove::sleep(5ms);
      ::write(sv[1], piece, std::strlen(piece));
    }
  });
  char buf[8] = {};
  EXPECT_EQ(::recv(sv[0], buf, 8, MSG_WAITALL), 8);
  EXPECT_EQ(std::string(buf, 8), "abcdefgh");
  writer.join();
  ::close(sv[0]);
  ::close(sv[1]);
}

TEST(Faithful, ONonblockIsSharedByDupsAsTheKernelSharesIt) {
  int sv[2];
  ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
  char c;
  ASSERT_EQ(::write(sv[1], "1", 1), 1);
  ASSERT_EQ(::read(sv[0], &c, 1), 1);  // grove has learnt sv[0] (blocking)
  int d = ::dup(sv[0]);
  ASSERT_EQ(::fcntl(d, F_SETFL, ::fcntl(d, F_GETFL) | O_NONBLOCK), 0);
  EXPECT_EQ(::read(sv[0], &c, 1), -1);  // the other fd of the same description: EAGAIN, no park
  EXPECT_EQ(errno, EAGAIN);
  int off = 0;
  ASSERT_EQ(::ioctl(sv[0], FIONBIO, &off), 0);
  auto reader = grove::spawn([&] {
    char x;
    return ::read(d, &x, 1);  // blocking again for both: parks
  });
  grove::yield();
  EXPECT_FALSE(reader.ready());
  ASSERT_EQ(::write(sv[1], "2", 1), 1);
  EXPECT_EQ(reader.get(), 1);
  ::close(d);
  ::close(sv[0]);
  ::close(sv[1]);
}

TEST(Faithful, KillInsideCCodeLeavesTheConnectionBrokenNotOutOfStep) {
  Listener l;
  int s = l.connect();
  int c = ::accept(l.fd, nullptr, nullptr);
  // The client asks, and is killed while it waits; the answer arrives afterwards.
  auto client = grove::spawn([&] {
    ::write(s, "q1", 2);
    char buf[16];
    return std::pair<long, int>(::read(s, buf, sizeof buf), errno);
  });
  grove::yield();
  client.kill();
  const auto [r, e] = client.get();  // C code: the call fails, nothing is thrown through it
  EXPECT_EQ(r, -1);
  EXPECT_EQ(e, ECANCELED);
  ::write(c, "answer-to-q1", 12);
  // A later exchange on the same connection must never see the abandoned answer.
  char buf[16];
  ssize_t n = ::read(s, buf, sizeof buf);
  EXPECT_LE(n, 0) << "read the abandoned exchange's data: " << std::string(buf, n > 0 ? static_cast<std::size_t>(n) : 0);
  // The peer got the question, then the end of the connection.
  EXPECT_EQ(::read(c, buf, sizeof buf), 2);
  EXPECT_EQ(::read(c, buf, sizeof buf), 0);
  ::close(s);
  ::close(c);
}

TEST(Faithful, TimeoutInsideCCodeIsEtimedoutAndBreaksTheConnection) {
  Listener l;
  int s = l.connect();
  int c = ::accept(l.fd, nullptr, nullptr);
  {
    grove::Timeout t(30ms);
    char buf[8];
    EXPECT_EQ(::read(s, buf, sizeof buf), -1);
    EXPECT_EQ(errno, ETIMEDOUT);
  }
  ::write(c, "late", 4);
  char buf[8];
  EXPECT_LE(::read(s, buf, sizeof buf), 0);  // shut down: end of file or a reset, never "late"
  ::close(s);
  ::close(c);
}

TEST(Faithful, KillingAGreenletInAcceptLeavesTheListenerUsable) {
  Listener l;
  auto acceptor = grove::spawn([&] { return ::accept(l.fd, nullptr, nullptr); });
  grove::yield();
  acceptor.kill();
  auto second = grove::spawn([&] { return ::accept(l.fd, nullptr, nullptr); });
  int s = l.connect();
  int c = second.get();
  EXPECT_GE(c, 0) << std::strerror(errno);
  ::close(c);
  ::close(s);
}

TEST(Faithful, CloseOnAnotherThreadWakesAWaiterWithEbadf) {
  int sv[2];
  ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
  auto reader = grove::spawn([&] {
    char c;
    ssize_t r = ::read(sv[0], &c, 1);
    return r == -1 ? errno : 0;
  });
  grove::yield();  // parked on sv[0]
  std::thread([&] { ::close(sv[0]); }).join();
  EXPECT_EQ(reader.get(), EBADF);
  ::close(sv[1]);
}

TEST(Faithful, AThreadThatNeverUsedGrovePaysNothing) {
  const int epolls_before = count_fds_linking_to("eventpoll");
  int sv[2];
  ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
  bool could_park = true;
  int epolls_during = -1;
  ssize_t got = 0;
  std::thread plain([&] {
    could_park = grove::nothrow::can_park();
    char buf[4];
    got = ::read(sv[0], buf, sizeof buf);  // blocks this thread, as libc does
    epolls_during = count_fds_linking_to("eventpoll");
  });
  std::thread([&] { ::write(sv[1], "ping", 4); }).join();
  plain.join();
  EXPECT_FALSE(could_park);
  EXPECT_EQ(got, 4);
  EXPECT_EQ(epolls_during, epolls_before);  // no hub, no epoll instance, no eventfd
  ::close(sv[0]);
  ::close(sv[1]);
}

TEST(Faithful, RunningOutOfFdsIsEmfileNotEnomem) {
  rlimit old{};
  ::getrlimit(RLIMIT_NOFILE, &old);
  std::vector<int> fds;
  rlimit low = old;
  low.rlim_cur = 64;
  ASSERT_EQ(::setrlimit(RLIMIT_NOFILE, &low), 0);
  for (int fd; (fd = ::open("/dev/null", O_RDONLY)) >= 0;) fds.push_back(fd);
  int start = 1;
  std::string what;
  std::thread t([&] {
    start = grove::nothrow::start_hub();  // a hub needs an epoll fd and an eventfd
    try {
      grove::spawn([] {}).join();
    } catch (const std::system_error& e) {
      what = e.what();
    }
  });
  t.join();
  for (int fd : fds) ::close(fd);
  ::setrlimit(RLIMIT_NOFILE, &old);
  EXPECT_EQ(start, -EMFILE);
  EXPECT_NE(what.find(std::strerror(EMFILE)), std::string::npos) << what;
}

namespace {

// In a child: the program sweeps its fds the way daemons and shells do, then the hub must still
// work (a greenlet's read parks and is woken by another's write).
int child_sweeps_then_uses_the_hub(bool by_dup2) {
  const std::vector<int> epolls = fds_linking_to("eventpoll");
  if (epolls.empty() || epolls[0] < 64) return 10;  // grove's fds are kept high
  if (by_dup2) {
    int null = ::open("/dev/null", O_RDONLY);
    for (int fd : fds_linking_to("anon_inode")) ::dup2(null, fd);  // a socket onto "its" fd, shell-style
  } else {
    ::close_range(3, ~0U, 0);  // closefrom(3) after fork, daemon-style
  }
  int sv[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM, 0, sv) != 0) return 11;
  auto reader = grove::spawn([&] {
    char c = 0;
    return ::read(sv[0], &c, 1) == 1 && c == 'z';
  });
  grove::spawn([&] {
    grove::sleep(5ms);
    ::write(sv[1], "z", 1);
  }).join();
  return reader.get() ? 0 : 12;
}

int exit_code_of_child(bool by_dup2) {
  pid_t pid = ::fork();
  if (pid == 0) {
    ::alarm(10);  // a hub broken by the sweep hangs: end it as a failure
    ::_exit(child_sweeps_then_uses_the_hub(by_dup2));
  }
  int status = 0;
  ::waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

}  // namespace

TEST(Faithful, GrovesOwnFdsSurviveTheProgramsFdSweeps) {
  grove::sleep(1ms);  // this thread's hub exists
  EXPECT_EQ(exit_code_of_child(false), 0) << "after close_range(3, ~0U)";
  EXPECT_EQ(exit_code_of_child(true), 0) << "after dup2 onto grove's fds";
}
