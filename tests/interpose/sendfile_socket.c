/* sendfile_socket — one sendfile() of a 10 MiB file to a blocking TCP socket. On a blocking
 * socket the kernel sends the whole count before it returns (unless a signal interrupts), so
 * the printed return value is 10485760. A reader (forked child) counts and checksums what
 * arrives. Results one per line, never timings: native and preloaded outputs must be equal.
 *
 * usage: sendfile_socket DIR   (the 10 MiB file is created in DIR and removed) */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#define SIZE (10L << 20)

static uint32_t fnv(uint32_t h, const unsigned char* p, size_t n) {
  for (size_t i = 0; i < n; ++i) h = (h ^ p[i]) * 16777619u;
  return h;
}

int main(int argc, char** argv) {
  setvbuf(stdout, NULL, _IOLBF, 0);
  signal(SIGPIPE, SIG_IGN);
  if (argc != 2) {
    fprintf(stderr, "usage: sendfile_socket DIR\n");
    return 2;
  }
  char path[4096];
  snprintf(path, sizeof path, "%s/sendfile_socket.XXXXXX", argv[1]);
  int f = mkstemp(path);
  if (f < 0) {
    perror("mkstemp");
    return 1;
  }
  unlink(path);
  static unsigned char chunk[65536];
  uint32_t want = 2166136261u;
  for (long off = 0; off < SIZE; off += (long)sizeof chunk) {
    for (size_t i = 0; i < sizeof chunk; ++i) chunk[i] = (unsigned char)((off + (long)i) * 7 / 3);
    want = fnv(want, chunk, sizeof chunk);
    if (write(f, chunk, sizeof chunk) != (ssize_t)sizeof chunk) {
      perror("write");
      return 1;
    }
  }
  want = fnv(want, chunk + sizeof chunk - 4096, 4096); /* the second sendfile repeats the file's last 4 KiB */

  struct sockaddr_in a;
  memset(&a, 0, sizeof a);
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t alen = sizeof a;
  int l = socket(AF_INET, SOCK_STREAM, 0);
  bind(l, (struct sockaddr*)&a, sizeof a);
  listen(l, 1);
  getsockname(l, (struct sockaddr*)&a, &alen);
  int c = socket(AF_INET, SOCK_STREAM, 0);
  printf("connect: %d\n", connect(c, (struct sockaddr*)&a, sizeof a));
  int s = accept(l, NULL, NULL);
  close(l);
  printf("F_GETFL socket: %#x\n", fcntl(c, F_GETFL));
  pid_t pid = fork();
  if (pid == 0) { /* the reader */
    close(c);
    long got = 0;
    uint32_t h = 2166136261u;
    for (ssize_t n; (n = read(s, chunk, sizeof chunk)) != 0;) {
      if (n < 0) {
        if (errno == EINTR) continue;
        printf("reader: read: -1 %s\n", strerrorname_np(errno));
        _exit(1);
      }
      h = fnv(h, chunk, (size_t)n);
      got += n;
    }
    printf("reader: %ld bytes, checksum %s\n", got, h == want ? "matches" : "differs");
    _exit(0);
  }
  close(s);

  off_t off = 0;
  ssize_t r = sendfile(c, f, &off, SIZE);
  if (r < 0)
    printf("sendfile: -1 %s\n", strerrorname_np(errno));
  else
    printf("sendfile: %zd\n", r);
  printf("offset after sendfile: %lld\n", (long long)off);
  /* a second call from the current file position (NULL offset) */
  lseek(f, SIZE - 4096, SEEK_SET);
  r = sendfile(c, f, NULL, 1 << 20);
  if (r < 0)
    printf("sendfile last 4096, NULL offset: -1 %s\n", strerrorname_np(errno));
  else
    printf("sendfile last 4096, NULL offset: %zd\n", r);
  close(c);
  int st = 0;
  waitpid(pid, &st, 0);
  printf("reader exit: %d\n", WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st));
  return 0;
}
