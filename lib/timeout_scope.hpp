// timeout_scope.hpp — how park() sees the grove::Timeout scopes of a greenlet (time.cpp).
#pragma once

#include <cstdint>

namespace grove::detail {

struct GreenletCore;

// The earliest deadline of g's enclosing Timeout scopes, or kNever.
std::int64_t scope_deadline(const GreenletCore* g) noexcept;
// Throws TimeoutError naming the scope of g that expired first.
[[noreturn]] void throw_scope_timeout(const GreenletCore* g);

}  // namespace grove::detail
