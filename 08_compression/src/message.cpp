// Reading messages from a stream of frames (RFC 6455 §5.4-§5.6, §10.4): header buffering,
// the framing rules with their close codes, unmasking, reassembly of fragments, UTF-8
// validation of text as it arrives, and inflating compressed messages (RFC 7692 §6, §7.2.2).
#include "message.hpp"

#include <algorithm>
#include <array>
#include <span>
#include <utility>

namespace ws {

namespace {

CloseStatus protocol_error(std::string reason) {
  return make_close_status(CloseCode::kProtocolError, std::move(reason));
}

CloseStatus too_big(std::string reason) {
  return make_close_status(CloseCode::kMessageTooBig, std::move(reason));
}

CloseStatus invalid_text(std::string reason) {
  return make_close_status(CloseCode::kInvalidPayloadData, std::move(reason));
}

/// Makes room for `needed` bytes in `buffer`: at least doubling the capacity, so that a
/// message arriving in many small pieces is copied O(1) times per byte, but never beyond
/// `ceiling`, the most the message can still legitimately reach.
void grow_capacity(std::string& buffer, std::size_t needed, std::size_t ceiling) {
  if (needed <= buffer.capacity()) {
    return;
  }
  const std::size_t target = std::min(std::max(needed, 2 * buffer.capacity()), ceiling);
  // std::string::reserve may round a request up (libstdc++ at least doubles the old
  // capacity, which would overshoot `ceiling`); a new, empty string reserves what it is asked.
  std::string bigger;
  bigger.reserve(target);
  bigger.append(buffer);
  buffer = std::move(bigger);
}

}  // namespace

MessageReader::MessageReader(Role role, Limits limits) : role_(role), limits_(limits) {}

void MessageReader::accept_compressed(int window_bits, bool no_context_takeover) {
  compression_ = Compression{window_bits, no_context_takeover};
}

bool MessageReader::failed() const { return error_.has_value(); }

bool MessageReader::between_messages() const {
  return phase_ == Phase::kHeader && header_bytes_size_ == 0 && !message_open_;
}

MessageReader::Result MessageReader::read(std::string_view bytes) {
  Result result;
  if (error_) {
    result.error = error_;
    return result;
  }
  std::size_t pos = 0;
  while (!result.event) {
    if (phase_ == Phase::kHeader) {
      pos += buffer_header_bytes(bytes.substr(pos));
      const std::string_view buffered(header_bytes_.data(), header_bytes_size_);
      if (decode_frame_header(buffered, header_) == 0) {
        break;  // every byte went into the header buffer and it is still incomplete
      }
      header_bytes_size_ = 0;
      // The header is judged before anything is allocated for its payload.
      if (auto error = check_header()) {
        return fail(std::move(*error), pos);
      }
      begin_frame();
    }

    const std::size_t available = bytes.size() - pos;
    const auto take =
        static_cast<std::size_t>(std::min<std::uint64_t>(frame_remaining_, available));
    if (take > 0) {
      const std::string_view chunk = bytes.substr(pos, take);
      pos += take;
      if (auto error = consume_payload(chunk)) {
        return fail(std::move(*error), pos);
      }
    }
    if (frame_remaining_ > 0) {
      break;  // the rest of this frame's payload has not arrived yet
    }
    if (auto error = end_frame(result.event)) {
      return fail(std::move(*error), pos);
    }
  }
  result.consumed = pos;
  return result;
}

std::size_t MessageReader::buffer_header_bytes(std::string_view bytes) {
  // Take exactly the header's bytes and not one more: what follows is payload, which goes
  // from the caller's buffer straight into the message. The first two bytes say how long the
  // header is, so copy those first, then the rest.
  std::size_t taken = 0;
  while (taken < bytes.size()) {
    const std::size_t wanted =
        header_bytes_size_ < 2 ? 2 : frame_header_size(static_cast<std::uint8_t>(header_bytes_[1]));
    if (header_bytes_size_ == wanted) {
      break;
    }
    const std::size_t count = std::min(wanted - header_bytes_size_, bytes.size() - taken);
    std::copy_n(bytes.begin() + static_cast<std::ptrdiff_t>(taken), count,
                header_bytes_.begin() + static_cast<std::ptrdiff_t>(header_bytes_size_));
    header_bytes_size_ += count;
    taken += count;
  }
  return taken;
}

std::optional<CloseStatus> MessageReader::check_header() const {
  // RFC 6455 §5.2: RSV1-3 "MUST be 0 unless an extension is negotiated that defines meanings
  // for non-zero values. If a nonzero value is received and none of the negotiated extensions
  // defines the meaning of such a nonzero value, the receiving endpoint MUST _Fail the
  // WebSocket Connection_." permessage-deflate gives RSV1 a meaning (RFC 7692 §6): "Per-Message
  // Compressed", set on the first frame of a compressed data message and on no other frame.
  const auto opcode = static_cast<Opcode>(header_.opcode);
  if (header_.rsv2 || header_.rsv3 || (header_.rsv1 && !compression_)) {
    return protocol_error("reserved bits set");
  }
  if (header_.rsv1 && is_control(opcode)) {
    return protocol_error("RSV1 set on a control frame");
  }
  if (header_.rsv1 && opcode == Opcode::kContinuation) {
    return protocol_error("RSV1 set on a continuation frame");
  }
  // RFC 6455 §5.2: "If an unknown opcode is received, the receiving endpoint MUST _Fail the
  // WebSocket Connection_."
  if (is_reserved_opcode(header_.opcode)) {
    return protocol_error("reserved opcode " + std::to_string(header_.opcode));
  }
  // RFC 6455 §5.1: "a server MUST close the connection upon receiving a frame that is not
  // masked" and "A client MUST close a connection if it detects a masked frame."
  if (role_ == Role::kServer && !header_.masked) {
    return protocol_error("unmasked frame from client");
  }
  if (role_ == Role::kClient && header_.masked) {
    return protocol_error("masked frame from server");
  }
  // RFC 6455 §5.2: with the 64-bit length "the most significant bit MUST be 0".
  if ((header_.payload_length >> 63U) != 0) {
    return protocol_error("payload length with top bit set");
  }

  if (is_control(opcode)) {
    // RFC 6455 §5.5: "All control frames MUST have a payload length of 125 bytes or less and
    // MUST NOT be fragmented."
    if (!header_.fin) {
      return protocol_error("fragmented control frame");
    }
    if (header_.payload_length > kMaxControlPayloadSize) {
      return protocol_error("control frame over 125 bytes");
    }
  } else if (opcode == Opcode::kContinuation) {
    // RFC 6455 §5.4: a continuation frame only ever follows a non-final data frame.
    if (!message_open_) {
      return protocol_error("continuation without a message");
    }
  } else if (message_open_) {
    // RFC 6455 §5.4: "the fragments of one message MUST NOT be interleaved between the
    // fragments of another message" (no extension defines interleaving here).
    return protocol_error("new message inside a fragmented one");
  }

  // RFC 6455 §10.4: limits on frame and message size, enforced from the declared length so
  // that an oversized frame is refused before a single payload byte is stored.
  if (header_.payload_length > limits_.max_frame_size) {
    return too_big("frame over " + std::to_string(limits_.max_frame_size) + " bytes");
  }
  if (!is_control(opcode)) {
    // The bytes of the open message so far: a compressed message counts them on the wire (its
    // inflated size is the Inflater's to bound), and a new message has none yet. Neither count
    // ever exceeds max_message_size, so this subtraction cannot wrap.
    const std::uint64_t so_far =
        opcode != Opcode::kContinuation ? 0 : message_.size() + compressed_size_;
    const std::uint64_t room = limits_.max_message_size - so_far;
    if (header_.payload_length > room) {
      return too_big("message over " + std::to_string(limits_.max_message_size) + " bytes");
    }
  }
  return std::nullopt;
}

void MessageReader::begin_frame() {
  phase_ = Phase::kPayload;
  frame_remaining_ = header_.payload_length;
  // Each frame has its own masking key, applied from its first payload byte (§5.3).
  key_offset_ = 0;

  const auto opcode = static_cast<Opcode>(header_.opcode);
  if (is_control(opcode)) {
    control_size_ = 0;
    return;
  }
  if (opcode != Opcode::kContinuation) {
    message_open_ = true;
    message_type_ = opcode;
    message_.clear();
    utf8_.reset();
    message_compressed_ = header_.rsv1;
    compressed_size_ = 0;
  }
  if (message_compressed_) {
    // The inflated message grows in the Inflater, bounded there; nothing to reserve here.
    if (!inflater_) {
      inflater_.emplace(compression_->window_bits, compression_->no_context_takeover,
                        limits_.max_message_size);
    }
    return;
  }
  // Reserve for the frame, but trust the declared length only up to kMaxUpfrontReserve: the
  // rest is reserved by consume_payload() as bytes arrive. check_header() bounded
  // payload_length by the limits, so the narrowing casts below are exact.
  const auto declared = static_cast<std::size_t>(header_.payload_length);
  const std::size_t ceiling =
      header_.fin ? message_.size() + declared : static_cast<std::size_t>(limits_.max_message_size);
  grow_capacity(message_, message_.size() + std::min(declared, kMaxUpfrontReserve), ceiling);
}

std::optional<CloseStatus> MessageReader::consume_payload(std::string_view chunk) {
  frame_remaining_ -= chunk.size();
  const auto opcode = static_cast<Opcode>(header_.opcode);
  if (!is_control(opcode) && message_compressed_) {
    return inflate_payload(chunk);
  }

  std::span<char> target;
  if (is_control(opcode)) {
    // Bounded by check_header(): a control payload fits in control_payload_.
    std::copy(chunk.begin(), chunk.end(),
              control_payload_.begin() + static_cast<std::ptrdiff_t>(control_size_));
    target = std::span<char>(control_payload_).subspan(control_size_, chunk.size());
    control_size_ += chunk.size();
  } else {
    // The message can end no later than this frame if FIN is set, and never past the limit.
    const std::size_t ceiling =
        header_.fin ? message_.size() + chunk.size() + static_cast<std::size_t>(frame_remaining_)
                    : static_cast<std::size_t>(limits_.max_message_size);
    grow_capacity(message_, message_.size() + chunk.size(), ceiling);
    const std::size_t old_size = message_.size();
    message_.append(chunk);
    target = std::span<char>(message_).subspan(old_size);
  }

  if (header_.masked) {
    key_offset_ = apply_mask(target, header_.masking_key, key_offset_);
  }

  // RFC 6455 §8.1: "When an endpoint is to interpret a byte stream as UTF-8 but finds that the
  // byte stream is not, in fact, a valid UTF-8 stream, that endpoint MUST _Fail the WebSocket
  // Connection_." Checking each piece as it arrives finds the bad byte without waiting for
  // the rest of a (possibly huge) message.
  if (!is_control(opcode) && message_type_ == Opcode::kText &&
      !utf8_.feed(std::string_view(target.data(), target.size()))) {
    return invalid_text("invalid UTF-8 in text message");
  }
  return std::nullopt;
}

std::optional<CloseStatus> MessageReader::end_frame(std::optional<Event>& event) {
  phase_ = Phase::kHeader;
  const auto opcode = static_cast<Opcode>(header_.opcode);
  if (is_control(opcode)) {
    const std::string_view payload(control_payload_.data(), control_size_);
    if (opcode == Opcode::kPing) {
      event = Ping{std::string(payload)};
    } else if (opcode == Opcode::kPong) {
      event = Pong{std::string(payload)};
    } else {
      // Close, the only other control opcode check_header() lets through. RFC 6455 §5.5.1
      // and §7.4: the code must be one allowed on the wire, and the reason valid UTF-8.
      CloseParseResult close = parse_close_payload(payload);
      if (close.error) {
        return std::move(close.error);
      }
      event = Close{std::move(close.received)};
    }
    return std::nullopt;
  }

  if (!header_.fin) {
    return std::nullopt;  // more fragments to come
  }
  if (message_compressed_) {
    return finish_compressed(event);
  }
  // RFC 6455 §5.6: "a particular text frame might include a partial UTF-8 sequence; however,
  // the whole message MUST contain valid UTF-8." The validator carries a partial sequence
  // from one fragment to the next; at the end, none may be left open.
  if (message_type_ == Opcode::kText && !utf8_.complete()) {
    return invalid_text("text message ends inside a UTF-8 sequence");
  }
  event = Message{message_type_, std::move(message_)};
  message_ = std::string();
  message_open_ = false;
  return std::nullopt;
}

// A piece of a compressed message's payload: unmasked a few KiB at a time into a buffer on the
// stack (the caller's bytes are not ours to change), and inflated at once. RFC 7692 §7.2.2: the
// payloads of all the message's frames, in order, are one DEFLATE stream.
std::optional<CloseStatus> MessageReader::inflate_payload(std::string_view chunk) {
  compressed_size_ += chunk.size();
  std::array<char, 4096> piece{};
  for (std::size_t pos = 0; pos < chunk.size(); pos += piece.size()) {
    const std::size_t count = std::min(piece.size(), chunk.size() - pos);
    std::copy_n(chunk.begin() + static_cast<std::ptrdiff_t>(pos), count, piece.begin());
    const std::span<char> bytes = std::span<char>(piece).first(count);
    if (header_.masked) {
      key_offset_ = apply_mask(bytes, header_.masking_key, key_offset_);
    }
    const std::size_t inflated_before = inflater_->message().size();
    if (auto error = inflater_->feed(std::string_view(bytes.data(), bytes.size()))) {
      return CloseStatus{error->code, std::move(error->reason)};
    }
    if (auto error = check_inflated(inflated_before)) {
      return error;
    }
  }
  return std::nullopt;
}

// §8.1 for compressed text: the inflated bytes from `from` on are checked as they come out.
std::optional<CloseStatus> MessageReader::check_inflated(std::size_t from) {
  const std::string_view inflated = std::string_view(inflater_->message()).substr(from);
  if (message_type_ == Opcode::kText && !utf8_.feed(inflated)) {
    return invalid_text("invalid UTF-8 in text message");
  }
  return std::nullopt;
}

// The final frame of a compressed message: RFC 7692 §7.2.2, the Inflater appends the
// 0x00 0x00 0xff 0xff the sender removed and inflates what that releases.
std::optional<CloseStatus> MessageReader::finish_compressed(std::optional<Event>& event) {
  const std::size_t inflated_before = inflater_->message().size();
  if (auto error = inflater_->finish()) {
    return CloseStatus{error->code, std::move(error->reason)};
  }
  if (auto error = check_inflated(inflated_before)) {
    return error;
  }
  if (message_type_ == Opcode::kText && !utf8_.complete()) {
    return invalid_text("text message ends inside a UTF-8 sequence");
  }
  event = Message{message_type_, inflater_->take_message()};
  if (compression_->no_context_takeover) {
    inflater_.reset();  // nothing carries over to the next message, so nothing is kept
  }
  message_open_ = false;
  compressed_size_ = 0;
  return std::nullopt;
}

MessageReader::Result MessageReader::fail(CloseStatus error, std::size_t consumed) {
  error_ = std::move(error);
  Result result;
  result.consumed = consumed;
  result.error = error_;
  return result;
}

}  // namespace ws
