// The broker's envelope, the in-process default, and the choice between brokers.
#include "broker.hpp"

#include <openssl/rand.h>

#include <array>
#include <cstdio>
#include <stdexcept>

#include "options.hpp"
#ifdef WS_WITH_REDIS
#include "redis.hpp"
#endif

namespace ws {

std::string encode_shared(const SharedMessage& shared) {
  return nlohmann::json{
      {"origin", shared.origin}, {"sequence", shared.sequence}, {"message", shared.message}}
      .dump();
}

std::optional<SharedMessage> decode_shared(std::string_view text) {
  const nlohmann::json json = nlohmann::json::parse(text, nullptr, false);
  if (!json.is_object()) {
    return std::nullopt;
  }
  const auto origin = json.find("origin");
  const auto sequence = json.find("sequence");
  const auto message = json.find("message");
  if (origin == json.end() || !origin->is_string() || sequence == json.end() ||
      !sequence->is_number_unsigned() || message == json.end() || !message->is_object()) {
    return std::nullopt;
  }
  return SharedMessage{origin->get<std::string>(), sequence->get<std::uint64_t>(), *message};
}

std::string random_instance_id() {
  std::array<unsigned char, 4> bytes{};
  if (RAND_bytes(bytes.data(), static_cast<int>(bytes.size())) != 1) {
    throw std::runtime_error("RAND_bytes failed");
  }
  std::array<char, 9> hex{};
  std::snprintf(hex.data(), hex.size(), "%02x%02x%02x%02x", bytes[0], bytes[1], bytes[2], bytes[3]);
  return hex.data();
}

std::unique_ptr<Broker> make_broker(const std::string& redis) {
  if (redis.empty()) {
    return std::make_unique<LocalBroker>();
  }
#ifdef WS_WITH_REDIS
  std::string host;
  std::uint16_t port = 0;
  if (!parse_host_port(redis, host, port)) {
    throw std::runtime_error("--redis wants HOST:PORT, not " + redis);
  }
  return std::make_unique<RedisBroker>(host, port);
#else
  throw std::runtime_error(
      "this server was built without Redis support: install libhiredis-dev (./course setup) "
      "and build again");
#endif
}

}  // namespace ws
