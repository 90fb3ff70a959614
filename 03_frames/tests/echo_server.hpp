// Where the conformance suite finds the echo server under test.
// The suite only ever talks to a loopback address (RFC 6455 itself has no say here: this is a
// rule of the course's test machines).
#pragma once

#include <cstdint>
#include <string>

namespace ws_test {

/// A loopback TCP endpoint.
struct ServerAddress {
  std::string host;  // dotted IPv4, always inside 127.0.0.0/8
  std::uint16_t port = 0;
};

/// Returns the address of the running echo server under test.
///
/// Without WS_ECHO_ADDR in the environment, starts this stage's server (once, on a free port) and
/// returns its address. With WS_ECHO_ADDR=HOST:PORT (for example 127.0.0.1:9001; "localhost"
/// means 127.0.0.1), returns that instead, so the same suite can grade another implementation.
/// The result is computed once and cached. Throws std::runtime_error when the variable is
/// malformed or names a host outside 127.0.0.0/8, so a misconfigured run fails loudly.
ServerAddress echo_server_address();

}  // namespace ws_test
