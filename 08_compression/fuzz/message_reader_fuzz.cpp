// libFuzzer target for MessageReader (RFC 6455 §5): arbitrary bytes, delivered in arbitrary
// pieces, to a server or a client reader, checking the reader's promises on every event.
// Input layout: byte 0 chooses the role (bit 0), the small or default limits (bit 7) and the
// piece sizes (bits 1-6: 0 = all at once, n = pseudo-random pieces of 1..n bytes).
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string_view>
#include <variant>
#include <vector>

#include "close.hpp"
#include "frame.hpp"
#include "message.hpp"
#include "utf8.hpp"

namespace {

void check(bool condition, const char* what) {
  if (!condition) {
    std::fprintf(stderr, "invariant violated: %s\n", what);
    std::abort();
  }
}

struct Outcome {
  std::vector<ws::Event> events;
  std::optional<ws::CloseStatus> error;
};

void check_event(const ws::Event& event, const ws::Limits& limits) {
  if (const auto* message = std::get_if<ws::Message>(&event)) {
    check(message->type == ws::Opcode::kText || message->type == ws::Opcode::kBinary,
          "message type is text or binary");
    check(message->payload.size() <= limits.max_message_size, "message within the limit");
    check(message->payload.capacity() <= std::max<std::size_t>(limits.max_message_size, 15),
          "message buffer never reserved past the limit");
    if (message->type == ws::Opcode::kText) {
      check(ws::is_valid_utf8(message->payload), "text message is valid UTF-8");
    }
  } else if (const auto* ping = std::get_if<ws::Ping>(&event)) {
    check(ping->payload.size() <= ws::kMaxControlPayloadSize, "ping within 125 bytes");
  } else if (const auto* pong = std::get_if<ws::Pong>(&event)) {
    check(pong->payload.size() <= ws::kMaxControlPayloadSize, "pong within 125 bytes");
  } else {
    const auto& status = std::get<ws::Close>(event).status;
    check(ws::is_valid_received_close_code(status.code) ||
              (status.code == 1005 && status.reason.empty()),
          "close code valid on the wire");
    check(status.reason.size() <= ws::kMaxCloseReasonSize, "close reason within 123 bytes");
    check(ws::is_valid_utf8(status.reason), "close reason is valid UTF-8");
  }
}

/// Feeds `input` to a new reader in pieces of the sizes `next_piece` returns, checking the
/// contract of read() at every call.
template <typename NextPiece>
Outcome run(ws::Role role, ws::Limits limits, std::string_view input, NextPiece next_piece) {
  ws::MessageReader reader(role, limits);
  Outcome outcome;
  std::size_t start = 0;
  while (start < input.size()) {
    const std::size_t end = std::min(input.size(), start + next_piece());
    std::string_view piece = input.substr(start, end - start);
    start = end;
    while (true) {
      const ws::MessageReader::Result result = reader.read(piece);
      check(result.consumed <= piece.size(), "consumed <= input");
      check(!(result.event && result.error), "never both an event and an error");
      piece.remove_prefix(result.consumed);
      if (result.error) {
        check(reader.failed(), "failed() after an error");
        check(
            result.error->code == 1002 || result.error->code == 1007 || result.error->code == 1009,
            "error code is 1002, 1007 or 1009");
        check(result.error->reason.size() <= ws::kMaxCloseReasonSize, "error reason fits");
        const ws::MessageReader::Result again = reader.read(input.substr(start));
        check(again.consumed == 0 && !again.event && again.error == result.error,
              "no event after an error, and the same error again");
        outcome.error = result.error;
        return outcome;
      }
      if (result.event) {
        check(result.consumed > 0, "an event consumes at least one byte");
        check_event(*result.event, limits);
        outcome.events.push_back(*result.event);
      } else {
        check(piece.empty(), "without event or error, read() consumes everything");
      }
      if (piece.empty()) {
        break;
      }
    }
  }
  return outcome;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) {
    return 0;
  }
  const std::uint8_t control = data[0];
  const ws::Role role = (control & 0x01U) != 0 ? ws::Role::kClient : ws::Role::kServer;
  // Small limits let the fuzzer reach the 1009 paths with short inputs.
  const ws::Limits limits = (control & 0x80U) != 0 ? ws::Limits{300, 1000} : ws::Limits{};
  const std::size_t max_piece = (control >> 1U) & 0x3FU;
  const std::string_view input(reinterpret_cast<const char*>(data + 1), size - 1);

  const Outcome whole = run(role, limits, input, [&] { return input.size(); });
  if (max_piece == 0) {
    return 0;
  }
  std::uint32_t seed = control;
  const auto next_piece = [&] {
    seed = seed * 1103515245U + 12345U;
    return 1 + (seed >> 16U) % max_piece;
  };
  const Outcome pieces = run(role, limits, input, next_piece);
  check(pieces.events == whole.events, "same events however the bytes are split");
  check(pieces.error == whole.error, "same error however the bytes are split");
  return 0;
}
