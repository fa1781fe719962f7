// dns_resolver.hpp — a thread's DNS machinery: its c-ares channels, the pacing of queries over
// their sockets, and the driver greenlet that runs them on the hub. The design is at the top of
// dns_resolver.cpp.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "dns.hpp"
#include "dns_channel.hpp"
#include "dns_config.hpp"
#include "dns_servfail.hpp"
#include "waiter.hpp"

namespace grove::detail::dns {

class Resolver;

// One query a lookup wants made. Lives in the lookup's Request (heap) until `done` has run, or
// until withdraw() took it back.
struct Job {
  std::string name;
  int qtype = 0;
  bool search = true;  // through the search list (ares_search), or the name as is (ares_query)
  // The query's outcome; for a failure `msg` is null. Runs on the hub thread, inside the driver
  // (or inside submit(), for a name c-ares rejects at once).
  void (*done)(Job* job, Status status, const unsigned char* msg, std::size_t len) = nullptr;
  void* user = nullptr;

  // The Resolver's bookkeeping.
  Resolver* resolver = nullptr;
  Channel* channel = nullptr;  // while sent
  Job* prev = nullptr;         // while queued for room
  Job* next = nullptr;
  bool queued = false;
  QueryCallback cb;
};

class Resolver final : public ChannelOwner {
 public:
  explicit Resolver(Config cfg);
  ~Resolver();
  Resolver(const Resolver&) = delete;
  Resolver& operator=(const Resolver&) = delete;

  // Opens the first channel if needed; false (see error()) if the configuration is unusable.
  bool usable();
  const std::string& error() const noexcept { return error_; }

  // Sends the job's query, or queues it until a socket has room (FIFO). Counted in flight from now.
  void submit(Job* job) noexcept;
  // Takes back a job that is still queued (its lookup was abandoned): true if it was, and then
  // its `done` will never run. A job already sent cannot be taken back (c-ares 1.18 cannot
  // cancel one query); its completion arrives later as usual.
  bool withdraw(Job* job) noexcept;
  // Makes sure the driver greenlet runs while jobs are in flight. Throws if it cannot be spawned.
  void ensure_driver();

  std::size_t in_flight() const noexcept { return in_flight_; }
  // Jobs in flight, or the driver still running (it holds `this`).
  bool busy() const noexcept { return in_flight_ > 0 || driver_running_; }
  bool wait_idle(std::int64_t deadline_ns);
  Stats stats() const noexcept;
  void note_abandoned() noexcept { ++stats_.abandoned; }

  // ChannelOwner
  void watch_socket(Channel& ch, int fd, bool readable, bool writable) noexcept override;
  void datagram(const unsigned char* msg, std::size_t len) noexcept override { failures_.note(msg, len); }

 private:
  static void on_completion(void* arg, const Completion& c);
  Channel* channel_with_room() noexcept;
  void send(Job* job, Channel* ch) noexcept;
  void unqueue(Job* job) noexcept;
  void pump() noexcept;
  void cancel_all() noexcept;
  void drive() noexcept;
  bool drain() noexcept;
  std::int64_t next_deadline() noexcept;
  void close_spare_channels() noexcept;

  Config cfg_;
  Settings settings_;
  bool failed_ = false;
  std::string error_;
  std::vector<std::unique_ptr<Channel>> channels_;
  int epfd_ = -1;
  std::unordered_map<int, Channel*> sockets_;  // watched fd → its channel
  Job* queue_head_ = nullptr;                   // jobs waiting for room, oldest first
  Job* queue_tail_ = nullptr;
  std::size_t in_flight_ = 0;                   // queued + sent
  bool driver_running_ = false;
  WaitList idle_waiters_;
  ServerFailures failures_;
  std::uint64_t retired_drops_ = 0;  // kernel drops on channels already closed
  Stats stats_;
};

}  // namespace grove::detail::dns
