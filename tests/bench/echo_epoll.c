/* P4 — the limit: a hand-written, single-threaded epoll echo server in C. Level-triggered,
 * one read and one write per readiness event, no buffering beyond what a 64-byte ping-pong
 * needs (a short write keeps the rest and waits for EPOLLOUT). Runs until killed.
 *
 *   echo_epoll PORT        (listens on 127.0.0.1:PORT)
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

enum { kBuf = 4096, kMaxEvents = 256 };

struct conn {
  int fd;
  size_t pending; /* bytes read but not yet written back */
  size_t off;
  char buf[kBuf];
};

static int epfd;

static void drop(struct conn* c) {
  close(c->fd); /* closing removes it from the epoll set: the fd is not shared */
  free(c);
}

/* Writes what is pending; returns -1 on error, 0 when all is written, 1 when it must wait. */
static int flush(struct conn* c) {
  while (c->pending > 0) {
    ssize_t w = send(c->fd, c->buf + c->off, c->pending, MSG_NOSIGNAL);
    if (w < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN) return 1;
      return -1;
    }
    c->off += (size_t)w;
    c->pending -= (size_t)w;
  }
  return 0;
}

static void on_conn(struct conn* c, unsigned events) {
  if (c->pending > 0) { /* waiting for EPOLLOUT after a short write */
    if (!(events & (EPOLLOUT | EPOLLERR | EPOLLHUP))) return;
    int r = flush(c);
    if (r < 0) { drop(c); return; }
    if (r > 0) return;
    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = c};
    epoll_ctl(epfd, EPOLL_CTL_MOD, c->fd, &ev);
    return;
  }
  ssize_t n = recv(c->fd, c->buf, kBuf, 0);
  if (n == 0) { drop(c); return; }
  if (n < 0) {
    if (errno == EAGAIN || errno == EINTR) return;
    { drop(c); return; }
  }
  c->pending = (size_t)n;
  c->off = 0;
  int r = flush(c);
  if (r < 0) { drop(c); return; }
  if (r > 0) {
    struct epoll_event ev = {.events = EPOLLOUT, .data.ptr = c};
    epoll_ctl(epfd, EPOLL_CTL_MOD, c->fd, &ev);
  }
}

int main(int argc, char** argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: %s PORT\n", argv[0]);
    return 2;
  }
  int lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  int one = 1;
  setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((unsigned short)atoi(argv[1]))};
  inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
  if (bind(lfd, (struct sockaddr*)&a, sizeof a) < 0 || listen(lfd, 4096) < 0) {
    perror("echo_epoll: bind/listen");
    return 1;
  }
  printf("listening %s\n", argv[1]);
  fflush(stdout);
  epfd = epoll_create1(EPOLL_CLOEXEC);
  /* data.ptr == NULL marks the listening socket. */
  struct epoll_event lev = {.events = EPOLLIN, .data.ptr = NULL};
  epoll_ctl(epfd, EPOLL_CTL_ADD, lfd, &lev);
  struct epoll_event evs[kMaxEvents];
  for (;;) {
    int n = epoll_wait(epfd, evs, kMaxEvents, -1);
    if (n < 0) {
      if (errno == EINTR) continue;
      perror("echo_epoll: epoll_wait");
      return 1;
    }
    for (int i = 0; i < n; ++i) {
      if (evs[i].data.ptr != NULL) {
        on_conn(evs[i].data.ptr, evs[i].events);
        continue;
      }
      for (;;) {
        int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) break; /* EAGAIN (drained) or a transient error: wait for the next event */
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        struct conn* c = calloc(1, sizeof *c);
        if (!c) {
          close(fd);
          continue;
        }
        c->fd = fd;
        struct epoll_event ev = {.events = EPOLLIN, .data.ptr = c};
        epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev);
      }
    }
  }
}
