#include "fd_table.hpp"

namespace grove::detail {

FdEntry& FdTable::get(int fd) {
  const auto page = static_cast<std::size_t>(fd) >> kPageBits;
  if (page >= pages_.size()) pages_.resize(page + 1);
  if (!pages_[page]) pages_[page] = std::make_unique<FdEntry[]>(kPageSize);
  return pages_[page][fd & (kPageSize - 1)];
}

FdEntry* FdTable::find(int fd) noexcept {
  if (fd < 0) return nullptr;
  const auto page = static_cast<std::size_t>(fd) >> kPageBits;
  if (page >= pages_.size() || !pages_[page]) return nullptr;
  return &pages_[page][fd & (kPageSize - 1)];
}

}  // namespace grove::detail
