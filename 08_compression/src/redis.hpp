// The Redis broker (--redis HOST:PORT): several chat servers share rooms through Redis pub/sub,
// with hiredis (Debian's libhiredis-dev) as the client. What lives in Redis:
//
//   chat:room:<room>       a pub/sub channel per room; every instance PSUBSCRIBEs chat:room:*
//   chat:history:<room>    a list: the room's last 50 messages (RPUSH + LTRIM), read on join
//   chat:otp:<token>       a login's one-time password, SET with PX (it expires by itself) and
//                          redeemed with GETDEL (atomic: single use across all instances)
//
// Two connections: one for commands, shared by the connection threads under a mutex, and one
// that only listens (a subscribed Redis connection can do nothing else), read by the broker's
// own thread. When Redis goes away the broker says so (Listener::link_changed), the Manager keeps
// serving its local members, and the thread reconnects with backoff (100 ms doubling to 2 s).
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "broker.hpp"
#include "socket.hpp"

namespace ws {

/// The broker over Redis. Construction connects (both connections) and throws
/// std::runtime_error with a one-line reason when Redis cannot be reached.
class RedisBroker final : public Broker {
 public:
  RedisBroker(std::string host, std::uint16_t port);
  RedisBroker(const RedisBroker&) = delete;
  RedisBroker& operator=(const RedisBroker&) = delete;
  RedisBroker(RedisBroker&&) = delete;
  RedisBroker& operator=(RedisBroker&&) = delete;
  ~RedisBroker() override;

  /// How long any one Redis command or connection attempt may take before Redis counts as
  /// unreachable. A stalled Redis costs each publish at most this, then the link is marked down.
  static constexpr std::chrono::milliseconds kCommandTimeout{1000};

  void start(Listener listener) override;
  void stop() override;
  bool publish(const std::string& room, const nlohmann::json& message) override;
  std::optional<std::vector<SharedMessage>> history(const std::string& room) override;
  bool share_token(const std::string& token, const std::string& username,
                   std::chrono::milliseconds lifetime) override;
  std::optional<std::string> take_token(const std::string& token) override;

  class Connection;  // a hiredis context (redis.cpp)

 private:
  void listen_loop();
  // The command connection, reconnecting first if it was lost (at most once a second, so a
  // dead Redis costs one failed connect per second, not one per message). Needs command_mutex_.
  Connection* command_connection();
  void drop_command_connection(const char* what, const std::string& reason);

  const std::string host_;
  const std::uint16_t port_;
  const std::string instance_;

  std::mutex command_mutex_;
  std::unique_ptr<Connection> command_;  // null while Redis is unreachable
  std::chrono::steady_clock::time_point last_attempt_;
  std::uint64_t sequence_ = 0;  // of this instance's last published message

  std::unique_ptr<Connection> subscriber_;  // handed to the thread by start()
  Listener listener_;
  StopSignal stop_;
  std::thread thread_;
};

}  // namespace ws
