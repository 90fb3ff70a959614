// The client side of RFC 6455: URLs (§3), the opening handshake (§4.1), masked frames (§5.3,
// §10.3), control frames (§5.5) and the closing handshake (§7).
#include "client.hpp"

#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <sys/socket.h>
#include <sys/time.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <charconv>
#include <mutex>
#include <span>
#include <utility>
#include <variant>

#include "frame.hpp"
#include "handshake.hpp"
#include "http.hpp"

namespace ws {

namespace {

// ---------------------------------------------------------------------------------------------
// URLs

bool is_digit(char c) { return c >= '0' && c <= '9'; }

std::uint16_t parse_port(std::string_view text) {
  unsigned value = 0;
  const char* const end = text.data() + text.size();
  // from_chars takes no sign for an unsigned type; "" leaves value at 0.
  if (std::from_chars(text.data(), end, value).ptr != end || value == 0 || value > 65535) {
    throw std::invalid_argument("bad port \"" + std::string(text) +
                                "\": expected a number from 1 to 65535");
  }
  return static_cast<std::uint16_t>(value);
}

// RFC 3986 §3.2.2: an IPv6 literal goes in brackets, so its colons are not taken for the port's.
std::string bracketed(const std::string& host) {
  return host.find(':') == std::string::npos ? host : "[" + host + "]";
}

// ---------------------------------------------------------------------------------------------
// Randomness

// Fills `out` from OpenSSL's CSPRNG, or throws: a predictable key is worse than no connection.
void random_bytes(std::span<std::uint8_t> out) {
  if (::RAND_bytes(out.data(), static_cast<int>(out.size())) != 1) {
    throw std::runtime_error("RAND_bytes failed: no randomness for the WebSocket key or mask");
  }
}

// RFC 6455 §4.1: "a nonce consisting of a randomly selected 16-byte value that has been
// base64-encoded". It proves that the server read this very request, not a cached answer.
std::string make_websocket_key() {
  std::array<std::uint8_t, 16> nonce{};
  random_bytes(nonce);
  std::array<unsigned char, 25> encoded{};  // 24 characters and EVP_EncodeBlock's NUL
  const int size = ::EVP_EncodeBlock(encoded.data(), nonce.data(), nonce.size());
  return {reinterpret_cast<const char*>(encoded.data()), static_cast<std::size_t>(size)};
}

// RFC 6455 §5.3: "The masking key needs to be unpredictable; thus, the masking key MUST be
// derived from a strong source of entropy, and the masking key for a given frame MUST NOT make
// it simple for a server/proxy to predict the masking key for a subsequent frame." Masking is not
// there to hide data from the server (the key travels in the frame). It protects proxies that
// do not understand WebSocket (§10.3): without it, a script in a browser could choose the exact
// bytes on the wire, make them look like an HTTP request and response, and get a transparent
// proxy to cache its forged response for another site (cache poisoning, shown by Huang et al.,
// "Talking to Yourself for Fun and Profit", 2011). With a fresh, unguessable key for every frame,
// the script no longer controls a single byte that the proxy sees.
MaskingKey random_masking_key() {
  MaskingKey key{};
  random_bytes(key);
  return key;
}

// ---------------------------------------------------------------------------------------------
// TCP

std::string describe_duration(std::chrono::milliseconds duration) {
  return duration.count() % 1000 == 0 ? std::to_string(duration.count() / 1000) + " s"
                                      : std::to_string(duration.count()) + " ms";
}

// Sets how long a send() (and on Linux a blocking connect()) may make no progress.
void set_send_timeout(int fd, std::chrono::microseconds timeout) {
  const auto us = std::max<std::chrono::microseconds::rep>(timeout.count(), 1);  // 0: no limit
  const timeval limit{static_cast<time_t>(us / 1'000'000),
                      static_cast<suseconds_t>(us % 1'000'000)};
  ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &limit, sizeof limit);
}

// Connects one socket to `address` before `deadline`. Returns the connected socket, or an
// invalid Fd with `error` set (an errno value, or ETIMEDOUT).
Fd connect_before(const addrinfo& address, Deadline deadline, int& error) {
  Fd fd(::socket(address.ai_family, address.ai_socktype | SOCK_CLOEXEC, address.ai_protocol));
  if (!fd.valid()) {
    error = errno;
    return {};
  }
  // Linux bounds a blocking connect() by SO_SNDTIMEO (failing with EINPROGRESS), so the wait
  // ends at `deadline`, not after the kernel's own timeout (minutes for a silent address).
  set_send_timeout(fd.get(),
                   std::chrono::duration_cast<std::chrono::microseconds>(deadline - Clock::now()));
  if (::connect(fd.get(), address.ai_addr, address.ai_addrlen) != 0) {
    error = errno == EINPROGRESS ? ETIMEDOUT : errno;
    return {};
  }
  // Frames are written whole, one send() each; Nagle's algorithm would only hold back a small
  // frame (a ping, a short message) until the previous one is acknowledged.
  const int on = 1;
  ::setsockopt(fd.get(), IPPROTO_TCP, TCP_NODELAY, &on, sizeof on);
  // A send() that makes no progress for kWriteTimeout fails (EAGAIN) instead of blocking for
  // ever: a writer stuck on a server that stopped reading would otherwise hold the write mutex,
  // and with it the reading thread's pongs and close reply.
  set_send_timeout(fd.get(), Client::kWriteTimeout);
  return fd;
}

// Connects to the first address of `url.host` that accepts, trying each one getaddrinfo()
// returns ("localhost" may give ::1, then 127.0.0.1). Throws std::runtime_error with the reason.
Fd connect_tcp(const WsUrl& url, Deadline deadline, std::chrono::milliseconds timeout) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_NUMERICSERV;
  addrinfo* found = nullptr;
  const int rc = ::getaddrinfo(url.host.c_str(), std::to_string(url.port).c_str(), &hints, &found);
  if (rc != 0) {
    throw std::runtime_error("cannot resolve " + url.host + ": " + ::gai_strerror(rc));
  }
  int error = 0;
  Fd fd;
  for (const addrinfo* ai = found; ai != nullptr && !fd.valid(); ai = ai->ai_next) {
    fd = connect_before(*ai, deadline, error);
  }
  ::freeaddrinfo(found);
  if (!fd.valid()) {
    throw std::runtime_error("connect to " + bracketed(url.host) + ":" + std::to_string(url.port) +
                             ": " +
                             (error == ETIMEDOUT ? "no answer within " + describe_duration(timeout)
                                                 : error_text(error)));
  }
  return fd;
}

// ---------------------------------------------------------------------------------------------
// The opening handshake, client side (§4.1)

// RFC 6455 §4.1, the client's opening handshake: a GET for the resource name, the Host, the
// Upgrade and Connection fields, a fresh key, version 13, and the subprotocols offered.
std::string build_request(const WsUrl& url, std::string_view key, const DialOptions& options) {
  std::string offered;  // "one or more comma-separated subprotocol names"
  for (const auto& protocol : options.subprotocols) {
    if (!is_token(protocol)) {
      throw std::invalid_argument("invalid subprotocol name \"" + protocol +
                                  "\": must be a token (RFC 6455 §4.1)");
    }
    offered += (offered.empty() ? "" : ", ") + protocol;
  }
  std::string request = "GET " + url.path + " HTTP/1.1\r\n";
  // The host, and the port unless it is the scheme's default (80).
  request += "Host: " + bracketed(url.host) +
             (url.port == 80 ? "" : ":" + std::to_string(url.port)) + "\r\n";
  request += "Upgrade: websocket\r\n";
  request += "Connection: Upgrade\r\n";
  request += "Sec-WebSocket-Key: " + std::string(key) + "\r\n";
  request += "Sec-WebSocket-Version: 13\r\n";
  if (!offered.empty()) {
    request += "Sec-WebSocket-Protocol: " + offered + "\r\n";
  }
  for (const auto& [name, value] : options.headers) {
    if (!is_token(name) || !is_field_value(value)) {
      throw std::invalid_argument("invalid header field \"" + name + "\"");
    }
    request.append(name).append(": ").append(value).append("\r\n");
  }
  request += "\r\n";
  return request;
}

std::runtime_error handshake_failed(const std::string& why) {
  return std::runtime_error("handshake failed: " + why);
}

// RFC 6455 §4.1, the client's checks of the server's response head (as delimited by
// find_head_end), in the RFC's order. Returns the chosen subprotocol ("" for none) or throws
// naming the first check that failed.
std::string check_response(std::string_view head, std::string_view key,
                           const std::vector<std::string>& offered) {
  // RFC 9112 §4: status-line = HTTP-version SP status-code SP [ reason-phrase ]
  const auto line_end = head.find("\r\n");
  const std::string_view line = head.substr(0, line_end);
  if (line.size() < 12 || line.substr(0, 7) != "HTTP/1." || line[8] != ' ' ||
      !std::all_of(line.begin() + 9, line.begin() + 12, is_digit) ||
      (line.size() > 12 && line[12] != ' ')) {
    throw handshake_failed("malformed status line \"" + std::string(line) + "\"");
  }
  // "If the status code received from the server is not 101, the client handles the response
  // per HTTP [RFC2616] procedures": for us, that means giving up and saying why.
  if (line.substr(9, 3) != "101") {
    throw handshake_failed("HTTP " + std::string(line.substr(9)));
  }
  // HttpRequest's field lookups (names in any case, comma-separated token lists) apply to a
  // response unchanged; only its headers are set.
  HttpRequest fields;
  std::string_view rest = head.substr(line_end + 2);
  for (auto end = rest.find("\r\n"); end != std::string_view::npos && end > 0;
       end = rest.find("\r\n")) {
    const std::string_view field = rest.substr(0, end);
    rest.remove_prefix(end + 2);
    const auto colon = field.find(':');
    if (colon == std::string_view::npos || !is_token(field.substr(0, colon))) {
      throw handshake_failed("malformed header line \"" + std::string(field) + "\"");
    }
    fields.headers.emplace_back(field.substr(0, colon), trim(field.substr(colon + 1)));
  }
  if (!fields.has_token("Upgrade", "websocket")) {
    throw handshake_failed("missing Upgrade: websocket");
  }
  if (!fields.has_token("Connection", "Upgrade")) {
    throw handshake_failed("missing Connection: Upgrade");
  }
  // The accept value proves that the server understood *this* request: only a WebSocket server
  // that read our fresh key can compute it (§1.3).
  const auto accept = fields.header("Sec-WebSocket-Accept");
  if (!accept) {
    throw handshake_failed("missing Sec-WebSocket-Accept");
  }
  if (fields.header_count("Sec-WebSocket-Accept") != 1 || *accept != compute_accept_key(key)) {
    throw handshake_failed("wrong Sec-WebSocket-Accept");
  }
  // "If the response includes a |Sec-WebSocket-Extensions| header field and this header field
  // indicates the use of an extension that was not present in the client's handshake", fail.
  // We offer none, so any extension is one we did not ask for.
  if (const auto extensions = fields.header_tokens("Sec-WebSocket-Extensions");
      !extensions.empty()) {
    throw handshake_failed("server chose extension \"" + extensions.front() +
                           "\" that was not offered");
  }
  // "If the response includes a |Sec-WebSocket-Protocol| header field and this header field
  // indicates the use of a subprotocol that was not present in the client's handshake", fail.
  const auto chosen = fields.header_tokens("Sec-WebSocket-Protocol");
  if (chosen.empty()) {
    return {};
  }
  if (chosen.size() > 1) {
    throw handshake_failed("server chose more than one subprotocol");
  }
  if (std::find(offered.begin(), offered.end(), chosen.front()) == offered.end()) {
    throw handshake_failed("server chose subprotocol \"" + chosen.front() +
                           "\" that was not offered");
  }
  return chosen.front();
}

}  // namespace

WsUrl parse_ws_url(std::string_view url) {
  const std::string quoted = "\"" + std::string(url) + "\"";
  if (std::any_of(url.begin(), url.end(),
                  [](char c) { return static_cast<unsigned char>(c) <= 0x20 || c == 0x7f; })) {
    throw std::invalid_argument("URL " + quoted + " contains a space or a control character");
  }
  const auto scheme_end = url.find("://");
  if (scheme_end == std::string_view::npos) {
    throw std::invalid_argument("not a URL: " + quoted + " (expected ws://host:port/path)");
  }
  const std::string_view scheme = url.substr(0, scheme_end);
  if (!equals_ignore_case(scheme, "ws")) {
    throw std::invalid_argument(equals_ignore_case(scheme, "wss")
                                    ? "wss:// (WebSocket over TLS) is not supported: use ws://"
                                    : "unsupported scheme \"" + std::string(scheme) + "\" in " +
                                          quoted + ": use ws://");
  }
  std::string_view rest = url.substr(scheme_end + 3);
  // RFC 6455 §3: "Fragment identifiers are meaningless in the context of WebSocket URIs and
  // MUST NOT be used on these URIs."
  if (rest.find('#') != std::string_view::npos) {
    throw std::invalid_argument("a WebSocket URL must not have a fragment (#...): " + quoted);
  }
  const auto authority_end = rest.find_first_of("/?");
  const std::string_view authority = rest.substr(0, authority_end);
  const std::string_view path =
      authority_end == std::string_view::npos ? std::string_view{} : rest.substr(authority_end);
  if (authority.find('@') != std::string_view::npos) {
    throw std::invalid_argument("user information (user@host) is not supported: " + quoted);
  }

  WsUrl parsed;
  std::string_view port_text;
  if (!authority.empty() && authority.front() == '[') {
    // RFC 3986 §3.2.2: an IPv6 literal is written in brackets, so its colons are not the port's.
    const auto close = authority.find(']');
    if (close == std::string_view::npos) {
      throw std::invalid_argument("unterminated IPv6 address (missing ']') in " + quoted);
    }
    parsed.host = authority.substr(1, close - 1);
    const std::string_view after = authority.substr(close + 1);
    if (!after.empty() && after.front() != ':') {
      throw std::invalid_argument("unexpected text after the IPv6 address in " + quoted);
    }
    port_text = after.empty() ? after : after.substr(1);
  } else {
    if (std::count(authority.begin(), authority.end(), ':') > 1) {
      throw std::invalid_argument("an IPv6 address must be in brackets (ws://[::1]:port/): " +
                                  quoted);
    }
    const auto colon = authority.find(':');
    parsed.host = authority.substr(0, colon);
    port_text = colon == std::string_view::npos ? std::string_view{} : authority.substr(colon + 1);
  }
  if (parsed.host.empty()) {
    throw std::invalid_argument("missing host in " + quoted);
  }
  // RFC 3986 §3.2.3: an empty port ("ws://host:/") means the default one.
  if (!port_text.empty()) {
    parsed.port = parse_port(port_text);
  }
  // RFC 6455 §3: the resource name is the path ("/" if empty) and the query, "?" included.
  parsed.path = path.empty() || path.front() == '?' ? "/" + std::string(path) : std::string(path);
  return parsed;
}

CloseError::CloseError(CloseStatus close_status, bool clean)
    : std::runtime_error("closed " + describe(close_status)),
      status(std::move(close_status)),
      was_clean(clean) {}

// ---------------------------------------------------------------------------------------------
// The connection

// Everything a Client holds. The members are split by who may touch them: the reading thread
// alone, or any thread while holding `mutex`.
struct Client::Connection {
  Connection(Fd fd, Limits limits, std::string subprotocol_chosen)
      : reader(Role::kClient, limits),
        subprotocol(std::move(subprotocol_chosen)),
        socket(std::move(fd)) {}

  // --- The reading thread's (read_message(), close()); never touched by senders. ---
  // Role::kClient: §5.1 makes the reader refuse masked frames from the server.
  MessageReader reader;
  std::string inbox;  // bytes received; those before inbox_pos are consumed
  std::size_t inbox_pos = 0;
  std::optional<CloseError> ended;  // how the connection ended, once it has
  const std::string subprotocol;

  // Wakes the reading thread when another thread calls send_close(), so that a read_message()
  // already waiting without a deadline starts counting kCloseTimeout from then on.
  StopSignal close_started;

  // --- Shared: every access holds `mutex`. This is where the one-writer-at-a-time rule is
  // enforced: a frame is written whole, under the lock, so frames from different threads never
  // interleave. The reading thread takes it too, to send pongs and close frames, and to close
  // the socket, so a sender never writes to a descriptor that has been closed and reused. ---
  mutable std::mutex mutex;
  // Closed (invalid) once the connection has ended. Only the reading thread changes it (under
  // `mutex`), so the reading thread alone may also use it without the lock, to read.
  Fd socket;
  bool close_sent = false;  // §5.5.1: after our close frame we send no more data frames
  Deadline close_deadline = kNoDeadline;  // when we stop waiting for the server's close frame
  std::optional<std::string> last_pong;

  // Sends one masked frame. The caller holds `mutex`. Returns false if the write failed.
  [[nodiscard]] bool write_frame_locked(Opcode opcode, std::string_view payload) const {
    // §5.1: "a client MUST mask all frames that it sends to the server", each with its own
    // fresh key (see random_masking_key for why the key must be unpredictable).
    return write_all(socket.get(), encode_frame(opcode, payload, true, random_masking_key())) ==
           IoStatus::kOk;
  }

  // Sends our close frame unless one is out already, and starts the close deadline.
  // The caller holds `mutex`. Returns false if the write failed.
  bool send_close_locked(const CloseStatus& status) {
    if (close_sent || !socket.valid()) {
      return true;
    }
    close_sent = true;
    close_deadline = Clock::now() + kCloseTimeout;
    close_started.trigger();
    return write_frame_locked(Opcode::kClose, encode_close_payload(status));
  }

  // Runs `write` under `mutex` unless the connection has ended. Throws std::runtime_error if it
  // has, or if `write` returns false (the write failed).
  template <typename Write>
  void write_or_throw(const Write& write) {
    const std::lock_guard lock(mutex);
    if (!socket.valid()) {
      throw std::runtime_error("cannot send: the connection is closed");
    }
    if (!write()) {
      const int error = errno;  // EAGAIN: no progress for kWriteTimeout (see connect_before)
      throw std::runtime_error("send failed: " +
                               (error == EAGAIN ? "the server accepted no data for " +
                                                      std::to_string(kWriteTimeout.count()) + " s"
                                                : error_text(error)));
    }
  }

  // Sends a data or ping frame, refusing once the connection is closing or closed.
  void send(Opcode opcode, std::string_view payload) {
    write_or_throw([&] {
      if (close_sent) {  // §5.5.1: no data after our close frame
        throw std::runtime_error("cannot send: the closing handshake has started");
      }
      return write_frame_locked(opcode, payload);
    });
  }

  // Reads more bytes into `inbox`. `wake_fd` (or -1) interrupts the wait with kStopped.
  IoStatus fill(Deadline deadline, int wake_fd) {
    if (inbox_pos > 0) {  // drop what the reader has consumed before appending more
      inbox.erase(0, inbox_pos);
      inbox_pos = 0;
    }
    std::array<char, std::size_t{64} * 1024> chunk{};
    std::size_t received = 0;
    const IoStatus status = read_some(socket.get(), chunk, received, deadline, wake_fd);
    if (status == IoStatus::kOk) {
      inbox.append(chunk.data(), received);
    }
    return status;
  }

  // Closes the socket, records how the connection ended, and throws it.
  [[noreturn]] void end(CloseStatus status, bool clean) {
    {
      const std::lock_guard lock(mutex);
      socket = Fd();
    }
    ended.emplace(std::move(status), clean);
    throw *ended;
  }

  // Sends our close frame (unless it is out already), waits for the server to close TCP, and
  // ends with `status`. `clean`: the server sent a valid close frame, either starting the closing
  // handshake or answering ours, and our reply echoes its code (§5.5.1: "the endpoint typically
  // echos the status code it received"); then §7.1.1: "the underlying TCP connection, in most
  // normal cases, SHOULD be closed first by the server". Otherwise the server broke a rule:
  // §7.1.7, our close frame carries the code the rule calls for, and nothing more from the
  // server is processed (not even its close reply); waiting for its TCP close rather than
  // closing at once keeps unread bytes from turning our close into a TCP reset.
  [[noreturn]] void close_and_end(CloseStatus status, bool clean) {
    {
      const std::lock_guard lock(mutex);
      // If the close frame cannot be written, the server has gone already; nothing is left to do.
      send_close_locked(clean ? CloseStatus{status.code, {}} : status);
    }
    const Deadline deadline = Clock::now() + kCloseTimeout;
    while (fill(deadline, -1) == IoStatus::kOk) {
      inbox.clear();  // read and dropped: the connection is ending
    }
    end(std::move(status), clean);
  }

  Message read_message(Deadline deadline) {
    if (ended) {
      throw *ended;
    }
    while (true) {
      if (inbox_pos < inbox.size()) {
        MessageReader::Result result = reader.read(std::string_view(inbox).substr(inbox_pos));
        inbox_pos += result.consumed;
        if (result.error) {
          close_and_end(std::move(*result.error), false);
        }
        if (!result.event) {
          continue;  // every buffered byte consumed, the event is not complete yet
        }
        if (auto* message = std::get_if<Message>(&*result.event)) {
          return std::move(*message);
        }
        if (auto* ping = std::get_if<Ping>(&*result.event)) {
          const std::lock_guard lock(mutex);
          // §5.5.2: answer with a pong carrying the ping's payload, unless our close is out
          // (§5.5.1: after it we send nothing but wait for the reply).
          if (!close_sent && socket.valid()) {
            static_cast<void>(write_frame_locked(Opcode::kPong, ping->payload));
          }
        } else if (auto* pong = std::get_if<Pong>(&*result.event)) {
          // §5.5.3: a pong may answer our ping or be a unilateral heartbeat; either way it
          // needs no answer. Keeping the latest lets a caller see its ping answered.
          const std::lock_guard lock(mutex);
          last_pong = std::move(pong->payload);
        } else if (auto* close = std::get_if<Close>(&*result.event)) {
          close_and_end(std::move(close->status), true);
        }
        continue;
      }

      // Nothing buffered: wait for bytes. While our close is out, the wait for the server's
      // reply is bounded by close_deadline, whatever the caller's deadline.
      std::unique_lock lock(mutex);
      const bool closing = close_sent;
      const Deadline wait_until = std::min(deadline, close_deadline);
      lock.unlock();
      const IoStatus status = fill(wait_until, closing ? -1 : close_started.fd());
      switch (status) {
        case IoStatus::kOk:
        case IoStatus::kStopped:  // send_close() from another thread: recompute the deadline
        case IoStatus::kWoken:    // never: the client passes no wake fd
          break;
        case IoStatus::kTimeout:
          if (closing && Clock::now() >= close_deadline) {
            end(make_close_status(CloseCode::kAbnormalClosure,
                                  "no close frame from the server within " +
                                      std::to_string(kCloseTimeout.count()) + " s"),
                false);
          }
          throw TimeoutError("read_message: no complete message before the deadline");
        case IoStatus::kEof:
          // §7.1.5: TCP closed without a close frame: "_The WebSocket Connection Close Code_ is
          // considered to be 1006".
          end(make_close_status(CloseCode::kAbnormalClosure,
                                "the server closed TCP without a close frame"),
              false);
        case IoStatus::kError:
          end(make_close_status(CloseCode::kAbnormalClosure,
                                "connection error: " + error_text(errno)),
              false);
      }
    }
  }
};

Client::Client(std::unique_ptr<Connection> connection) : connection_(std::move(connection)) {}
Client::Client(Client&& other) noexcept = default;
Client& Client::operator=(Client&& other) noexcept = default;
Client::~Client() = default;

Client Client::dial(const std::string& url, const DialOptions& options) {
  const WsUrl target = parse_ws_url(url);
  const std::string key = make_websocket_key();
  const std::string request = build_request(target, key, options);
  const Deadline deadline = Clock::now() + options.timeout;

  Fd socket = connect_tcp(target, deadline, options.timeout);
  if (write_all(socket.get(), request) != IoStatus::kOk) {
    throw handshake_failed("cannot send the request: " + error_text(errno));
  }

  // Read until the blank line that ends the response head. The server may send its first
  // frame right behind the 101 in the same segment: those bytes stay in `buffer` and become
  // the start of the connection's inbox.
  std::string buffer;
  std::optional<std::size_t> head_size;
  while (!(head_size = find_head_end(buffer)) && buffer.size() <= kMaxResponseHeadSize) {
    std::array<char, 4096> chunk{};
    std::size_t received = 0;
    switch (read_some(socket.get(), chunk, received, deadline, -1)) {
      case IoStatus::kOk:
        buffer.append(chunk.data(), received);
        break;
      case IoStatus::kTimeout:
        throw handshake_failed("no response within " + describe_duration(options.timeout));
      case IoStatus::kEof:
        throw handshake_failed("the server closed the connection without a response");
      case IoStatus::kError:
      case IoStatus::kStopped:
      case IoStatus::kWoken:
        throw handshake_failed("connection error: " + error_text(errno));
    }
  }
  if (!head_size || *head_size > kMaxResponseHeadSize) {
    throw handshake_failed("response head larger than " + std::to_string(kMaxResponseHeadSize) +
                           " bytes");
  }
  std::string subprotocol =
      check_response(std::string_view(buffer).substr(0, *head_size), key, options.subprotocols);

  auto connection =
      std::make_unique<Connection>(std::move(socket), options.limits, std::move(subprotocol));
  connection->inbox = buffer.substr(*head_size);
  return Client(std::move(connection));
}

const std::string& Client::subprotocol() const { return connection_->subprotocol; }

void Client::send_text(std::string_view text) { connection_->send(Opcode::kText, text); }

void Client::send_binary(std::string_view data) { connection_->send(Opcode::kBinary, data); }

void Client::ping(std::string_view payload) {
  // §5.5: control frames carry at most 125 bytes.
  if (payload.size() > kMaxControlPayloadSize) {
    throw std::invalid_argument("a ping payload is at most 125 bytes");
  }
  connection_->send(Opcode::kPing, payload);
}

void Client::send_raw(std::string_view bytes) {
  Connection& c = *connection_;
  c.write_or_throw([&] { return write_all(c.socket.get(), bytes) == IoStatus::kOk; });
}

std::string Client::read_raw(Deadline deadline) {
  Connection& c = *connection_;
  if (c.inbox_pos == c.inbox.size() && c.socket.valid()) {
    const IoStatus status = c.fill(deadline, -1);
    if (status == IoStatus::kTimeout) {
      throw TimeoutError("read_raw: nothing arrived before the deadline");
    }
    if (status != IoStatus::kOk && status != IoStatus::kEof) {
      throw std::runtime_error("connection error: " + error_text(errno));
    }
  }
  c.inbox.erase(0, std::exchange(c.inbox_pos, 0));
  return std::exchange(c.inbox, {});  // "" after kEof
}

Message Client::read_message(Deadline deadline) { return connection_->read_message(deadline); }

std::optional<std::string> Client::last_pong() const {
  const Connection& c = *connection_;
  const std::lock_guard lock(c.mutex);
  return c.last_pong;
}

void Client::send_close(const CloseStatus& status) {
  Connection& c = *connection_;
  c.write_or_throw([&] { return c.send_close_locked(status); });
}

CloseStatus Client::close(const CloseStatus& status) {
  Connection& c = *connection_;
  if (c.ended) {
    return c.ended->status;
  }
  try {
    send_close(status);
  } catch (const std::runtime_error&) {
    // The server is gone; read_message() below finds out how and reports it.
  }
  // Data messages that were in flight are dropped: after our close they no longer matter.
  // read_message() ends this loop: the close deadline bounds its wait.
  while (true) {
    try {
      c.read_message(kNoDeadline);
    } catch (const CloseError& end) {
      return end.status;
    }
  }
}

}  // namespace ws
