/* dump_target — an unmodified C program for the dump signal and the monitor under grove-run
 * (test_dump_signal.cpp). It knows nothing of grove.
 *
 *   dump_target        prints "ready", then reads stdin in wait_for_input() until a line comes
 *   dump_target spin   prints "ready", computes for 300 ms in spin(), then reads stdin likewise
 *   dump_target fork   prints "ready", reads a line, then forks: the child prints "child PID" and
 *                      reads stdin until a line comes, the parent waits for it
 */
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/wait.h>

static long ms_now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

static __attribute__((noinline)) void spin(long ms) {
  volatile unsigned long x = 0;
  const long t0 = ms_now();
  while (ms_now() - t0 < ms) x = x + 1;
}

static __attribute__((noinline)) long wait_for_input(char* buf, size_t n) {
  long r = (long)read(0, buf, n);
  __asm__ volatile("");
  return r;
}

int main(int argc, char** argv) {
  char buf[64];
  printf("ready\n");
  fflush(stdout);
  if (argc > 1 && strcmp(argv[1], "spin") == 0) spin(300);
  long n = wait_for_input(buf, sizeof buf);
  if (argc > 1 && strcmp(argv[1], "fork") == 0) {
    pid_t pid = fork();
    if (pid == 0) {
      printf("child %d\n", (int)getpid());
      fflush(stdout);
      n = wait_for_input(buf, sizeof buf);
      printf("child read %ld\n", n);
      return 0;
    }
    int st = 0;
    waitpid(pid, &st, 0);
    printf("child exited %d\n", WIFEXITED(st) ? WEXITSTATUS(st) : -1);
  }
  printf("read %ld\n", n);
  return 0;
}
