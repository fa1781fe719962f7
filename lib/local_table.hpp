// local_table.hpp — the per-greenlet table behind grove::local (local.cpp), for lib/ users.
#pragma once

#include <cstdint>
#include <vector>

#include "grove/local.hpp"

namespace grove::detail {

struct GreenletCore;

struct LocalEntry {
  std::uint64_t key;
  void* value;
  LocalDestroy destroy;
};

struct LocalTable {
  std::vector<LocalEntry> entries;
};

void destroy_table(LocalTable* t) noexcept;
// Attaches an entry to g (running or not yet started): `destroy(value)` runs as g ends. A Group
// uses it to learn of a member's end, however it ends. Throws std::bad_alloc.
void add_local_to(GreenletCore* g, std::uint64_t key, void* value, LocalDestroy destroy);

}  // namespace grove::detail
