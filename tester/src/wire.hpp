// A deliberately independent, blocking WebSocket client for the tester: it performs the
// opening handshake (RFC 6455 §4.1), writes client frames byte-exactly, malformed ones included
// (§5.2), and reads server frames with deadlines. It shares no code with any server under test.
#pragma once

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace tester {

/// A loopback TCP endpoint: the tester only ever connects to this machine.
struct ServerAddress {
  std::string host;  // dotted IPv4, always inside 127.0.0.0/8
  std::uint16_t port = 0;
};

using Clock = std::chrono::steady_clock;
using Deadline = Clock::time_point;

/// Returns the point in time `budget` from now.
inline Deadline deadline_in(Clock::duration budget) { return Clock::now() + budget; }

/// Opcodes as they appear in the low nibble of a frame's first byte (RFC 6455 §5.2, §11.8).
/// Plain integers rather than an enum class, because the tester sends the reserved values 3-7 and
/// 11-15 on purpose.
namespace opcode {
inline constexpr std::uint8_t kContinuation = 0x0;
inline constexpr std::uint8_t kText = 0x1;
inline constexpr std::uint8_t kBinary = 0x2;
inline constexpr std::uint8_t kClose = 0x8;
inline constexpr std::uint8_t kPing = 0x9;
inline constexpr std::uint8_t kPong = 0xA;
}  // namespace opcode

/// The RSV bits as a 3-bit number: RSV1 is the most significant (RFC 6455 §5.2).
namespace rsv {
inline constexpr std::uint8_t kRsv1 = 0b100;
inline constexpr std::uint8_t kRsv2 = 0b010;
inline constexpr std::uint8_t kRsv3 = 0b001;
}  // namespace rsv

/// How the payload length field is written.
enum class LengthEncoding {
  kMinimal,  // 7-bit, 16-bit or 64-bit, whichever is shortest (the §5.2 MUST)
  k16Bit,    // always 126 followed by a 16-bit length
  k64Bit,    // always 127 followed by a 64-bit length
};

/// A client frame to put on the wire. The defaults describe a valid, final, masked text frame;
/// every field can be set to something invalid on purpose.
struct FrameSpec {
  std::uint8_t opcode = opcode::kText;  // low 4 bits are used
  bool fin = true;
  std::uint8_t rsv = 0;  // low 3 bits are used, see namespace rsv
  bool masked = true;    // RFC 6455 §5.1: a client MUST mask; false builds a violation
  std::string payload;
  // Length written in the header when it differs from payload.size(). A larger value announces
  // bytes that are never sent (or are sent later by hand), for example 2^63 - 1.
  std::optional<std::uint64_t> declared_length;
  LengthEncoding length_encoding = LengthEncoding::kMinimal;
  std::array<std::uint8_t, 4> masking_key{0x5a, 0xc3, 0x19, 0xe7};
};

/// Returns the exact bytes of `spec`: header, masking key (if masked) and the masked payload.
/// Nothing is validated, so any combination of bits can be produced.
std::string encode_frame(const FrameSpec& spec);

/// Frame builders for the common cases; all produce masked frames.
FrameSpec text_frame(std::string payload, bool fin = true);
FrameSpec binary_frame(std::string payload, bool fin = true);
FrameSpec continuation_frame(std::string payload, bool fin = true);
FrameSpec ping_frame(std::string payload = {});
FrameSpec pong_frame(std::string payload = {});
/// A close frame whose body is the 2-byte code (network order) followed by `reason`
/// (RFC 6455 §5.5.1).
FrameSpec close_frame(std::uint16_t code, std::string_view reason = {});
/// A close frame with an empty body (no status code).
FrameSpec empty_close_frame();
/// Splits `payload` into frames of at most `fragment_size` bytes: the first carries `first_opcode`,
/// the rest are continuations, the last has FIN set (RFC 6455 §5.4). An empty payload yields one
/// empty final frame.
std::vector<FrameSpec> fragment_message(std::uint8_t first_opcode, std::string_view payload,
                                        std::size_t fragment_size);

/// A frame as the server sent it, unmasked if it was (wrongly) masked.
struct ServerFrame {
  bool fin = false;
  std::uint8_t rsv = 0;
  std::uint8_t opcode = 0;
  bool masked = false;
  bool minimal_length = true;  // RFC 6455 §5.2: the shortest length encoding MUST be used
  std::string payload;
};

/// How a read ended.
enum class ReadStatus {
  kFrame,        // a complete frame is in ReadResult::frame
  kEndOfStream,  // the server closed TCP (FIN) with no partial frame pending
  kReset,        // the connection was reset or failed
  kTimeout,      // the deadline passed first; the connection is still usable
  kMalformed,    // the server's bytes are not a frame (detail in ReadResult::error)
};

/// Returns a short name for `status`, for messages.
const char* to_string(ReadStatus status);

struct ReadResult {
  ReadStatus status = ReadStatus::kTimeout;
  ServerFrame frame;
  std::string error;
};

/// One HTTP response head (status line and header fields).
struct HttpResponse {
  int status = 0;
  std::string reason;
  std::vector<std::pair<std::string, std::string>> headers;

  /// Returns the value of the first header named `name` (case-insensitive), if any.
  [[nodiscard]] std::optional<std::string> header(std::string_view name) const;
};

/// Fields of an opening handshake request. The defaults form a valid RFC 6455 §4.1 request;
/// tests change or drop single fields to build invalid ones.
struct UpgradeRequest {
  std::string method = "GET";
  std::string target = "/";
  std::string http_version = "HTTP/1.1";
  std::optional<std::string> host;  // nullopt: "HOST:PORT" of the server
  std::optional<std::string> upgrade = "websocket";
  std::optional<std::string> connection = "Upgrade";
  std::optional<std::string> key;  // nullopt: a fresh random 16-byte nonce, base64-encoded
  bool send_key = true;
  std::optional<std::string> version = "13";
  std::vector<std::pair<std::string, std::string>> extra_headers;
};

/// Returns the Sec-WebSocket-Accept value for `key` (RFC 6455 §4.2.2: base64 of the SHA-1 of the
/// key followed by the fixed GUID), computed with OpenSSL as an independent reference.
std::string websocket_accept_for(std::string_view key);

/// Returns a fresh Sec-WebSocket-Key: 16 random bytes, base64-encoded (RFC 6455 §4.1).
std::string make_websocket_key();

/// How bytes are handed to the kernel.
struct SendPlan {
  std::size_t chunk_size = 0;          // 0: one write; otherwise writes of at most this size
  std::chrono::milliseconds pause{0};  // sleep between chunks (with TCP_NODELAY, so a small
                                       // chunk really leaves as its own segment)
};

/// A blocking TCP client on a non-blocking socket driven by poll(): every operation takes a
/// deadline, so no call can hang a test. Not thread-safe; one test owns one client.
class WireClient {
 public:
  /// Connects to `address` (loopback only). Throws std::runtime_error on failure or timeout.
  static WireClient connect(const ServerAddress& address, Deadline deadline);

  WireClient(WireClient&& other) noexcept;
  WireClient& operator=(WireClient&& other) noexcept;
  WireClient(const WireClient&) = delete;
  WireClient& operator=(const WireClient&) = delete;
  ~WireClient();

  /// Returns the request bytes for `request` aimed at this client's server; `key_out` receives
  /// the key actually used (empty when none is sent).
  std::string build_request(const UpgradeRequest& request, std::string* key_out) const;

  /// Performs a valid opening handshake and checks the server's 101 answer (status, Upgrade,
  /// Connection, Sec-WebSocket-Accept, no extension or subprotocol we did not offer; §4.1).
  /// Returns an empty string on success, or what was wrong. `response_out` receives the response
  /// head (whatever its status), so that a request offering an extension can judge the answer
  /// itself.
  std::string open_handshake(const UpgradeRequest& request_fields, Deadline deadline,
                             HttpResponse* response_out = nullptr);

  /// Reads one HTTP response head. Returns nullopt on end of stream, reset, timeout or a head
  /// larger than 16 KiB; `error` says which. Bytes after the head stay buffered for read_frame.
  std::optional<HttpResponse> read_http_response(Deadline deadline, std::string* error);

  /// Reads exactly `size` bytes that follow a response head (an HTTP body). Returns nullopt if
  /// the connection ends or the deadline passes first.
  std::optional<std::string> read_body(std::size_t size, Deadline deadline);

  /// Writes `bytes` following `plan`, reading whatever the server sends meanwhile into the
  /// receive buffer so that neither side can block the other. Returns false if the connection
  /// failed or the deadline passed before everything was written.
  bool send_bytes(std::string_view bytes, const SendPlan& plan, Deadline deadline);

  /// Reads the next complete server frame. A partial frame stays buffered on kTimeout.
  ReadResult read_frame(Deadline deadline);

  /// Half-closes our sending side (TCP FIN), keeping the read side open.
  void shutdown_write() const;
  /// Drops the connection with a TCP RST (SO_LINGER 0), like a crashed client.
  void reset();

  /// Returns true once the server's end of stream or a connection error has been seen.
  [[nodiscard]] bool peer_gone() const { return eof_ || failed_; }

 private:
  WireClient(int fd, ServerAddress address);

  enum class Fill { kData, kEndOfStream, kReset, kTimeout };
  // Waits until readable or `deadline`, then appends what is available to rx_.
  Fill fill(Deadline deadline);
  // Appends what is readable right now without waiting.
  Fill fill_now();
  void compact();

  int fd_ = -1;
  ServerAddress address_;
  std::string rx_;  // received, not yet consumed bytes start at rx_pos_
  std::size_t rx_pos_ = 0;
  bool eof_ = false;
  bool failed_ = false;
};

}  // namespace tester
