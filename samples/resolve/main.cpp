// resolve — a bulk resolver: many names, N lookups in flight, one thread.
//
//   resolve -c 200 < names.txt
//   resolve --family 4 --service https example.com example.org
//
// Each name gets a block in `getent ahosts` style (address, socket type, canonical name on the
// first line), printed in input order as soon as it and everything before it is done; a name that
// fails gets one line saying why, and the others carry on. A summary closes the run, with the
// slowest single lookup (a lookup that waited for a DNS retry shows there, whatever the total
// says). Exit status: 0 when every name resolved, 1 when some failed, 2 for bad arguments.
//
// Written as plain blocking code: each worker greenlet calls grove::resolve() in a loop, and the
// lookups of all workers share one c-ares channel; while one waits for its answer the others run.
#include <CLI/CLI.hpp>
#include <grove/grove.hpp>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <optional>
#include <string>
#include <vector>

namespace {

struct Outcome {
  bool done = false;
  bool ok = false;
  std::string text;  // the printed block
};

const char* socktype_name(int t) {
  switch (t) {
    case SOCK_STREAM: return "STREAM";
    case SOCK_DGRAM: return "DGRAM";
    case SOCK_RAW: return "RAW";
    default: return "?";
  }
}

std::string eai_name(int code) {
  switch (code) {
    case EAI_NONAME: return "EAI_NONAME";
    case EAI_AGAIN: return "EAI_AGAIN";
    case EAI_FAIL: return "EAI_FAIL";
    case EAI_NODATA: return "EAI_NODATA";
    case EAI_SERVICE: return "EAI_SERVICE";
    case EAI_FAMILY: return "EAI_FAMILY";
    case EAI_ADDRFAMILY: return "EAI_ADDRFAMILY";
    default: return "EAI " + std::to_string(code);
  }
}

std::string lookup(const std::string& name, const std::string& service, const grove::ResolveHints& hints,
                   double timeout_s, bool* ok) {
  *ok = false;
  if (name.empty()) return "'': error: empty host name\n";
  try {
    std::optional<grove::Timeout> limit;
    if (timeout_s > 0) limit.emplace(std::chrono::duration_cast<grove::Duration>(std::chrono::duration<double>(timeout_s)));
    auto addrs = grove::resolve(name, service, hints);
    std::string out;
    char line[256];
    bool first = true;
    for (const auto& a : addrs) {
      std::snprintf(line, sizeof line, "%-15s %-6s %s\n", a.host().c_str(), socktype_name(a.socktype),
                    first ? (a.canonical_name.empty() ? name.c_str() : a.canonical_name.c_str()) : "");
      out += line;
      first = false;
    }
    *ok = true;
    return out;
  } catch (const grove::DnsError& e) {
    return name + ": error: " + eai_name(e.code()) + ": " + e.what() + "\n";
  } catch (const grove::TimeoutError&) {
    return name + ": error: no answer within " + std::to_string(timeout_s) + " s\n";
  } catch (const std::exception& e) {
    return name + ": error: " + e.what() + "\n";
  }
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Resolve many host names concurrently (getaddrinfo semantics, one thread, c-ares underneath).\n"
               "Names come from the arguments, or from standard input, one per line."};
  std::vector<std::string> names;
  int concurrency = 100;
  std::string family = "any";
  std::string service;
  std::string servers;
  double timeout_s = 0;
  bool quiet = false;
  app.add_option("names", names, "host names (default: read standard input)");
  app.add_option("-c,--concurrency", concurrency, "lookups in flight at once")->check(CLI::Range(1, 100000));
  app.add_option("-f,--family", family, "address family: any, 4 or 6")->check(CLI::IsMember({"any", "4", "6"}));
  app.add_option("-s,--service", service, "service name or port (default: none)");
  app.add_option("--servers", servers, "DNS servers, ip[:port],… (default: GROVE_DNS_SERVERS, then resolv.conf)");
  app.add_option("-t,--timeout", timeout_s, "give up on a name after this many seconds (0: the resolver's own limits)")
      ->check(CLI::Range(0.0, 3600.0));
  app.add_flag("-q,--quiet", quiet, "print only failures and the summary");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int rc = app.exit(e);
    return rc == 0 ? 0 : 2;
  }

  if (!servers.empty()) ::setenv("GROVE_DNS_SERVERS", servers.c_str(), 1);
  if (names.empty()) {
    std::string line;
    while (std::getline(std::cin, line)) {
      auto b = line.find_first_not_of(" \t\r");
      if (b == std::string::npos || line[b] == '#') continue;
      auto e = line.find_last_not_of(" \t\r");
      names.push_back(line.substr(b, e - b + 1));
    }
  }
  grove::ResolveHints hints;
  hints.family = family == "4" ? AF_INET : family == "6" ? AF_INET6 : AF_UNSPEC;
  hints.flags = AI_CANONNAME;

  std::vector<Outcome> results(names.size());
  std::size_t next = 0, printed = 0;
  int resolved = 0, failed = 0;
  double slowest_s = 0;
  std::string slowest_name;
  const auto t0 = std::chrono::steady_clock::now();
  // In input order: print whatever prefix of the list is finished.
  auto flush = [&] {
    while (printed < results.size() && results[printed].done) {
      Outcome& o = results[printed];
      if (!(quiet && o.ok)) std::fputs(o.text.c_str(), stdout);
      o.text.clear();
      ++printed;
    }
    std::fflush(stdout);
  };
  std::vector<grove::Greenlet<void>> workers;
  const std::size_t n_workers = std::min<std::size_t>(static_cast<std::size_t>(concurrency), names.size());
  for (std::size_t w = 0; w < n_workers; ++w) {
    workers.push_back(grove::spawn([&] {
      while (next < names.size()) {
        const std::size_t i = next++;
        bool ok = false;
        const auto started = std::chrono::steady_clock::now();
        std::string text = lookup(names[i], service, hints, timeout_s, &ok);
        const double took = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
        if (took > slowest_s) {
          slowest_s = took;
          slowest_name = names[i];
        }
        results[i].text = ok ? names[i] + ":\n" + text : text;
        results[i].ok = ok;
        results[i].done = true;
        ok ? ++resolved : ++failed;
        flush();
      }
    }));
  }
  grove::joinall(workers);
  flush();
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::printf("summary: %d resolved, %d failed, %.3f seconds; slowest lookup %.3f s (%s)\n", resolved, failed, secs,
              slowest_s, slowest_name.empty() ? "-" : slowest_name.c_str());
  return failed == 0 ? 0 : 1;
}
