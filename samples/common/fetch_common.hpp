// fetch_common.hpp — what the two downloaders (fetch_curl, fetch) share: options, the URL list,
// retry backoff, the output file that only appears when complete, and the progress/summary
// display. Header-only: each sample is one translation unit.
#pragma once
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <grove/grove.hpp>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

namespace fetch_common {

struct Options {
  std::vector<std::string> urls;
  std::string input;        // -i FILE
  int concurrency = 10;
  bool sequential = false;
  std::string out_dir;      // empty: discard bodies
  double timeout_s = 30;    // per request (per attempt)
  int retries = 2;
  bool quiet = false;
};

inline void add_options(CLI::App& app, Options& o) {
  app.add_option("urls", o.urls, "URLs to download");
  app.add_option("-i,--input", o.input, "read URLs from FILE, one per line (# comments and blank lines skipped)")
      ->check(CLI::ExistingFile);
  app.add_option("-c,--concurrency", o.concurrency, "downloads in flight at once")->capture_default_str()->check(CLI::Range(1, 100000));
  app.add_flag("--sequential", o.sequential, "one download at a time (same as -c 1)");
  app.add_option("-o,--output-dir", o.out_dir, "save files here, named after the URL's last path segment "
                                               "(default: discard the bodies)");
  app.add_option("--timeout", o.timeout_s, "give up on one attempt after this many seconds")
      ->capture_default_str()
      ->check(CLI::Range(0.001, 86400.0));
  app.add_option("--retries", o.retries, "retries after a connection error, timeout or 5xx, with exponential backoff")
      ->capture_default_str()
      ->check(CLI::Range(0, 100));
  app.add_flag("-q,--quiet", o.quiet, "no progress, only failures and the summary");
  app.footer("Exit status: 0 all downloads succeeded, 1 some failed, 2 bad usage.");
}

// Collects URLs from the arguments and -i; checks the output directory. Throws with a message.
inline void finish_options(Options& o) {
  if (o.sequential) o.concurrency = 1;
  if (!o.input.empty()) {
    std::ifstream in(o.input);
    if (!in) throw std::runtime_error("cannot read " + o.input + ": " + std::strerror(errno));
    std::string line;
    while (std::getline(in, line)) {
      auto b = line.find_first_not_of(" \t\r");
      if (b == std::string::npos || line[b] == '#') continue;
      auto e = line.find_last_not_of(" \t\r");
      o.urls.push_back(line.substr(b, e - b + 1));
    }
  }
  if (o.urls.empty()) throw std::runtime_error("no URLs given (arguments or -i FILE)");
  if (!o.out_dir.empty()) {
    struct stat st{};
    if (::stat(o.out_dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode))
      throw std::runtime_error("output directory '" + o.out_dir + "' does not exist");
  }
}

// Before retry number `attempt` (1, 2, …): 100 ms, 200 ms, 400 ms … capped at 3 s.
// Parses the command line into o. Returns -1 to go on, or the exit status to end with (0 for
// --help, 2 for bad usage, with the message printed).
inline int parse_command_line(CLI::App& app, int argc, char** argv, Options& o, const char* prog) {
  add_options(app, o);
  try {
    app.parse(argc, argv);
    finish_options(o);
  } catch (const CLI::ParseError& e) {
    int rc = app.exit(e);
    return rc == 0 ? 0 : 2;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "%s: %s\n", prog, e.what());
    return 2;
  }
  return -1;
}

inline grove::Duration backoff(int attempt) {
  const int shift = std::min(attempt - 1, 5);
  return std::min<grove::Duration>(std::chrono::milliseconds(100) * (1 << shift), std::chrono::seconds(3));
}

inline std::string to_lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

// The file name for a URL: its last path segment without query, "index.html" when empty.
inline std::string file_name_for(const std::string& url) {
  std::string path = url;
  if (auto s = path.find("://"); s != std::string::npos) path = path.substr(s + 3);
  path = path.substr(0, path.find_first_of("?#"));
  auto slash = path.find('/');
  std::string last = slash == std::string::npos ? "" : path.substr(path.rfind('/') + 1);
  if (last.empty() || last == "." || last == "..") last = "index.html";
  return last;
}

// Where a body goes: a temporary file next to the target, renamed into place only when the
// download is complete — so a file that exists under its real name is always whole. With no
// output directory it counts bytes and discards them. Small pieces (a short recv, the rest of a
// body behind its head) are gathered into 64 KiB writes; a piece as big as that is written at once.
class OutputFile {
 public:
  OutputFile(const std::string& dir, const std::string& url) {
    if (dir.empty()) return;
    target_ = dir + "/" + file_name_for(url);
    temp_ = dir + "/." + file_name_for(url) + ".part.XXXXXX";
    fd_ = ::mkstemp(temp_.data());
    if (fd_ < 0) throw std::runtime_error("cannot create " + temp_ + ": " + std::strerror(errno));
  }
  ~OutputFile() { discard(); }
  OutputFile(const OutputFile&) = delete;
  OutputFile& operator=(const OutputFile&) = delete;

  // false on a write error (error() says which).
  bool write(const char* p, std::size_t n) {
    if (fd_ < 0) return true;
    if (used_ + n <= kBuffer && n < kBuffer) {
      if (!buffer_) buffer_ = std::make_unique_for_overwrite<char[]>(kBuffer);
      std::memcpy(buffer_.get() + used_, p, n);
      used_ += n;
      return true;
    }
    if (!flush()) return false;
    if (n < kBuffer) return write(p, n);
    return write_all(p, n);
  }
  // Empties the file for another attempt.
  void reset() {
    used_ = 0;
    if (fd_ >= 0 && (::ftruncate(fd_, 0) != 0 || ::lseek(fd_, 0, SEEK_SET) != 0))
      throw std::runtime_error("truncate " + temp_ + ": " + std::strerror(errno));
  }
  void commit() {
    if (fd_ < 0) return;
    if (!flush()) throw std::runtime_error("cannot save " + target_ + ": " + error_);
    const int fd = fd_;
    fd_ = -1;
    if (::close(fd) != 0 || ::rename(temp_.c_str(), target_.c_str()) != 0) {
      std::string e = std::strerror(errno);
      ::unlink(temp_.c_str());
      throw std::runtime_error("cannot save " + target_ + ": " + e);
    }
  }
  void discard() noexcept {
    if (fd_ < 0) return;
    ::close(fd_);
    ::unlink(temp_.c_str());
    fd_ = -1;
  }
  const std::string& error() const noexcept { return error_; }

 private:
  static constexpr std::size_t kBuffer = 64 * 1024;

  bool flush() {
    const std::size_t n = used_;
    used_ = 0;
    return n == 0 || write_all(buffer_.get(), n);
  }
  bool write_all(const char* p, std::size_t n) {
    while (n > 0) {
      ssize_t w = ::write(fd_, p, n);
      if (w < 0) {
        if (errno == EINTR) continue;
        error_ = "write " + temp_ + ": " + std::strerror(errno);
        return false;
      }
      p += w;
      n -= static_cast<std::size_t>(w);
    }
    return true;
  }

  int fd_ = -1;
  std::string temp_, target_, error_;
  std::unique_ptr<char[]> buffer_;
  std::size_t used_ = 0;
};

inline std::string human_bytes(double b) {
  const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  int u = 0;
  while (b >= 1024 && u < 4) b /= 1024, ++u;
  char buf[32];
  std::snprintf(buf, sizeof buf, u == 0 ? "%.0f %s" : "%.1f %s", b, units[u]);
  return buf;
}

// Progress on a terminal: one bar redrawn in place (files done/total, bytes, rate), at most
// every 100 ms. Not on a terminal: one plain line per finished URL. Failures always go to stderr.
class Progress {
 public:
  Progress(std::size_t total, bool quiet) : total_(total), quiet_(quiet), tty_(::isatty(STDOUT_FILENO)) {}

  void add_bytes(std::size_t n) {
    bytes_ += n;
    if (tty_ && !quiet_ && grove::Clock::now() - last_draw_ > std::chrono::milliseconds(100)) draw();
  }
  void ok(const std::string& url, std::size_t size, int attempts) {
    ++ok_;
    if (!tty_ && !quiet_)
      std::printf("ok %s %zu bytes%s\n", url.c_str(), size,
                  attempts > 1 ? (" after " + std::to_string(attempts) + " attempts").c_str() : "");
    if (tty_ && !quiet_) draw();
  }
  void failed(const std::string& url, const std::string& why) {
    ++failed_;
    if (tty_ && !quiet_) std::printf("\r\033[K");  // the bar is redrawn below the message
    std::fflush(stdout);
    std::fprintf(stderr, "FAILED %s: %s\n", url.c_str(), why.c_str());
    if (tty_ && !quiet_) draw();
  }
  // The closing line; returns the exit status (0 all ok, 1 some failed).
  int summary() {
    if (tty_ && !quiet_) {
      draw();
      std::printf("\n");
    }
    std::printf("summary: %zu ok, %zu failed, %s in %.2f seconds (%s/s)\n", ok_, failed_,
                human_bytes(static_cast<double>(bytes_)).c_str(), seconds(),
                human_bytes(seconds() > 0 ? static_cast<double>(bytes_) / seconds() : 0).c_str());
    std::fflush(stdout);
    return failed_ == 0 ? 0 : 1;
  }
  double seconds() const { return std::chrono::duration<double>(grove::Clock::now() - t0_).count(); }

 private:
  void draw() {
    last_draw_ = grove::Clock::now();
    constexpr std::size_t width = 30;
    const std::size_t done = ok_ + failed_;
    const std::size_t filled = total_ ? done * width / total_ : width;
    const double s = seconds();
    std::printf("\r\033[K[%s%s] %zu/%zu files  %s  %s/s", std::string(filled, '#').c_str(),
                std::string(width - filled, '.').c_str(), done, total_, human_bytes(static_cast<double>(bytes_)).c_str(),
                human_bytes(s > 0 ? static_cast<double>(bytes_) / s : 0).c_str());
    if (failed_) std::printf("  %zu failed", failed_);
    std::fflush(stdout);
  }

  std::size_t total_;
  bool quiet_, tty_;
  std::size_t ok_ = 0, failed_ = 0, bytes_ = 0;
  grove::Clock::time_point t0_ = grove::Clock::now();
  grove::Clock::time_point last_draw_{};
};

}  // namespace fetch_common
