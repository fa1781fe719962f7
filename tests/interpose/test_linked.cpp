// A program linked with libgrove_preload: plain blocking C calls inside greenlets park only
// their greenlet; kill and Timeout reach into C code as ECANCELED / ETIMEDOUT.
#include <gtest/gtest.h>

#include <grove/grove.hpp>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <netdb.h>

#include "dns_server.hpp"

#include <cerrno>
#include <cstring>
#include <string>
#include <vector>

using namespace std::chrono_literals;

namespace {

// A loopback server on grove's C++ API: a greenlet per connection runs `handle(fd)`.
struct LoopbackServer {
  int listener;
  std::uint16_t port;
  grove::Greenlet<void> acceptor;

  template <class Handler>
  explicit LoopbackServer(Handler handle) {
    listener = grove::tcp_listen("127.0.0.1", 0, 1024);
    port = grove::local_port(listener);
    acceptor = grove::spawn([this, handle] {
      for (;;) {
        int c = grove::accept(listener);
        grove::spawn([c, handle] {
          handle(c);
          grove::close(c);
        });
      }
    });
  }
  ~LoopbackServer() {
    acceptor.kill();
    grove::close(listener);
  }
};

// Answers each connection's first message with itself, after `delay`.
struct SlowServer : LoopbackServer {
  explicit SlowServer(grove::Duration delay)
      : LoopbackServer([delay](int c) {
          char buf[256];
          std::size_t n = grove::recv(c, buf, sizeof buf);
          grove::sleep(delay);
          grove::send_all(c, buf, n);
        }) {}
};

// Plain blocking C: socket + connect + write + read, as any C library would do it.
std::string blocking_roundtrip(std::uint16_t port, const std::string& msg) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return "socket: " + std::string(std::strerror(errno));
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    std::string e = "connect: " + std::string(std::strerror(errno));
    ::close(fd);
    return e;
  }
  ::write(fd, msg.data(), msg.size());
  std::string got;
  char buf[256];
  for (ssize_t n; (n = ::read(fd, buf, sizeof buf)) > 0;) got.append(buf, static_cast<std::size_t>(n));
  ::close(fd);
  return got;
}

}  // namespace

TEST(Linked, HundredBlockingSleepsRunTogether) {
  auto t0 = grove::Clock::now();
  std::vector<grove::Greenlet<unsigned>> gs;
  for (int i = 0; i < 100; ++i) gs.push_back(grove::spawn([] { return ::sleep(1); }));
  for (auto& g : gs) EXPECT_EQ(g.get(), 0u);
  auto took = grove::Clock::now() - t0;
  EXPECT_GE(took, 1s);
  EXPECT_LT(took, 3s);  // serially: 100 s
}

TEST(Linked, HundredBlockingConnectReadRunTogether) {
  SlowServer server(200ms);
  auto t0 = grove::Clock::now();
  std::vector<grove::Greenlet<std::string>> gs;
  for (int i = 0; i < 100; ++i)
    gs.push_back(grove::spawn([port = server.port, i] { return blocking_roundtrip(port, "msg" + std::to_string(i)); }));
  for (int i = 0; i < 100; ++i) EXPECT_EQ(gs[static_cast<std::size_t>(i)].get(), "msg" + std::to_string(i));
  auto took = grove::Clock::now() - t0;
  EXPECT_GE(took, 200ms);
  EXPECT_LT(took, 2s);  // serially: 20 s
}

TEST(Linked, KillInsideCCodeIsEcanceledThenGreenletExit) {
  int sv[2];
  ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
  int read_result = 0, read_errno = 0, second_errno = 0;
  auto g = grove::spawn([&] {
    char c;
    read_result = static_cast<int>(::read(sv[0], &c, 1));
    read_errno = errno;
    ::read(sv[0], &c, 1);  // still killed: fails at once
    second_errno = errno;
    grove::sleep(1s);  // back in the C++ API: throws
  });
  grove::sleep(10ms);
  g.kill();
  EXPECT_TRUE(g.killed());
  EXPECT_EQ(read_result, -1);
  EXPECT_EQ(read_errno, ECANCELED);
  EXPECT_EQ(second_errno, ECANCELED);
  ::close(sv[0]);
  ::close(sv[1]);
}

TEST(Linked, TimeoutInsideCCodeIsEtimedout) {
  int sv[2];
  ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
  auto t0 = grove::Clock::now();
  {
    grove::Timeout t(50ms);
    char c;
    EXPECT_EQ(::read(sv[0], &c, 1), -1);
    EXPECT_EQ(errno, ETIMEDOUT);
    EXPECT_EQ(::usleep(1000), -1);  // sticky inside the scope
    EXPECT_EQ(errno, ETIMEDOUT);
    EXPECT_THROW(grove::sleep(1ms), grove::TimeoutError);
  }
  EXPECT_LT(grove::Clock::now() - t0, 1s);
  ::close(sv[0]);
  ::close(sv[1]);
}

TEST(Linked, UserNonblockingSocketsGetEagainAndSeeTheirFlags) {
  int sv[2];
  ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv), 0);
  char c;
  EXPECT_EQ(::read(sv[0], &c, 1), -1);
  EXPECT_EQ(errno, EAGAIN);
  EXPECT_TRUE(::fcntl(sv[0], F_GETFL) & O_NONBLOCK);
  int off = 0;
  ASSERT_EQ(::ioctl(sv[0], FIONBIO, &off), 0);
  EXPECT_FALSE(::fcntl(sv[0], F_GETFL) & O_NONBLOCK);  // the program's view
  auto reader = grove::spawn([&] {
    char x;
    return ::read(sv[0], &x, 1);  // now blocking for the program: parks
  });
  grove::sleep(10ms);
  EXPECT_FALSE(reader.ready());
  ASSERT_EQ(::write(sv[1], "x", 1), 1);
  EXPECT_EQ(reader.get(), 1);
  ASSERT_EQ(::fcntl(sv[0], F_SETFL, ::fcntl(sv[0], F_GETFL) | O_NONBLOCK), 0);
  EXPECT_EQ(::read(sv[0], &c, 1), -1);
  EXPECT_EQ(errno, EAGAIN);
  ::close(sv[0]);
  ::close(sv[1]);
}

TEST(Linked, SoRcvtimeoExpiresWithEagain) {
  int sv[2];
  ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
  timeval tv{0, 80'000};
  ASSERT_EQ(::setsockopt(sv[0], SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv), 0);
  bool other_ran = false;
  auto other = grove::spawn([&] { other_ran = true; });
  auto t0 = grove::Clock::now();
  char c;
  EXPECT_EQ(::read(sv[0], &c, 1), -1);
  EXPECT_EQ(errno, EAGAIN);
  auto took = grove::Clock::now() - t0;
  EXPECT_GE(took, 80ms);
  EXPECT_LT(took, 1s);
  EXPECT_TRUE(other_ran);  // it parked rather than blocking the thread
  other.join();
  ::close(sv[0]);
  ::close(sv[1]);
}

TEST(Linked, CloseWhileAnotherGreenletWaitsGivesEbadf) {
  int sv[2];
  ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
  auto reader = grove::spawn([&] {
    char c;
    ssize_t r = ::recv(sv[0], &c, 1, 0);
    return r == -1 ? errno : 0;
  });
  grove::sleep(5ms);
  ::close(sv[0]);
  EXPECT_EQ(reader.get(), EBADF);
  ::close(sv[1]);
}

TEST(Linked, PollAndSelectParkAndReportReadiness) {
  int sv[2];
  ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
  auto writer = grove::spawn([&] {
    grove::sleep(30ms);
    ::write(sv[1], "y", 1);
  });
  pollfd p{sv[0], POLLIN, 0};
  auto t0 = grove::Clock::now();
  EXPECT_EQ(::poll(&p, 1, 5000), 1);
  EXPECT_TRUE(p.revents & POLLIN);
  EXPECT_GE(grove::Clock::now() - t0, 25ms);
  writer.join();
  fd_set rs;
  FD_ZERO(&rs);
  FD_SET(sv[0], &rs);
  timeval tv{1, 0};
  EXPECT_EQ(::select(sv[0] + 1, &rs, nullptr, nullptr, &tv), 1);
  EXPECT_TRUE(FD_ISSET(sv[0], &rs));
  char c;
  ASSERT_EQ(::read(sv[0], &c, 1), 1);
  FD_ZERO(&rs);
  FD_SET(sv[0], &rs);
  tv = {0, 30'000};
  EXPECT_EQ(::select(sv[0] + 1, &rs, nullptr, nullptr, &tv), 0);  // timeout clears the set
  EXPECT_FALSE(FD_ISSET(sv[0], &rs));
  p.revents = 0;
  EXPECT_EQ(::poll(&p, 1, 20), 0);
  ::close(sv[0]);
  ::close(sv[1]);
}

TEST(Linked, NanosleepReportsRemainingTimeWhenKilled) {
  timespec rem{};
  int r = 0, e = 0;
  auto g = grove::spawn([&] {
    timespec req{5, 0};
    r = ::nanosleep(&req, &rem);
    e = errno;
  });
  grove::sleep(20ms);
  g.kill();
  EXPECT_EQ(r, -1);
  EXPECT_EQ(e, ECANCELED);
  EXPECT_GE(rem.tv_sec, 4);
  EXPECT_LE(rem.tv_sec, 5);
}

namespace {

// A tiny HTTP/1.0 server: every response after `delay`, body = the path.
struct SlowHttp : LoopbackServer {
  explicit SlowHttp(grove::Duration delay)
      : LoopbackServer([delay](int c) {
          std::string req;
          char buf[1024];
          while (req.find("\r\n\r\n") == std::string::npos) {
            std::size_t n = grove::recv(c, buf, sizeof buf);
            if (n == 0) break;
            req.append(buf, n);
          }
          std::string path = req.substr(4, req.find(' ', 4) - 4);
          grove::sleep(delay);
          std::string resp = "HTTP/1.0 200 OK\r\nContent-Length: " + std::to_string(path.size()) +
                             "\r\nConnection: close\r\n\r\n" + path;
          grove::send_all(c, resp.data(), resp.size());
        }) {}
};

std::size_t collect(char* p, std::size_t size, std::size_t n, void* out) {
  static_cast<std::string*>(out)->append(p, size * n);
  return size * n;
}

// libcurl's blocking easy API, exactly as a single-threaded program would use it.
std::string curl_get(const std::string& url) {
  CURL* h = curl_easy_init();
  std::string body;
  curl_easy_setopt(h, CURLOPT_URL, url.c_str());
  curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, collect);
  curl_easy_setopt(h, CURLOPT_WRITEDATA, &body);
  curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(h, CURLOPT_TIMEOUT, 30L);
  CURLcode rc = curl_easy_perform(h);
  curl_easy_cleanup(h);
  return rc == CURLE_OK ? body : std::string("curl error: ") + curl_easy_strerror(rc);
}

}  // namespace

TEST(Linked, TwoHundredGreenletsOfPlainBlockingCCodeTakeAboutAsLongAsOne) {
  curl_global_init(CURL_GLOBAL_DEFAULT);
  SlowServer tcp(200ms);
  SlowHttp http(200ms);
  auto t0 = grove::Clock::now();
  std::vector<grove::Greenlet<bool>> gs;
  for (int i = 0; i < 200; ++i)
    gs.push_back(grove::spawn([&, i]() -> bool {
      switch (i % 3) {
        case 0:
          return blocking_roundtrip(tcp.port, "tcp" + std::to_string(i)) == "tcp" + std::to_string(i);
        case 1:
          return ::usleep(200'000) == 0;
        default: {
          std::string path = "/file" + std::to_string(i);
          return curl_get("http://127.0.0.1:" + std::to_string(http.port) + path) == path;
        }
      }
    }));
  int ok = 0;
  for (auto& g : gs) ok += g.get();
  auto took = grove::Clock::now() - t0;
  EXPECT_EQ(ok, 200);
  EXPECT_GE(took, 200ms);
  EXPECT_LT(took, 2s);  // one after another: 40 s
  curl_global_cleanup();
}

TEST(Linked, HundredPlainGetaddrinfoCallsRunTogether) {
  grove::test::DnsServer dns;
  for (int i = 0; i < 100; ++i) dns.add_a("host" + std::to_string(i) + ".grove.test", "192.0.2." + std::to_string(i + 1));
  dns.set_default_delay_ms(200);
  ::setenv("GROVE_DNS_SERVERS", dns.address().c_str(), 1);  // read when this thread's channel starts
  auto t0 = grove::Clock::now();
  std::vector<grove::Greenlet<std::string>> gs;
  for (int i = 0; i < 100; ++i)
    gs.push_back(grove::spawn([i]() -> std::string {
      addrinfo hints{};
      hints.ai_family = AF_INET;
      hints.ai_socktype = SOCK_STREAM;
      addrinfo* res = nullptr;
      int rc = ::getaddrinfo(("host" + std::to_string(i) + ".grove.test").c_str(), "80", &hints, &res);
      if (rc != 0) return gai_strerror(rc);
      char ip[INET_ADDRSTRLEN];
      ::inet_ntop(AF_INET, &reinterpret_cast<sockaddr_in*>(res->ai_addr)->sin_addr, ip, sizeof ip);
      ::freeaddrinfo(res);
      return ip;
    }));
  for (int i = 0; i < 100; ++i) EXPECT_EQ(gs[static_cast<std::size_t>(i)].get(), "192.0.2." + std::to_string(i + 1));
  auto took = grove::Clock::now() - t0;
  EXPECT_GE(took, 200ms);
  EXPECT_LT(took, 2s);  // one after another: 20 s
  hostent he, *result = nullptr;
  char buf[1024];
  int herr = 0;
  EXPECT_EQ(::gethostbyname_r("host7.grove.test", &he, buf, sizeof buf, &result, &herr), 0);
  ASSERT_NE(result, nullptr);
  EXPECT_EQ(std::string(::inet_ntoa(*reinterpret_cast<in_addr*>(result->h_addr_list[0]))), "192.0.2.8");
  EXPECT_EQ(::gethostbyname_r("missing.grove.test", &he, buf, sizeof buf, &result, &herr), 0);
  EXPECT_EQ(result, nullptr);
  EXPECT_EQ(herr, HOST_NOT_FOUND);
  ::unsetenv("GROVE_DNS_SERVERS");
}
