// The chat's Manager: every connected client and the rooms they are in. Rooms are
// created on first join and dropped when empty; each keeps the last messages as history. All of
// it is shared by the event loops' threads, so all of it sits behind locks, taken in one order.
// With several servers (--redis), the Manager also hands its members' messages to a Broker and
// delivers the other servers' messages to its members (broker.hpp).
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <shared_mutex>
#include <string>
#include <vector>

#include "broker.hpp"
#include "egress.hpp"

namespace ws {

/// One connected, logged-in client as the Manager sees it. Owned by its connection; the Manager
/// only points to it between join() and leave().
struct Member {
  std::string username;       ///< from the login, never from the client's messages
  FrameSink* sink = nullptr;  ///< the event loop that owns the member's connection
  std::uint64_t id = 0;       ///< the connection, as its loop knows it
  std::string room;           ///< the room it is in; written only under the Manager's locks
  /// With a shared history: per origin instance, the last sequence number the member already
  /// has from the history it was shown on joining. Set and read under the room's lock.
  std::map<std::string, std::uint64_t> history_floor;
  /// Compression (RFC 7692): the window bits of a member that agreed to
  /// server_no_context_takeover, so it takes a broadcast compressed once for all such members;
  /// 0 for one that receives uncompressed or compresses with its own context.
  int shared_deflate_bits = 0;
};

/// Registry of members and rooms. Thread-safe.
///
/// Locking: `rooms_mutex_` (a read-write lock) guards the map of rooms: broadcasts only read it
/// and share the lock; joins and leaves change it and take it exclusively. Each room has its own
/// mutex, taken after `rooms_mutex_`, held while a message is appended to its history and handed
/// to every member's loop: so all members receive a room's messages in one and the same order,
/// the order in which the room's mutex was taken. A frame goes to each loop once, with the ids of
/// its members there: a broadcast wakes each loop once, not each member.
class Manager {
 public:
  /// A Manager for one server on its own (a LocalBroker: nothing shared).
  Manager();
  /// A Manager sharing its rooms through `broker`, which must outlive it. The caller starts the
  /// broker with a Listener that calls deliver_remote() and link_changed().
  explicit Manager(Broker& broker);

  /// How many messages a room remembers for newcomers.
  static constexpr std::size_t kHistorySize = kRoomHistorySize;
  /// The room every client starts in.
  static constexpr const char* kDefaultRoom = "general";

  /// Puts `member` in `room` (creating it), leaving its previous room if it had one. Queues for
  /// the member a `room_changed` event (members and history) and, for the room's other members,
  /// a `presence` event: both under the room's lock, so the member sees no message twice and
  /// misses none between the history and the live ones.
  void join(Member& member, const std::string& room);

  /// Takes `member` out of its room (dropping the room if it becomes empty) and tells the others.
  void leave(Member& member);

  /// Sends `message` from `member` to everyone in its room, itself included, and remembers it in
  /// the room's history. The frame is encoded once and shared by all receivers.
  void broadcast(const Member& member, const std::string& message,
                 std::chrono::system_clock::time_point sent);

  /// A message another server published (the broker's thread calls this). Delivered to this
  /// server's members of `room`, under the room's lock like a local message, unless it is a
  /// repeat or older than what a member already has from that sender (per origin, sequence
  /// numbers only grow): so no member sees a message twice and each sender's order is kept.
  void deliver_remote(const std::string& room, const SharedMessage& shared);

  /// The broker lost (false) or regained (true) the other servers: every member is told with
  /// an `error` event when they are lost, since from then on its room reaches only this server.
  void link_changed(bool up);

  /// Every room with its members, sorted by name: the payload of a `rooms` event.
  [[nodiscard]] nlohmann::json rooms() const;

  /// How many members are connected right now.
  [[nodiscard]] std::size_t member_count() const;

 private:
  struct Room {
    std::mutex mutex;
    std::vector<Member*> members;
    std::deque<nlohmann::json> history;                // new_message payloads, oldest first
    std::map<std::string, std::uint64_t> last_remote;  // per origin: last sequence delivered
  };

  // Both need rooms_mutex_ held exclusively.
  void leave_locked(Member& member);
  static std::vector<std::string> member_names(const Room& room);

  static Broker& local_broker();

  Broker& broker_;
  mutable std::shared_mutex rooms_mutex_;
  std::map<std::string, std::shared_ptr<Room>> rooms_;
  std::size_t member_count_ = 0;  // guarded by rooms_mutex_
};

}  // namespace ws
