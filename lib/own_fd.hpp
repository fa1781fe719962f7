// own_fd.hpp — grove's own file descriptors, kept out of the program's way.
//
// A hub owns an epoll fd and an eventfd, a DNS channel an epoll fd and its sockets. In a program
// that never asked for them they are surprises: a shell dup2()s a socket onto "its" fd 3, a daemon
// closefrom(3)s everything after fork, and the hub then waits on something that is not its epoll
// instance any more (bash under GROVE_MAIN_HUB=1 aborted so). So grove's fds
//   * live at high numbers, just below the soft RLIMIT_NOFILE, where programs do not go looking;
//   * survive the program's close(), close_range() and closefrom() of them: the interposer skips
//     them and reports success (the program did not know they existed);
//   * move out of the way when the program dup2()s or dup3()s onto one: grove's copy moves to
//     another number first, and the owner's stored number follows (`slot`). An fd registered
//     without a slot (c-ares' sockets, whose numbers c-ares keeps) cannot move; the program's dup
//     then replaces it, and an error is logged.
#pragma once

#include <atomic>

namespace grove::detail {

// Takes fd (just created by grove, close-on-exec) as one of grove's own: returns its number,
// moved high if possible. The owner keeps the number in *slot, if given, so that it can be moved.
int own_fd(int fd, std::atomic<int>* slot = nullptr) noexcept;
// grove is about to close its fd.
void disown_fd(int fd) noexcept;
bool is_own_fd(int fd) noexcept;
// The program is about to make `fd` refer to something else (dup2/dup3 onto it): if it is one of
// grove's, move grove's copy away first.
void move_own_fd_away(int fd) noexcept;
// grove's own fds within [first, last], ascending, at most `max` of them; returns how many.
int own_fds_between(unsigned first, unsigned last, int* out, int max) noexcept;

}  // namespace grove::detail
