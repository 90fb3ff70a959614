// Reading messages from a stream of frames: fragmentation (RFC 6455 §5.4), control frames
// (§5.5), text and binary data (§5.6), size limits (§10.4) and validation of input (§10.7), and
// compressed messages when permessage-deflate was negotiated (RFC 7692 §6, §7.2.2).
// MessageReader turns received bytes, split however the network likes, into messages and control
// events, and enforces every framing rule with the close code that RFC 6455 names for it.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

#include "close.hpp"
#include "frame.hpp"
#include "permessage_deflate.hpp"
#include "utf8.hpp"

namespace ws {

/// Which end of the connection we are. RFC 6455 §5.1: a client masks every frame it sends
/// and a server masks none, so the role decides which frames we accept.
enum class Role { kServer, kClient };

/// The default for both limits: big enough for a chat or an echo test, small enough that a
/// few hundred connections cannot exhaust the memory of a small machine.
inline constexpr std::uint64_t kDefaultMaxSize = std::uint64_t{16} * 1024 * 1024;

/// Bounds on what a peer may send. RFC 6455 §10.4: an implementation "SHOULD impose a limit
/// on frame sizes and the total message size after reassembling from multiple frames".
/// Exceeding either fails the connection with 1009. A compressed message is held to
/// max_message_size twice: its compressed bytes, and the bytes they inflate to.
struct Limits {
  std::uint64_t max_frame_size = kDefaultMaxSize;    // payload bytes of any single frame
  std::uint64_t max_message_size = kDefaultMaxSize;  // payload bytes of a whole message
};

/// A complete data message, reassembled from its fragments.
struct Message {
  Opcode type = Opcode::kText;  // kText (valid UTF-8, checked) or kBinary
  std::string payload;

  friend bool operator==(const Message&, const Message&) = default;
};

/// A Ping from the peer: RFC 6455 §5.5.2 asks for a Pong with the same payload.
struct Ping {
  std::string payload;

  friend bool operator==(const Ping&, const Ping&) = default;
};

/// A Pong from the peer, answering our Ping or sent unsolicited as a heartbeat (§5.5.3).
struct Pong {
  std::string payload;

  friend bool operator==(const Pong&, const Pong&) = default;
};

/// A valid Close frame from the peer; `status` is {1005, ""} when it carried no payload.
struct Close {
  CloseStatus status;

  friend bool operator==(const Close&, const Close&) = default;
};

/// Everything a reader can hand to the application.
using Event = std::variant<Message, Ping, Pong, Close>;

/// Turns incoming bytes into Events, enforcing RFC 6455 §5 as it goes.
///
/// Pull style: read() consumes bytes from the front of its argument until one event is
/// complete, a rule is broken, or the bytes run out, and says how many it consumed. The
/// caller keeps the rest and calls again:
///
///     while (pos < data.size()) {
///       auto result = reader.read(data.substr(pos));
///       pos += result.consumed;
///       if (result.error) { /* send Close with *result.error, then close */ }
///       if (result.event) { /* handle it */ }
///     }
///
/// Nothing is parsed twice: a partial header waits in a 14-byte buffer, and payload bytes are
/// unmasked straight into the message being assembled. Text is checked for UTF-8 as each
/// piece arrives, so invalid text fails at once, even in the middle of a frame.
///
/// Control frames (Ping, Pong, Close) may arrive between the fragments of a message
/// (§5.4); they are reported at once and leave the message being assembled as it was.
///
/// Once a rule is broken the reader is failed for good: every later read() consumes nothing
/// and returns the same error. After a Close event the peer must send nothing more (§5.5.1);
/// the reader does not enforce it, the connection simply stops reading.
///
/// Memory: a header alone never makes the reader reserve more than kMaxUpfrontReserve bytes.
/// Beyond that the message buffer grows with the bytes that actually arrive (doubling), and
/// never beyond max_message_size nor beyond what the final frame's header announced.
///
/// Compression (RFC 7692), once accept_compressed() has been called: a data message whose first
/// frame has RSV1 set is compressed. Its payload is unmasked and inflated piece by piece as it
/// arrives, and text is checked for UTF-8 as it inflates, so a message is refused as soon as it
/// inflates past the limit, before the memory is spent.
class MessageReader {
 public:
  /// The outcome of one read().
  /// `consumed`: bytes taken from the front of the input (all of them, unless an event
  /// completed first). `event`: set when a message or control frame completed. `error`: set
  /// when the peer broke a rule; holds the code (1002, 1007 or 1009) and a short reason to
  /// send in our Close frame. `event` and `error` are never both set.
  struct Result {
    std::size_t consumed = 0;
    std::optional<Event> event;
    std::optional<CloseStatus> error;
  };

  /// The most memory reserved for a message before its bytes arrive. A header can announce up
  /// to the limit (16 MiB by default) and then send nothing: reserving it all would let one
  /// small header per connection tie up that much memory.
  static constexpr std::size_t kMaxUpfrontReserve = std::size_t{64} * 1024;

  explicit MessageReader(Role role, Limits limits = {});

  /// Accepts compressed messages from now on: permessage-deflate was negotiated, the peer
  /// compresses with a window of 2^`window_bits` bytes, and with `no_context_takeover` it starts
  /// every message afresh (RFC 7692 §7.1.1, §7.1.2). Without this call RSV1 fails the connection,
  /// as RFC 6455 §5.2 requires when no extension is negotiated.
  void accept_compressed(int window_bits, bool no_context_takeover);

  /// Consumes bytes until an event completes, an error is found, or `bytes` runs out.
  Result read(std::string_view bytes);

  /// True once a rule has been broken; read() will only repeat the error.
  [[nodiscard]] bool failed() const;

  /// True when nothing is under way: every byte read so far belongs to an event already
  /// returned. False from the first byte of a frame's header until the frame is complete and,
  /// for a fragmented message (§5.4), from its first fragment to its last, control frames in
  /// between included. A server uses it to time how long a peer takes to finish what it started.
  [[nodiscard]] bool between_messages() const;

 private:
  enum class Phase { kHeader, kPayload };

  std::size_t buffer_header_bytes(std::string_view bytes);
  [[nodiscard]] std::optional<CloseStatus> check_header() const;
  void begin_frame();
  std::optional<CloseStatus> consume_payload(std::string_view chunk);
  std::optional<CloseStatus> inflate_payload(std::string_view chunk);
  std::optional<CloseStatus> check_inflated(std::size_t from);
  std::optional<CloseStatus> finish_compressed(std::optional<Event>& event);
  std::optional<CloseStatus> end_frame(std::optional<Event>& event);
  Result fail(CloseStatus error, std::size_t consumed);

  Role role_;
  Limits limits_;
  Phase phase_ = Phase::kHeader;
  std::optional<CloseStatus> error_;

  // The frame being read.
  std::array<char, kMaxFrameHeaderSize> header_bytes_{};
  std::size_t header_bytes_size_ = 0;
  FrameHeader header_;
  std::uint64_t frame_remaining_ = 0;
  std::size_t key_offset_ = 0;

  // The data message being assembled, possibly over several frames.
  bool message_open_ = false;
  Opcode message_type_ = Opcode::kText;
  std::string message_;
  Utf8Validator utf8_;

  // Compression, when negotiated: the peer's window and context rules, and the Inflater, made
  // at the first compressed message (and dropped after each one when nothing carries over).
  struct Compression {
    int window_bits = 15;
    bool no_context_takeover = false;
  };
  std::optional<Compression> compression_;
  std::optional<Inflater> inflater_;
  bool message_compressed_ = false;    // the open message's first frame had RSV1
  std::uint64_t compressed_size_ = 0;  // its payload bytes on the wire so far

  // The payload of the control frame being read (at most 125 bytes, so no allocation).
  std::array<char, kMaxControlPayloadSize> control_payload_{};
  std::size_t control_size_ = 0;
};

}  // namespace ws
