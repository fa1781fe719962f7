/* stdio_socket — stdio on a connected TCP socket: fdopen + fputs/fflush + fgets, the way many
 * C programs talk line protocols. stdio's reads and writes are libc-internal (no hook sees them),
 * so they see exactly the kernel's flags. Prints results one per line, never timings; run
 * natively and preloaded, the outputs must be the same.
 *
 * The peer is a forked child, also on stdio. Its send buffer and the parent's receive buffer are
 * made small, so the child's 1 MiB reply fills them and its fwrite has to block on a full socket. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#define BIG_LINES 16384 /* × 64 bytes = 1 MiB */

static void peer(int s) {
  FILE* in = fdopen(s, "r");
  FILE* out = fdopen(dup(s), "w");
  char line[256];
  while (fgets(line, sizeof line, in)) {
    if (strcmp(line, "quit\n") == 0) break;
    if (strcmp(line, "big\n") == 0) {
      for (int i = 0; i < BIG_LINES; ++i) fprintf(out, "%063d\n", i);
    } else {
      fprintf(out, "echo %s", line);
    }
    if (fflush(out) != 0 || ferror(out)) {
      fprintf(stderr, "peer: fflush: %s\n", strerrorname_np(errno));
      _exit(3);
    }
  }
  if (ferror(in)) {
    fprintf(stderr, "peer: fgets: %s\n", strerrorname_np(errno));
    _exit(2);
  }
  _exit(0);
}

int main(void) {
  setvbuf(stdout, NULL, _IOLBF, 0);
  signal(SIGPIPE, SIG_IGN);
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
  int small = 4096;
  setsockopt(c, SOL_SOCKET, SO_RCVBUF, &small, sizeof small);
  printf("connect: %d\n", connect(c, (struct sockaddr*)&a, sizeof a));
  int s = accept(l, NULL, NULL);
  close(l);
  setsockopt(s, SOL_SOCKET, SO_SNDBUF, &small, sizeof small);
  printf("F_GETFL connected: %#x accepted: %#x\n", fcntl(c, F_GETFL), fcntl(s, F_GETFL));
  pid_t pid = fork();
  if (pid == 0) {
    close(c);
    peer(s);
  }
  close(s);

  FILE* out = fdopen(c, "w");
  FILE* in = fdopen(dup(c), "r");
  char line[256];
  for (int i = 1; i <= 3; ++i) {
    fprintf(out, "line %d\n", i);
    printf("fflush: %d\n", fflush(out));
    if (fgets(line, sizeof line, in))
      printf("got: %s", line);
    else
      printf("fgets: NULL %s\n", ferror(in) ? strerrorname_np(errno) : "EOF");
    clearerr(in);
  }
  fputs("big\n", out);
  fflush(out);
  long n = 0, bad = 0;
  for (int i = 0; i < BIG_LINES && fgets(line, sizeof line, in); ++i, ++n) {
    char want[80];
    snprintf(want, sizeof want, "%063d\n", i);
    bad += strcmp(line, want) != 0;
  }
  printf("big reply: %ld lines, %ld wrong%s%s\n", n, bad, ferror(in) ? ", fgets: " : "",
         ferror(in) ? strerrorname_np(errno) : "");
  fputs("quit\n", out);
  printf("fflush quit: %d\n", fflush(out));
  int st = 0;
  waitpid(pid, &st, 0);
  printf("peer exit: %d\n", WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st));
  printf("fgets after peer closed: %s\n", fgets(line, sizeof line, in) ? line : feof(in) ? "EOF" : "error");
  printf("F_GETFL at the end: %#x\n", fcntl(c, F_GETFL));
  fclose(in);
  fclose(out);
  return 0;
}
