// The listener: accept loop and one thread per connection.
#include "server.hpp"

#include <poll.h>
#include <sys/socket.h>

#include <cerrno>
#include <string>
#include <string_view>
#include <system_error>

#include "http_session.hpp"
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

Server::~Server() {
  stop();
  for (auto& worker : workers_) {
    if (worker.thread.joinable()) {
      worker.thread.join();
    }
  }
}

std::uint16_t Server::port() const { return local_port(listeners_.front().get()); }

void Server::run() {
  std::vector<pollfd> fds;
  for (const auto& listener : listeners_) {
    fds.push_back({listener.get(), POLLIN, 0});
  }
  fds.push_back({stop_.fd(), POLLIN, 0});

  while (true) {
    // Wake at least once a second to join finished connection threads.
    const int ready = ::poll(fds.data(), fds.size(), 1000);
    if (ready < 0 && errno != EINTR) {
      log_line(std::string("poll failed: ") + error_text(errno));
      break;
    }
    if ((fds.back().revents & POLLIN) != 0) {
      break;
    }
    for (std::size_t i = 0; ready > 0 && i + 1 < fds.size(); ++i) {
      if ((fds[i].revents & POLLIN) != 0) {
        accept_from(fds[i].fd);
      }
    }
    join_finished_workers();
  }

  // Connections see the same stop signal in their reads and end on their own.
  for (auto& worker : workers_) {
    worker.thread.join();
  }
  workers_.clear();
}

void Server::accept_from(int listener) {
  Fd client(::accept4(listener, nullptr, nullptr, SOCK_CLOEXEC));
  if (!client.valid()) {
    // EMFILE/ENFILE (out of descriptors) or a connection reset before we got to it: log it and
    // keep serving; the pending connection stays queued until descriptors are free again.
    if (errno != EAGAIN && errno != ECONNABORTED && errno != EINTR) {
      log_line(std::string("accept failed: ") + error_text(errno));
      ::poll(nullptr, 0, 100);  // back off instead of spinning while out of descriptors
    }
    return;
  }
  const std::uint64_t id = next_id_++;
  // Each connection costs a thread: past --max-connections, refuse before reading a byte, with
  // 503 on plain HTTP (a TLS client gets no readable answer before its handshake, so it just
  // sees the connection close).
  join_finished_workers();
  if (workers_.size() >= options_.max_connections) {
    if (!tls_) {
      static constexpr std::string_view kBusy =
          "HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain; charset=utf-8\r\n"
          "Content-Length: 20\r\nRetry-After: 5\r\nConnection: close\r\n\r\n"
          "too many connections";
      [[maybe_unused]] const auto sent =
          ::send(client.get(), kBusy.data(), kBusy.size(), MSG_DONTWAIT | MSG_NOSIGNAL);
    }
    log_line("#" + std::to_string(id) + " refused 503: " + std::to_string(workers_.size()) +
             " connections open (--max-connections)");
    return;
  }
  auto done = std::make_shared<std::atomic<bool>>(false);
  std::optional<Transport> transport;
  try {
    transport.emplace(tls_ ? Transport::tls(std::move(client), *tls_)
                           : Transport::plain(std::move(client)));
  } catch (const std::exception& e) {
    log_line("#" + std::to_string(id) + " " + e.what());  // out of memory for a TLS session
    return;
  }
  std::thread thread;
  try {
    thread = std::thread([this, transport = std::move(*transport), id, done]() mutable {
      serve_connection(std::move(transport), id, options_, stop_, services_);
      done->store(true);
    });
  } catch (const std::system_error& e) {
    // No thread for this connection (a task limit, or no address space for its stack): refuse
    // this one connection, whose socket went with the lambda and is closed, and keep serving.
    log_line("#" + std::to_string(id) + " refused: cannot start a thread: " + e.what());
    return;
  }
  workers_.push_back({std::move(thread), std::move(done)});
}

void Server::join_finished_workers() {
  std::erase_if(workers_, [](Worker& worker) {
    if (!worker.done->load()) {
      return false;
    }
    worker.thread.join();
    return true;
  });
}

}  // namespace ws
