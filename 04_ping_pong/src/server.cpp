// The listener: accept loop and one thread per connection.
#include "server.hpp"

#include <poll.h>
#include <sys/socket.h>

#include <cerrno>
#include <string>
#include <system_error>

#include "connection.hpp"
#include "log.hpp"

namespace ws {

Server::Server(Options options)
    : options_(std::move(options)), listeners_(listen_tcp(options_.host, options_.port)) {}

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
  auto done = std::make_shared<std::atomic<bool>>(false);
  const std::uint64_t id = next_id_++;
  std::thread thread;
  try {
    thread = std::thread([this, socket = std::move(client), id, done]() mutable {
      serve_connection(std::move(socket), id, options_, stop_);
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
