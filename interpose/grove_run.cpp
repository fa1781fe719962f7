// grove-run [--log=LEVEL] [--green-threads] [--disable] [--dump-signal=SIG] [--monitor=DURATION] [--]
//           program [args...]
//
// Runs an unmodified program with grove's interposer preloaded: prepends libgrove_preload.so to
// LD_PRELOAD, sets the GROVE_* variables, and execs the program (so exit codes and signals are
// the program's own).
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <strings.h>
#include <string>
#include <vector>

namespace {

void usage(std::FILE* to) {
  std::fprintf(to,
               "usage: grove-run [--log=LEVEL] [--green-threads] [--disable] [--dump-signal=SIG] [--monitor=DURATION]\n"
               "                 [--] program [args...]\n"
               "  --log=LEVEL         grove's log level: trace, debug, info, warn, error, off (GROVE_LOG)\n"
               "  --green-threads     the program's threads become greenlets of its main thread's hub\n"
               "                      (GROVE_GREEN_THREADS=1)\n"
               "  --disable           load the interposer as a pure pass-through (GROVE_DISABLE=1)\n"
               "  --dump-signal=SIG   on signal SIG (USR2, QUIT…) list every greenlet with its stack on stderr\n"
               "                      (GROVE_DUMP_SIGNAL)\n"
               "  --monitor=DURATION  warn about a hub held longer than DURATION (100ms, 1.5s) by one greenlet\n"
               "                      or a blocking call (GROVE_MONITOR)\n"
               "  GROVE_PRELOAD overrides where libgrove_preload.so is looked for.\n");
}

// The same forms as lib/monitor.cpp's parsers accept (grove-run does not link libgrove).
bool valid_signal(const std::string& s) {
  if (!s.empty() && s.find_first_not_of("0123456789") == std::string::npos) {
    const long n = std::strtol(s.c_str(), nullptr, 10);
    return n > 0 && n < NSIG;
  }
  const std::string name = strncasecmp(s.c_str(), "SIG", 3) == 0 ? s.substr(3) : s;
  for (int sig = 1; sig < SIGRTMIN; ++sig)
    if (const char* abbrev = ::sigabbrev_np(sig); abbrev && strcasecmp(abbrev, name.c_str()) == 0) return true;
  return false;
}

bool valid_duration(const std::string& s) {
  if (s == "off") return true;
  char* end = nullptr;
  const double v = std::strtod(s.c_str(), &end);
  if (end == s.c_str() || !(v >= 0)) return false;
  const std::string unit = end;
  return unit.empty() || unit == "ns" || unit == "us" || unit == "ms" || unit == "s";
}

// "--name=value" or "--name value": the value, or nullptr if `a` is not that option.
const char* option_value(const std::string& a, const char* name, int& i, int argc, char** argv) {
  const std::string n = name;
  if (a.rfind(n + "=", 0) == 0) return argv[i] + n.size() + 1;
  if (a == n) return i + 1 < argc ? argv[++i] : "";
  return nullptr;
}

std::string dir_of_self() {
  char buf[4096];
  ssize_t n = ::readlink("/proc/self/exe", buf, sizeof buf - 1);
  if (n <= 0) return ".";
  buf[n] = '\0';
  std::string p(buf);
  return p.substr(0, p.rfind('/'));
}

std::string find_preload(std::vector<std::string>& tried) {
  if (const char* env = std::getenv("GROVE_PRELOAD"); env && *env) {
    tried.push_back(env);
    return ::access(env, R_OK) == 0 ? env : "";
  }
  const std::string self = dir_of_self();
  for (std::string c : {std::string(GROVE_PRELOAD_BUILD), std::string(GROVE_PRELOAD_INSTALL),
                        self + "/libgrove_preload.so", self + "/../lib/libgrove_preload.so"}) {
    tried.push_back(c);
    if (::access(c.c_str(), R_OK) == 0) return c;
  }
  return "";
}

bool valid_level(const std::string& l) {
  for (const char* ok : {"trace", "debug", "info", "warn", "warning", "error", "off", "none"})
    if (l == ok) return true;
  return false;
}

}  // namespace

int main(int argc, char** argv) {
  int i = 1;
  for (; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--") {
      ++i;
      break;
    }
    if (a == "-h" || a == "--help") {
      usage(stdout);
      return 0;
    }
    if (a == "--disable") {
      ::setenv("GROVE_DISABLE", "1", 1);
    } else if (a == "--green-threads") {
      ::setenv("GROVE_GREEN_THREADS", "1", 1);
    } else if (a.rfind("--log=", 0) == 0 || a == "--log") {
      std::string level = a == "--log" ? (i + 1 < argc ? argv[++i] : "") : a.substr(6);
      if (!valid_level(level)) {
        std::fprintf(stderr, "grove-run: bad log level '%s' (trace, debug, info, warn, error, off)\n", level.c_str());
        return 2;
      }
      ::setenv("GROVE_LOG", level.c_str(), 1);
    } else if (const char* sig = option_value(a, "--dump-signal", i, argc, argv)) {
      if (!valid_signal(sig)) {
        std::fprintf(stderr, "grove-run: bad --dump-signal '%s' (a signal name such as USR2, or its number)\n", sig);
        return 2;
      }
      ::setenv("GROVE_DUMP_SIGNAL", sig, 1);
    } else if (const char* d = option_value(a, "--monitor", i, argc, argv)) {
      if (!valid_duration(d)) {
        std::fprintf(stderr, "grove-run: bad --monitor '%s' (a duration such as 100ms, 1.5s, 250us)\n", d);
        return 2;
      }
      ::setenv("GROVE_MONITOR", d, 1);
    } else if (a.size() > 1 && a[0] == '-') {
      std::fprintf(stderr, "grove-run: unknown option '%s'\n", a.c_str());
      usage(stderr);
      return 2;
    } else {
      break;
    }
  }
  if (i >= argc) {
    std::fprintf(stderr, "grove-run: no program given\n");
    usage(stderr);
    return 2;
  }
  std::vector<std::string> tried;
  std::string lib = find_preload(tried);
  if (lib.empty()) {
    std::fprintf(stderr, "grove-run: cannot find libgrove_preload.so; looked at:\n");
    for (auto& t : tried) std::fprintf(stderr, "  %s\n", t.c_str());
    std::fprintf(stderr, "set GROVE_PRELOAD to its path\n");
    return 127;
  }
  std::string preload = lib;
  if (const char* old = std::getenv("LD_PRELOAD"); old && *old) preload += std::string(":") + old;
  ::setenv("LD_PRELOAD", preload.c_str(), 1);
  ::execvp(argv[i], argv + i);
  const int e = errno;
  std::fprintf(stderr, "grove-run: cannot run '%s': %s\n", argv[i], std::strerror(e));
  return e == ENOENT ? 127 : 126;
}
