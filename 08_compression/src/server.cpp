// The listener: the acceptor on the first event loop, and the event loops themselves.
#include "server.hpp"

#include <fcntl.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <string>
#include <string_view>
#include <system_error>
#include <thread>

#include "log.hpp"

namespace ws {

namespace {

std::optional<TlsContext> load_tls(const Options& options) {
  if (options.tls_cert.empty()) {
    return std::nullopt;
  }
  return TlsContext(options.tls_cert, options.tls_key);
}

}  // namespace

Server::Server(Options options)
    : options_(std::move(options)),
      tls_(load_tls(options_)),
      listeners_(listen_tcp(options_.host, options_.port)),
      services_(
          options_.users_file.empty() ? UserStore::demo() : UserStore::load(options_.users_file),
          options_.otp_lifetime, make_broker(options_.redis)) {
  if (options_.allowed_origins.empty()) {
    // The page this server serves connects from its own origin: scheme, host and port exactly
    // as the browser's address bar shows them.
    const std::string port = ":" + std::to_string(this->port());
    const std::string& host = options_.host;
    const std::string url_host = host.find(':') == std::string::npos ? host : "[" + host + "]";
    const auto origin = [&](const std::string& name) {
      return std::string(scheme()) + "://" + name + port;
    };
    options_.allowed_origins.push_back(origin(url_host));
    if (host == "127.0.0.1" || host == "::1" || host == "localhost") {
      for (const char* twin : {"127.0.0.1", "localhost", "[::1]"}) {
        if (twin != url_host) {
          options_.allowed_origins.push_back(origin(twin));
        }
      }
    }
  }
}

Server::~Server() = default;

std::uint16_t Server::port() const { return local_port(listeners_.front().get()); }

void Server::run() {
  const std::size_t count =
      options_.threads > 0 ? options_.threads : std::max(1U, std::thread::hardware_concurrency());
  for (std::size_t i = 0; i < count; ++i) {
    workers_.push_back(
        std::make_unique<Worker>(options_, services_, tls_ ? &*tls_ : nullptr, open_, blocking_));
  }
  spare_ = Fd(::open("/dev/null", O_RDONLY | O_CLOEXEC));
  EventLoop& first = workers_.front()->loop();
  for (const Fd& listener : listeners_) {
    set_nonblocking(listener.get());
    acceptors_.push_back(std::make_unique<Acceptor>(*this, listener.get()));
    first.watch(listener.get(), EPOLLIN, *acceptors_.back());
  }
  acceptors_.push_back(std::make_unique<Acceptor>(*this, stop_.fd()));
  first.watch(stop_.fd(), EPOLLIN, *acceptors_.back());

  std::vector<std::thread> threads;
  for (std::size_t i = 1; i < count; ++i) {
    threads.emplace_back([worker = workers_[i].get()] { worker->run(); });
  }
  workers_.front()->run();
  for (std::thread& thread : threads) {
    thread.join();
  }
}

void Server::on_acceptor_ready(int fd) {
  if (fd != stop_.fd()) {
    accept_from(fd);
    return;
  }
  // The stop signal stays readable, so it is watched no more, and no connection is accepted
  // from now on. Every worker closes its WebSockets with 1001 and ends when they are done.
  EventLoop& first = workers_.front()->loop();
  first.forget(stop_.fd());
  for (const Fd& listener : listeners_) {
    first.forget(listener.get());
  }
  for (auto& worker : workers_) {
    worker->stop();
  }
}

void Server::accept_from(int listener) {
  // Level-triggered: one connection per call, and the loop comes back while more are waiting,
  // taking turns with the connections it already serves.
  Fd client(::accept4(listener, nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK));
  if (!client.valid()) {
    if (errno == EMFILE || errno == ENFILE) {
      accept_without_descriptors(listener);
    } else if (errno != EAGAIN && errno != ECONNABORTED && errno != EINTR) {
      log_line(std::string("accept failed: ") + error_text(errno));
    }
    return;
  }
  const std::uint64_t id = next_id_++;
  // No thread per connection any more: past --max-connections, refuse before reading a byte,
  // with 503 on plain HTTP (a TLS client gets no readable answer before its handshake, so it
  // just sees the connection close).
  if (open_.load() >= options_.max_connections) {
    refuse_busy(std::move(client), id);
    return;
  }
  open_.fetch_add(1);
  // Round robin: each worker gets every N-th connection.
  Worker& worker = *workers_[next_worker_++ % workers_.size()];
  auto socket = std::make_shared<Fd>(std::move(client));
  worker.loop().post([&worker, socket, id] { worker.adopt(std::move(*socket), id); });
}

void Server::refuse_busy(Fd client, std::uint64_t id) const {
  if (!tls_) {
    static constexpr std::string_view kBusy =
        "HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain; charset=utf-8\r\n"
        "Content-Length: 20\r\nRetry-After: 5\r\nConnection: close\r\n\r\n"
        "too many connections";
    [[maybe_unused]] const auto sent =
        ::send(client.get(), kBusy.data(), kBusy.size(), MSG_DONTWAIT | MSG_NOSIGNAL);
  }
  log_line("#" + std::to_string(id) + " refused 503: " + std::to_string(open_.load()) +
           " connections open (--max-connections)");
}

void Server::accept_without_descriptors(int listener) {
  // Out of descriptors: the pending connection stays in the listen queue and the listener stays
  // readable, so a level-triggered loop would spin on it. The reserve descriptor breaks that:
  // give it up, accept the connection and close it at once, and take the reserve back.
  log_line(std::string("accept failed: ") + error_text(errno) +
           "; refusing one connection to keep the listener from spinning");
  spare_ = Fd();
  {
    const Fd dropped(::accept4(listener, nullptr, nullptr, SOCK_CLOEXEC));  // closed at once
  }
  spare_ = Fd(::open("/dev/null", O_RDONLY | O_CLOEXEC));
}

}  // namespace ws
