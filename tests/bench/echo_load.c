/* P4 — load generator: C connections to 127.0.0.1:PORT, each keeping exactly one 64-byte message
 * in flight (send, wait for the whole echo, check it, send the next). One thread, its own epoll,
 * non-blocking sockets. Runs a warm-up, then counts round trips for a fixed time.
 *
 *   echo_load PORT [conns=1000] [seconds=5] [warmup_seconds=1] [server_pid]
 * Prints: "msgs N seconds S msg_per_s R errors E server_cpu U msg_per_server_cpu_s C", where U is
 * the share of one core the server process used during the measured interval (from
 * /proc/PID/stat; -1 without a pid) and C = N / server CPU seconds. A server below U = 1.0 was not
 * the bottleneck: the load generator (or the loopback, or another process on its core) was.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

enum { kMsg = 64, kMaxEvents = 512 };

struct conn {
  int fd;
  int dead;
  size_t got;
  char msg[kMsg];
  char in[kMsg];
};

/* utime + stime of a process, in seconds; -1 if unknown. */
static double cpu_s(int pid) {
  if (pid <= 0) return -1;
  char path[64], buf[1024];
  snprintf(path, sizeof path, "/proc/%d/stat", pid);
  FILE* f = fopen(path, "r");
  if (!f) return -1;
  size_t n = fread(buf, 1, sizeof buf - 1, f);
  fclose(f);
  buf[n] = 0;
  /* Fields after the command name, which may contain spaces: skip to the last ')'. */
  char* p = strrchr(buf, ')');
  if (!p) return -1;
  unsigned long long ut = 0, st = 0;
  if (sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut, &st) != 2) return -1;
  return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
}

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* One message out; with a single 64-byte message in flight the socket buffer is never full. */
static int send_msg(struct conn* c) {
  ssize_t w = send(c->fd, c->msg, kMsg, MSG_NOSIGNAL);
  return w == kMsg ? 0 : -1;
}

int main(int argc, char** argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: %s PORT [conns] [seconds] [warmup_seconds]\n", argv[0]);
    return 2;
  }
  const int port = atoi(argv[1]);
  const int nconn = argc > 2 ? atoi(argv[2]) : 1000;
  const double seconds = argc > 3 ? atof(argv[3]) : 5;
  const double warmup = argc > 4 ? atof(argv[4]) : 1;
  const int server_pid = argc > 5 ? atoi(argv[5]) : 0;

  struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((unsigned short)port)};
  inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
  int epfd = epoll_create1(EPOLL_CLOEXEC);
  struct conn* conns = calloc((size_t)nconn, sizeof *conns);
  if (epfd < 0 || !conns) return 1;

  /* Blocking connects, bounded by SO_SNDTIMEO (connect honours it), then non-blocking. */
  for (int i = 0; i < nconn; ++i) {
    struct conn* c = &conns[i];
    c->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct timeval tv = {.tv_sec = 5, .tv_usec = 0};
    setsockopt(c->fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    if (connect(c->fd, (struct sockaddr*)&a, sizeof a) < 0) {
      fprintf(stderr, "echo_load: connect #%d: %s\n", i, strerror(errno));
      return 1;
    }
    int one = 1;
    setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    fcntl(c->fd, F_SETFL, fcntl(c->fd, F_GETFL) | O_NONBLOCK);
    for (int k = 0; k < kMsg; ++k) c->msg[k] = (char)('a' + (i + k) % 26);
    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = c};
    epoll_ctl(epfd, EPOLL_CTL_ADD, c->fd, &ev);
  }
  for (int i = 0; i < nconn; ++i)
    if (send_msg(&conns[i]) < 0) {
      fprintf(stderr, "echo_load: first send failed\n");
      return 1;
    }

  const double t_start = now_s();
  const double t_measure = t_start + warmup;
  const double t_end = t_measure + seconds;
  long long msgs = 0, errors = 0;
  int measuring = 0;
  double t0 = t_measure, cpu0 = -1;
  struct epoll_event evs[kMaxEvents];
  for (;;) {
    const double t = now_s();
    if (!measuring && t >= t_measure) {
      measuring = 1;
      msgs = 0;
      t0 = t;
      cpu0 = cpu_s(server_pid);
    }
    if (t >= t_end) break;
    int n = epoll_wait(epfd, evs, kMaxEvents, 100);
    if (n < 0 && errno != EINTR) {
      perror("echo_load: epoll_wait");
      return 1;
    }
    for (int i = 0; i < n; ++i) {
      struct conn* c = evs[i].data.ptr;
      ssize_t r = recv(c->fd, c->in + c->got, kMsg - c->got, 0);
      if (r < 0 && (errno == EAGAIN || errno == EINTR)) continue;
      if (r <= 0 || memcmp(c->in + c->got, c->msg + c->got, (size_t)r) != 0) {
        /* Closed, failed or echoed the wrong bytes: count it and stop using the connection. */
        ++errors;
        epoll_ctl(epfd, EPOLL_CTL_DEL, c->fd, NULL);
        c->dead = 1;
        continue;
      }
      c->got += (size_t)r;
      if (c->got < kMsg) continue;
      c->got = 0;
      ++msgs;
      if (send_msg(c) < 0) {
        ++errors;
        epoll_ctl(epfd, EPOLL_CTL_DEL, c->fd, NULL);
        c->dead = 1;
      }
    }
  }
  const double elapsed = now_s() - t0;
  const double cpu1 = cpu_s(server_pid);
  const double server_cpu = cpu0 >= 0 && cpu1 >= 0 ? (cpu1 - cpu0) / elapsed : -1;
  /* Messages per second of server CPU: the server's efficiency, meaningful even when the load
   * generator rather than the server limits msg/s (both do about the same work per message). */
  const double per_cpu = server_cpu > 0 ? (double)msgs / (cpu1 - cpu0) : -1;
  printf("msgs %lld seconds %.3f msg_per_s %.0f errors %lld server_cpu %.2f msg_per_server_cpu_s %.0f\n", msgs,
         elapsed, (double)msgs / elapsed, errors, server_cpu, per_cpu);
  for (int i = 0; i < nconn; ++i) close(conns[i].fd);
  return errors > 0 ? 3 : 0;
}
