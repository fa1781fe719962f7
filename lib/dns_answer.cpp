// dns_answer.cpp — see dns_answer.hpp. Bounds are checked on every read: the bytes come from the
// network, and a malformed message is an answer without usable records ("fail"), never a crash.
#include "dns_answer.hpp"

#include <strings.h>
#include <sys/socket.h>

#include <cstdio>
#include <cstring>

namespace grove::detail::dns {

namespace {

struct Reader {
  const unsigned char* msg;
  std::size_t len;

  unsigned u16(std::size_t at) const noexcept { return (unsigned{msg[at]} << 8) | msg[at + 1]; }

  // Decodes the (possibly compressed) name at `at` into text, c-ares' spelling: labels joined by
  // dots, a dot or backslash inside a label escaped with a backslash, unprintable bytes as \DDD.
  // *next: the offset just after the name where it starts. false if malformed.
  bool name(std::size_t at, std::string& out, std::size_t* next) const {
    out.clear();
    std::size_t p = at;
    bool jumped = false;
    int hops = 0, wire = 0;
    for (;;) {
      if (p >= len) return false;
      const unsigned c = msg[p];
      if (c == 0) {
        if (!jumped) *next = p + 1;
        return true;
      }
      if ((c & 0xc0) == 0xc0) {  // compression pointer
        if (p + 1 >= len || ++hops > 64) return false;
        if (!jumped) *next = p + 2;
        jumped = true;
        p = ((c & 0x3f) << 8) | msg[p + 1];
        continue;
      }
      if (c & 0xc0) return false;  // the reserved label types
      if (p + 1 + c > len || (wire += static_cast<int>(c) + 1) > 255) return false;
      if (!out.empty()) out += '.';
      for (std::size_t i = p + 1; i <= p + c; ++i) {
        const unsigned char b = msg[i];
        if (b == '.' || b == '\\') {
          out += '\\';
          out += static_cast<char>(b);
        } else if (b < 0x20 || b > 0x7e) {
          char esc[5];
          std::snprintf(esc, sizeof esc, "\\%03u", b);
          out += esc;
        } else {
          out += static_cast<char>(b);
        }
      }
      p += 1 + c;
    }
  }
};

struct Record {
  std::string owner;
  unsigned type = 0, rclass = 0;
  std::size_t rdata = 0, rdlen = 0;
};

// Walks a message's question and answer records. The question's name is `qname`.
class Walker {
 public:
  Walker(const unsigned char* msg, std::size_t len) : r_{msg, len} {}

  bool start(std::string& qname) {
    if (r_.len < 12 || r_.u16(4) != 1) return false;  // one question, as c-ares sends
    answers_ = r_.u16(6);
    std::size_t p;
    if (!r_.name(12, qname, &p) || p + 4 > r_.len) return false;
    pos_ = p + 4;
    return true;
  }
  // The next answer record; false at the end. *bad is set if the message is malformed.
  bool next(Record& rec, bool* bad) {
    if (answers_ == 0) return false;
    --answers_;
    std::size_t p;
    if (!r_.name(pos_, rec.owner, &p) || p + 10 > r_.len) return *bad = true, false;
    rec.type = r_.u16(p);
    rec.rclass = r_.u16(p + 2);
    rec.rdlen = r_.u16(p + 8);
    rec.rdata = p + 10;
    if (rec.rdata + rec.rdlen > r_.len) return *bad = true, false;
    pos_ = rec.rdata + rec.rdlen;
    return true;
  }
  bool name_at(std::size_t at, std::string& out) const {
    std::size_t ignored;
    return r_.name(at, out, &ignored);
  }
  const unsigned char* bytes(std::size_t at) const noexcept { return r_.msg + at; }

 private:
  Reader r_;
  unsigned answers_ = 0;
  std::size_t pos_ = 0;
};

bool same_name(const std::string& a, const std::string& b) noexcept { return ::strcasecmp(a.c_str(), b.c_str()) == 0; }

// One family's answer: its addresses, the canonical name and the aliases on the way.
Status parse_addresses(const unsigned char* msg, std::size_t len, int qtype, std::string& canonical,
                       std::vector<std::string>& aliases, std::vector<Ip>& addrs) {
  Walker w(msg, len);
  std::string current;
  if (!w.start(current)) return Status::fail;
  const std::size_t alen = qtype == kTypeA ? 4 : 16;
  bool chain = false, bad = false;
  Record rec;
  std::string target;
  while (w.next(rec, &bad)) {
    if (rec.rclass != kClassIn || !same_name(rec.owner, current)) continue;
    if (rec.type == kTypeCname) {
      if (!w.name_at(rec.rdata, target)) return Status::fail;
      aliases.push_back(rec.owner);
      current = target;
      chain = true;
    } else if (rec.type == static_cast<unsigned>(qtype) && rec.rdlen == alen) {
      Ip ip;
      ip.family = qtype == kTypeA ? AF_INET : AF_INET6;
      std::memcpy(ip.bytes, w.bytes(rec.rdata), alen);
      addrs.push_back(ip);
    }
  }
  if (bad) return Status::fail;
  if (addrs.empty()) return chain ? Status::fail : Status::no_data;
  canonical = current;
  return Status::ok;
}

}  // namespace

bool response_question(const unsigned char* msg, std::size_t len, std::string* qname, int* rcode) {
  if (len < 12 || !(msg[2] & 0x80)) return false;
  Walker w(msg, len);
  if (!w.start(*qname)) return false;
  for (auto& c : *qname)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  *rcode = msg[3] & 0x0f;
  return true;
}

void add_address_answer(HostAnswer& out, int qtype, Status status, const unsigned char* msg, std::size_t len) {
  Status& fam = qtype == kTypeA ? out.v4 : out.v6;
  if (status != Status::ok) {
    fam = status;
    return;
  }
  std::string canonical;
  std::vector<std::string> aliases;
  std::vector<Ip> addrs;
  fam = parse_addresses(msg, len, qtype, canonical, aliases, addrs);
  if (fam != Status::ok) return;
  if (qtype == kTypeA || out.canonical.empty()) out.canonical = canonical;
  for (auto& a : aliases) {
    bool dup = false;
    for (const auto& s : out.aliases) dup |= s == a;
    if (!dup) out.aliases.push_back(std::move(a));
  }
  out.addrs.insert(qtype == kTypeA ? out.addrs.begin() : out.addrs.end(), addrs.begin(), addrs.end());
}

void read_ptr_answer(PtrAnswer& out, Status status, const unsigned char* msg, std::size_t len) {
  out.status = status;
  if (status != Status::ok) return;
  Walker w(msg, len);
  std::string current;
  if (!w.start(current)) {
    out.status = Status::fail;
    return;
  }
  bool bad = false;
  Record rec;
  std::string target;
  while (w.next(rec, &bad)) {
    if (rec.rclass != kClassIn || !same_name(rec.owner, current)) continue;
    if (rec.type != kTypeCname && rec.type != kTypePtr) continue;
    if (!w.name_at(rec.rdata, target)) {
      bad = true;
      break;
    }
    if (rec.type == kTypePtr) {
      out.name = std::move(target);
      return;  // the first PTR record, as glibc
    }
    current = target;
  }
  out.status = bad ? Status::fail : Status::no_data;
}

Status combine(Status a, Status b) noexcept {
  if (a == Status::ok || b == Status::ok) return Status::ok;
  auto rank = [](Status s) {
    switch (s) {
      case Status::no_data: return 6;
      case Status::try_again: return 5;
      case Status::server_failure: return 4;
      case Status::not_found: return 3;
      case Status::fail: return 2;
      default: return 1;
    }
  };
  return rank(a) >= rank(b) ? a : b;
}

std::string reverse_name(const Ip& ip) {
  std::string qname;
  char buf[8];
  if (ip.family == AF_INET) {
    for (int i = 3; i >= 0; --i) {
      std::snprintf(buf, sizeof buf, "%u.", ip.bytes[i]);
      qname += buf;
    }
    return qname + "in-addr.arpa";
  }
  static const char hex[] = "0123456789abcdef";
  for (int i = 15; i >= 0; --i) {
    qname += hex[ip.bytes[i] & 0xf];
    qname += '.';
    qname += hex[ip.bytes[i] >> 4];
    qname += '.';
  }
  return qname + "ip6.arpa";
}

}  // namespace grove::detail::dns
