// Helpers shared by the case files: payloads, the usual shapes of a case, and delivery plans.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "session.hpp"

namespace tester {

/// One byte per write with a short pause, so that each byte really arrives on its own
/// (TCP_NODELAY is set), as a slow or hostile client would send it.
inline const SendPlan kByteByByte{1, std::chrono::milliseconds(1)};
/// One byte per write without pauses, for payloads too long for a 1 ms pause per byte.
inline const SendPlan kByteByByteFast{1, std::chrono::milliseconds(0)};
/// For cases that judge only control frames: greetings and chat events are not recorded.
inline const SessionOptions kIgnoreMessages{
    .answer_pings = true, .record_messages = false, .compressed_messages = false};

/// Returns the bytes spelled by hex digits, spaces ignored ("ce ba" -> "\xce\xba").
std::string from_hex(std::string_view hex);

/// "κόσμε" (Greek "cosmos"), the classic UTF-8 sample: 2-, 3-, 2-, 2- and 2-byte code points.
inline const std::string kKosme = from_hex("ce ba e1 bd b9 cf 83 ce bc ce b5");
/// κόσμε followed by an encoded surrogate (U+D800), which UTF-8 forbids.
inline const std::string kKosmeSurrogateEdited = kKosme + from_hex("ed a0 80") + "edited";
/// Autobahn 6.2.x sample with Latin-1 supplement letters.
inline const std::string kHelloUtf8 = "Hello-µ@ßöäüàá-UTF-8!!";

/// Deterministic payloads of `size` bytes: printable ASCII, every byte value, or valid UTF-8
/// mixing 1- to 4-byte code points (so fixed-size fragments split code points).
std::string ascii_payload(std::size_t size);
std::string binary_payload(std::size_t size);
std::string utf8_payload(std::size_t size);

/// Sends each frame in its own write, pausing in between (Autobahn's "frame-wise" delivery).
void send_frame_by_frame(Session& session, const std::vector<FrameSpec>& frames,
                         std::chrono::milliseconds pause);

/// Valid traffic: sends `frames`, waits for `expected`, then closes with 1000 and grades.
Verdict run_echo(const std::vector<FrameSpec>& frames, const std::vector<Event>& expected,
                 const SendPlan& plan = {}, Clock::duration budget = kReplyDeadline,
                 SessionOptions options = {});

/// A violation: sends `frames` and grades how the server fails.
Verdict run_failure(const std::vector<FrameSpec>& frames, const FailureExpectation& expect,
                    const SendPlan& plan = {}, SessionOptions options = {});

/// Fail-fast (Autobahn 6.4.x): sends a valid `prefix`, then `invalid`, after which the data can
/// no longer become valid, and expects `code` within kFailFastWindow; a failure only after
/// `rest` arrives is NON-STRICT (RFC 6455 §8.1 requires failing, but does not say when).
Verdict run_fail_fast(std::string_view prefix, std::string_view invalid, std::string_view rest,
                      std::uint16_t code = close_code::kInvalidPayload);

/// `bytes` split into a prefix of `first` bytes, the next `second` bytes and the rest.
struct ThreeParts {
  std::string prefix, invalid, rest;
};
ThreeParts split3(const std::string& bytes, std::size_t first, std::size_t second);

/// Header size of a masked frame with `payload_size` bytes.
std::size_t masked_header_size(std::size_t payload_size);

/// `payload` as a message of one-byte fragments.
std::vector<FrameSpec> one_byte_fragments(std::uint8_t first_opcode, std::string_view payload);

}  // namespace tester
