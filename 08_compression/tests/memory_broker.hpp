// Test helper: a Broker kept in memory, standing in for Redis in unit tests of the Manager and
// the OtpStore (the real RedisBroker is tested against a real redis-server in scaleout_test.py).
// Several Managers (several "servers") can share one MemoryBroker's state through a MemoryHub.
#pragma once

#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "broker.hpp"

namespace ws_test {

/// What the "servers" share: the token store, each room's history, and everything published.
struct MemoryHub {
  std::mutex mutex;
  std::map<std::string, std::string> tokens;
  std::map<std::string, std::vector<ws::SharedMessage>> history;
  std::vector<std::pair<std::string, ws::SharedMessage>> published;  // (room, message)
};

/// One server's broker. `reachable = false` behaves as a lost Redis: nothing is shared.
class MemoryBroker final : public ws::Broker {
 public:
  MemoryBroker(MemoryHub& hub, std::string instance) : hub_(hub), instance_(std::move(instance)) {}

  bool reachable = true;

  void start(Listener /*listener*/) override {}
  void stop() override {}

  bool publish(const std::string& room, const nlohmann::json& message) override {
    if (!reachable) {
      return false;
    }
    const std::lock_guard lock(hub_.mutex);
    ws::SharedMessage shared{instance_, ++sequence_, message};
    hub_.history[room].push_back(shared);
    hub_.published.emplace_back(room, std::move(shared));
    return true;
  }

  std::optional<std::vector<ws::SharedMessage>> history(const std::string& room) override {
    if (!reachable) {
      return std::nullopt;
    }
    const std::lock_guard lock(hub_.mutex);
    return hub_.history[room];
  }

  bool share_token(const std::string& token, const std::string& username,
                   std::chrono::milliseconds /*lifetime*/) override {
    if (!reachable) {
      return false;
    }
    const std::lock_guard lock(hub_.mutex);
    hub_.tokens[token] = username;
    return true;
  }

  std::optional<std::string> take_token(const std::string& token) override {
    if (!reachable) {
      return std::nullopt;
    }
    const std::lock_guard lock(hub_.mutex);
    const auto found = hub_.tokens.find(token);
    if (found == hub_.tokens.end()) {
      return std::nullopt;
    }
    std::string username = found->second;
    hub_.tokens.erase(found);
    return username;
  }

 private:
  MemoryHub& hub_;
  std::string instance_;
  std::uint64_t sequence_ = 0;
};

}  // namespace ws_test
