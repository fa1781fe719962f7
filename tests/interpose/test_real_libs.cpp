// Real C libraries' blocking APIs in greenlets of a program linked with the interposer: libpq,
// hiredis and libcurl (HTTPS) against real servers each test starts (real_servers.hpp), and
// system(), popen(), waitpid(). Blocking calls must park only their greenlet, results must be
// libc's and the libraries', and a Timeout that interrupts a library must leave its connection
// broken rather than out of step.
#include <gtest/gtest.h>

#include <grove/grove.hpp>

#include <dlfcn.h>
#include <signal.h>
#include <stdio.h>
#include <sys/wait.h>
#include <unistd.h>

#include <curl/curl.h>
#include <hiredis/hiredis.h>
#include <libpq-fe.h>

#include <atomic>
#include <string>
#include <vector>

#include "real_servers.hpp"

using namespace std::chrono_literals;
using grove::test::Watchdog;

namespace {

double seconds_since(grove::Clock::time_point t0) {
  return std::chrono::duration<double>(grove::Clock::now() - t0).count();
}

// Joins every greenlet within `limit`; kills (ECANCELED inside C code) and reports the rest.
template <class G>
void join_all_within(std::vector<G>& gs, grove::Duration limit, const char* what) {
  if (grove::joinall(gs, limit)) return;
  int pending = 0;
  for (auto& g : gs) pending += !g.ready();
  ADD_FAILURE() << what << ": " << pending << " of " << gs.size() << " greenlets still parked after "
                << std::chrono::duration<double>(limit).count() << " s; killing them";
  for (auto& g : gs) g.kill();
}

// A greenlet counting 10 ms sleeps until stopped: how much the hub ran while others waited.
struct Ticker {
  std::atomic<bool> stop{false};
  int ticks = 0;
  grove::Greenlet<void> g = grove::spawn([this] {
    while (!stop) {
      grove::sleep(10ms);
      ++ticks;
    }
  });
  int finish() {
    stop = true;
    g.join();
    return ticks;
  }
};

}  // namespace

// The hooks this file relies on are the preload's (the link kept libgrove_preload.so).
TEST(RealLibs, InterposerIsInEffect) {
  Dl_info info{};
  void* fn = ::dlsym(RTLD_DEFAULT, "poll");
  ASSERT_NE(fn, nullptr);
  ASSERT_NE(::dladdr(fn, &info), 0);
  if (std::string(info.dli_fname).find("libasan") != std::string::npos) {
    // AddressSanitizer's runtime is always first in line; its interceptor calls the next
    // definition, which must be grove's: the preload is loaded and defines poll itself.
    void* preload = ::dlopen("libgrove_preload.so", RTLD_NOLOAD | RTLD_LAZY);
    ASSERT_NE(preload, nullptr) << "libgrove_preload.so is not loaded";
    fn = ::dlsym(preload, "poll");
    ASSERT_NE(fn, nullptr);
    ASSERT_NE(::dladdr(fn, &info), 0);
    ::dlclose(preload);
  }
  EXPECT_NE(std::string(info.dli_fname).find("libgrove_preload"), std::string::npos) << info.dli_fname;
}

// --- libpq --------------------------------------------------------------------------------------

TEST(Libpq, HundredGreenletsEachWithAConnectionSleepTogether) {
  Watchdog dog(90s, "Libpq.HundredGreenletsEachWithAConnectionSleepTogether");
  grove::test::Postgres pg;
  auto c0 = grove::Clock::now();
  std::vector<grove::Greenlet<PGconn*>> connecting;
  for (int i = 0; i < 100; ++i) connecting.push_back(grove::spawn([&] { return PQconnectdb(pg.conninfo().c_str()); }));
  join_all_within(connecting, 30s, "PQconnectdb x100");
  double connect_took = seconds_since(c0);
  std::printf("100 x PQconnectdb: %.3f s\n", connect_took);
  EXPECT_LT(connect_took, 5.0) << "100 PQconnectdb in greenlets";
  std::vector<PGconn*> conns;
  for (auto& g : connecting)
    if (g.ready() && !g.killed()) conns.push_back(g.get());
  ASSERT_EQ(conns.size(), 100u);
  for (PGconn* c : conns) ASSERT_EQ(PQstatus(c), CONNECTION_OK) << PQerrorMessage(c);

  auto t0 = grove::Clock::now();
  std::vector<grove::Greenlet<std::string>> gs;
  for (PGconn* c : conns)
    gs.push_back(grove::spawn([c]() -> std::string {
      PGresult* r = PQexec(c, "select pg_sleep(0.2)");
      std::string out = PQresultStatus(r) == PGRES_TUPLES_OK ? "ok" : std::string("error: ") + PQerrorMessage(c);
      PQclear(r);
      return out;
    }));
  join_all_within(gs, 20s, "select pg_sleep(0.2) x100");
  double took = seconds_since(t0);
  std::printf("100 x select pg_sleep(0.2): %.3f s\n", took);
  int ok = 0;
  for (auto& g : gs) ok += g.ready() && !g.killed() && g.get() == "ok";
  EXPECT_EQ(ok, 100) << (gs[0].ready() && !gs[0].killed() ? gs[0].get() : "");
  EXPECT_GE(took, 0.2);
  EXPECT_LT(took, 1.0) << "100 x pg_sleep(0.2) on 100 connections did not overlap (serially: 20 s)";
  for (PGconn* c : conns) PQfinish(c);
}

TEST(Libpq, ResultsOverOneMebibyteAreComplete) {
  Watchdog dog(60s, "Libpq.ResultsOverOneMebibyteAreComplete");
  grove::test::Postgres pg(10);
  auto g = grove::spawn([&]() -> std::string {
    PGconn* c = PQconnectdb(pg.conninfo().c_str());
    if (PQstatus(c) != CONNECTION_OK) return std::string("connect: ") + PQerrorMessage(c);
    std::string problems;
    PGresult* r = PQexec(c, "select repeat('ab', 600000)");  // one 1.2 MB value
    if (PQresultStatus(r) != PGRES_TUPLES_OK)
      problems += std::string("one big value: ") + PQerrorMessage(c);
    else if (PQgetlength(r, 0, 0) != 1'200'000 || std::string(PQgetvalue(r, 0, 0)) != [] {
               std::string s;
               for (int i = 0; i < 600000; ++i) s += "ab";
               return s;
             }())
      problems += "one big value: wrong content, length " + std::to_string(PQgetlength(r, 0, 0)) + "; ";
    PQclear(r);
    r = PQexec(c, "select g, repeat(chr(65 + g % 26), 1000) from generate_series(1, 2000) g");  // 2 MB in rows
    if (PQresultStatus(r) != PGRES_TUPLES_OK) {
      problems += std::string("2000 rows: ") + PQerrorMessage(c);
    } else if (PQntuples(r) != 2000) {
      problems += "2000 rows: got " + std::to_string(PQntuples(r)) + "; ";
    } else {
      for (int i = 0; i < 2000; ++i)
        if (std::string(PQgetvalue(r, i, 0)) != std::to_string(i + 1) ||
            std::string(PQgetvalue(r, i, 1)) != std::string(1000, static_cast<char>(65 + (i + 1) % 26))) {
          problems += "2000 rows: row " + std::to_string(i + 1) + " wrong; ";
          break;
        }
    }
    PQclear(r);
    r = PQexec(c, "select 7");  // and the connection is still in step
    if (PQresultStatus(r) != PGRES_TUPLES_OK || std::string(PQgetvalue(r, 0, 0)) != "7") problems += "select 7 after them failed";
    PQclear(r);
    PQfinish(c);
    return problems;
  });
  if (!g.join(20s)) {
    g.kill();
    FAIL() << "a greenlet reading > 1 MiB results through libpq still parked after 20 s";
  }
  EXPECT_EQ(g.get(), "");
}

TEST(Libpq, TimeoutAroundALongQueryThenEachQueryGetsItsOwnAnswerOrAnError) {
  Watchdog dog(60s, "Libpq.TimeoutAroundALongQuery");
  grove::test::Postgres pg(10);
  PGconn* c = PQconnectdb(pg.conninfo().c_str());
  ASSERT_EQ(PQstatus(c), CONNECTION_OK) << PQerrorMessage(c);
  auto g = grove::spawn([&] {
    auto t0 = grove::Clock::now();
    ExecStatusType interrupted;
    {
      grove::Timeout t(200ms);
      PGresult* r = PQexec(c, "select pg_sleep(5)");
      interrupted = PQresultStatus(r);
      PQclear(r);
    }
    double took = seconds_since(t0);
    EXPECT_LT(took, 1.0) << "the Timeout did not interrupt PQexec";
    EXPECT_NE(interrupted, PGRES_TUPLES_OK) << "pg_sleep(5) cannot have succeeded in " << took << " s";
    ConnStatusType status = PQstatus(c);
    std::printf("after the Timeout: PQexec status %s, PQstatus %s (%s)\n", PQresStatus(interrupted),
                status == CONNECTION_OK ? "CONNECTION_OK" : status == CONNECTION_BAD ? "CONNECTION_BAD" : "other",
                PQerrorMessage(c));
    for (int i = 1; i <= 3; ++i) {
      auto q0 = grove::Clock::now();
      std::string sql = "select " + std::to_string(i);
      PGresult* r = PQexec(c, sql.c_str());
      ExecStatusType st = PQresultStatus(r);
      if (st == PGRES_TUPLES_OK) {
        // An answer must be this query's: one row, one column "?column?", the value i.
        EXPECT_EQ(PQntuples(r) == 1 && PQnfields(r) == 1 ? std::string(PQfname(r, 0)) + "=" + PQgetvalue(r, 0, 0)
                                                          : "rows of another query (" + std::to_string(PQntuples(r)) +
                                                                " rows, first column " +
                                                                (PQnfields(r) ? PQfname(r, 0) : "none") + ")",
                  "?column?=" + std::to_string(i))
            << "'" << sql << "' after the interrupted pg_sleep returned another query's rows";
      } else {
        std::printf("'%s': %s %s", sql.c_str(), PQresStatus(st), PQerrorMessage(c));
        EXPECT_NE(PQstatus(c), CONNECTION_OK) << "'" << sql << "' failed on a connection that says it is fine";
      }
      PQclear(r);
      EXPECT_LT(seconds_since(q0), 1.0) << "'" << sql << "' waited for the abandoned pg_sleep(5)";
    }
  });
  if (!g.join(30s)) {
    g.kill();
    ADD_FAILURE() << "still parked after 30 s";
  }
  PQfinish(c);
}

// --- hiredis ------------------------------------------------------------------------------------

// The README's pattern for cancelling a query and keeping the connection: PQcancel from a
// greenlet started with spawn_later; PQcancel's own connect/send/recv park only that greenlet.
TEST(Libpq, PqcancelFromASpawnLaterGreenletEndsTheQueryAndKeepsTheConnection) {
  Watchdog dog(60s, "Libpq.Pqcancel");
  grove::test::Postgres pg(10);
  PGconn* c = PQconnectdb(pg.conninfo().c_str());
  ASSERT_EQ(PQstatus(c), CONNECTION_OK) << PQerrorMessage(c);
  auto g = grove::spawn([&] {
    PGcancel* cancel = PQgetCancel(c);
    int ticks = 0;
    auto ticker = grove::spawn([&] {
      for (;;) {
        grove::sleep(10ms);
        ++ticks;
      }
    });
    auto canceller = grove::spawn_later(200ms, [&] {
      char err[256] = {};
      return PQcancel(cancel, err, sizeof err) == 1 ? std::string() : std::string(err);
    });
    auto t0 = grove::Clock::now();
    PGresult* r = PQexec(c, "select pg_sleep(5)");
    const double took = seconds_since(t0);
    EXPECT_EQ(PQresultStatus(r), PGRES_FATAL_ERROR);
    EXPECT_NE(std::string(PQresultErrorMessage(r)).find("cancel"), std::string::npos) << PQresultErrorMessage(r);
    PQclear(r);
    EXPECT_EQ(canceller.get(), "");
    EXPECT_GT(took, 0.15);
    EXPECT_LT(took, 2.0) << "the cancel did not end pg_sleep(5)";
    EXPECT_GE(ticks, 10) << "the wait for the query blocked the thread";
    ticker.kill();
    PQfreeCancel(cancel);
    EXPECT_EQ(PQstatus(c), CONNECTION_OK);
    r = PQexec(c, "select 42");  // the connection is still in step
    EXPECT_EQ(PQresultStatus(r) == PGRES_TUPLES_OK ? std::string(PQgetvalue(r, 0, 0)) : PQerrorMessage(c), "42");
    PQclear(r);
  });
  if (!g.join(30s)) {
    g.kill();
    ADD_FAILURE() << "still parked after 30 s";
  }
  PQfinish(c);
}

TEST(Hiredis, TwoHundredBlockingBlpopsRunTogether) {
  Watchdog dog(120s, "Hiredis.TwoHundredBlockingBlpopsRunTogether");
  grove::test::Redis redis;
  auto t0 = grove::Clock::now();
  std::vector<grove::Greenlet<std::string>> gs;
  for (int i = 0; i < 200; ++i)
    gs.push_back(grove::spawn([&]() -> std::string {
      redisContext* c = redisConnect("127.0.0.1", redis.port());
      if (!c || c->err) return std::string("connect: ") + (c ? c->errstr : "null");
      auto* r = static_cast<redisReply*>(redisCommand(c, "BLPOP somekey 0.3"));
      std::string out = !r ? std::string("error: ") + c->errstr : r->type == REDIS_REPLY_NIL ? "nil" : "type " + std::to_string(r->type);
      if (r) freeReplyObject(r);
      redisFree(c);
      return out;
    }));
  join_all_within(gs, 30s, "BLPOP 0.3 x200");
  double took = seconds_since(t0);
  int nil = 0;
  for (auto& g : gs) nil += g.ready() && !g.killed() && g.get() == "nil";
  EXPECT_EQ(nil, 200) << (gs[0].ready() && !gs[0].killed() ? gs[0].get() : "");
  EXPECT_GE(took, 0.3);
  EXPECT_LT(took, 1.5) << "200 x BLPOP 0.3 did not overlap (serially: 60 s)";
}

TEST(Hiredis, TimeoutInterruptsABlpopAndTheConnectionIsBroken) {
  Watchdog dog(60s, "Hiredis.TimeoutInterruptsABlpop");
  grove::test::Redis redis;
  auto g = grove::spawn([&] {
    redisContext* c = redisConnect("127.0.0.1", redis.port());
    ASSERT_TRUE(c && !c->err) << (c ? c->errstr : "null");
    auto t0 = grove::Clock::now();
    void* r;
    {
      grove::Timeout t(200ms);
      r = redisCommand(c, "BLPOP grove:key 10");
    }
    double took = seconds_since(t0);
    EXPECT_LT(took, 1.0) << "the Timeout did not interrupt redisCommand";
    EXPECT_EQ(r, nullptr) << "redisCommand returned a reply (type "
                          << (r ? static_cast<redisReply*>(r)->type : 0) << ") after " << took << " s: not interrupted";
    if (r) freeReplyObject(r);
    bool io_error = c->err == REDIS_ERR_IO || c->err == REDIS_ERR_EOF;
#ifdef REDIS_ERR_TIMEOUT
    io_error = io_error || c->err == REDIS_ERR_TIMEOUT;
#endif
    EXPECT_TRUE(io_error) << "hiredis error " << c->err << ": " << c->errstr;
    EXPECT_EQ(std::string(c->errstr).find("argument"), std::string::npos) << c->errstr;
    redisFree(c);

    // Nothing left out of step: the abandoned BLPOP must not stay blocked in the server, where
    // it would take the next value pushed. Polled (bounded) because the server learns of the
    // closed connection asynchronously.
    redisContext* other = redisConnect("127.0.0.1", redis.port());
    ASSERT_TRUE(other && !other->err);
    std::string blocked;
    for (int i = 0; i < 100; ++i) {
      auto* info = static_cast<redisReply*>(redisCommand(other, "INFO clients"));
      ASSERT_NE(info, nullptr) << other->errstr;
      std::string s(info->str, info->len);
      freeReplyObject(info);
      auto at = s.find("blocked_clients:");
      blocked = s.substr(at, s.find('\r', at) - at);
      if (blocked == "blocked_clients:0") break;
      grove::sleep(20ms);
    }
    EXPECT_EQ(blocked, "blocked_clients:0") << "the interrupted BLPOP is still blocked in the server 2 s later: "
                                               "its connection was not shut down";
    freeReplyObject(redisCommand(other, "RPUSH grove:key v"));
    auto* len = static_cast<redisReply*>(redisCommand(other, "LLEN grove:key"));
    ASSERT_NE(len, nullptr);
    EXPECT_EQ(len->integer, 1) << "the abandoned BLPOP took the value pushed after it";
    freeReplyObject(len);
    redisFree(other);
  });
  if (!g.join(30s)) {
    g.kill();
    ADD_FAILURE() << "still parked after 30 s";
  }
}

// --- libcurl, easy API, HTTPS -------------------------------------------------------------------

namespace {

std::size_t collect(char* p, std::size_t size, std::size_t n, void* out) {
  static_cast<std::string*>(out)->append(p, size * n);
  return size * n;
}

// One HTTPS GET with libcurl's blocking easy API, cleanup included; the body or "error: …".
std::string https_get(const std::string& url, CURLcode* rc_out = nullptr) {
  CURL* h = curl_easy_init();
  std::string body;
  curl_easy_setopt(h, CURLOPT_URL, url.c_str());
  curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, collect);
  curl_easy_setopt(h, CURLOPT_WRITEDATA, &body);
  curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 0L);
  curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 0L);
  curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(h, CURLOPT_TIMEOUT, 30L);
  CURLcode rc = curl_easy_perform(h);
  curl_easy_cleanup(h);
  if (rc_out) *rc_out = rc;
  return rc == CURLE_OK ? body : std::string("error: ") + curl_easy_strerror(rc);
}

}  // namespace

TEST(Libcurl, HundredHttpsGetsWithCleanupRunTogether) {
  Watchdog dog(60s, "Libcurl.HundredHttpsGetsWithCleanupRunTogether");
  curl_global_init(CURL_GLOBAL_DEFAULT);
  grove::test::TlsHttpServer server(200ms);
  auto t0 = grove::Clock::now();
  std::vector<grove::Greenlet<std::string>> gs;
  for (int i = 0; i < 100; ++i)
    gs.push_back(grove::spawn([&, i] { return https_get(server.url("/item" + std::to_string(i))); }));
  join_all_within(gs, 40s, "100 HTTPS GETs");
  double took = seconds_since(t0);
  int ok = 0;
  std::string first_wrong;
  for (int i = 0; i < 100; ++i) {
    auto& g = gs[static_cast<std::size_t>(i)];
    std::string want = "body of /item" + std::to_string(i) + "\n";
    bool good = g.ready() && !g.killed() && g.get() == want;
    ok += good;
    if (!good && first_wrong.empty()) first_wrong = g.ready() && !g.killed() ? g.get() : "(not done)";
  }
  EXPECT_EQ(ok, 100) << first_wrong;
  EXPECT_GE(took, 0.2);
  EXPECT_LT(took, 1.5) << "100 HTTPS GETs (200 ms each, curl_easy_cleanup included) did not overlap";
  curl_global_cleanup();
}

TEST(Libcurl, TimeoutInsidePerformIsATimeoutOrConnectionError) {
  Watchdog dog(60s, "Libcurl.TimeoutInsidePerform");
  curl_global_init(CURL_GLOBAL_DEFAULT);
  grove::test::TlsHttpServer server(0ms);
  auto g = grove::spawn([&] {
    CURLcode rc = CURLE_OK;
    auto t0 = grove::Clock::now();
    {
      grove::Timeout t(300ms);
      https_get(server.url("/slow"), &rc);  // the server answers after 5 s
    }
    EXPECT_LT(seconds_since(t0), 1.0) << "the Timeout did not interrupt curl_easy_perform (or cleanup)";
    EXPECT_TRUE(rc == CURLE_OPERATION_TIMEDOUT || rc == CURLE_RECV_ERROR || rc == CURLE_SEND_ERROR ||
                rc == CURLE_GOT_NOTHING || rc == CURLE_COULDNT_CONNECT || rc == CURLE_SSL_CONNECT_ERROR)
        << "curl said " << rc << ": " << curl_easy_strerror(rc);
    auto t1 = grove::Clock::now();
    EXPECT_EQ(https_get(server.url("/after")), "body of /after\n");  // outside the scope: works again
    EXPECT_LT(seconds_since(t1), 1.5) << "a GET of an immediate answer, curl_easy_cleanup included";
  });
  if (!g.join(30s)) {
    g.kill();
    ADD_FAILURE() << "still parked after 30 s";
  }
  curl_global_cleanup();
}

// --- system(), popen(), waitpid() ---------------------------------------------------------------

TEST(Processes, TenSystemCallsOverlapWhileAnotherGreenletTicks) {
  Watchdog dog(60s, "Processes.TenSystemCallsOverlap");
  Ticker ticker;
  auto t0 = grove::Clock::now();
  std::vector<grove::Greenlet<int>> gs;
  for (int i = 0; i < 10; ++i) gs.push_back(grove::spawn([] { return ::system("sleep 0.5"); }));
  join_all_within(gs, 20s, "system(\"sleep 0.5\") x10");
  double took = seconds_since(t0);
  int ticks = ticker.finish();
  for (auto& g : gs) EXPECT_TRUE(g.ready() && !g.killed() && g.get() == 0);
  EXPECT_GE(took, 0.5);
  EXPECT_LT(took, 1.5) << "10 x system(\"sleep 0.5\") did not overlap (serially: 5 s)";
  EXPECT_GE(ticks, 20) << "the hub stood still while system() waited";
}

namespace {
std::atomic<int> sigints{0};
void count_sigint(int) { ++sigints; }
}  // namespace

TEST(Processes, SystemGivesLibcsStatusesAndIgnoresSigintWhileItWaits) {
  Watchdog dog(30s, "Processes.SystemStatuses");
  auto g = grove::spawn([] {
    EXPECT_NE(::system(nullptr), 0);  // a shell is available
    int st = ::system("exit 3");
    EXPECT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 3) << st;
    st = ::system("kill -TERM $$");
    EXPECT_TRUE(WIFSIGNALED(st) && WTERMSIG(st) == SIGTERM) << st;
    st = ::system("exec /nonexistent/program 2>/dev/null");
    EXPECT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 127) << st;
    // system() ignores SIGINT in the caller while it waits: the SIGINT sent to us from inside
    // the command is lost, as with libc (our handler must not run).
    struct sigaction sa{}, old{};
    sa.sa_handler = count_sigint;
    sigemptyset(&sa.sa_mask);
    ::sigaction(SIGINT, &sa, &old);
    sigints = 0;
    st = ::system("kill -INT $PPID; exit 0");
    EXPECT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 0) << st;
    EXPECT_EQ(sigints.load(), 0) << "SIGINT reached the caller while system() waited";
    ::sigaction(SIGINT, &old, nullptr);
  });
  if (!g.join(20s)) {
    g.kill();
    ADD_FAILURE() << "still parked after 20 s";
  }
}

TEST(Processes, TenPopenReadPcloseOverlap) {
  Watchdog dog(60s, "Processes.TenPopenOverlap");
  Ticker ticker;
  auto t0 = grove::Clock::now();
  std::vector<grove::Greenlet<std::string>> gs;
  for (int i = 0; i < 10; ++i)
    gs.push_back(grove::spawn([]() -> std::string {
      FILE* f = ::popen("sleep 0.5; echo hi", "r");
      if (!f) return "popen failed";
      char line[64] = "";
      std::string out = std::fgets(line, sizeof line, f) ? line : "fgets: NULL";
      int st = ::pclose(f);
      return out + (WIFEXITED(st) ? " exit " + std::to_string(WEXITSTATUS(st)) : " status " + std::to_string(st));
    }));
  join_all_within(gs, 20s, "popen x10");
  double took = seconds_since(t0);
  int ticks = ticker.finish();
  for (auto& g : gs) EXPECT_EQ(g.ready() && !g.killed() ? g.get() : "(not done)", "hi\n exit 0");
  EXPECT_GE(took, 0.5);
  EXPECT_LT(took, 1.5) << "10 x popen(\"sleep 0.5; echo hi\") + fgets + pclose did not overlap (serially: 5 s)";
  EXPECT_GE(ticks, 20) << "the hub stood still while popen's children ran";
  auto g = grove::spawn([] {
    FILE* f = ::popen("exit 5", "r");
    return f ? ::pclose(f) : -1;
  });
  int st = g.get();
  EXPECT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 5) << st;
}

TEST(Processes, WaitpidParksOnlyItsGreenlet) {
  Watchdog dog(30s, "Processes.WaitpidParksOnlyItsGreenlet");
  Ticker ticker;
  auto g = grove::spawn([] {
    pid_t pid = ::fork();
    if (pid == 0) {
      ::execl("/bin/sleep", "sleep", "0.3", static_cast<char*>(nullptr));
      ::_exit(127);
    }
    int st = -1;
    EXPECT_EQ(::waitpid(pid, &st, WNOHANG), 0);  // still running: WNOHANG returns at once
    auto t0 = grove::Clock::now();
    EXPECT_EQ(::waitpid(pid, &st, 0), pid);
    double took = seconds_since(t0);
    EXPECT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 0) << st;
    EXPECT_GE(took, 0.25);
    EXPECT_LT(took, 1.0);
    errno = 0;
    EXPECT_EQ(::waitpid(pid, &st, 0), -1);  // reaped: no such child
    EXPECT_EQ(errno, ECHILD);
  });
  if (!g.join(10s)) {
    g.kill();
    ADD_FAILURE() << "waitpid still parked after 10 s";
  }
  EXPECT_GE(ticker.finish(), 15) << "the hub stood still while waitpid waited for a 0.3 s child";
}
