// Locates the echo server under test: the stage's own server, started by the suite, or any echo
// server named by the environment (WS_ECHO_ADDR=HOST:PORT), to compare implementations.
// A later version may start the stage's server binary instead; callers only see the address.
#include "echo_server.hpp"

#include <arpa/inet.h>

#include <charconv>
#include <cstdlib>
#include <memory>
#include <stdexcept>
#include <string_view>

#include "server_process.hpp"

namespace ws_test {
namespace {

ServerAddress parse_address(std::string_view text) {
  const auto colon = text.rfind(':');
  if (colon == std::string_view::npos || colon == 0 || colon + 1 == text.size()) {
    throw std::runtime_error("WS_ECHO_ADDR must look like 127.0.0.1:PORT, got '" +
                             std::string(text) + "'");
  }
  std::string host(text.substr(0, colon));
  if (host == "localhost") {
    host = "127.0.0.1";
  }
  in_addr parsed{};
  if (inet_pton(AF_INET, host.c_str(), &parsed) != 1) {
    throw std::runtime_error("WS_ECHO_ADDR host must be a dotted IPv4 address, got '" + host + "'");
  }
  // Only ever connect to this machine: the first octet of a loopback address is 127.
  if ((ntohl(parsed.s_addr) >> 24) != 127) {
    throw std::runtime_error("WS_ECHO_ADDR must be a loopback address (127.0.0.0/8), got '" + host +
                             "'");
  }
  const std::string_view port_text = text.substr(colon + 1);
  unsigned port = 0;
  const auto [end, error] =
      std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
  if (error != std::errc{} || end != port_text.data() + port_text.size() || port == 0 ||
      port > 65535) {
    throw std::runtime_error("WS_ECHO_ADDR port must be 1-65535, got '" + std::string(port_text) +
                             "'");
  }
  return ServerAddress{host, static_cast<std::uint16_t>(port)};
}

}  // namespace

ServerAddress echo_server_address() {
  // The stage's own server, started on first use and stopped when the test program exits.
  static std::unique_ptr<ServerProcess> own_server;
  static const ServerAddress address = [] {
    // NOLINTNEXTLINE(concurrency-mt-unsafe): nothing sets the environment while tests run
    const char* value = std::getenv("WS_ECHO_ADDR");
    if (value != nullptr && *value != '\0') {
      return parse_address(value);
    }
    own_server = std::make_unique<ServerProcess>();
    return ServerAddress{"127.0.0.1", own_server->port()};
  }();
  return address;
}

}  // namespace ws_test
