// What one chat server shares with the others when a chat outgrows one process (--redis): the
// messages of each room, the rooms' history, and the one-time passwords of logins. The Manager
// talks to a Broker; which one is chosen at start:
//
//   LocalBroker (the default)      one server: nothing to share, the Manager's rooms are all
//                                  there is; nothing to install, nothing changes
//   RedisBroker (--redis H:P)      several servers behind a load balancer share rooms through
//                                  Redis pub/sub (redis.hpp, docs/scaling.md)
//
//          clients          server A                      server B          clients
//    alice ────ws────> Manager ── publish ──> Redis ── pmessage ──> Manager ────ws────> bob
//                         │ (delivers to its own            (delivers to its own
//                         │  members at once)                members)
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace ws {

/// How many messages a room's history keeps: on one server, and in the store the servers share.
inline constexpr std::size_t kRoomHistorySize = 50;

/// A chat message as the instances exchange it: the new_message payload, plus who published it
/// (the instance's random id) and that instance's sequence number for it. The pair identifies
/// the message, so an instance recognises its own messages coming back and a receiver can drop
/// a message it has already delivered.
struct SharedMessage {
  std::string origin;
  std::uint64_t sequence = 0;
  nlohmann::json message;  ///< the new_message payload: message, from, room, sent
};

/// SharedMessage <-> the JSON text published on a room's channel and kept in its history list.
std::string encode_shared(const SharedMessage& shared);
/// nullopt if `text` is not an envelope written by encode_shared (logged by the caller).
std::optional<SharedMessage> decode_shared(std::string_view text);

/// Connects a Manager to the other instances. Implementations are thread-safe: connection
/// threads publish and read history while the broker's own thread delivers.
class Broker {
 public:
  /// What the broker calls back into, from its own thread.
  struct Listener {
    /// A message another instance published in `room`.
    std::function<void(const std::string& room, const SharedMessage& shared)> deliver;
    /// The link to the other instances was lost (false) or is back (true).
    std::function<void(bool up)> link_changed;
  };

  Broker() = default;
  Broker(const Broker&) = delete;
  Broker& operator=(const Broker&) = delete;
  Broker(Broker&&) = delete;
  Broker& operator=(Broker&&) = delete;
  virtual ~Broker() = default;

  /// Starts delivering the other instances' messages to `listener`. Called once.
  virtual void start(Listener listener) = 0;
  /// Stops the broker's thread; after it returns no callback runs. Idempotent.
  virtual void stop() = 0;

  /// Shares a message a local member sent in `room`: adds it to the room's shared history and
  /// tells the other instances. Called under the room's lock, so the room's messages are
  /// published in the order local members received them, each with this instance's next
  /// sequence number. False if the others cannot be reached (the message stays local).
  virtual bool publish(const std::string& room, const nlohmann::json& message) = 0;

  /// The room's history as every instance sees it, oldest first; nullopt when there is nothing
  /// shared (LocalBroker) or the shared store cannot be reached: the Manager then shows its own.
  virtual std::optional<std::vector<SharedMessage>> history(const std::string& room) = 0;

  /// Stores a login's one-time password where every instance can redeem it, valid for
  /// `lifetime`. False when there is no shared store (or it cannot be reached): the token is
  /// then good on this instance only.
  virtual bool share_token(const std::string& token, const std::string& username,
                           std::chrono::milliseconds lifetime) = 0;

  /// Redeems a shared token: the user it was issued to, if it is still there. Atomic across
  /// instances (single use: of two instances redeeming the same token, one gets the user).
  virtual std::optional<std::string> take_token(const std::string& token) = 0;
};

/// The in-process default: one instance, nothing to share with.
class LocalBroker final : public Broker {
 public:
  void start(Listener /*listener*/) override {}
  void stop() override {}
  bool publish(const std::string& /*room*/, const nlohmann::json& /*message*/) override {
    return false;
  }
  std::optional<std::vector<SharedMessage>> history(const std::string& /*room*/) override {
    return std::nullopt;
  }
  bool share_token(const std::string& /*token*/, const std::string& /*username*/,
                   std::chrono::milliseconds /*lifetime*/) override {
    return false;
  }
  std::optional<std::string> take_token(const std::string& /*token*/) override {
    return std::nullopt;
  }
};

/// A random instance id: 8 hex digits from OpenSSL's RAND_bytes.
std::string random_instance_id();

/// The broker `redis` asks for: LocalBroker when it is empty, else a RedisBroker connected to
/// HOST:PORT. Throws std::runtime_error with a one-line reason when Redis cannot be reached, or
/// when this server was built without hiredis (libhiredis-dev).
std::unique_ptr<Broker> make_broker(const std::string& redis);

}  // namespace ws
