// A worker: one event loop and the connections it owns.
#include "worker.hpp"

#include <optional>
#include <string>

#include "http_session.hpp"
#include "log.hpp"

namespace ws {

Worker::Worker(const Options& options, ChatServices& services, const TlsContext* tls,
               std::atomic<std::size_t>& open, BlockingPool& blocking)
    : options_(options), services_(services), tls_(tls), open_(open), blocking_(blocking) {}

void Worker::adopt(Fd socket, std::uint64_t id) {
  if (stopping_) {
    open_.fetch_sub(1);
    return;  // accepted just before the shutdown: closed unserved
  }
  std::optional<Transport> transport;
  try {
    transport.emplace(tls_ != nullptr ? Transport::tls(std::move(socket), *tls_)
                                      : Transport::plain(std::move(socket)));
  } catch (const std::exception& e) {
    log_line("#" + std::to_string(id) + " " + e.what());  // out of memory for a TLS session
    open_.fetch_sub(1);
    return;
  }
  auto connection = std::make_unique<Connection>(std::move(*transport), id, *this, kEgressLimit);
  Connection& added = *connection;
  connections_.emplace(id, std::move(connection));
  added.run(make_http_session(added));
}

void Worker::deliver(std::vector<std::uint64_t> ids, Broadcast broadcast) {
  loop_.post([this, ids = std::move(ids), broadcast = std::move(broadcast)] {
    for (const std::uint64_t id : ids) {
      // A member that left after the frame was handed over is simply no longer here.
      if (const auto found = connections_.find(id); found != connections_.end()) {
        found->second->on_frame(broadcast);
      }
    }
  });
}

bool Worker::offload(std::uint64_t id, std::function<bool()> work, std::function<void(bool)> then) {
  return blocking_.submit([this, id, work = std::move(work), then = std::move(then)]() mutable {
    const bool result = work();
    loop_.post([this, id, result, then = std::move(then)] {
      const auto found = connections_.find(id);
      if (found != connections_.end() && !found->second->finished()) {
        then(result);
        found->second->resumed();
      }
    });
  });
}

void Worker::stop() {
  loop_.post([this] {
    stopping_ = true;
    for (auto& [id, connection] : connections_) {
      connection->on_stop();
    }
  });
}

void Worker::mark_dirty(Connection& connection) {
  if (!connection.dirty_) {
    connection.dirty_ = true;
    dirty_.push_back(&connection);
  }
}

void Worker::run() {
  const auto on_timer = [this](std::uint64_t id) { this->on_timer(id); };
  while (!stopping_ || !connections_.empty()) {
    loop_.wait_and_dispatch(std::chrono::seconds(1), on_timer);
    flush_dirty();
    reap();
  }
}

void Worker::on_ready_later(std::uint64_t id, std::uint32_t events) {
  if (const auto found = connections_.find(id); found != connections_.end()) {
    found->second->on_ready(events);
  }
}

void Worker::on_timer(std::uint64_t id) {
  if (const auto found = connections_.find(id); found != connections_.end()) {
    found->second->on_timer();
  }
}

void Worker::flush_dirty() {
  // Flushing can end a connection (a write failed) but never makes another one dirty.
  for (Connection* connection : dirty_) {
    connection->dirty_ = false;
    if (!connection->finished()) {
      connection->flush();
    }
  }
  dirty_.clear();
}

void Worker::reap() {
  // Connections end during a pass but are destroyed only here, after it: the loop may still
  // hold a ready event for one that ended a moment ago.
  for (const std::uint64_t id : ended_) {
    if (connections_.erase(id) == 1) {
      open_.fetch_sub(1);
    }
  }
  ended_.clear();
}

}  // namespace ws
