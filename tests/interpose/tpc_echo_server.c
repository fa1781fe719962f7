/* tpc_echo_server — the plainest thread-per-connection server: one pthread per accepted
 * connection, blocking read and write, nothing else. real_programs.sh runs it natively and under
 * grove-run and compares what it costs (fds and threads in /proc) and that it echoes.
 *
 * usage: tpc_echo_server   (listens on 127.0.0.1, a port the kernel picks, printed on stdout;
 *                           runs until killed) */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static void* serve(void* arg) {
  int c = (int)(intptr_t)arg;
  char buf[16384];
  for (;;) {
    ssize_t n = read(c, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      if (n < 0) fprintf(stderr, "tpc_echo_server: read: %s\n", strerror(errno));
      break;
    }
    for (ssize_t off = 0; off < n;) {
      ssize_t w = write(c, buf + off, (size_t)(n - off));
      if (w < 0 && errno == EINTR) continue;
      if (w < 0) {
        fprintf(stderr, "tpc_echo_server: write: %s\n", strerror(errno));
        close(c);
        return NULL;
      }
      off += w;
    }
  }
  close(c);
  return NULL;
}

int main(void) {
  signal(SIGPIPE, SIG_IGN);
  int l = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in a;
  memset(&a, 0, sizeof a);
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t alen = sizeof a;
  if (l < 0 || bind(l, (struct sockaddr*)&a, sizeof a) != 0 || listen(l, 512) != 0 ||
      getsockname(l, (struct sockaddr*)&a, &alen) != 0) {
    fprintf(stderr, "tpc_echo_server: listen: %s\n", strerror(errno));
    return 1;
  }
  printf("%d\n", ntohs(a.sin_port));
  fflush(stdout);
  pthread_attr_t attr;
  pthread_attr_init(&attr);
  pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
  for (;;) {
    int c = accept(l, NULL, NULL);
    if (c < 0) {
      if (errno == EINTR) continue;
      fprintf(stderr, "tpc_echo_server: accept: %s\n", strerror(errno));
      return 1;
    }
    pthread_t t;
    int e = pthread_create(&t, &attr, serve, (void*)(intptr_t)c);
    if (e != 0) {
      fprintf(stderr, "tpc_echo_server: pthread_create: %s\n", strerror(e));
      close(c);
    }
  }
}
