// dns_channel.hpp — one c-ares channel: the only code that includes <ares.h>.
//
// A Channel sends queries and hands back completions; it does no waiting of its own. Whoever owns
// it (the thread's Resolver, dns_resolver.hpp) watches the sockets the channel asks to have
// watched and calls process() when one is ready and expire() when next_timeout_ns() has passed.
// Its I/O goes through raw system calls (lib/sys.hpp): under the interposer, socket/recvfrom/
// sendto are hooked process-wide and c-ares must not re-enter them (DESIGN.md §7).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "dns.hpp"

namespace grove::detail::dns {

struct Settings;
class Channel;

// How one query ended.
struct Completion {
  Status status = Status::ok;
  bool refused = false;       // c-ares' ECONNREFUSED: every server refused or failed (dns_servfail.hpp)
  int timeouts = 0;           // c-ares timeouts before the end: a query or an answer was lost
  const unsigned char* msg = nullptr;  // the answer, when status is ok (valid during the call only)
  std::size_t len = 0;
};
// Where a query's completion goes. Lives with the caller (in its Job) until `done` has run.
struct QueryCallback {
  void (*done)(void* arg, const Completion& c) = nullptr;
  void* arg = nullptr;
};

// What a channel tells its owner. Called from inside the channel's calls, never later.
class ChannelOwner {
 public:
  // c-ares wants fd watched for reading and/or writing; neither: stop watching it (it is about
  // to be closed).
  virtual void watch_socket(Channel& ch, int fd, bool readable, bool writable) noexcept = 0;
  // Every UDP datagram the channel receives, as received.
  virtual void datagram(const unsigned char* msg, std::size_t len) noexcept = 0;

 protected:
  ~ChannelOwner() = default;
};

class Channel {
 public:
  // nullptr, and *error saying why, if c-ares cannot be set up with these settings.
  static std::unique_ptr<Channel> open(const Settings& s, ChannelOwner& owner, std::string* error);
  // Queries still pending complete with Status::try_again (ARES_EDESTRUCTION).
  ~Channel();
  Channel(const Channel&) = delete;
  Channel& operator=(const Channel&) = delete;

  // ares_search: through resolv.conf's search list and ndots. cb->done runs from a later
  // process()/expire()/cancel() — or before search() returns, for a name c-ares rejects.
  void search(const char* name, int qtype, QueryCallback* cb) noexcept;
  // ares_query: the name as given (reverse lookups).
  void query(const char* name, int qtype, QueryCallback* cb) noexcept;

  void process(int fd, bool readable, bool writable) noexcept;
  void expire() noexcept;  // c-ares' retries and timeouts that are due
  // Time until c-ares' next retry or timeout in ns; -1 when nothing is pending.
  std::int64_t next_timeout_ns() noexcept;
  // Ends every pending query with Status::try_again (ARES_ECANCELLED).
  void cancel() noexcept;

  // Datagrams the kernel dropped on this channel's UDP sockets, open and closed (SO_MEMINFO).
  std::uint64_t kernel_drops() const noexcept;

  // The receive buffer the kernel grants a UDP socket of ours that asks for `requested` bytes
  // (what SO_RCVBUF reads back: the kernel doubles the request, and caps it at rmem_max unless we
  // hold CAP_NET_ADMIN). Found by asking on a scratch socket.
  static int granted_receive_buffer(int requested) noexcept;

  // Queries of the owner's on this channel (the owner keeps it; the channel only stores it).
  std::size_t in_flight = 0;

  struct Impl;

 private:
  explicit Channel(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace grove::detail::dns
