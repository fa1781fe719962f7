// green_cxx — C++'s own threads and synchronisation, unmodified: std::thread, std::mutex,
// std::condition_variable (wait_for on steady_clock: pthread_cond_clockwait), std::latch,
// std::barrier, std::counting_semaphore and std::atomic::wait (futex system calls), std::call_once,
// thread_local, exceptions inside threads, pthread_exit through C++ frames. Results one per line;
// the test compares a native run with a green-threads one.
#include <pthread.h>

#include <atomic>
#include <barrier>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <future>
#include <latch>
#include <mutex>
#include <semaphore>
#include <shared_mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

using namespace std::chrono_literals;

namespace {

struct Guard {
  std::atomic<int>* count;
  ~Guard() { ++*count; }
};

// Recurses `depth` frames, each with a destructor, then calls pthread_exit (which never returns:
// GCC calls that infinite recursion).
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Winfinite-recursion"
__attribute__((noinline)) int exits_from_deep(std::atomic<int>* destroyed, int depth) {
  Guard g{destroyed};
  if (depth == 0) pthread_exit(reinterpret_cast<void*>(42));
  return exits_from_deep(destroyed, depth - 1) + 1;
}
#pragma GCC diagnostic pop

}  // namespace

int main() {
  std::setvbuf(stdout, nullptr, _IOLBF, 0);
  {
    std::mutex m;
    long counter = 0;
    std::vector<std::thread> ts;
    for (int i = 0; i < 8; ++i)
      ts.emplace_back([&] {
        for (int k = 0; k < 5000; ++k) {
          std::lock_guard l(m);
          ++counter;
          if (k % 1000 == 0) std::this_thread::sleep_for(100us);
        }
      });
    for (auto& t : ts) t.join();
    std::printf("std::mutex, 8 threads x 5000: %ld\n", counter);
  }
  {
    std::mutex m;
    std::condition_variable cv;
    bool go = false;
    int woke = 0;
    std::vector<std::thread> ts;
    for (int i = 0; i < 5; ++i)
      ts.emplace_back([&] {
        std::unique_lock l(m);
        cv.wait(l, [&] { return go; });
        ++woke;
      });
    std::this_thread::sleep_for(5ms);
    {
      std::lock_guard l(m);
      go = true;
    }
    cv.notify_all();
    for (auto& t : ts) t.join();
    std::unique_lock l(m);
    const bool timed_out = !cv.wait_for(l, 20ms, [] { return false; });
    std::printf("condition_variable woke %d, wait_for timed out: %d\n", woke, timed_out);
  }
  {
    std::latch done(6);
    std::atomic<int> arrived{0};
    std::vector<std::thread> ts;
    for (int i = 0; i < 6; ++i)
      ts.emplace_back([&] {
        std::this_thread::sleep_for(2ms);
        ++arrived;
        done.count_down();
      });
    done.wait();
    std::printf("latch released after %d arrivals\n", arrived.load());
    for (auto& t : ts) t.join();
  }
  {
    std::counting_semaphore<4> slots(2);
    std::atomic<int> inside{0}, most{0};
    std::vector<std::thread> ts;
    for (int i = 0; i < 8; ++i)
      ts.emplace_back([&] {
        slots.acquire();
        int n = ++inside;
        for (int prev = most.load(); n > prev && !most.compare_exchange_weak(prev, n);) {
        }
        std::this_thread::sleep_for(2ms);
        --inside;
        slots.release();
      });
    for (auto& t : ts) t.join();
    std::printf("counting_semaphore(2): at most %d inside\n", most.load());
    std::printf("try_acquire_for on an empty semaphore: %d\n", std::counting_semaphore<1>(0).try_acquire_for(10ms));
  }
  {
    std::atomic<int> flag{0};
    std::thread t([&] {
      std::this_thread::sleep_for(5ms);
      flag = 1;
      flag.notify_one();
    });
    flag.wait(0);
    t.join();
    std::printf("atomic wait saw: %d\n", flag.load());
  }
  {
    int phases = 0;
    std::barrier sync(4, [&]() noexcept { ++phases; });
    std::vector<std::thread> ts;
    for (int i = 0; i < 4; ++i)
      ts.emplace_back([&] {
        for (int r = 0; r < 3; ++r) sync.arrive_and_wait();
      });
    for (auto& t : ts) t.join();
    std::printf("std::barrier completions: %d\n", phases);
  }
  {
    std::shared_mutex sm;
    std::atomic<int> readers{0}, most{0};
    std::vector<std::thread> ts;
    for (int i = 0; i < 4; ++i)
      ts.emplace_back([&] {
        std::shared_lock l(sm);
        int n = ++readers;
        for (int prev = most.load(); n > prev && !most.compare_exchange_weak(prev, n);) {
        }
        std::this_thread::sleep_for(5ms);
        --readers;
      });
    for (auto& t : ts) t.join();
    std::printf("shared_mutex readers together: %d\n", most.load());
  }
  {
    std::once_flag once;
    std::atomic<int> runs{0};
    std::vector<std::thread> ts;
    for (int i = 0; i < 6; ++i)
      ts.emplace_back([&] {
        std::call_once(once, [&] {
          std::this_thread::sleep_for(2ms);
          ++runs;
        });
      });
    for (auto& t : ts) t.join();
    std::printf("call_once ran %d time(s)\n", runs.load());
  }
  {
    auto f = std::async(std::launch::async, [] { return std::string("from async"); });
    std::printf("std::async: %s\n", f.get().c_str());
    std::thread t([] {
      try {
        throw std::runtime_error("inside a thread");
      } catch (const std::exception& e) {
        std::printf("caught in the thread: %s\n", e.what());
      }
    });
    t.join();
  }
  {
    std::atomic<int> destroyed{0};
    pthread_t t;
    pthread_create(
        &t, nullptr,
        [](void* p) -> void* {
          exits_from_deep(static_cast<std::atomic<int>*>(p), 5);
          return nullptr;
        },
        &destroyed);
    void* r = nullptr;
    pthread_join(t, &r);
    std::printf("pthread_exit from 6 frames deep: value %ld, destructors run %d\n", reinterpret_cast<long>(r),
                destroyed.load());
  }
  {
    std::thread::id main_id = std::this_thread::get_id(), other_id;
    std::thread t([&] { other_id = std::this_thread::get_id(); });
    t.join();
    std::printf("thread ids differ: %d\n", main_id != other_id);
  }
  return 0;
}
