// child_process.hpp — a program run as a child for a test: its stdin, stdout and stderr on pipes,
// every wait bounded. Header-only, for tests of grove's diagnostics that need a process of their own
// (environment read at load, signals, a stuck thread).
#pragma once

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cctype>
#include <chrono>
#include <cstdlib>
#include <functional>
#include <string>
#include <vector>

namespace grove_test {

class Child {
 public:
  // argv[0] is the program's path; env entries ("NAME=value") are added to (or replace in) ours.
  Child(const std::vector<std::string>& argv, const std::vector<std::string>& env) {
    int in[2], out[2], err[2];
    if (::pipe2(in, O_CLOEXEC) != 0 || ::pipe2(out, O_CLOEXEC) != 0 || ::pipe2(err, O_CLOEXEC) != 0) std::abort();
    pid_ = ::fork();
    if (pid_ == 0) {
      ::dup2(in[0], 0);
      ::dup2(out[1], 1);
      ::dup2(err[1], 2);
      for (const std::string& e : env) ::putenv(const_cast<char*>(e.c_str()));
      std::vector<char*> args;
      for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
      args.push_back(nullptr);
      ::execvp(args[0], args.data());
      ::_exit(127);
    }
    ::close(in[0]);
    ::close(out[1]);
    ::close(err[1]);
    stdin_ = in[1];
    out_ = out[0];
    err_ = err[0];
  }
  ~Child() {
    close_stdin();
    if (pid_ > 0 && !exited_) {
      ::kill(pid_, SIGKILL);
      int st;
      ::waitpid(pid_, &st, 0);
    }
    if (out_ >= 0) ::close(out_);
    if (err_ >= 0) ::close(err_);
  }
  Child(const Child&) = delete;
  Child& operator=(const Child&) = delete;

  pid_t pid() const { return pid_; }
  const std::string& out() const { return out_text_; }
  const std::string& err() const { return err_text_; }
  void close_stdin() {
    if (stdin_ >= 0) ::close(stdin_);
    stdin_ = -1;
  }
  void write_stdin(const std::string& s) { (void)!::write(stdin_, s.data(), s.size()); }

  // Reads both pipes until done(out, err) holds, the pipes close, or the time is up; true if done.
  bool read_until(const std::function<bool(const std::string&, const std::string&)>& done,
                  std::chrono::milliseconds limit) {
    const auto end = std::chrono::steady_clock::now() + limit;
    while (!done(out_text_, err_text_)) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(end - std::chrono::steady_clock::now());
      if (left.count() <= 0 || (out_ < 0 && err_ < 0)) return false;
      pollfd p[2] = {{out_, POLLIN, 0}, {err_, POLLIN, 0}};
      if (::poll(p, 2, static_cast<int>(left.count())) <= 0) continue;
      for (int i = 0; i < 2; ++i) {
        if (!p[i].revents) continue;
        char buf[4096];
        const ssize_t n = ::read(p[i].fd, buf, sizeof buf);
        if (n > 0) {
          (i == 0 ? out_text_ : err_text_).append(buf, static_cast<std::size_t>(n));
        } else {
          ::close(p[i].fd);
          (i == 0 ? out_ : err_) = -1;
        }
      }
    }
    return true;
  }
  bool wait_for_err(const std::string& needle, std::chrono::milliseconds limit) {
    return read_until([&](const std::string&, const std::string& e) { return e.find(needle) != std::string::npos; },
                      limit);
  }
  bool wait_for_out(const std::string& needle, std::chrono::milliseconds limit) {
    return read_until([&](const std::string& o, const std::string&) { return o.find(needle) != std::string::npos; },
                      limit);
  }
  // Reads to the end and reaps the child; its exit status (or 128 + signal), -1 if the time ran out.
  int finish(std::chrono::milliseconds limit) {
    read_until([](const std::string&, const std::string&) { return false; }, limit);
    const auto end = std::chrono::steady_clock::now() + limit;
    int st = 0;
    while (::waitpid(pid_, &st, WNOHANG) == 0) {
      if (std::chrono::steady_clock::now() >= end) return -1;
      ::poll(nullptr, 0, 5);
    }
    exited_ = true;
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
  }

 private:
  pid_t pid_ = -1;
  int stdin_ = -1, out_ = -1, err_ = -1;
  bool exited_ = false;
  std::string out_text_, err_text_;
};

// Whether `pattern` occurs in `text`, where '#' stands for one or more digits, '%' for a hex
// number (0x…) and '*' for any characters within a line. (std::regex trips GCC 12's
// -Wmaybe-uninitialized under the sanitizers.)
inline bool match_here(const char* t, const char* p) {
  if (*p == '\0') return true;
  if (*p == '#' || *p == '%') {
    const char* q = t;
    if (*p == '%') {
      if (q[0] != '0' || q[1] != 'x') return false;
      q += 2;
    }
    const char* start = q;
    while ((*p == '#' ? (*q >= '0' && *q <= '9') : std::isxdigit(static_cast<unsigned char>(*q))) != 0) ++q;
    if (q == start) return false;
    for (const char* e = q; e > start; --e)
      if (match_here(e, p + 1)) return true;
    return false;
  }
  if (*p == '*') {
    for (const char* q = t;; ++q) {
      if (match_here(q, p + 1)) return true;
      if (*q == '\0' || *q == '\n') return false;
    }
  }
  return *t == *p && match_here(t + 1, p + 1);
}
inline bool matches(const std::string& text, const std::string& pattern) {
  for (std::size_t i = 0; i <= text.size(); ++i)
    if (match_here(text.c_str() + i, pattern.c_str())) return true;
  return false;
}
// The number right after `key` in text (key "elapsed=" in "elapsed=301"), or -1.
inline long number_after(const std::string& text, const std::string& key) {
  const std::size_t at = text.find(key);
  if (at == std::string::npos) return -1;
  return std::strtol(text.c_str() + at + key.size(), nullptr, 10);
}

}  // namespace grove_test
