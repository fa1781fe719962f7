// server.cpp — grove::serve_tcp: a listener per hub (SO_REUSEPORT) or one acceptor handing
// connections out (see grove/server.hpp for the two modes and their trade-off).
//
// Listeners are made on the calling thread, so that a bind error is the caller's exception and
// port 0 resolves to one port before any hub starts: the first socket picks it, the others bind
// to it. Making a socket does not wait on it, so each listener still belongs to the hub whose
// acceptor first waits on it. An accepted fd likewise belongs to the hub whose connection
// greenlet first waits on it — in handout mode not the acceptor's.
#include "grove/server.hpp"

#include <cstdio>
#include <memory>
#include <vector>

#include "grove/io.hpp"
#include "grove/time.hpp"

namespace grove {

namespace {

using Handler = std::function<void(int)>;

struct Listener {  // closes the socket when the acceptor that owns it ends (hubs.stop())
  int fd;
  explicit Listener(int f) : fd(f) {}
  ~Listener() {
    if (fd >= 0) grove::close(fd);
  }
  Listener(const Listener&) = delete;
  Listener& operator=(const Listener&) = delete;
};

void report(const ServeOptions& opts, const std::system_error& e) {
  if (opts.on_accept_error)
    opts.on_accept_error(e);
  else
    std::fprintf(stderr, "grove::serve_tcp: accept: %s\n", e.what());
}

// Accepts until killed; dispatch(fd) starts the connection's greenlet somewhere.
template <class Dispatch>
void accept_loop(std::shared_ptr<Listener> l, const ServeOptions& opts, Dispatch dispatch) {
  for (;;) {
    int c;
    try {
      c = grove::accept(l->fd);
    } catch (const std::system_error& e) {
      report(opts, e);  // EMFILE & co.: let connections end, then go on
      grove::sleep(std::chrono::milliseconds(50));
      continue;
    }
    try {
      dispatch(c);
    } catch (...) {
      grove::close(c);  // the group is stopping (spawn_on refused), or no memory
      throw;
    }
  }
}

}  // namespace

std::uint16_t serve_tcp(HubGroup& hubs, const std::string& host, std::uint16_t port, Handler handler,
                        ServeOptions options) {
  const std::size_t n = options.mode == AcceptMode::per_hub ? hubs.size() : 1;
  std::vector<std::shared_ptr<Listener>> listeners;
  const ListenOptions lo{.backlog = options.backlog, .reuse_port = options.mode == AcceptMode::per_hub};
  listeners.push_back(std::make_shared<Listener>(tcp_listen(host, port, lo)));
  const std::uint16_t bound = local_port(listeners[0]->fd);
  for (std::size_t i = 1; i < n; ++i) listeners.push_back(std::make_shared<Listener>(tcp_listen(host, bound, lo)));

  auto opts = std::make_shared<const ServeOptions>(std::move(options));
  auto h = std::make_shared<const Handler>(std::move(handler));
  if (opts->mode == AcceptMode::per_hub) {
    for (std::size_t i = 0; i < n; ++i)
      hubs.spawn_on(i, SpawnOptions{.name = "acceptor-" + std::to_string(i)}, [l = listeners[i], opts, h] {
        accept_loop(l, *opts, [&h](int c) { grove::spawn([h, c] { (*h)(c); }); });
      });
  } else {
    hubs.spawn_on(0, SpawnOptions{.name = "acceptor"}, [l = listeners[0], opts, h, &hubs] {
      std::size_t next = 0;
      accept_loop(l, *opts, [&](int c) {
        hubs.spawn_on(next, [h, c] { (*h)(c); });
        next = (next + 1) % hubs.size();
      });
    });
  }
  return bound;
}

}  // namespace grove
