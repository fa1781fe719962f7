/* green_fork — fork() in a thread while others run: the child has that thread only (POSIX), may
 * start threads of its own, and exits with 0 when that thread ends; the parent goes on. */
#include <pthread.h>
#include <stdio.h>
#include <unistd.h>
#include <sys/wait.h>
static void* inner(void* a) { return (void*)((long)a + 1); }
static void* sleeper(void* a) { (void)a; usleep(300000); puts("sleeper done (parent only)"); return NULL; }
static void* forker(void* a) {
  (void)a;
  fflush(stdout);
  pid_t pid = fork();
  if (pid == 0) {
    pthread_t t; void* r; pthread_create(&t, NULL, inner, (void*)41); pthread_join(t, &r);
    printf("child: inner thread gave %ld\n", (long)r); fflush(stdout);
    return NULL;  /* the child's only thread ends: the child exits with 0 */
  }
  int st; waitpid(pid, &st, 0);
  printf("parent: child exited %d with %d\n", WIFEXITED(st), WEXITSTATUS(st));
  return NULL;
}
int main(void) {
  setvbuf(stdout, NULL, _IOLBF, 0);
  pthread_t s, f;
  pthread_create(&s, NULL, sleeper, NULL);
  pthread_create(&f, NULL, forker, NULL);
  pthread_join(f, NULL);
  pthread_join(s, NULL);
  return 0;
}
