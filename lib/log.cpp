#include "log.hpp"

#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>

namespace grove::log {

namespace {

Level parse(const char* s) noexcept {
  if (!s || !*s) {
    const char* monitor = std::getenv("GROVE_MONITOR");
    return monitor && *monitor ? Level::warn : Level::error;
  }
  struct {
    const char* name;
    Level level;
  } const names[] = {{"trace", Level::trace}, {"debug", Level::debug}, {"info", Level::info},
                     {"warn", Level::warn},   {"warning", Level::warn}, {"error", Level::error},
                     {"off", Level::off},     {"none", Level::off}};
  for (auto& n : names)
    if (::strcasecmp(s, n.name) == 0) return n.level;
  std::fprintf(stderr, "grove: GROVE_LOG=%s not understood (trace|debug|info|warn|error|off); using error\n", s);
  return Level::error;
}

spdlog::logger& logger() {
  // stderr through stdio: no hooked fd call on this path. Never destroyed: grove's own threads
  // (the watch thread, offload workers) may still log while the process runs its exit handlers.
  static std::shared_ptr<spdlog::logger>* l = new std::shared_ptr<spdlog::logger>([] {
    auto lg = std::make_shared<spdlog::logger>("grove", std::make_shared<spdlog::sinks::stderr_sink_mt>());
    lg->set_pattern("[%H:%M:%S.%f] grove %l: %v");
    lg->set_level(spdlog::level::trace);  // filtering happens in enabled()
    lg->flush_on(spdlog::level::trace);
    return lg;
  }());
  return **l;
}

}  // namespace

Level g_level = parse(std::getenv("GROVE_LOG"));

Level reload_from_env() noexcept {
  g_level = parse(std::getenv("GROVE_LOG"));
  return g_level;
}

void write(Level l, const char* fmt, ...) noexcept {
  if (!enabled(l)) return;
  char buf[1024];
  va_list ap;
  va_start(ap, fmt);
  std::vsnprintf(buf, sizeof buf, fmt, ap);
  va_end(ap);
  try {
    logger().log(static_cast<spdlog::level::level_enum>(static_cast<int>(l)), "{}", buf);
  } catch (...) {
    std::fprintf(stderr, "grove: %s\n", buf);
  }
}

void write_text(Level l, const char* text) noexcept {
  if (!enabled(l)) return;
  try {
    logger().log(static_cast<spdlog::level::level_enum>(static_cast<int>(l)), "{}", text);
  } catch (...) {
    std::fprintf(stderr, "grove: %s\n", text);
  }
}

}  // namespace grove::log
