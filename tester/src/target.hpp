// What the tester is pointed at: the server's address and path, how a WebSocket is opened on it
// (a chat logs in first), and what the server was configured with (timers, size limit).
#pragma once

#include <chrono>
#include <cstddef>
#include <optional>
#include <string>

#include "process.hpp"
#include "wire.hpp"

namespace tester {

/// A chat's login: POST /login with these, then upgrade with the one-time password it returns.
struct Login {
  std::string username;
  std::string password;
};

/// The server under test, as the command line described it. Set once by main() before any case
/// runs; cases read it through target().
struct Target {
  ServerAddress address;
  std::string path = "/";       // the WebSocket's path (a chat's upgrade adds ?otp=...)
  std::string echo_path = "/";  // an echo WebSocket without login (the compression cases)
  std::optional<Login> login;   // set for chat stages
  std::string origin;           // the Origin a same-site page sends (chat stages)
  std::chrono::milliseconds ping_period{1000};         // how often the server pings (heartbeat)
  std::chrono::milliseconds pong_wait{1000};           // how long it waits for the pong
  std::chrono::milliseconds handshake_timeout{10000};  // how long it waits for a request head
  std::size_t max_message = std::size_t{16} * 1024 * 1024;  // its message size limit
  std::string protocol;              // a subprotocol it was started to accept (empty: not told)
  ServerProcess* process = nullptr;  // the server started by --server; nullptr with --url
};

/// The target of this run.
const Target& target();
void set_target(const Target& target);

/// Returns a valid upgrade request for a new WebSocket on the target: its path, and for a chat
/// a fresh one-time password from POST /login plus the page's Origin. Throws
/// std::runtime_error, saying what the server answered, when the login fails.
UpgradeRequest upgrade_request();

/// Logs in with `login` and returns the one-time password, or nullopt with `error` set.
std::optional<std::string> log_in(const Login& login, std::string* error);

/// Sends a plain HTTP request (no upgrade) and reads the response with its body, for the chat's
/// login and page cases. `body` is sent with Content-Type: application/json when not empty.
struct HttpExchange {
  HttpResponse response;
  std::string body;
};
std::optional<HttpExchange> http_request(const std::string& method, const std::string& path,
                                         const std::string& body, std::string* error);

}  // namespace tester
