/* green_deadlock — two threads that deadlock (each holds the mutex the other wants) while main
 * joins them. Natively it hangs silently; as green threads grove reports who waits on what. */
#include <pthread.h>
#include <stdio.h>
#include <unistd.h>

static pthread_mutex_t a = PTHREAD_MUTEX_INITIALIZER, b = PTHREAD_MUTEX_INITIALIZER;

static void* one(void* arg) {
  (void)arg;
  pthread_mutex_lock(&a);
  usleep(10000);
  pthread_mutex_lock(&b);
  return NULL;
}

static void* two(void* arg) {
  (void)arg;
  pthread_mutex_lock(&b);
  usleep(10000);
  pthread_mutex_lock(&a);
  return NULL;
}

int main(void) {
  pthread_t t1, t2;
  pthread_create(&t1, NULL, one, NULL);
  pthread_create(&t2, NULL, two, NULL);
  pthread_join(t1, NULL);
  puts("not reached");
  return 0;
}
