// detail/core.hpp — the boundary between grove's header templates and the runtime in lib/.
//
// A greenlet is one heap block: the runtime's GreenletCore (private to lib/) followed by a Body
// that the templates in greenlet.hpp construct in place; the Body holds the function, its
// arguments and, once it returns, the value. Handles count references to the block. Everything here
// is internal: use greenlet.hpp.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <string>

namespace grove {

struct SpawnOptions {
  std::string name{};          // shown in logs, errors and stack-overflow reports
  std::size_t stack_size = 0;  // usable bytes; 0: GROVE_STACK_SIZE or 128 KiB
};

namespace detail {

struct GreenletCore;

class Body {
 public:
  virtual ~Body() = default;
  // Calls the function, keeps its value; the function and its arguments are destroyed before it
  // returns or throws.
  virtual void run() = 0;
};

inline constexpr std::int64_t kNever = INT64_MAX;
std::int64_t now_ns() noexcept;
std::int64_t deadline_after(std::chrono::nanoseconds d) noexcept;  // saturating

GreenletCore* create(std::size_t body_size, std::size_t body_align, SpawnOptions&& opts);
void* body_storage(GreenletCore* g) noexcept;
void attach(GreenletCore* g, Body* b) noexcept;
void discard(GreenletCore* g) noexcept;  // the Body's constructor threw: free the block
void start(GreenletCore* g, std::chrono::nanoseconds delay);

void ref(GreenletCore* g) noexcept;
void unref(GreenletCore* g) noexcept;
Body* body(GreenletCore* g) noexcept;

bool ready(const GreenletCore* g) noexcept;
bool join(GreenletCore* g, std::int64_t deadline_ns);  // false on its own deadline
void kill(GreenletCore* g, bool wait);
std::exception_ptr error(GreenletCore* g) noexcept;    // marks the error as observed
bool killed(const GreenletCore* g) noexcept;
const std::string& name(const GreenletCore* g) noexcept;
void set_name(GreenletCore* g, std::string name);
std::uint64_t id(const GreenletCore* g) noexcept;
GreenletCore* current();
// Index of the first of `n` greenlets to finish, or n if the deadline passed first.
std::size_t wait_any(GreenletCore* const* gs, std::size_t n, std::int64_t deadline_ns);

}  // namespace detail
}  // namespace grove
