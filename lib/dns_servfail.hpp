// dns_servfail.hpp — telling "every server said SERVFAIL/REFUSED" from "no server answered".
//
// c-ares 1.18 reports both as ARES_ECONNREFUSED, but glibc answers them differently (EAI_AGAIN
// from a timeout, "not found, try again" from a server failure; glibc_diff.cpp pins both down).
// So every UDP datagram c-ares reads passes through note() on its way (our recvfrom), which
// remembers the question names of SERVFAIL, NOTIMP and REFUSED responses; when a query then fails
// with ECONNREFUSED, take() says whether its name — or the name with a search-list suffix — was
// among them, and forgets it. The memo is bounded and emptied whenever nothing is in flight, so a
// failure cannot be mistaken for one of a later lookup of the same name.
#pragma once

#include <cstddef>
#include <string>
#include <unordered_set>

namespace grove::detail::dns {

class ServerFailures {
 public:
  // A UDP datagram as received (any content: non-responses and other rcodes are ignored).
  void note(const unsigned char* msg, std::size_t len) noexcept;
  // True (and forgets them) if a failure was noted for `name` or `name.<suffix>`.
  bool take(const std::string& name);
  void clear() noexcept { names_.clear(); }
  std::size_t size() const noexcept { return names_.size(); }

  static constexpr std::size_t kMaxNames = 4096;

 private:
  std::unordered_set<std::string> names_;
};

}  // namespace grove::detail::dns
