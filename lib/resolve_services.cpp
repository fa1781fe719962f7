// resolve_services.cpp — see resolve_services.hpp.
#include "resolve_services.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <cstdlib>

namespace grove::detail::resolve {

namespace {

struct TypeProto {
  int socktype;
  int protocol;
  bool protoany;   // the caller's protocol is used as is (raw)
  bool noservice;  // a service cannot be given (raw)
  bool by_default; // returned when neither socktype nor protocol is given
  const char* name;
};

// glibc's gaih_inet_typeproto, in its order.
constexpr TypeProto kTypeProtos[] = {
    {SOCK_STREAM, IPPROTO_TCP, false, false, true, "tcp"},
    {SOCK_DGRAM, IPPROTO_UDP, false, false, true, "udp"},
    {SOCK_DCCP, IPPROTO_DCCP, false, false, false, "dccp"},
    {SOCK_DGRAM, IPPROTO_UDPLITE, false, false, false, "udplite"},
    {SOCK_STREAM, IPPROTO_SCTP, false, false, false, "sctp"},
    {SOCK_SEQPACKET, IPPROTO_SCTP, false, false, false, "sctp"},
    {SOCK_RAW, 0, true, true, true, "raw"},
};

bool matches(const TypeProto& tp, const addrinfo& h) {
  if (h.ai_socktype != 0 && h.ai_socktype != tp.socktype) return false;
  if (h.ai_protocol != 0 && !tp.protoany && h.ai_protocol != tp.protocol) return false;
  return true;
}

// The port of a named service for one protocol, network order; -1 if unknown.
int service_port(const char* name, const char* proto) {
  servent se;
  servent* res = nullptr;
  char buf[1024];
  if (::getservbyname_r(name, proto, &se, buf, sizeof buf, &res) != 0 || !res) return -1;
  return se.s_port;
}

}  // namespace

int services(const char* service, const addrinfo& h, std::vector<ServiceTuple>& out) {
  const TypeProto* chosen = nullptr;
  if (h.ai_socktype != 0 || h.ai_protocol != 0) {
    for (const auto& tp : kTypeProtos)
      if (matches(tp, h)) {
        chosen = &tp;
        break;
      }
    if (!chosen) return h.ai_socktype != 0 ? EAI_SOCKTYPE : EAI_SERVICE;
  }
  long num = 0;
  bool named = false;
  if (service) {
    if (chosen && chosen->noservice) return EAI_SERVICE;
    char* end = nullptr;
    // glibc keeps the number in an int: "-1" (ULONG_MAX) turns negative and is looked up by name.
    num = static_cast<int>(std::strtoul(service, &end, 10));
    named = *end != '\0' || num < 0;
  }
  auto proto_of = [&](const TypeProto& tp) { return tp.protoany ? h.ai_protocol : tp.protocol; };
  if (named) {
    if (chosen) {
      int port = service_port(service, chosen->name);
      if (port < 0) return EAI_SERVICE;
      out.push_back({chosen->socktype, proto_of(*chosen), static_cast<std::uint16_t>(port)});
    } else {
      for (const auto& tp : kTypeProtos) {
        if (tp.noservice) continue;
        int port = service_port(service, tp.name);
        if (port < 0) continue;
        out.push_back({tp.socktype, proto_of(tp), static_cast<std::uint16_t>(port)});
      }
      if (out.empty()) return EAI_SERVICE;
    }
    return 0;
  }
  const std::uint16_t port = htons(static_cast<std::uint16_t>(num));
  if (chosen) {
    out.push_back({chosen->socktype, proto_of(*chosen), port});
  } else {
    for (const auto& tp : kTypeProtos)
      if (tp.by_default) out.push_back({tp.socktype, proto_of(tp), port});
  }
  return 0;
}

std::string service_text(std::uint16_t port, int ni_flags) {
  if (!(ni_flags & NI_NUMERICSERV)) {
    servent se;
    servent* res = nullptr;
    char buf[1024];
    if (::getservbyport_r(port, (ni_flags & NI_DGRAM) ? "udp" : "tcp", &se, buf, sizeof buf, &res) == 0 && res)
      return se.s_name;
  }
  return std::to_string(ntohs(port));
}

}  // namespace grove::detail::resolve
