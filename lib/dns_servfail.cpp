// dns_servfail.cpp — see dns_servfail.hpp.
#include "dns_servfail.hpp"

#include "dns_answer.hpp"

namespace grove::detail::dns {

void ServerFailures::note(const unsigned char* msg, std::size_t len) noexcept {
  std::string qname;
  int rcode = 0;
  if (!response_question(msg, len, &qname, &rcode)) return;
  if (rcode != 2 && rcode != 4 && rcode != 5) return;  // SERVFAIL, NOTIMP, REFUSED
  if (names_.size() >= kMaxNames) return;
  try {
    names_.insert(std::move(qname));
  } catch (...) {  // out of memory: the status stays "could not contact", no worse than c-ares'
  }
}

bool ServerFailures::take(const std::string& name) {
  std::string n = name;
  for (auto& c : n)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  while (!n.empty() && n.back() == '.') n.pop_back();
  bool hit = false;
  for (auto it = names_.begin(); it != names_.end();) {
    const bool same = *it == n;
    const bool with_suffix = it->size() > n.size() && it->compare(0, n.size(), n) == 0 && (*it)[n.size()] == '.';
    if (same || with_suffix) {
      hit = true;
      it = names_.erase(it);
    } else {
      ++it;
    }
  }
  return hit;
}

}  // namespace grove::detail::dns
