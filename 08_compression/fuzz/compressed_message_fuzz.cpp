// libFuzzer target for compressed messages (RFC 7692 §6, §7.2.2) through MessageReader:
// arbitrary bytes as the DEFLATE payload of two messages, each cut into RSV1-first fragments,
// read by a server whose client agreed to permessage-deflate. Whatever the bytes, the reader
// must end each message as a whole, valid message within the limit, or with 1007 or 1009.
// Input layout: byte 0 chooses text or binary (bit 0), context takeover (bit 1), the small
// limit (bit 7) and the fragment size (bits 2-6: n + 1 bytes); byte 1 where the first message
// ends; the rest is the two messages' compressed bytes.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "frame.hpp"
#include "mask.hpp"
#include "message.hpp"
#include "utf8.hpp"

namespace {

void check(bool condition, const char* what) {
  if (!condition) {
    std::fprintf(stderr, "invariant violated: %s\n", what);
    std::abort();
  }
}

const ws::MaskingKey kKey = {0x37, 0xfa, 0x21, 0x3d};

/// `payload` as one message of client frames of `fragment` bytes, RSV1 on the first only.
std::string frames_of(ws::Opcode opcode, std::string_view payload, std::size_t fragment) {
  std::string frames;
  std::size_t pos = 0;
  do {
    const std::string_view piece = payload.substr(pos, fragment);
    pos += piece.size();
    std::string frame = ws::encode_frame(frames.empty() ? opcode : ws::Opcode::kContinuation, piece,
                                         pos >= payload.size(), kKey);
    if (frames.empty()) {
      frame[0] = static_cast<char>(static_cast<std::uint8_t>(frame[0]) | 0x40U);
    }
    frames += frame;
  } while (pos < payload.size());
  return frames;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 2) {
    return 0;
  }
  const std::uint8_t control = data[0];
  const ws::Opcode opcode = (control & 0x01U) != 0 ? ws::Opcode::kText : ws::Opcode::kBinary;
  const bool no_context_takeover = (control & 0x02U) == 0;
  // A small limit lets the fuzzer reach the 1009 paths with short inputs.
  const ws::Limits limits = (control & 0x80U) != 0 ? ws::Limits{2000, 2000} : ws::Limits{};
  const std::size_t fragment = 1 + ((control >> 2U) & 0x1FU);
  const std::string_view compressed(reinterpret_cast<const char*>(data + 2), size - 2);
  const std::size_t cut = std::min<std::size_t>(data[1], compressed.size());
  const std::string input = frames_of(opcode, compressed.substr(0, cut), fragment) +
                            frames_of(opcode, compressed.substr(cut), fragment);

  ws::MessageReader reader(ws::Role::kServer, limits);
  reader.accept_compressed(15, no_context_takeover);
  std::string_view rest(input);
  for (int messages = 0; !rest.empty() && messages < 3;) {
    const ws::MessageReader::Result result = reader.read(rest);
    check(result.consumed <= rest.size(), "consumed <= input");
    rest.remove_prefix(result.consumed);
    if (result.error) {
      check(result.error->code == 1007 || result.error->code == 1009,
            "a compressed message fails with 1007 or 1009 only");
      check(result.error->reason.size() <= ws::kMaxCloseReasonSize, "error reason fits");
      return 0;
    }
    if (!result.event) {
      check(rest.empty(), "without event or error, read() consumes everything");
      break;
    }
    const auto* message = std::get_if<ws::Message>(&*result.event);
    check(message != nullptr, "only messages come out of data frames");
    check(message->type == opcode, "the message has its first frame's type");
    check(message->payload.size() <= limits.max_message_size, "message within the limit");
    if (opcode == ws::Opcode::kText) {
      check(ws::is_valid_utf8(message->payload), "text message is valid UTF-8");
    }
    ++messages;
  }
  check(rest.empty(), "every byte was read");
  return 0;
}
