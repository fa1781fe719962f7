// Cooperative fd I/O: echo over loopback, close while waiting, one reader per fd, fd reuse.
#include <gtest/gtest.h>

#include <grove/grove.hpp>

#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstring>
#include <string>
#include <system_error>
#include <vector>

#include "hub.hpp"

using namespace std::chrono_literals;

namespace {

// One greenlet per connection, echoing until EOF.
grove::Greenlet<void> start_echo_server(int listener, int connections) {
  return grove::spawn([listener, connections] {
    std::vector<grove::Greenlet<void>> handlers;
    for (int i = 0; i < connections; ++i) {
      int c = grove::accept(listener);
      handlers.push_back(grove::spawn([c] {
        char buf[4096];
        while (std::size_t n = grove::recv(c, buf, sizeof buf)) grove::send_all(c, buf, n);
        grove::close(c);
      }));
    }
    grove::joinall(handlers);
  });
}

int errno_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const std::system_error& e) {
    return e.code().value();
  }
  return 0;
}

}  // namespace

TEST(Io, EchoWithAThousandConcurrentClientsInOneThread) {
  constexpr int clients = 1000;
  int listener = grove::tcp_listen("127.0.0.1", 0, clients);
  const auto port = grove::local_port(listener);
  auto server = start_echo_server(listener, clients);
  int ok = 0;
  int max_concurrent = 0, concurrent = 0;
  std::vector<grove::Greenlet<void>> gs;
  for (int i = 0; i < clients; ++i)
    gs.push_back(grove::spawn([&, i] {
      int fd = grove::tcp_connect("127.0.0.1", port);
      max_concurrent = std::max(max_concurrent, ++concurrent);
      std::string msg = "hello from client " + std::to_string(i) + std::string(200, 'x');
      for (int round = 0; round < 3; ++round) {
        grove::send_all(fd, msg.data(), msg.size());
        std::string got(msg.size(), '\0');
        std::size_t have = 0;
        while (have < got.size()) {
          std::size_t n = grove::recv(fd, got.data() + have, got.size() - have);
          ASSERT_GT(n, 0u);
          have += n;
        }
        ASSERT_EQ(got, msg);
        grove::sleep(1ms);  // every client is open at the same time
      }
      --concurrent;
      grove::close(fd);
      ++ok;
    }));
  {
    grove::Timeout limit(60s);
    grove::joinall(gs);
    server.join();
  }
  EXPECT_EQ(ok, clients);
  EXPECT_GT(max_concurrent, clients / 2);
  grove::close(listener);
}

TEST(Io, ReadParksUntilDataArrives) {
  int fds[2];
  ASSERT_EQ(::pipe(fds), 0);
  bool other_ran = false;
  auto reader = grove::spawn([&] {
    char buf[16] = {};
    std::size_t n = grove::read(fds[0], buf, sizeof buf);
    return std::string(buf, n);
  });
  auto other = grove::spawn([&] { other_ran = true; });
  grove::sleep(10ms);
  EXPECT_TRUE(other_ran);  // the reader parked instead of blocking the thread
  EXPECT_FALSE(reader.ready());
  grove::write_all(fds[1], "ping", 4);
  EXPECT_EQ(reader.get(), "ping");
  grove::close(fds[1]);
  char c;
  EXPECT_EQ(grove::read(fds[0], &c, 1), 0u);  // EOF
  grove::close(fds[0]);
}

TEST(Io, CloseWakesWaitersWithEbadf) {
  int fds[2];
  ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM, 0, fds), 0);
  auto reader = grove::spawn([&] {
    return errno_of([&] {
      char c;
      grove::recv(fds[0], &c, 1);
    });
  });
  grove::sleep(5ms);
  ASSERT_FALSE(reader.ready());
  grove::close(fds[0]);
  EXPECT_EQ(reader.get(), EBADF);
  grove::close(fds[1]);
}

TEST(Io, SecondReaderOnOneFdIsAClearError) {
  int fds[2];
  ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM, 0, fds), 0);
  auto first = grove::spawn(grove::SpawnOptions{.name = "first-reader"}, [&] {
    char c;
    return grove::recv(fds[0], &c, 1);
  });
  grove::sleep(1ms);  // the first reader is parked on the fd now
  auto second = grove::spawn(grove::SpawnOptions{.name = "second-reader"}, [&] {
    char c;
    grove::recv(fds[0], &c, 1);
  });
  second.join();
  try {
    second.get();
    FAIL() << "second reader did not fail";
  } catch (const grove::UsageError& e) {
    std::string what = e.what();
    EXPECT_NE(what.find("second-reader"), std::string::npos) << what;
    EXPECT_NE(what.find("first-reader"), std::string::npos) << what;
  }
  // A writer on the same fd is fine, and the first reader still gets its byte.
  auto writer = grove::spawn([&] { grove::send_all(fds[1], "z", 1); });
  EXPECT_EQ(first.get(), 1u);
  writer.join();
  grove::close(fds[0]);
  grove::close(fds[1]);
}

TEST(Io, ReusedFdNumberStartsClean) {
  int a[2];
  ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM, 0, a), 0);
  // Register a[0] with the hub and leave an unconsumed readiness edge behind.
  grove::send_all(a[1], "x", 1);
  char c;
  EXPECT_EQ(grove::recv(a[0], &c, 1), 1u);
  EXPECT_FALSE(grove::wait_readable(a[0], 10ms));
  const int old_number = a[0];
  grove::detail::FdRecord& record = *grove::detail::fd_record(old_number);
  const auto old_gen = record.gen.load();
  // Keep the old open file alive through a dup: epoll watches descriptions, not numbers, so a
  // registration that survived the close would keep reporting the old socket's events.
  const int keep = ::dup(a[0]);
  ASSERT_GE(keep, 0);
  grove::close(a[0]);
  EXPECT_NE(record.gen.load(), old_gen);
  // The same number for a new file: a read must wait for *its* data only.
  int b[2];
  ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM, 0, b), 0);
  int reused = b[0] == old_number ? b[0] : (b[1] == old_number ? b[1] : -1);
  ASSERT_NE(reused, -1) << "kernel did not reuse the lowest fd number";
  int peer = reused == b[0] ? b[1] : b[0];
  grove::send_all(a[1], "old", 3);  // traffic on the old connection must not wake the new fd
  EXPECT_FALSE(grove::wait_readable(reused, 20ms));
  auto reader = grove::spawn([&] {
    char buf[8];
    return std::string(buf, grove::recv(reused, buf, sizeof buf));
  });
  grove::sleep(5ms);
  EXPECT_FALSE(reader.ready());
  grove::send_all(peer, "new", 3);
  EXPECT_EQ(reader.get(), "new");
  grove::close(keep);
  grove::close(a[1]);
  grove::close(b[0]);
  grove::close(b[1]);
}

TEST(Io, ReadingAClosedFdIsEbadf) {
  int fds[2];
  ASSERT_EQ(::pipe(fds), 0);
  grove::close(fds[0]);
  grove::close(fds[1]);
  EXPECT_EQ(errno_of([&] {
              char c;
              grove::read(fds[0], &c, 1);
            }),
            EBADF);
}

TEST(Io, ConnectRefused) {
  int l = grove::tcp_listen("127.0.0.1", 0);
  auto port = grove::local_port(l);
  grove::close(l);  // nobody listens there now
  EXPECT_EQ(errno_of([&] { grove::tcp_connect("127.0.0.1", port); }), ECONNREFUSED);
}

TEST(Io, WaitReadableTimesOut) {
  int fds[2];
  ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM, 0, fds), 0);
  auto t0 = grove::Clock::now();
  EXPECT_FALSE(grove::wait_readable(fds[0], 30ms));
  EXPECT_GE(grove::Clock::now() - t0, 30ms);
  EXPECT_TRUE(grove::wait_writable(fds[0], 1s));
  grove::close(fds[0]);
  grove::close(fds[1]);
}

TEST(Io, TimeoutScopeInterruptsRecv) {
  int fds[2];
  ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM, 0, fds), 0);
  {
    grove::Timeout t(20ms);
    char c;
    EXPECT_THROW(grove::recv(fds[0], &c, 1), grove::TimeoutError);
  }
  // The fd's reader slot was released: another wait works.
  grove::send_all(fds[1], "k", 1);
  char c;
  EXPECT_EQ(grove::recv(fds[0], &c, 1), 1u);
  grove::close(fds[0]);
  grove::close(fds[1]);
}

TEST(Io, KillWhileWaitingOnAnFd) {
  int fds[2];
  ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM, 0, fds), 0);
  auto g = grove::spawn([&] {
    char c;
    grove::recv(fds[0], &c, 1);
  });
  grove::sleep(5ms);
  g.kill();
  EXPECT_TRUE(g.killed());
  EXPECT_EQ(grove::detail::Hub::get().fd_waiter(fds[0], grove::detail::Interest::read), nullptr);
  grove::close(fds[0]);
  grove::close(fds[1]);
}

TEST(Io, LargeTransferWithBackpressure) {
  int fds[2];
  ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM, 0, fds), 0);
  constexpr std::size_t total = 16 << 20;
  auto writer = grove::spawn([&] {
    std::vector<char> chunk(1 << 16);
    for (std::size_t sent = 0; sent < total; sent += chunk.size()) {
      for (std::size_t i = 0; i < chunk.size(); ++i) chunk[i] = static_cast<char>((sent + i) * 31);
      grove::send_all(fds[1], chunk.data(), chunk.size());
    }
    grove::close(fds[1]);
  });
  std::size_t got = 0;
  bool intact = true;
  char buf[8192];
  while (std::size_t n = grove::recv(fds[0], buf, sizeof buf)) {
    for (std::size_t i = 0; i < n; ++i) intact &= buf[i] == static_cast<char>((got + i) * 31);
    got += n;
  }
  writer.join();
  EXPECT_EQ(got, total);
  EXPECT_TRUE(intact);
  grove::close(fds[0]);
}
