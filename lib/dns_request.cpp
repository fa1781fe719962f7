// dns_request.cpp — one lookup: its queries, the park until they are answered, and what happens
// when the greenlet leaves before they are (dns.hpp's query_host / query_ptr).
//
// A lookup is a Request on the heap with one Job per query (A and AAAA in parallel, or one PTR),
// handed to the thread's Resolver (dns_resolver.cpp). The greenlet parks until the last Job's
// completion unparks it with the park's generation.
//
// Abandoned lookups: a greenlet that is killed or whose grove::Timeout expires leaves its park
// before c-ares has answered, and c-ares 1.18 cannot cancel one query. That is why the Request
// lives on the heap, not on the greenlet's stack: the lookup marks it abandoned, takes back the
// Jobs still waiting for room on a socket (never sent), and forgets it; the completions of the
// Jobs already sent, when c-ares eventually delivers them, see the mark, drop the answer without
// touching the (possibly freed) greenlet, and the last one frees the Request. Unparks carry the
// park generation, so even a late completion for a greenlet that has moved on to another park
// does nothing.
#include <sys/socket.h>

#include <memory>
#include <new>

#include "dns.hpp"
#include "dns_answer.hpp"
#include "dns_resolver.hpp"
#include "greenlet.hpp"
#include "hub.hpp"

namespace grove::detail::dns {

namespace {

// The thread's resolver, in its context (context.hpp).
struct ThreadDns {
  std::unique_ptr<Resolver> resolver;
  Config config;  // what configure() last set for this thread
};

ThreadDns& thread_dns() { return thread_part<ThreadDns, &ThreadContext::dns>(); }

Resolver& resolver() {
  ThreadDns& t = thread_dns();
  if (!t.resolver) t.resolver = std::make_unique<Resolver>(t.config);
  return *t.resolver;
}

// The thread's resolver if it has one (never makes one).
Resolver* existing_resolver() noexcept {
  auto* t = static_cast<ThreadDns*>(tl_ctx.dns);
  return t ? t->resolver.get() : nullptr;
}

struct Request {
  GreenletCore* g = nullptr;
  std::uint64_t gen = 0;
  bool abandoned = false;
  int pending = 0;  // jobs not completed yet, +1 while they are being submitted
  Job jobs[2];
  int njobs = 0;
  // Answers are kept here, not on the greenlet's stack, which may be gone when they arrive.
  HostAnswer host;
  PtrAnswer ptr;
};

void finish_one(Request* rq) noexcept {
  if (--rq->pending > 0) return;
  if (rq->abandoned) {
    delete rq;
    return;
  }
  if (rq->g) unpark(rq->g, rq->gen, Wake::unparked);
}

void on_job_done(Job* job, Status status, const unsigned char* msg, std::size_t len) {
  auto* rq = static_cast<Request*>(job->user);
  if (rq->abandoned) {
    job->resolver->note_abandoned();
  } else if (job->qtype == kTypePtr) {
    read_ptr_answer(rq->ptr, status, msg, len);
  } else {
    add_address_answer(rq->host, job->qtype, status, msg, len);
  }
  finish_one(rq);
}

// Gives the Request up: the jobs never sent are taken back, the others free it when they end.
void abandon(Request* rq, Resolver& res) noexcept {
  rq->abandoned = true;
  for (int i = 0; i < rq->njobs; ++i)
    if (res.withdraw(&rq->jobs[i])) --rq->pending;
  if (rq->pending == 0) delete rq;
}

// Parks until every job of rq has completed. Returns Wake::unparked, or the interruption (Wake::none:
// no memory for the driver); on an interruption rq has been abandoned and must not be touched.
Wake wait_for(Request* rq, Resolver& res) {
  try {
    res.ensure_driver();
  } catch (...) {
    // No memory for the driver greenlet: unless everything completed inside submit (a name
    // c-ares rejected), leave the queries to whoever drives the channel next.
    if (rq->pending == 0) return Wake::unparked;
    abandon(rq, res);
    return Wake::none;
  }
  GreenletCore* self = Hub::get().current();
  while (rq->pending > 0) {
    rq->g = self;
    rq->gen = self->park_gen;
    Wake w = park("dns lookup");
    if (w == Wake::unparked && rq->pending == 0) break;
    if (w == Wake::killed || w == Wake::scope_timeout || w == Wake::blocked_forever) {
      if (rq->pending > 0) {
        abandon(rq, res);
        return w;
      }
      // Answered in the same turn: take the answer. The interruption is not lost: a kill stays
      // pending and an expired Timeout fires again at the caller's next blocking call.
      break;
    }
  }
  return Wake::unparked;
}

// The prelude both lookups share: a Request with one Job per query type, submitted, waited for.
// Returns the completed Request (the caller takes its answers and deletes it), or nullptr with
// *failure and *wake set.
Request* run(const std::string& name, const int* qtypes, int n, bool search, Status* failure, Wake* wake) {
  Resolver& res = resolver();
  if (!res.usable()) {
    *failure = Status::config;
    return nullptr;
  }
  auto* rq = new (std::nothrow) Request;
  if (!rq) {
    *failure = Status::no_memory;
    return nullptr;
  }
  try {
    for (int i = 0; i < n; ++i) rq->jobs[i].name = name;
  } catch (...) {
    delete rq;
    *failure = Status::no_memory;
    return nullptr;
  }
  rq->njobs = n;
  // Every job is counted before any is submitted: a completion may run inside submit().
  rq->pending = n + 1;
  for (int i = 0; i < n; ++i) {
    Job& j = rq->jobs[i];
    j.qtype = qtypes[i];
    j.search = search;
    j.done = on_job_done;
    j.user = rq;
    res.submit(&j);
  }
  --rq->pending;
  Wake w = wait_for(rq, res);
  if (w != Wake::unparked) {
    *failure = w == Wake::none ? Status::no_memory : Status::interrupted;
    *wake = w;
    return nullptr;
  }
  return rq;
}

}  // namespace

const char* to_string(Status s) noexcept {
  switch (s) {
    case Status::ok: return "ok";
    case Status::not_found: return "name not found (NXDOMAIN)";
    case Status::no_data: return "no records of that type";
    case Status::server_failure: return "server failure (SERVFAIL, REFUSED, FORMERR or NOTIMP)";
    case Status::try_again: return "no answer in time";
    case Status::fail: return "an answer without usable records";
    case Status::bad_name: return "not a valid DNS name";
    case Status::no_memory: return "out of memory";
    case Status::config: return "resolver not configured";
    case Status::interrupted: return "interrupted";
  }
  return "?";
}

void query_host(const char* name, int family, HostAnswer& out) {
  out = HostAnswer{};
  int qtypes[2];
  int n = 0;
  if (family == AF_INET || family == AF_UNSPEC) qtypes[n++] = kTypeA;
  if (family == AF_INET6 || family == AF_UNSPEC) qtypes[n++] = kTypeAaaa;
  Status failure = Status::ok;
  Request* rq = run(name, qtypes, n, true, &failure, &out.wake);
  if (!rq) {
    out.status = failure;
    return;
  }
  out = std::move(rq->host);
  delete rq;
  if (family == AF_INET)
    out.status = out.v4, out.v6 = Status::no_data;
  else if (family == AF_INET6)
    out.status = out.v6, out.v4 = Status::no_data;
  else
    out.status = combine(out.v4, out.v6);
}

void query_ptr(const Ip& ip, PtrAnswer& out) {
  out = PtrAnswer{};
  const int qtype = kTypePtr;
  Status failure = Status::ok;
  Request* rq = run(reverse_name(ip), &qtype, 1, false, &failure, &out.wake);
  if (!rq) {
    out.status = failure;
    return;
  }
  out = std::move(rq->ptr);
  delete rq;
}

bool configure(const Config& cfg) {
  if (Resolver* r = existing_resolver(); r && r->busy()) return false;
  ThreadDns& t = thread_dns();
  t.resolver.reset();
  t.config = cfg;
  return true;
}

std::string config_error() {
  Resolver& res = resolver();
  res.usable();
  return res.error();
}

std::size_t in_flight() noexcept {
  Resolver* r = existing_resolver();
  return r ? r->in_flight() : 0;
}

bool wait_idle(std::int64_t deadline_ns) {
  Resolver* r = existing_resolver();
  return r ? r->wait_idle(deadline_ns) : true;
}

Stats stats() noexcept {
  Resolver* r = existing_resolver();
  return r ? r->stats() : Stats{};
}

}  // namespace grove::detail::dns
