// The server's command line: the flags every stage's program accepts (see the course README).
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "permessage_deflate.hpp"

namespace ws {

/// What the server was asked to do. Defaults are the documented ones.
struct Options {
  std::string host = "127.0.0.1";
  std::uint16_t port = 8080;
  /// Subprotocols the server accepts (--protocol chat,superchat); empty: none.
  std::vector<std::string> protocols;
  /// Directory holding index.html, the test page served at GET /.
  std::string web_root;
  /// The largest message (and frame) payload accepted; more is answered with 1009 (§10.4).
  std::uint64_t max_message = std::uint64_t{4} * 1024;
  /// Log every message, not just connections and closes.
  bool verbose = false;
  /// How often the server pings each client (§5.5.2).
  std::chrono::milliseconds ping_period{std::chrono::seconds(30)};
  /// How long after a ping the client has to show a sign of life before it is dropped. Also the
  /// longest a write may wait for a client that stopped reading.
  std::chrono::milliseconds pong_wait{std::chrono::seconds(10)};
  /// Origins whose pages may open a WebSocket (--allow-origin); empty: the server's own.
  std::vector<std::string> allowed_origins;
  /// The users file (--users); empty: the built-in demo users.
  std::string users_file;
  /// With --add-user NAME: ask for NAME's password and add it to the users file, then exit.
  std::string add_user;
  /// How long a one-time password from POST /login stays valid.
  std::chrono::milliseconds otp_lifetime{std::chrono::seconds(10)};
  /// The most connections served at once; more are refused with 503.
  std::size_t max_connections = 10'000;
  /// Chat messages a client may send per second (a burst of twice as many is allowed); 0: no
  /// limit (for benchmarks).
  double rate_limit = 10;
  /// With both (--tls-cert, --tls-key: PEM files), the server speaks HTTPS and wss instead of
  /// HTTP and ws. parse_options accepts both or neither.
  std::string tls_cert;
  std::string tls_key;
  /// --redis HOST:PORT: share rooms, history and one-time passwords with the other servers
  /// using this Redis (broker.hpp); empty: this server is the whole chat.
  std::string redis;
  /// Event loops, each a thread serving its share of the connections (--threads); 0: one per
  /// core.
  std::size_t threads = 0;
  /// --echo PATH: also serve an echo WebSocket at PATH, without login or origin check, for
  /// conformance checks and load tests; empty: none.
  std::string echo_path;
  /// permessage-deflate (RFC 7692): what the server accepts (--compression) and the largest
  /// window it compresses with (--compression-window-bits). No context takeover by default:
  /// a broadcast is then compressed once for every member, and no connection keeps a compressor.
  ServerPolicy compression{CompressionMode::kNoContextTakeover, 15};
};

/// What parse_options found on the command line.
enum class ParseOutcome { kRun, kHelp, kError };

/// Parses `args` (without the program name) into `options`, which must hold the defaults.
/// Accepts `--flag value` and `--flag=value`. On kError, `error` holds a one-line reason.
ParseOutcome parse_options(const std::vector<std::string>& args, Options& options,
                           std::string& error);

/// Splits "HOST:PORT" (or "[IPv6]:PORT"); false unless PORT is 1-65535 and HOST is not empty.
bool parse_host_port(const std::string& text, std::string& host, std::uint16_t& port);

/// The --help text.
std::string usage();

}  // namespace ws
