// test_dns_glibc.cpp — grove's resolver vs glibc's, answer for answer, in a network namespace.
//
// glibc's resolver only talks to port 53 and reads /etc/resolv.conf and /etc/hosts; a network
// namespace gives both a private world: `ip netns exec` bind-mounts /etc/netns/NAME/* over /etc,
// and the namespace's loopback is ours to bind port 53 on. The comparison itself is the helper
// program glibc_diff.cpp, run inside the namespace. Needs root (CI is root); skipped otherwise.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <fstream>
#include <string>

#ifndef GROVE_DNS_DIFF_HELPER
#error "GROVE_DNS_DIFF_HELPER must name the glibc_diff helper"
#endif

namespace {

int run(const std::string& cmd, std::string* out = nullptr) {
  FILE* p = ::popen((cmd + " 2>&1").c_str(), "r");
  if (!p) return -1;
  std::array<char, 4096> buf;
  std::string text;
  while (std::size_t n = std::fread(buf.data(), 1, buf.size(), p)) text.append(buf.data(), n);
  int st = ::pclose(p);
  if (out) *out = text;
  return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

class Netns {
 public:
  Netns() : name_("grove-dns-" + std::to_string(::getpid())), dir_("/etc/netns/" + name_) {}
  ~Netns() {
    if (created_) run("ip netns del " + name_);
    run("rm -rf " + dir_);
  }
  // "" on success, else why not.
  std::string create() {
    if (::geteuid() != 0) return "needs root to create a network namespace";
    if (run("command -v ip >/dev/null") != 0) return "the ip command (iproute2) is not installed";
    ::mkdir("/etc/netns", 0755);
    if (::mkdir(dir_.c_str(), 0755) != 0 && errno != EEXIST) return "cannot create " + dir_;
    std::ofstream(dir_ + "/resolv.conf") << "nameserver 127.0.0.1\nsearch example.test\n"
                                             "options ndots:1 timeout:1 attempts:2\n";
    std::ofstream(dir_ + "/hosts") << "127.0.0.1 localhost\n::1 localhost ip6-localhost ip6-loopback\n"
                                       "192.0.2.99 filehost filealias\n2001:db8::99 filehost\n"
                                       "2001:db8::98 file6\n";
    std::ofstream(dir_ + "/nsswitch.conf") << "hosts: files dns\nservices: files\n";
    std::string out;
    if (run("ip netns add " + name_, &out) != 0) return "ip netns add failed: " + out;
    created_ = true;
    if (run("ip netns exec " + name_ + " ip link set lo up", &out) != 0) return "cannot bring lo up: " + out;
    return "";
  }
  int exec(const std::string& cmd, std::string* out) { return run("ip netns exec " + name_ + " " + cmd, out); }

 private:
  std::string name_, dir_;
  bool created_ = false;
};

}  // namespace

TEST(DnsGlibc, SameAnswersAsGlibc) {
  Netns ns;
  if (std::string why = ns.create(); !why.empty()) GTEST_SKIP() << why;
  std::string out;
  int rc = ns.exec(std::string("timeout 300 ") + GROVE_DNS_DIFF_HELPER, &out);
  EXPECT_EQ(rc, 0) << out;
  std::printf("%s", out.substr(out.size() > 2000 ? out.size() - 2000 : 0).c_str());
}
