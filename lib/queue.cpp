// queue.cpp — the non-template parts of queue.hpp (the waiting itself is detail::Waiters).
#include "grove/queue.hpp"

#include <string>

#include "grove/errors.hpp"
#include "grove/greenlet.hpp"

namespace grove::detail {

void throw_queue_closed(const char* op) {
  throw QueueClosed(std::string("grove: ") + op + " on a closed queue (greenlet '" + grove::current().name() + "')" +
                    (std::string(op) == "get" ? ": it is closed and drained, no item will come"
                                              : ": no more items are accepted after close()"));
}

std::size_t checked_capacity(std::size_t capacity) {
  if (capacity == 0)
    throw UsageError(
        "grove: a queue of capacity 0 would never accept an item; use Queue<T>() for an unbounded queue or "
        "Channel<T> for a rendezvous");
  return capacity;
}

}  // namespace grove::detail
