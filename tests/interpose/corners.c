/* corners — corner cases where an interposer can hang or differ while libc returns: a signal
 * handler writing to a full non-blocking wake-up socket, an event loop's poll/select/epoll_wait
 * interrupted by a handler, connect/accept on a family whose connect never completes (AF_VSOCK),
 * a child whose pipes are read and closed after it has exited, wait/system/popen statuses and
 * errors. Results are printed one per line; the test compares the native run with preloaded ones.
 * Built twice: with and without _FILE_OFFSET_BITS=64. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef AF_VSOCK
#define AF_VSOCK 40
#endif

static void show(const char* what, long r) {
  if (r < 0)
    printf("%s: -1 %s\n", what, strerrorname_np(errno));
  else
    printf("%s: %ld\n", what, r);
}

static int wake[2];
static volatile long handler_write = 0;
static volatile int handler_errno = 0;

static void on_signal(int sig) {
  (void)sig;
  int saved = errno;
  handler_write = write(wake[1], "w", 1); /* the self-pipe trick; the pipe may be full */
  handler_errno = errno;
  errno = saved;
}

static void set_handler(int sig, int flags) {
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_signal;
  sa.sa_flags = flags;
  sigemptyset(&sa.sa_mask);
  sigaction(sig, &sa, NULL);
}

static void arm_ms(int ms) {
  struct itimerval it = {{0, 0}, {ms / 1000, (ms % 1000) * 1000}};
  setitimer(ITIMER_REAL, &it, NULL);
}

int main(void) {
  setvbuf(stdout, NULL, _IOLBF, 0);
  char buf[256];

  /* A full non-blocking wake-up socket, written from a handler: EAGAIN there, and the event loop
   * around it goes on. */
  socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, wake);
  long filled = 0;
  for (long n; (n = write(wake[1], buf, sizeof buf)) > 0;) filled += n;
  printf("wake-up socket full: %d\n", filled > 0 && errno == EAGAIN);
  set_handler(SIGALRM, SA_RESTART);
  arm_ms(20);
  struct pollfd p = {wake[0], POLLIN, 0};
  int other[2];
  socketpair(AF_UNIX, SOCK_STREAM, 0, other);
  struct pollfd q = {other[0], POLLIN, 0};
  show("poll interrupted by the handler (SA_RESTART)", poll(&q, 1, 5000));
  printf("handler's write: %ld %s\n", handler_write, strerrorname_np(handler_errno));
  show("poll sees the wake-up socket readable", poll(&p, 1, 0));
  while (read(wake[0], buf, sizeof buf) > 0) {
  }

  /* select and epoll_wait interrupted too: an event loop sees EINTR, and the handler ran. */
  set_handler(SIGALRM, 0);
  arm_ms(20);
  fd_set rs;
  FD_ZERO(&rs);
  FD_SET(other[0], &rs);
  show("select interrupted", select(other[0] + 1, &rs, NULL, NULL, NULL));
  printf("handler wrote: %ld\n", handler_write);
  read(wake[0], buf, sizeof buf);
  int ep = epoll_create1(0);
  struct epoll_event ev = {EPOLLIN, {.fd = other[0]}}, out[2];
  epoll_ctl(ep, EPOLL_CTL_ADD, other[0], &ev);
  set_handler(SIGALRM, SA_RESTART);
  arm_ms(20);
  show("epoll_wait interrupted (SA_RESTART)", epoll_wait(ep, out, 2, 5000));
  read(wake[0], buf, sizeof buf);
  close(ep);
  signal(SIGALRM, SIG_DFL);

  /* AF_VSOCK: whatever the kernel says (no transport, no module), the same as natively. */
  int v = socket(AF_VSOCK, SOCK_STREAM, 0);
  show("vsock socket", v < 0 ? -1 : 0);
  if (v >= 0) {
    struct {
      unsigned short family, reserved;
      unsigned port, cid;
      unsigned char zero[4];
    } va = {AF_VSOCK, 0, 1234, 2 /* the host */, {0}};
    struct timeval tv = {0, 200000};
    setsockopt(v, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    show("vsock connect", connect(v, (struct sockaddr*)&va, sizeof va));
    close(v);
  }

  /* A child that writes, exits; its pipe is read and closed afterwards. */
  int pp[2];
  pipe(pp);
  pid_t pid = fork();
  if (pid == 0) {
    close(pp[0]);
    write(pp[1], "from the child", 14);
    _exit(5);
  }
  close(pp[1]);
  int status = 0;
  show("waitpid", waitpid(pid, &status, 0) == pid ? 0 : -1);
  printf("exit status: %d\n", WEXITSTATUS(status));
  show("read after the child exited", read(pp[0], buf, sizeof buf));
  show("read EOF", read(pp[0], buf, sizeof buf));
  show("close", close(pp[0]));
  show("waitpid again", waitpid(pid, &status, 0));
  show("waitpid WNOHANG, no child", waitpid(-1, &status, WNOHANG));

  /* wait(-1) for any of two children; a signal during waitpid with SA_RESTART goes on. */
  pid_t a = fork();
  if (a == 0) {
    usleep(30000);
    _exit(1);
  }
  pid_t b = fork();
  if (b == 0) {
    usleep(60000);
    _exit(2);
  }
  int seen = 0;
  for (int i = 0; i < 2; ++i) {
    pid_t w = wait(&status);
    seen |= (w == a && WEXITSTATUS(status) == 1) ? 1 : (w == b && WEXITSTATUS(status) == 2) ? 2 : 4;
  }
  printf("wait saw both children: %d\n", seen);
  set_handler(SIGALRM, SA_RESTART);
  pid = fork();
  if (pid == 0) {
    usleep(80000);
    _exit(3);
  }
  arm_ms(20);
  show("waitpid across a signal (SA_RESTART)", waitpid(pid, &status, 0) == pid ? WEXITSTATUS(status) : -1);
  set_handler(SIGALRM, 0);
  pid = fork();
  if (pid == 0) {
    usleep(80000);
    _exit(3);
  }
  arm_ms(20);
  show("waitpid interrupted (no SA_RESTART)", waitpid(pid, &status, 0));
  show("waitpid after", waitpid(pid, &status, 0) == pid ? WEXITSTATUS(status) : -1);
  signal(SIGALRM, SIG_DFL);

  /* system and popen: statuses, output, errors. */
  printf("system exit 3: %d\n", WEXITSTATUS(system("exit 3")));
  printf("system NULL: %d\n", system(NULL) != 0);
  int s = system("kill -TERM $$");
  printf("system killed by a signal: %d %d\n", WIFSIGNALED(s), WIFSIGNALED(s) ? WTERMSIG(s) : 0);
  printf("system 'no such command': %d\n", WEXITSTATUS(system("/nonexistent/grove-cmd 2>/dev/null")));
  FILE* f = popen("echo one; echo two; exit 4", "r");
  while (fgets(buf, sizeof buf, f)) printf("popen read: %s", buf);
  printf("popen fileno is a pipe: %d\n", fileno(f) > 2);
  printf("pclose status: %d\n", WEXITSTATUS(pclose(f)));
  f = popen("cat > /dev/null; exit 6", "w");
  fputs("some input\n", f);
  printf("pclose after writing: %d\n", WEXITSTATUS(pclose(f)));
  errno = 0;
  f = popen("true", "x");
  printf("popen bad mode: %s %s\n", f ? "stream" : "NULL", strerrorname_np(errno));
  f = popen("true", "rw");
  printf("popen rw: %s %s\n", f ? "stream" : "NULL", strerrorname_np(errno));
  return 0;
}
