// interposer.hpp — is grove's interposer the one answering libc's blocking calls here?
#pragma once

namespace grove {

// True when libgrove_preload.so is loaded (preloaded, or linked) and its hooks are the ones the
// process's calls resolve to: read, write, connect, poll, fcntl and the rest under every name
// libc exports them by. False when it is not loaded — e.g. a program whose blocking calls all
// live in another library (libpq) linked it with --as-needed, which dropped it (link with
// `pkg-config --libs grove-preload`, which carries -Wl,--no-as-needed) — or when another library
// loaded before it overrides some of those names (then GROVE_LOG=warn names them at start).
bool interposer_active() noexcept;

}  // namespace grove
