// Waiting first (fd_call.hpp): after a TCP read of grove's C++ API that came up short, the next
// read parks before trying. Nothing may be lost by it: data that arrived in between, urgent data,
// an end of file, peeks, other kinds of socket. (The interposer's libc calls always try first.)
#include <gtest/gtest.h>

#include <grove/grove.hpp>
#include <grove/nothrow.hpp>

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <string>

#include "hub.hpp"

using namespace std::chrono_literals;

namespace {

struct TcpPair {
  int listener = grove::tcp_listen("127.0.0.1", 0);
  int client = grove::tcp_connect("127.0.0.1", grove::local_port(listener));
  int server = grove::accept(listener);
  ~TcpPair() {
    grove::close(client);
    grove::close(server);
    grove::close(listener);
  }
};

bool drained(int fd) { return grove::detail::Hub::get().read_drained(fd); }

// A read that parks first: the fd is then registered with the hub's poller, as it is for any
// connection that ever waited.
std::string first_read(int fd, int peer, const std::string& what) {
  auto writer = grove::spawn([peer, what] { grove::send_all(peer, what.data(), what.size()); });
  char buf[256];
  const std::size_t n = grove::recv(fd, buf, sizeof buf);
  writer.join();
  return std::string(buf, n);
}

// A bounded read: a lost wake-up fails the test instead of hanging it.
std::string read_within(int fd, std::size_t max, int flags = 0) {
  grove::Timeout t(5s);
  std::string buf(max, '\0');
  buf.resize(grove::recv(fd, buf.data(), max, flags));
  return buf;
}

}  // namespace

TEST(WaitFirst, ShortTcpReadWaitsFirstAndStillGetsWhatArrivedMeanwhile) {
  TcpPair p;
  EXPECT_EQ(first_read(p.server, p.client, "hello"), "hello");
  EXPECT_TRUE(drained(p.server));  // 5 of 256 bytes: the queue was emptied
  // Arrives at once over loopback, with no turn of the hub before the next read: the edge waits
  // in the poller, and the read that parks first is woken by it.
  grove::send_all(p.client, "world", 5);
  EXPECT_EQ(read_within(p.server, 256), "world");
  EXPECT_TRUE(drained(p.server));
  // A read that fills its buffer says nothing about the queue: the next one tries first.
  grove::send_all(p.client, "0123456789", 10);
  EXPECT_EQ(read_within(p.server, 4), "0123");
  EXPECT_FALSE(drained(p.server));
  EXPECT_EQ(read_within(p.server, 4), "4567");
  EXPECT_EQ(read_within(p.server, 256), "89");
  EXPECT_TRUE(drained(p.server));
  // The end of the stream after a short read is still seen.
  ::shutdown(p.client, SHUT_WR);
  EXPECT_EQ(read_within(p.server, 256), "");
}

TEST(WaitFirst, AWaitThatUsesUpTheEdgeEndsTheHint) {
  TcpPair p;
  first_read(p.server, p.client, "a");
  ASSERT_TRUE(drained(p.server));
  auto writer = grove::spawn([&] { grove::send_all(p.client, "b", 1); });
  grove::wait_readable(p.server);  // parks, and is woken by the edge, which it uses up
  writer.join();
  EXPECT_FALSE(drained(p.server));
  EXPECT_EQ(read_within(p.server, 16), "b");  // tried first: the edge is gone

  ASSERT_TRUE(drained(p.server));
  grove::send_all(p.client, "c", 1);
  grove::wait_readable(p.server);  // readable at once: no wait, but the read is told to try first
  EXPECT_FALSE(drained(p.server));
  EXPECT_EQ(read_within(p.server, 16), "c");
}

TEST(WaitFirst, PeeksAndUnixSocketsNeverSetTheHint) {
  TcpPair p;
  first_read(p.server, p.client, "x");
  grove::send_all(p.client, "yz", 2);
  EXPECT_EQ(read_within(p.server, 2), "yz");  // a full read ends the hint
  ASSERT_FALSE(drained(p.server));
  grove::send_all(p.client, "pq", 2);
  EXPECT_EQ(read_within(p.server, 16, MSG_PEEK), "pq");  // short, but it consumed nothing
  EXPECT_FALSE(drained(p.server));
  EXPECT_EQ(read_within(p.server, 16), "pq");

  // A Unix stream read may stop short at a boundary of passed credentials or fds with data behind.
  int sv[2];
  ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
  EXPECT_EQ(first_read(sv[0], sv[1], "u"), "u");
  EXPECT_FALSE(drained(sv[0]));
  grove::close(sv[0]);
  grove::close(sv[1]);
}

TEST(WaitFirst, UrgentDataEndsWaitingFirstOnThatSocket) {
  TcpPair p;
  // "ab", an urgent "X", "cd" arrive together while the server's read waits; the read stops short
  // at the urgent mark with "cd" queued behind it. The poller's EPOLLPRI says so first.
  auto writer = grove::spawn([&] {
    grove::send_all(p.client, "ab", 2);
    ASSERT_EQ(::send(p.client, "X", 1, MSG_OOB), 1);
    grove::send_all(p.client, "cd", 2);
  });
  char buf[64];
  const std::size_t n = grove::recv(p.server, buf, sizeof buf);
  writer.join();
  EXPECT_EQ(std::string(buf, n), "ab");
  EXPECT_FALSE(drained(p.server));
  EXPECT_EQ(read_within(p.server, 64), "cd");
  EXPECT_FALSE(drained(p.server));  // never again on this socket
}

TEST(WaitFirst, AnEndOfFileBehindTheDataIsNotWaitedFor) {
  TcpPair p;
  // The reply and the end of the stream arrive together while the read waits (a server that
  // answers and closes): the short read leaves the end of file queued, and no edge follows it.
  auto writer = grove::spawn([&] {
    grove::send_all(p.client, "bye", 3);
    ::shutdown(p.client, SHUT_WR);
  });
  char buf[64];
  const std::size_t n = grove::recv(p.server, buf, sizeof buf);
  writer.join();
  EXPECT_EQ(std::string(buf, n), "bye");
  EXPECT_FALSE(drained(p.server));
  EXPECT_EQ(read_within(p.server, 64), "");
}

TEST(WaitFirst, LibcCallsAlwaysTryFirst) {
  TcpPair p;
  auto writer = grove::spawn([&] { grove::send_all(p.client, "c", 1); });
  char buf[64];
  EXPECT_EQ(grove::nothrow::read(p.server, buf, sizeof buf), 1);  // parked, then a short read
  writer.join();
  EXPECT_FALSE(drained(p.server));
}
