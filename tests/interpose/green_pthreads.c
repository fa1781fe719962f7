/* green_pthreads — the pthread families green threads replace, one result per line. The test runs
 * it natively and under GROVE_GREEN_THREADS=1 and requires identical output; it prints no timing,
 * only results. The number of OS threads while 1000 threads sleep goes to stderr (it must differ:
 * natively 1001, green a handful). Built with and without _FILE_OFFSET_BITS=64. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <semaphore.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static void show(const char* what, int r) { printf("%s: %s\n", what, r == 0 ? "0" : strerrorname_np(r)); }

static struct timespec in_ms(clockid_t clock, int ms) {
  struct timespec t;
  clock_gettime(clock, &t);
  t.tv_nsec += (ms % 1000) * 1000000L;
  t.tv_sec += ms / 1000 + t.tv_nsec / 1000000000L;
  t.tv_nsec %= 1000000000L;
  return t;
}

static int os_threads(void) {
  int n = 0;
  DIR* d = opendir("/proc/self/task");
  for (struct dirent* e; (e = readdir(d));) n += e->d_name[0] != '.';
  closedir(d);
  return n;
}

/* --- lifecycle ------------------------------------------------------------------------------- */
static void* twice(void* arg) { return (void*)((intptr_t)arg * 2); }
static void* nap(void* arg) { usleep((useconds_t)(intptr_t)arg * 1000); return arg; }
static void* exit_early(void* arg) {
  (void)arg;
  pthread_exit((void*)77);
  return NULL;
}
static pthread_t joiner_target;
static void* self_join(void* arg) {
  (void)arg;
  return (void*)(intptr_t)pthread_join(pthread_self(), NULL);
}

/* --- keys ------------------------------------------------------------------------------------ */
static pthread_key_t key, key2;
static int destructed = 0, rounds_left = 2;
static void dtor(void* v) { destructed += (int)(intptr_t)v; }
static void dtor_again(void* v) {
  (void)v;
  if (rounds_left-- > 0) pthread_setspecific(key2, (void*)1);  /* set again: another round */
}
static void* with_keys(void* arg) {
  pthread_setspecific(key, arg);
  pthread_setspecific(key2, (void*)1);
  usleep(1000);
  return pthread_getspecific(key);
}

/* --- once ------------------------------------------------------------------------------------ */
static pthread_once_t once = PTHREAD_ONCE_INIT;
static int once_runs = 0;
static void init_once(void) {
  usleep(5000);  /* the others wait for it */
  once_runs++;
}
static void* do_once(void* arg) {
  pthread_once(&once, init_once);
  return (void*)(intptr_t)(once_runs == 1) ;
  (void)arg;
}

/* --- mutexes --------------------------------------------------------------------------------- */
static pthread_mutex_t normal = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t recursive = PTHREAD_RECURSIVE_MUTEX_INITIALIZER_NP;
static pthread_mutex_t errorcheck = PTHREAD_ERRORCHECK_MUTEX_INITIALIZER_NP;
static pthread_mutex_t adaptive = PTHREAD_ADAPTIVE_MUTEX_INITIALIZER_NP;
static long shared_counter = 0;
static void* count_up(void* arg) {
  pthread_mutex_t* m = arg;
  for (int i = 0; i < 2000; ++i) {
    pthread_mutex_lock(m);
    long v = shared_counter;
    if (i % 250 == 0) sched_yield();  /* a switch while holding the lock */
    shared_counter = v + 1;
    pthread_mutex_unlock(m);
  }
  return NULL;
}
static void* try_from_other(void* arg) { return (void*)(intptr_t)pthread_mutex_trylock(arg); }
static void* unlock_from_other(void* arg) { return (void*)(intptr_t)pthread_mutex_unlock(arg); }
static void* timed_from_other(void* arg) {
  struct timespec t = in_ms(CLOCK_REALTIME, 20);
  int a = pthread_mutex_timedlock(arg, &t);
  t = in_ms(CLOCK_MONOTONIC, 20);
  int b = pthread_mutex_clocklock(arg, CLOCK_MONOTONIC, &t);
  int c = pthread_mutex_clocklock(arg, CLOCK_PROCESS_CPUTIME_ID, &t);
  return (void*)(intptr_t)(a == ETIMEDOUT && b == ETIMEDOUT && c == EINVAL);
}

/* --- condition variables ---------------------------------------------------------------------- */
static pthread_mutex_t cm = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static int gate = 0, woke = 0;
static void* wait_gate(void* arg) {
  (void)arg;
  pthread_mutex_lock(&cm);
  while (!gate) pthread_cond_wait(&cv, &cm);
  woke++;
  pthread_mutex_unlock(&cm);
  return NULL;
}

/* --- rwlocks ---------------------------------------------------------------------------------- */
static pthread_rwlock_t rw = PTHREAD_RWLOCK_INITIALIZER;
static int readers_in = 0, max_readers = 0, writer_saw_readers = 0;
static pthread_mutex_t rm = PTHREAD_MUTEX_INITIALIZER;
static void* reader(void* arg) {
  (void)arg;
  pthread_rwlock_rdlock(&rw);
  pthread_mutex_lock(&rm);
  if (++readers_in > max_readers) max_readers = readers_in;
  pthread_mutex_unlock(&rm);
  usleep(10000);
  pthread_mutex_lock(&rm);
  readers_in--;
  pthread_mutex_unlock(&rm);
  pthread_rwlock_unlock(&rw);
  return NULL;
}
static void* writer(void* arg) {
  (void)arg;
  pthread_rwlock_wrlock(&rw);
  writer_saw_readers += readers_in;
  pthread_rwlock_unlock(&rw);
  return NULL;
}
static void* try_write(void* arg) {
  (void)arg;
  struct timespec t = in_ms(CLOCK_REALTIME, 20);
  int a = pthread_rwlock_trywrlock(&rw), b = pthread_rwlock_timedwrlock(&rw, &t);
  return (void*)(intptr_t)(a == EBUSY && b == ETIMEDOUT);
}

/* --- barriers, spinlocks, semaphores --------------------------------------------------------- */
static pthread_barrier_t barrier;
static int serial = 0;
static void* at_barrier(void* arg) {
  (void)arg;
  for (int round = 0; round < 3; ++round)
    if (pthread_barrier_wait(&barrier) == PTHREAD_BARRIER_SERIAL_THREAD) __atomic_add_fetch(&serial, 1, __ATOMIC_SEQ_CST);
  return NULL;
}
static pthread_spinlock_t spin;
static long spun = 0;
static void* spin_up(void* arg) {
  (void)arg;
  for (int i = 0; i < 1000; ++i) {
    pthread_spin_lock(&spin);
    long v = spun;
    if (i % 100 == 0) usleep(100);  /* the others spin meanwhile: they must yield */
    spun = v + 1;
    pthread_spin_unlock(&spin);
  }
  return NULL;
}
static sem_t sem;
static void* post_later(void* arg) {
  (void)arg;
  usleep(5000);
  sem_post(&sem);
  return NULL;
}

/* --- errno and signals ------------------------------------------------------------------------ */
static void* keeps_errno(void* arg) {
  errno = (int)(intptr_t)arg;
  usleep(2000);  /* others run and set theirs */
  return (void*)(intptr_t)(errno == (int)(intptr_t)arg);
}
static void on_usr1(int s) { (void)s; }
static int sp[2];
static void* blocked_read(void* arg) {
  (void)arg;
  char c;
  ssize_t r = read(sp[0], &c, 1);
  return (void*)(intptr_t)(r == -1 && errno == EINTR);
}
static void* sleeper(void* arg) {
  (void)arg;
  sleep(1);
  return NULL;
}

int main(void) {
  setvbuf(stdout, NULL, _IOLBF, 0);
  void* r;
  pthread_t t[64];

  pthread_create(&t[0], NULL, twice, (void*)21);
  pthread_join(t[0], &r);
  printf("join value: %ld\n", (long)(intptr_t)r);
  pthread_create(&t[0], NULL, exit_early, NULL);
  pthread_join(t[0], &r);
  printf("pthread_exit value: %ld\n", (long)(intptr_t)r);
  pthread_create(&t[0], NULL, nap, (void*)50);
  show("tryjoin while running", pthread_tryjoin_np(t[0], &r));
  struct timespec ts = in_ms(CLOCK_REALTIME, 10);
  show("timedjoin before it ends", pthread_timedjoin_np(t[0], &r, &ts));
  ts = in_ms(CLOCK_MONOTONIC, 5000);
  show("clockjoin", pthread_clockjoin_np(t[0], &r, CLOCK_MONOTONIC, &ts));
  pthread_create(&t[0], NULL, self_join, NULL);
  pthread_join(t[0], &r);
  printf("join itself: %s\n", strerrorname_np((int)(intptr_t)r));
  pthread_attr_t attr;
  pthread_attr_init(&attr);
  pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
  pthread_create(&t[0], &attr, nap, (void*)1);
  show("join a detached thread", pthread_join(t[0], &r));
  pthread_attr_destroy(&attr);
  pthread_create(&t[0], NULL, nap, (void*)1);
  show("detach", pthread_detach(t[0]));
  (void)joiner_target;

  printf("pthread_equal(self, self): %d\n", pthread_equal(pthread_self(), pthread_self()) != 0);
  pthread_create(&t[0], NULL, nap, (void*)20);
  printf("pthread_equal(self, other): %d\n", pthread_equal(pthread_self(), t[0]) != 0);
  show("setname", pthread_setname_np(t[0], "worker-one"));
  char name[32];
  show("getname", pthread_getname_np(t[0], name, sizeof name));
  printf("name: %s\n", name);
  show("setname too long", pthread_setname_np(t[0], "a-name-longer-than-15"));
  show("getname small buffer", pthread_getname_np(t[0], name, 4));
  pthread_join(t[0], NULL);
  pthread_attr_init(&attr);
  pthread_attr_setstacksize(&attr, 1 << 20);
  pthread_create(&t[0], &attr, nap, (void*)20);
  pthread_attr_destroy(&attr);
  pthread_attr_t got;
  size_t stacksize = 0;
  show("getattr_np", pthread_getattr_np(t[0], &got));
  pthread_attr_getstacksize(&got, &stacksize);
  printf("stack of at least 1 MiB: %d\n", stacksize >= (1u << 20));
  pthread_attr_destroy(&got);
  pthread_join(t[0], NULL);

  pthread_key_create(&key, dtor);
  pthread_key_create(&key2, dtor_again);
  for (int i = 0; i < 4; ++i) pthread_create(&t[i], NULL, with_keys, (void*)(intptr_t)(i + 1));
  long keysum = 0;
  for (int i = 0; i < 4; ++i) {
    pthread_join(t[i], &r);
    keysum += (long)(intptr_t)r;
  }
  printf("key values per thread: %ld, destructors saw: %d, rounds left: %d\n", keysum, destructed, rounds_left);
  printf("main's value: %p\n", pthread_getspecific(key));
  show("key_delete", pthread_key_delete(key));

  for (int i = 0; i < 10; ++i) pthread_create(&t[i], NULL, do_once, NULL);
  long once_ok = 0;
  for (int i = 0; i < 10; ++i) {
    pthread_join(t[i], &r);
    once_ok += (long)(intptr_t)r;
  }
  printf("once ran %d time(s), seen done by %ld threads\n", once_runs, once_ok);

  pthread_mutex_t* kinds[] = {&normal, &recursive, &errorcheck, &adaptive};
  const char* kind_names[] = {"normal", "recursive", "errorcheck", "adaptive"};
  for (int k = 0; k < 4; ++k) {
    shared_counter = 0;
    for (int i = 0; i < 8; ++i) pthread_create(&t[i], NULL, count_up, kinds[k]);
    for (int i = 0; i < 8; ++i) pthread_join(t[i], NULL);
    printf("%s mutex, 8 threads x 2000: %ld\n", kind_names[k], shared_counter);
  }
  show("recursive lock", pthread_mutex_lock(&recursive));
  show("recursive lock again", pthread_mutex_lock(&recursive));
  show("recursive trylock", pthread_mutex_trylock(&recursive));
  pthread_create(&t[0], NULL, try_from_other, &recursive);
  pthread_join(t[0], &r);
  printf("trylock from another thread: %s\n", strerrorname_np((int)(intptr_t)r));
  pthread_create(&t[0], NULL, unlock_from_other, &recursive);
  pthread_join(t[0], &r);
  printf("recursive unlock from another thread: %s\n", strerrorname_np((int)(intptr_t)r));
  for (int i = 0; i < 3; ++i) show("recursive unlock", pthread_mutex_unlock(&recursive));
  show("recursive unlock once more", pthread_mutex_unlock(&recursive));
  show("errorcheck lock", pthread_mutex_lock(&errorcheck));
  show("errorcheck relock", pthread_mutex_lock(&errorcheck));
  show("errorcheck trylock by owner", pthread_mutex_trylock(&errorcheck));
  pthread_create(&t[0], NULL, timed_from_other, &errorcheck);
  pthread_join(t[0], &r);
  printf("timedlock, clocklock time out; bad clock EINVAL: %ld\n", (long)(intptr_t)r);
  show("destroy while locked", pthread_mutex_destroy(&errorcheck));
  show("errorcheck unlock", pthread_mutex_unlock(&errorcheck));
  show("errorcheck unlock unlocked", pthread_mutex_unlock(&errorcheck));
  show("destroy", pthread_mutex_destroy(&errorcheck));
  struct timespec bad = {0, 2000000000L};
  pthread_mutex_lock(&normal);
  pthread_create(&t[0], NULL, try_from_other, &normal);
  pthread_join(t[0], &r);
  printf("normal trylock from another thread: %s\n", strerrorname_np((int)(intptr_t)r));
  pthread_mutex_unlock(&normal);
  show("timedlock free mutex, bad abstime", pthread_mutex_timedlock(&normal, &bad));
  pthread_mutex_unlock(&normal);

  for (int i = 0; i < 5; ++i) pthread_create(&t[i], NULL, wait_gate, NULL);
  usleep(5000);
  pthread_mutex_lock(&cm);
  gate = 1;
  pthread_cond_broadcast(&cv);
  pthread_mutex_unlock(&cm);
  for (int i = 0; i < 5; ++i) pthread_join(t[i], NULL);
  printf("broadcast woke: %d\n", woke);
  pthread_mutex_lock(&cm);
  ts = in_ms(CLOCK_REALTIME, 20);
  show("cond_timedwait (realtime) times out", pthread_cond_timedwait(&cv, &cm, &ts));
  pthread_condattr_t ca;
  pthread_condattr_init(&ca);
  pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
  pthread_cond_t mono;
  pthread_cond_init(&mono, &ca);
  ts = in_ms(CLOCK_MONOTONIC, 20);
  show("cond_timedwait (monotonic attr) times out", pthread_cond_timedwait(&mono, &cm, &ts));
  ts = in_ms(CLOCK_MONOTONIC, 20);
  show("cond_clockwait times out", pthread_cond_clockwait(&cv, &cm, CLOCK_MONOTONIC, &ts));
  show("cond_timedwait bad abstime", pthread_cond_timedwait(&cv, &cm, &bad));
  show("mutex still held after the waits (trylock)", pthread_mutex_trylock(&cm));
  pthread_mutex_unlock(&cm);
  pthread_cond_destroy(&mono);

  for (int i = 0; i < 4; ++i) pthread_create(&t[i], NULL, reader, NULL);
  usleep(2000);
  pthread_create(&t[4], NULL, writer, NULL);
  for (int i = 0; i < 5; ++i) pthread_join(t[i], NULL);
  printf("rwlock: readers together: %d, writer saw readers: %d\n", max_readers, writer_saw_readers);
  pthread_rwlock_rdlock(&rw);
  pthread_create(&t[0], NULL, try_write, NULL);
  pthread_join(t[0], &r);
  printf("trywrlock EBUSY, timedwrlock ETIMEDOUT while read-held: %ld\n", (long)(intptr_t)r);
  show("tryrdlock while read-held", pthread_rwlock_tryrdlock(&rw));
  pthread_rwlock_unlock(&rw);
  pthread_rwlock_unlock(&rw);
  show("wrlock", pthread_rwlock_wrlock(&rw));
  show("rdlock while write-held by self", pthread_rwlock_rdlock(&rw));
  show("wrlock again", pthread_rwlock_wrlock(&rw));
  show("unlock", pthread_rwlock_unlock(&rw));

  pthread_barrier_init(&barrier, NULL, 6);
  for (int i = 0; i < 6; ++i) pthread_create(&t[i], NULL, at_barrier, NULL);
  for (int i = 0; i < 6; ++i) pthread_join(t[i], NULL);
  printf("barrier: serial threads over 3 rounds: %d\n", serial);
  show("barrier_init count 0", pthread_barrier_init(&barrier, NULL, 0));
  pthread_spin_init(&spin, PTHREAD_PROCESS_PRIVATE);
  for (int i = 0; i < 4; ++i) pthread_create(&t[i], NULL, spin_up, NULL);
  for (int i = 0; i < 4; ++i) pthread_join(t[i], NULL);
  printf("spinlock, 4 threads x 1000: %ld\n", spun);
  show("spin_trylock free", pthread_spin_trylock(&spin));
  show("spin_trylock held", pthread_spin_trylock(&spin));
  pthread_spin_unlock(&spin);

  sem_init(&sem, 0, 0);
  int v;
  int tw = sem_trywait(&sem);
  printf("sem_trywait empty: %d %s\n", tw, strerrorname_np(errno));
  ts = in_ms(CLOCK_REALTIME, 20);
  int tt = sem_timedwait(&sem, &ts);
  printf("sem_timedwait empty: %d %s\n", tt, strerrorname_np(errno));
  pthread_create(&t[0], NULL, post_later, NULL);
  printf("sem_wait: %d\n", sem_wait(&sem));
  pthread_join(t[0], NULL);
  sem_post(&sem);
  sem_post(&sem);
  sem_getvalue(&sem, &v);
  printf("sem value after 2 posts: %d\n", v);
  ts = in_ms(CLOCK_MONOTONIC, 20);
  printf("sem_clockwait with a value: %d\n", sem_clockwait(&sem, CLOCK_MONOTONIC, &ts));
  sem_destroy(&sem);

  for (int i = 0; i < 8; ++i) pthread_create(&t[i], NULL, keeps_errno, (void*)(intptr_t)(100 + i));
  long errno_ok = 0;
  for (int i = 0; i < 8; ++i) {
    pthread_join(t[i], &r);
    errno_ok += (long)(intptr_t)r;
  }
  printf("threads whose errno stayed theirs: %ld\n", errno_ok);

  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_usr1;
  sigaction(SIGUSR1, &sa, NULL);
  socketpair(AF_UNIX, SOCK_STREAM, 0, sp);
  pthread_create(&t[0], NULL, blocked_read, NULL);
  usleep(20000);
  show("pthread_kill", pthread_kill(t[0], SIGUSR1));
  pthread_join(t[0], &r);
  printf("the signalled thread's read: EINTR %ld\n", (long)(intptr_t)r);
  show("pthread_kill signal 0", pthread_kill(pthread_self(), 0));

  static pthread_t many[1000];
  for (int i = 0; i < 1000; ++i) pthread_create(&many[i], NULL, sleeper, NULL);
  usleep(100000);
  fprintf(stderr, "os threads while 1000 threads sleep: %d\n", os_threads());
  for (int i = 0; i < 1000; ++i) pthread_join(many[i], NULL);
  printf("1000 sleeping threads joined\n");
  return 0;
}
