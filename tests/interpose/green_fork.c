/* green_fork — fork() in a thread while others run: the child has that thread only (POSIX), may
 * start threads of its own, and exits with 0 when that thread ends; the parent goes on. A thread
 * left waiting on a condition variable at fork time does not exist in the child: waking the
 * condition there wakes nobody (as green threads: the abandoned greenlet must not be run). */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <unistd.h>
#include <sys/wait.h>
static void* inner(void* a) { return (void*)((long)a + 1); }
static void* sleeper(void* a) { (void)a; usleep(300000); puts("sleeper done (parent only)"); return NULL; }
static pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t ready_c = PTHREAD_COND_INITIALIZER, go_c = PTHREAD_COND_INITIALIZER;
static int ready, go;
static void* waiter(void* a) {
  (void)a;
  pthread_mutex_lock(&m);
  ready = 1;
  pthread_cond_signal(&ready_c);
  while (!go) pthread_cond_wait(&go_c, &m);
  pthread_mutex_unlock(&m);
  puts("waiter woken (parent only)");
  return NULL;
}
static void release_waiter(void) {
  go = 1;
  pthread_cond_broadcast(&go_c);
  pthread_mutex_unlock(&m);
}
static volatile sig_atomic_t got_usr1;
static void on_usr1(int sig) { (void)sig; got_usr1 = 1; }
static void* forker(void* a) {
  (void)a;
  pthread_t w;
  pthread_mutex_lock(&m);
  pthread_create(&w, NULL, waiter, NULL);
  while (!ready) pthread_cond_wait(&ready_c, &m);  /* back with m: the waiter is in its wait */
  fflush(stdout);
  pid_t pid = fork();
  if (pid == 0) {
    release_waiter();  /* nobody waits here */
    puts("child: woke the condition, nobody was waiting");
    signal(SIGUSR1, on_usr1);  /* the child's thread is the child's: a signal to it arrives */
    int rc = pthread_kill(pthread_self(), SIGUSR1);
    printf("child: pthread_kill to itself returned %d, handler ran %d\n", rc, (int)got_usr1);
    pthread_t t; void* r; pthread_create(&t, NULL, inner, (void*)41); pthread_join(t, &r);
    printf("child: inner thread gave %ld\n", (long)r); fflush(stdout);
    return NULL;  /* the child's only thread ends: the child exits with 0 */
  }
  int st; waitpid(pid, &st, 0);
  printf("parent: child exited %d with %d\n", WIFEXITED(st), WEXITSTATUS(st));
  release_waiter();
  pthread_join(w, NULL);
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
