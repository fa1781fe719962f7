/* probe — a fixed sequence of blocking libc calls whose observable results (return values,
 * errno, flags, revents) are printed one per line. The interposer tests run it natively and
 * under grove's preload and require identical output. Timings are never printed, only results. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

static void show(const char* what, long r) {
  if (r < 0)
    printf("%s: -1 %s\n", what, strerrorname_np(errno));
  else
    printf("%s: %ld\n", what, r);
}

static void on_alarm(int sig) { (void)sig; }

static void set_alarm_handler(int restart) {
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_alarm;
  sa.sa_flags = restart ? SA_RESTART : 0;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGALRM, &sa, NULL);
}

static void arm_ms(int ms) {
  struct itimerval it = {{0, 0}, {ms / 1000, (ms % 1000) * 1000}};
  setitimer(ITIMER_REAL, &it, NULL);
}

int main(int argc, char** argv) {
  setvbuf(stdout, NULL, _IOLBF, 0);
  int sv[2];
  char buf[64];

  /* user non-blocking: EAGAIN, flags as set */
  show("socketpair nonblock", socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv));
  show("read empty nonblock", read(sv[0], buf, sizeof buf));
  show("recv empty nonblock", recv(sv[0], buf, sizeof buf, 0));
  printf("F_GETFL nonblock: %d\n", !!(fcntl(sv[0], F_GETFL) & O_NONBLOCK));
  int off = 0;
  show("FIONBIO off", ioctl(sv[0], FIONBIO, &off));
  printf("F_GETFL after FIONBIO off: %d\n", !!(fcntl(sv[0], F_GETFL) & O_NONBLOCK));
  show("F_SETFL nonblock", fcntl(sv[0], F_SETFL, O_NONBLOCK | O_RDWR));
  printf("F_GETFL after F_SETFL: %d\n", !!(fcntl(sv[0], F_GETFL) & O_NONBLOCK));
  int d = dup(sv[0]);
  printf("dup keeps nonblock: %d\n", !!(fcntl(d, F_GETFL) & O_NONBLOCK));
  show("recv MSG_DONTWAIT on dup", recv(d, buf, 1, MSG_DONTWAIT));
  close(d);
  close(sv[0]);
  close(sv[1]);

  /* fcntl on a blocking socket, flags printed as numbers (the kernel's own F_GETFL values):
   * O_NONBLOCK set with F_SETFL must give EAGAIN at once, cleared again the read must block.
   * A 2 s alarm without SA_RESTART bounds each read: a read that parks where libc returns
   * EAGAIN prints EINTR instead of hanging. */
  show("socketpair for fcntl", socketpair(AF_UNIX, SOCK_STREAM, 0, sv));
  int fl = fcntl(sv[0], F_GETFL);
  printf("F_GETFL fresh socket: %#x\n", fl);
  show("F_SETFL |O_NONBLOCK", fcntl(sv[0], F_SETFL, fl | O_NONBLOCK));
  printf("F_GETFL after set: %#x\n", fcntl(sv[0], F_GETFL));
  set_alarm_handler(0);
  arm_ms(2000);
  show("read after F_SETFL O_NONBLOCK", read(sv[0], buf, sizeof buf));
  show("recv after F_SETFL O_NONBLOCK", recv(sv[0], buf, sizeof buf, 0));
  arm_ms(0);
  d = dup(sv[0]);
  printf("F_GETFL of a dup: %#x\n", fcntl(d, F_GETFL));
  show("F_SETFL clear on the dup", fcntl(d, F_SETFL, fcntl(d, F_GETFL) & ~O_NONBLOCK));
  printf("F_GETFL original after the dup cleared it: %#x\n", fcntl(sv[0], F_GETFL));
  close(d);
  arm_ms(100); /* blocking again: the read waits until the alarm */
  show("read after clearing O_NONBLOCK", read(sv[0], buf, sizeof buf));
  arm_ms(0);
  show("write for the blocking read", write(sv[1], "fl", 2));
  show("read data after clearing O_NONBLOCK", read(sv[0], buf, sizeof buf));
  printf("F_GETFL peer: %#x\n", fcntl(sv[1], F_GETFL));
  show("F_SETFD FD_CLOEXEC", fcntl(sv[0], F_SETFD, FD_CLOEXEC));
  printf("F_GETFD: %d\n", fcntl(sv[0], F_GETFD));
  close(sv[0]);
  close(sv[1]);
  {
    int ts = socket(AF_INET, SOCK_STREAM, 0);
    printf("F_GETFL fresh TCP socket: %#x\n", fcntl(ts, F_GETFL));
    close(ts);
    int pfl[2];
    pipe(pfl);
    printf("F_GETFL pipe: %#x %#x\n", fcntl(pfl[0], F_GETFL), fcntl(pfl[1], F_GETFL));
    close(pfl[0]);
    close(pfl[1]);
  }

  /* blocking socketpair: data, readv/writev, sendmsg/recvmsg, EOF, EPIPE */
  show("socketpair", socketpair(AF_UNIX, SOCK_STREAM, 0, sv));
  printf("F_GETFL blocking: %d\n", !!(fcntl(sv[0], F_GETFL) & O_NONBLOCK));
  struct iovec iov[2] = {{"ab", 2}, {"cde", 3}};
  show("writev", writev(sv[1], iov, 2));
  char r1[2], r2[8];
  struct iovec riov[2] = {{r1, 2}, {r2, sizeof r2}};
  show("readv", readv(sv[0], riov, 2));
  struct msghdr mh;
  memset(&mh, 0, sizeof mh);
  mh.msg_iov = iov;
  mh.msg_iovlen = 2;
  show("sendmsg", sendmsg(sv[1], &mh, 0));
  mh.msg_iov = riov;
  show("recvmsg", recvmsg(sv[0], &mh, 0));
  show("send", send(sv[1], "xyz", 3, 0));
  show("recvfrom", recvfrom(sv[0], buf, sizeof buf, 0, NULL, NULL));
  errno = 4242;
  show("write", write(sv[1], "q", 1));
  show("read", read(sv[0], buf, sizeof buf));
  printf("errno kept on success: %d\n", errno == 4242);
  struct timeval tv = {0, 50000};
  show("SO_RCVTIMEO", setsockopt(sv[0], SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv));
  show("read with SO_RCVTIMEO", read(sv[0], buf, sizeof buf));
  struct timeval got;
  socklen_t glen = sizeof got;
  getsockopt(sv[0], SOL_SOCKET, SO_RCVTIMEO, &got, &glen);
  printf("getsockopt SO_RCVTIMEO: %ld.%06ld\n", (long)got.tv_sec, (long)got.tv_usec);
  struct pollfd p = {sv[0], POLLIN, 0};
  show("poll timeout", poll(&p, 1, 30));
  show("poll zero timeout", poll(&p, 1, 0));
  write(sv[1], "z", 1);
  show("poll ready", poll(&p, 1, 1000));
  printf("revents: %#x\n", p.revents);
  fd_set rs;
  FD_ZERO(&rs);
  FD_SET(sv[0], &rs);
  tv.tv_sec = 1;
  tv.tv_usec = 0;
  show("select ready", select(sv[0] + 1, &rs, NULL, NULL, &tv));
  printf("FD_ISSET: %d\n", FD_ISSET(sv[0], &rs));
  read(sv[0], buf, 1);
  FD_ZERO(&rs);
  FD_SET(sv[0], &rs);
  tv.tv_sec = 0;
  tv.tv_usec = 20000;
  show("select timeout", select(sv[0] + 1, &rs, NULL, NULL, &tv));
  printf("FD_ISSET after timeout: %d\n", FD_ISSET(sv[0], &rs));
  show("select bad nfds", select(-1, NULL, NULL, NULL, &tv));
  int ep = epoll_create1(0);
  struct epoll_event ev = {EPOLLIN, {.fd = sv[0]}}, out[4];
  epoll_ctl(ep, EPOLL_CTL_ADD, sv[0], &ev);
  show("epoll_wait timeout", epoll_wait(ep, out, 4, 20));
  write(sv[1], "e", 1);
  show("epoll_wait ready", epoll_wait(ep, out, 4, 1000));
  read(sv[0], buf, 1);
  close(ep);
  close(sv[1]);
  p.revents = 0;
  show("poll after peer close", poll(&p, 1, 1000));
  printf("revents: %#x\n", p.revents);
  show("read EOF", read(sv[0], buf, sizeof buf));
  signal(SIGPIPE, SIG_IGN);
  show("write to closed peer", write(sv[0], "x", 1));
  close(sv[0]);
  p.fd = sv[0];
  show("poll closed fd", poll(&p, 1, 10));
  printf("revents: %#x\n", p.revents);
  show("read closed fd", read(sv[0], buf, 1));
  int pp[2];
  pipe(pp);
  show("recv on a pipe", recv(pp[0], buf, 1, 0));
  write(pp[1], "pipe", 4);
  show("read pipe", read(pp[0], buf, sizeof buf));
  close(pp[1]);
  show("read pipe EOF", read(pp[0], buf, sizeof buf));
  close(pp[0]);

  /* connect: refused, missing unix path; accept4 flags */
  int s = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in a;
  memset(&a, 0, sizeof a);
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  int l = socket(AF_INET, SOCK_STREAM, 0);
  int one = 1;
  setsockopt(l, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  bind(l, (struct sockaddr*)&a, sizeof a);
  socklen_t alen = sizeof a;
  getsockname(l, (struct sockaddr*)&a, &alen);
  close(l); /* nobody listens on that port now */
  show("connect refused", connect(s, (struct sockaddr*)&a, sizeof a));
  close(s);
  s = socket(AF_UNIX, SOCK_STREAM, 0);
  struct sockaddr_un u;
  memset(&u, 0, sizeof u);
  u.sun_family = AF_UNIX;
  strcpy(u.sun_path, "/nonexistent/grove-probe.sock");
  show("connect unix missing", connect(s, (struct sockaddr*)&u, sizeof u));
  close(s);
  l = socket(AF_INET, SOCK_STREAM, 0);
  a.sin_port = 0;
  bind(l, (struct sockaddr*)&a, sizeof a);
  listen(l, 8);
  getsockname(l, (struct sockaddr*)&a, &alen);
  s = socket(AF_INET, SOCK_STREAM, 0);
  show("connect", connect(s, (struct sockaddr*)&a, sizeof a));
  int c1 = accept4(l, NULL, NULL, SOCK_NONBLOCK);
  printf("accept4 SOCK_NONBLOCK flag: %d\n", !!(fcntl(c1, F_GETFL) & O_NONBLOCK));
  show("read accepted nonblock", read(c1, buf, 1));
  int s2 = socket(AF_INET, SOCK_STREAM, 0);
  connect(s2, (struct sockaddr*)&a, sizeof a);
  int c2 = accept(l, NULL, NULL);
  printf("accept flag: %d\n", !!(fcntl(c2, F_GETFL) & O_NONBLOCK));
  show("send then recv", send(s2, "hello", 5, 0));
  show("recv accepted", recv(c2, buf, sizeof buf, 0));
  close(c1);
  close(c2);
  close(s);
  close(s2);
  close(l);

  /* timeouts set by the program: connect to a listener whose backlog is full, send until full */
  l = socket(AF_INET, SOCK_STREAM, 0);
  a.sin_port = 0;
  bind(l, (struct sockaddr*)&a, sizeof a);
  listen(l, 0);
  getsockname(l, (struct sockaddr*)&a, &alen);
  for (int i = 0; i < 3; ++i) {
    int cs = socket(AF_INET, SOCK_STREAM, 0);
    struct timeval cto = {0, 100000};
    setsockopt(cs, SOL_SOCKET, SO_SNDTIMEO, &cto, sizeof cto);
    char what[48];
    snprintf(what, sizeof what, "connect to full backlog %d", i);
    show(what, connect(cs, (struct sockaddr*)&a, sizeof a)); /* fds leak on purpose: keep the queue full */
  }
  close(l);
  socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
  struct timeval sto = {0, 50000};
  setsockopt(sv[0], SOL_SOCKET, SO_SNDTIMEO, &sto, sizeof sto);
  {
    static char big[65536];
    long sent;
    while ((sent = send(sv[0], big, sizeof big, 0)) > 0) {
    }
    show("send until SO_SNDTIMEO", sent);
  }
  close(sv[0]);
  close(sv[1]);

  /* sleeps */
  struct timespec bad = {0, 2000000000L}, ok = {0, 10000000L}, rem;
  show("nanosleep EINVAL", nanosleep(&bad, &rem));
  show("nanosleep", nanosleep(&ok, &rem));
  printf("clock_nanosleep EINVAL: %d\n", clock_nanosleep(CLOCK_MONOTONIC, 0, &bad, NULL));
  struct timespec now;
  clock_gettime(CLOCK_MONOTONIC, &now);
  printf("clock_nanosleep abstime past: %d\n", clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &now, NULL));
  now.tv_nsec += 20000000L;
  if (now.tv_nsec >= 1000000000L) now.tv_sec += 1, now.tv_nsec -= 1000000000L;
  printf("clock_nanosleep abstime: %d\n", clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &now, NULL));
  show("usleep", usleep(1000));
  show("sleep 0", sleep(0));

  /* signals: EINTR without SA_RESTART, restart with it, sleeps never restart */
  socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
  set_alarm_handler(0);
  arm_ms(50);
  show("read interrupted (no SA_RESTART)", read(sv[0], buf, 1));
  set_alarm_handler(1);
  arm_ms(30);
  struct timespec longer = {5, 0};
  show("nanosleep interrupted (SA_RESTART)", nanosleep(&longer, &rem));
  printf("remaining > 4 s: %d\n", rem.tv_sec >= 4);
  arm_ms(30);
  p.fd = sv[0];
  p.events = POLLIN;
  show("poll interrupted (SA_RESTART)", poll(&p, 1, 5000));
  arm_ms(30); /* restarted: the read goes on until the data written after the alarm */
  if (fork() == 0) {
    usleep(150000);
    write(sv[1], "R", 1);
    _exit(0);
  }
  show("read restarted (SA_RESTART)", read(sv[0], buf, 1));
  close(sv[0]);
  close(sv[1]);

  /* name lookups answered from /etc/hosts and numeric forms: no DNS server involved */
  {
    const char* names[] = {"localhost", "127.0.0.1", "::1", NULL};
    for (int i = 0; names[i]; ++i) {
      struct addrinfo hints, *res = NULL;
      memset(&hints, 0, sizeof hints);
      hints.ai_socktype = SOCK_STREAM;
      int rc = getaddrinfo(names[i], "http", &hints, &res);
      printf("getaddrinfo %s: %d", names[i], rc);
      for (struct addrinfo* ai = res; ai; ai = ai->ai_next) {
        char host[64], serv[16];
        getnameinfo(ai->ai_addr, ai->ai_addrlen, host, sizeof host, serv, sizeof serv, NI_NUMERICHOST | NI_NUMERICSERV);
        printf(" [%d %d %s %s]", ai->ai_family, ai->ai_protocol, host, serv);
      }
      printf("\n");
      if (res) freeaddrinfo(res);
    }
    struct addrinfo hints, *res = NULL;
    memset(&hints, 0, sizeof hints);
    hints.ai_flags = AI_NUMERICHOST;
    printf("getaddrinfo AI_NUMERICHOST name: %d\n", getaddrinfo("localhost", NULL, &hints, &res));
    printf("getaddrinfo bad service: %d\n", getaddrinfo("127.0.0.1", "no-such-service", NULL, &res));
    struct hostent* he = gethostbyname("localhost");
    printf("gethostbyname localhost: %s\n", he ? he->h_name : "(null)");
  }

  /* an inherited pipe on stdin: read it; its flags must stay as they were */
  if (argc > 1 && strcmp(argv[1], "stdin") == 0) {
    ssize_t n = read(0, buf, sizeof buf - 1);
    buf[n > 0 ? n : 0] = '\0';
    printf("stdin: %zd %s", n, buf);
    printf("stdin nonblock: %d\n", !!(fcntl(0, F_GETFL) & O_NONBLOCK));
    printf("stdout nonblock: %d\n", !!(fcntl(1, F_GETFL) & O_NONBLOCK)); /* a pipe to the parent */
  }
  return 0;
}
