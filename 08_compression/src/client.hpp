// The client side of RFC 6455: ws:// URLs (§3), the opening handshake as the client sends and
// checks it (§4.1), masked frames with unpredictable keys (§5.3, §10.3), answering pings
// (§5.5.2) and the closing handshake from either side (§5.5.1, §7). What a browser does for
// `new WebSocket(url)`, written out so it can be read and tested.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "close.hpp"
#include "message.hpp"
#include "socket.hpp"

namespace ws {

/// The parts of a ws:// URL that a connection needs (RFC 6455 §3).
struct WsUrl {
  std::string host;         ///< a name or an address; an IPv6 literal without its brackets
  std::uint16_t port = 80;  ///< §3: the default port of ws:// is 80
  std::string path = "/";   ///< the resource name: path and query, "/" when the URL has none

  friend bool operator==(const WsUrl&, const WsUrl&) = default;
};

/// Splits `url` ("ws://host[:port][/path][?query]", IPv6 hosts in brackets) into its parts.
/// Throws std::invalid_argument with a one-line reason for anything else: wss:// (this client
/// speaks no TLS), other schemes, a missing host, a port that is not a number in 1-65535, user
/// information (`user@`) and fragments (`#...`, which §3 forbids in WebSocket URLs).
WsUrl parse_ws_url(std::string_view url);

/// How a connection ended, thrown by Client::read_message() (and kept for every later call).
///
/// - The server closed it properly (it started the closing handshake, or answered ours):
///   `status` is the server's code and reason, `was_clean` is true.
/// - TCP ended without a close frame (the server crashed, the network failed, no reply to our
///   close in time): `status` is {1006, why}, `was_clean` is false. §7.4.1 reserves 1006 for
///   reporting exactly this; it never travels in a frame.
/// - The server broke a rule of RFC 6455 and we failed the connection (§7.1.7): `status` is the
///   code and reason we sent (1002, 1007 or 1009), `was_clean` is false.
///
/// what() reads like `closed 1001 "server shutting down"`.
class CloseError : public std::runtime_error {
 public:
  CloseError(CloseStatus close_status, bool clean);

  CloseStatus status;
  bool was_clean;
};

/// read_message() did not complete a message before the caller's deadline. The connection is
/// unharmed: call read_message() again to keep waiting.
class TimeoutError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// What Client::dial() offers and how long it may take.
struct DialOptions {
  /// Subprotocols to offer in Sec-WebSocket-Protocol, most preferred first (§4.1); empty: none.
  std::vector<std::string> subprotocols;
  /// Extra request header fields, such as {"Origin", "http://127.0.0.1"}.
  std::vector<std::pair<std::string, std::string>> headers;
  /// The longest the TCP connect plus the opening handshake may take together.
  std::chrono::milliseconds timeout{10'000};
  /// The largest frame and message accepted from the server; more fails the connection with
  /// 1009 (§10.4).
  Limits limits;
};

/// A WebSocket connection from the client's side.
///
/// Concurrency: one thread may read (read_message(), close()) while others send (send_text(),
/// send_binary(), ping(), send_close(), send_raw()). Every write, including the pongs and the
/// close reply that the reading thread sends by itself, takes one mutex inside Client, so frames
/// never interleave on the wire. Two threads must never read at the same time.
///
/// Move-only; the socket is closed when the Client is destroyed. A moved-from Client may only be
/// destroyed or assigned to.
class Client {
 public:
  /// How long the closing handshake may take: first the server's close frame after ours, then
  /// the server's TCP close after the close frames have crossed (§7.1.1: the server closes TCP
  /// first, so the client waits for it rather than leaving TIME_WAIT on the server).
  static constexpr std::chrono::seconds kCloseTimeout{5};

  /// How long a write may make no progress (the server reads nothing, its buffers are full)
  /// before it fails; sends then throw std::runtime_error.
  static constexpr std::chrono::seconds kWriteTimeout{10};

  /// The largest HTTP response head accepted from the server during the handshake.
  static constexpr std::size_t kMaxResponseHeadSize = std::size_t{8} * 1024;

  /// Connects to `url` and performs the opening handshake (§4.1). Returns an open connection.
  /// Throws std::invalid_argument for a bad URL or header, and std::runtime_error naming the
  /// failure otherwise: `connect to 127.0.0.1:1: Connection refused`, `handshake failed: HTTP
  /// 426 Upgrade Required`, `handshake failed: wrong Sec-WebSocket-Accept`, a timeout...
  static Client dial(const std::string& url, const DialOptions& options = {});

  Client(Client&& other) noexcept;
  Client& operator=(Client&& other) noexcept;
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;
  /// Closes the socket at once. It does not run the closing handshake (that can take up to
  /// 2 x kCloseTimeout): call close() first for a clean end.
  ~Client();

  /// The subprotocol the server chose from those offered, or "" when it chose none.
  [[nodiscard]] const std::string& subprotocol() const;

  /// Send one message in one masked frame (§5.3). Text must be valid UTF-8 (§5.6); that is the
  /// caller's promise, not checked here. Throw std::runtime_error when the connection is closing
  /// or closed (§5.5.1: no data after our close frame) or the write fails (an error, or no
  /// progress for kWriteTimeout).
  void send_text(std::string_view text);
  void send_binary(std::string_view data);
  /// Sends a ping (§5.5.2) carrying `payload` (at most 125 bytes, else std::invalid_argument).
  /// The server's pong shows up in last_pong() once read_message() has read it.
  void ping(std::string_view payload);

  /// Writes `bytes` to the socket exactly as given, without framing or masking: a way to show
  /// how a server answers broken frames. Throws std::runtime_error if the write fails.
  void send_raw(std::string_view bytes);

  /// The bytes that arrive next, exactly as they came (the first may have arrived behind the
  /// handshake's response), or "" once the server has closed TCP: a way to watch every frame
  /// the server sends, control frames included. Nothing is parsed or answered, so this is not to
  /// be mixed with read_message() on one connection. Throws TimeoutError if `deadline` passes
  /// first, and std::runtime_error if the socket fails.
  std::string read_raw(Deadline deadline);

  /// Returns the next complete data message, reading as much as needed.
  ///
  /// Control frames are handled on the way: a ping is answered with a pong carrying the same
  /// payload (§5.5.2), a pong is recorded in last_pong(). The end of the connection is thrown as
  /// a CloseError (see there): when the server sends a close frame, we answer it with the same
  /// code (§5.5.1) and wait for the server to close TCP (at most kCloseTimeout); when the server
  /// breaks a rule, we send a close frame with the code the rule names and end. After
  /// send_close(), data messages the server sent before seeing our close are still returned,
  /// and the wait for its reply is bounded by kCloseTimeout.
  ///
  /// Throws TimeoutError if `deadline` passes first, and the same CloseError again on every call
  /// once the connection has ended.
  Message read_message(Deadline deadline = kNoDeadline);

  /// The payload of the most recent pong read so far, or nullopt if none has arrived.
  [[nodiscard]] std::optional<std::string> last_pong() const;

  /// Starts the closing handshake from our side (§7.1.2) and returns without waiting: sends a
  /// close frame with `status`, unless one has been sent already. For programs whose reading
  /// thread sits in read_message(): it then receives the server's reply as a CloseError with
  /// was_clean. The code is sent as given, even one RFC 6455 forbids on the wire, such as 1004:
  /// watching the server answer it with 1002 is instructive. 1005, 1006 and 1015 are sent as an
  /// empty close payload (they may only be reported, never sent). Throws std::runtime_error when
  /// the connection has ended or the write fails.
  void send_close(const CloseStatus& status = make_close_status(CloseCode::kNormalClosure));

  /// The whole closing handshake, for single-threaded programs: send_close(status), then read
  /// and discard data messages until the server's close frame arrives (at most kCloseTimeout),
  /// wait for the server to close TCP (at most kCloseTimeout again), and close the socket.
  /// Returns the status the server replied with (a server echoes our code, §5.5.1), or
  /// {1006, why} when none came. Once the connection has ended, returns how it ended.
  /// Never throws CloseError; must not run while another thread is in read_message().
  CloseStatus close(const CloseStatus& status = make_close_status(CloseCode::kNormalClosure));

 private:
  struct Connection;
  explicit Client(std::unique_ptr<Connection> connection);

  std::unique_ptr<Connection> connection_;
};

}  // namespace ws
