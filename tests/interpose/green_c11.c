/* green_c11 — C11 <threads.h>, which glibc implements with internal calls no pthread hook sees:
 * thrd_*, mtx_* (plain, recursive, timed), cnd_*, call_once, tss_* with destructors. Results one
 * per line; the test compares a native run with a green-threads one. */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <threads.h>
#include <time.h>

static mtx_t m, rm, tm_;
static cnd_t c;
static int counter = 0, ready = 0, once_runs = 0, dtor_sum = 0;
static once_flag once = ONCE_FLAG_INIT;
static tss_t key;

static void init_once(void) { once_runs++; }
static void dtor(void* v) { dtor_sum += (int)(long)v; }

static int work(void* arg) {
  call_once(&once, init_once);
  tss_set(key, arg);
  for (int i = 0; i < 1000; ++i) {
    mtx_lock(&m);
    counter++;
    mtx_unlock(&m);
    if (i % 200 == 0) thrd_sleep(&(struct timespec){0, 100000}, NULL);
  }
  mtx_lock(&m);
  ready++;
  cnd_signal(&c);
  mtx_unlock(&m);
  return (int)(long)tss_get(key) * 10;
}

static int hold_timed(void* arg) {
  (void)arg;
  struct timespec t;
  timespec_get(&t, TIME_UTC);
  t.tv_nsec += 20000000;
  if (t.tv_nsec >= 1000000000) t.tv_sec++, t.tv_nsec -= 1000000000;
  return mtx_timedlock(&tm_, &t);
}

static void on_alarm(int sig) { (void)sig; }

int main(void) {
  setvbuf(stdout, NULL, _IOLBF, 0);
  mtx_init(&m, mtx_plain);
  mtx_init(&rm, mtx_recursive);
  mtx_init(&tm_, mtx_timed);
  cnd_init(&c);
  tss_create(&key, dtor);
  thrd_t t[6];
  for (long i = 0; i < 6; ++i) thrd_create(&t[i], work, (void*)(i + 1));
  mtx_lock(&m);
  while (ready < 6) cnd_wait(&c, &m);
  mtx_unlock(&m);
  int sum = 0;
  for (int i = 0; i < 6; ++i) {
    int r;
    thrd_join(t[i], &r);
    sum += r;
  }
  printf("counter %d, results %d, call_once ran %d, tss destructors saw %d\n", counter, sum, once_runs, dtor_sum);
  printf("recursive: %d %d %d %d\n", mtx_lock(&rm), mtx_lock(&rm), mtx_unlock(&rm), mtx_unlock(&rm));
  printf("trylock free: %d\n", mtx_trylock(&m) == thrd_success);
  mtx_unlock(&m);
  mtx_lock(&tm_);
  thrd_create(&t[0], hold_timed, NULL);
  int r;
  thrd_join(t[0], &r);
  printf("timedlock held elsewhere: timedout %d\n", r == thrd_timedout);
  mtx_unlock(&tm_);
  struct timespec abs;
  timespec_get(&abs, TIME_UTC);
  abs.tv_nsec += 20000000;
  if (abs.tv_nsec >= 1000000000) abs.tv_sec++, abs.tv_nsec -= 1000000000;
  mtx_lock(&m);
  printf("cnd_timedwait: timedout %d\n", cnd_timedwait(&c, &m, &abs) == thrd_timedout);
  mtx_unlock(&m);
  printf("thrd_equal(current, current): %d\n", thrd_equal(thrd_current(), thrd_current()) != 0);
  /* An interrupted thrd_sleep says so in its result and leaves errno alone (glibc's does). */
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_alarm;  /* no SA_RESTART */
  sigaction(SIGALRM, &sa, NULL);
  struct itimerval it = {{0, 0}, {0, 20000}};
  setitimer(ITIMER_REAL, &it, NULL);
  errno = 4242;
  const int slept = thrd_sleep(&(struct timespec){5, 0}, NULL);
  printf("thrd_sleep interrupted: %d, errno kept %d\n", slept, errno == 4242);
  return 0;
}
