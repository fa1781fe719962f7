// errors.hpp — what grove's C++ API throws.
#pragma once

#include <stdexcept>
#include <string>

namespace grove {

class Timeout;

// Raised inside a greenlet by kill(), at the blocking call where it is parked (or at its next one).
// Deliberately not a std::exception: `catch (const std::exception&)` must not swallow a kill.
class GreenletExit {
 public:
  const char* what() const noexcept { return "grove::GreenletExit: the greenlet was killed"; }
};

// Raised at a blocking call once the deadline of an enclosing grove::Timeout scope has passed.
class TimeoutError : public std::runtime_error {
 public:
  explicit TimeoutError(const Timeout* source, const std::string& what)
      : std::runtime_error(what), source_(source) {}
  // The scope that expired: `catch (TimeoutError& e) { if (!e.from(mine)) throw; }`.
  const Timeout* source() const noexcept { return source_; }
  bool from(const Timeout& t) const noexcept { return source_ == &t; }

 private:
  const Timeout* source_;
};

// gevent's LoopExit: the calling greenlet waits for something that nothing can ever deliver —
// no other greenlet is ready, no timer is pending, no fd is being waited on.
class BlockedForever : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Misuse of the API that would otherwise hang or corrupt state: two readers on one fd, joining
// yourself, unlocking a mutex you do not own. The message says which greenlet and what to do.
class UsageError : public std::logic_error {
 public:
  using std::logic_error::logic_error;
};

}  // namespace grove
