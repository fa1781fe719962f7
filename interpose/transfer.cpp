// transfer.cpp — sendfile and splice: on a blocking socket or pipe they move everything they
// would natively (sendfile) or the first piece (splice), parking only the greenlet.
//
// Built without _FILE_OFFSET_BITS=64 on purpose: with it, the headers rename `sendfile` to
// `sendfile64`, and defining one would export only the other name (DESIGN §7, large-file
// renames). Here both names are defined; off_t is 64 bits on x86-64 either way.
#undef _FILE_OFFSET_BITS
#include <fcntl.h>
#include <sys/sendfile.h>

#include "hook.hpp"

using namespace grove::interpose;
namespace nothrow = grove::nothrow;

static_assert(sizeof(off_t) == 8, "sendfile and sendfile64 share one definition only where off_t is 64 bits");

extern "C" {

ssize_t sendfile(int out, int in, off_t* offset, size_t count) {
  if (!active()) return real::sendfile(out, in, offset, count);
  return ret<ssize_t>(nothrow::sendfile(out, in, offset, count));
}

ssize_t splice(int in, loff_t* off_in, int out, loff_t* off_out, size_t len, unsigned flags) {
  if (!active()) return real::splice(in, off_in, out, off_out, len, flags);
  return ret<ssize_t>(nothrow::splice(in, off_in, out, off_out, len, flags));
}

}  // extern "C"

extern "C" ssize_t sendfile64(int, int, off64_t*, size_t) __attribute__((alias("sendfile"), visibility("default")));
