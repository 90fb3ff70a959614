// The tester's command line.
#pragma once

#include <chrono>
#include <cstddef>
#include <optional>
#include <string>
#include <vector>

namespace tester {

struct Options {
  std::string stage;      // --stage NN
  std::string url;        // --url ws://127.0.0.1:PORT/PATH
  std::string server;     // --server 'COMMAND ... {port}'
  std::string path;       // --path /PATH: the WebSocket's path with --server ("": the stage's)
  std::string echo_path;  // --echo-path /PATH: an echo WebSocket without login ("": the stage's)
  std::string cases;      // --cases TEXT[|TEXT...]: cases containing one of them
  bool list = false;      // --list
  bool verbose = false;   // --verbose
  std::chrono::milliseconds ping_period{1000};
  std::chrono::milliseconds pong_wait{1000};
  std::chrono::milliseconds handshake_timeout{10000};
  std::chrono::milliseconds startup{20000};  // --startup: how long --server may take to listen
  std::size_t max_message = std::size_t{16} * 1024 * 1024;
  std::string protocol;        // --protocol: a subprotocol the server was started to accept
  std::string user = "alice";  // --user/--password: the chat login
  std::string password = "wonderland";
};

/// Parses argv. Returns nullopt with `error` set (or empty for --help, with `help` set).
std::optional<Options> parse_options(const std::vector<std::string>& args, std::string* error,
                                     bool* help);

/// The --help text.
std::string usage();

}  // namespace tester
