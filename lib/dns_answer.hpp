// dns_answer.hpp — reading DNS messages: pure functions from the bytes of an answer to what the
// resolve layer needs (addresses, canonical name, aliases, PTR names), and the status of a pair of
// queries as one. No c-ares here: tests/dns/test_dns_parts.cpp feeds them hand-made messages.
//
// The rules are glibc's (resolv/nss_dns getanswer_r, getanswer_ptr), which c-ares 1.18 mostly
// shares: the answer section is read in order, following CNAMEs from the question's name; an
// address counts only if its owner is the name the chain has reached; the CNAME owners passed on
// the way are the aliases and the last name reached is the canonical one. NOERROR with a chain but
// no address is a dangling CNAME ("fail", glibc's NO_RECOVERY); NOERROR with neither is NODATA.
#pragma once

#include <cstddef>
#include <string>

#include "dns.hpp"

namespace grove::detail::dns {

constexpr int kTypeA = 1;
constexpr int kTypeCname = 5;
constexpr int kTypePtr = 12;
constexpr int kTypeAaaa = 28;
constexpr int kClassIn = 1;

// The header's rcode and the question's name (lower case, no trailing dot) of a DNS message.
// false if it is not a response with one well-formed question.
bool response_question(const unsigned char* msg, std::size_t len, std::string* qname, int* rcode);

// Adds one family's answer (qtype kTypeA or kTypeAaaa) to `out`. `status` is what the transport
// said (ok: `msg` holds a NOERROR answer to parse). Sets out.v4 or out.v6; A addresses go before
// AAAA ones whichever arrived first, and the A answer's canonical name wins, as in glibc.
void add_address_answer(HostAnswer& out, int qtype, Status status, const unsigned char* msg, std::size_t len);

// Fills `out` from a PTR answer: the first PTR record's target (after CNAMEs), as glibc.
void read_ptr_answer(PtrAnswer& out, Status status, const unsigned char* msg, std::size_t len);

// Two parallel queries' statuses as one: an answer wins; otherwise the "most hopeful" error, as
// glibc does (a timeout on one family and NXDOMAIN on the other is still worth retrying).
Status combine(Status a, Status b) noexcept;

// The query name for a reverse lookup: 4.3.2.1.in-addr.arpa, or the nibbles of ip6.arpa.
std::string reverse_name(const Ip& ip);

}  // namespace grove::detail::dns
