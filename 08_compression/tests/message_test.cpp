// Tests for message.hpp: every framing rule of RFC 6455 §5 with its close code, the §5.7
// examples fed in every split, fragmentation with interleaved control frames (§5.4),
// fail-fast UTF-8 (§8.1), the allocation policy under size limits (§10.4), and compressed
// messages (RFC 7692 §6, §7.2.2): RSV1's rules, inflating in every split, the inflated limit.
#include "message.hpp"

#include <gtest/gtest.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <initializer_list>
#include <new>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "close.hpp"
#include "frame.hpp"
#include "mask.hpp"
#include "permessage_deflate.hpp"

// Counting allocations: the whole test binary allocates through these replacements of the
// global operator new and delete, and counts while g_count_allocations is set, so a test can
// measure what one read() allocated.
//
// GCC inlines the replacements into their callers and then warns that memory from "new" is
// released with free(); here that pairing is exactly the point.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
#endif

namespace {
bool g_count_allocations = false;
std::size_t g_allocated_bytes = 0;
}  // namespace

void* operator new(std::size_t size) {
  if (g_count_allocations) {
    g_allocated_bytes += size;
  }
  // NOLINTNEXTLINE(cppcoreguidelines-no-malloc): a replacement operator new must use malloc.
  if (void* memory = std::malloc(size == 0 ? 1 : size)) {
    return memory;
  }
  throw std::bad_alloc();
}

// NOLINTNEXTLINE(cppcoreguidelines-no-malloc): pairs with the malloc above.
void operator delete(void* memory) noexcept { std::free(memory); }

// NOLINTNEXTLINE(cppcoreguidelines-no-malloc): pairs with the malloc above.
void operator delete(void* memory, std::size_t /*size*/) noexcept { std::free(memory); }

namespace ws {
namespace {

const MaskingKey kRfcKey = {0x37, 0xfa, 0x21, 0x3d};
const MaskingKey kOtherKey = {0x01, 0x80, 0xFE, 0x55};

/// Counts the bytes allocated while it is alive.
class AllocationCounter {
 public:
  AllocationCounter() {
    g_allocated_bytes = 0;
    g_count_allocations = true;
  }
  ~AllocationCounter() { g_count_allocations = false; }
  AllocationCounter(const AllocationCounter&) = delete;
  AllocationCounter& operator=(const AllocationCounter&) = delete;
  AllocationCounter(AllocationCounter&&) = delete;
  AllocationCounter& operator=(AllocationCounter&&) = delete;

  [[nodiscard]] static std::size_t bytes() { return g_allocated_bytes; }
};

/// A frame as a client sends it: masked.
std::string client_frame(Opcode opcode, std::string_view payload, bool fin = true,
                         const MaskingKey& key = kRfcKey) {
  return encode_frame(opcode, payload, fin, key);
}

/// A frame as a server sends it: unmasked.
std::string server_frame(Opcode opcode, std::string_view payload, bool fin = true) {
  return encode_frame(opcode, payload, fin);
}

/// Any header, even one that breaks the rules, followed by `payload` (masked if the header
/// says so).
std::string raw_frame(const FrameHeader& header, std::string_view payload) {
  std::array<char, kMaxFrameHeaderSize> out{};
  const std::size_t size = encode_frame_header(header, out);
  std::string masked(payload);
  if (header.masked) {
    apply_mask(masked, header.masking_key);
  }
  return std::string(out.data(), size) + masked;
}

FrameHeader client_header(std::uint8_t opcode, std::uint64_t length, bool fin = true) {
  FrameHeader header;
  header.fin = fin;
  header.opcode = opcode;
  header.payload_length = length;
  header.masked = true;
  header.masking_key = kRfcKey;
  return header;
}

std::uint8_t op(Opcode opcode) { return static_cast<std::uint8_t>(opcode); }

std::string close_payload(std::uint16_t code, std::string_view reason = {}) {
  std::string payload;
  payload.push_back(static_cast<char>(code >> 8U));
  payload.push_back(static_cast<char>(code & 0xFFU));
  payload.append(reason);
  return payload;
}

/// Everything a reader produced from some input.
struct Outcome {
  std::vector<Event> events;
  std::optional<CloseStatus> error;
  std::size_t consumed = 0;
};

/// Feeds `data` to a new reader as pieces that end at `cuts` (ascending), the way a socket
/// might deliver it, and collects the events up to the first error.
Outcome feed_into(MessageReader& reader, std::string_view data,
                  const std::vector<std::size_t>& cuts) {
  Outcome outcome;
  std::size_t start = 0;
  for (std::size_t piece_index = 0; piece_index <= cuts.size(); ++piece_index) {
    const std::size_t end = piece_index < cuts.size() ? cuts[piece_index] : data.size();
    const std::string_view piece = data.substr(start, end - start);
    start = end;
    std::size_t pos = 0;
    // A read that neither fails nor completes an event consumes the whole piece, and one that
    // completes an event consumes at least a byte: piece.size() + 1 reads always suffice.
    bool piece_done = false;
    for (std::size_t attempt = 0; attempt <= piece.size() && !piece_done; ++attempt) {
      MessageReader::Result result = reader.read(piece.substr(pos));
      EXPECT_LE(result.consumed, piece.size() - pos);
      EXPECT_FALSE(result.event && result.error);
      pos += result.consumed;
      outcome.consumed += result.consumed;
      if (result.event) {
        outcome.events.push_back(std::move(*result.event));
      }
      if (result.error) {
        outcome.error = result.error;
        return outcome;
      }
      piece_done = pos == piece.size();
    }
    EXPECT_TRUE(piece_done) << "the reader stopped making progress";
  }
  return outcome;
}

Outcome feed(Role role, std::string_view data, const std::vector<std::size_t>& cuts,
             Limits limits = {}) {
  MessageReader reader(role, limits);
  return feed_into(reader, data, cuts);
}

Outcome feed_whole(Role role, std::string_view data, Limits limits = {}) {
  return feed(role, data, {}, limits);
}

Outcome feed_byte_by_byte(Role role, std::string_view data, Limits limits = {}) {
  std::vector<std::size_t> cuts;
  for (std::size_t i = 1; i < data.size(); ++i) {
    cuts.push_back(i);
  }
  return feed(role, data, cuts, limits);
}

/// Checks that every split of `data` into two reads, and byte-by-byte delivery, give the
/// same events and error as delivering it whole.
void expect_same_for_every_split(Role role, std::string_view data,
                                 const std::vector<Event>& expected_events,
                                 const std::optional<CloseStatus>& expected_error = std::nullopt,
                                 Limits limits = {}) {
  const Outcome whole = feed_whole(role, data, limits);
  EXPECT_EQ(whole.events, expected_events);
  EXPECT_EQ(whole.error, expected_error);
  for (std::size_t cut = 0; cut <= data.size(); ++cut) {
    const Outcome split = feed(role, data, {cut}, limits);
    ASSERT_EQ(split.events, expected_events) << "split at " << cut;
    ASSERT_EQ(split.error, expected_error) << "split at " << cut;
  }
  const Outcome bytewise = feed_byte_by_byte(role, data, limits);
  EXPECT_EQ(bytewise.events, expected_events) << "byte by byte";
  EXPECT_EQ(bytewise.error, expected_error) << "byte by byte";
}

Event text(std::string payload) { return Message{Opcode::kText, std::move(payload)}; }
Event binary(std::string payload) { return Message{Opcode::kBinary, std::move(payload)}; }

// ---------------------------------------------------------------------------------------
// The examples of RFC 6455 §5.7, through the reader, in every split.

TEST(MessageReader, ReadsRfcSingleFrameUnmaskedTextInEverySplit) {
  const std::string frame("\x81\x05\x48\x65\x6c\x6c\x6f", 7);
  expect_same_for_every_split(Role::kClient, frame, {text("Hello")});
}

TEST(MessageReader, ReadsRfcSingleFrameMaskedTextInEverySplit) {
  const std::string frame("\x81\x85\x37\xfa\x21\x3d\x7f\x9f\x4d\x51\x58", 11);
  expect_same_for_every_split(Role::kServer, frame, {text("Hello")});
}

TEST(MessageReader, ReadsRfcFragmentedUnmaskedTextInEverySplit) {
  const std::string frames("\x01\x03\x48\x65\x6c\x80\x02\x6c\x6f", 9);
  expect_same_for_every_split(Role::kClient, frames, {text("Hello")});
}

TEST(MessageReader, ReadsRfcUnmaskedPingInEverySplit) {
  const std::string frame("\x89\x05\x48\x65\x6c\x6c\x6f", 7);
  expect_same_for_every_split(Role::kClient, frame, {Ping{"Hello"}});
}

TEST(MessageReader, ReadsRfcMaskedPongInEverySplit) {
  const std::string frame("\x8a\x85\x37\xfa\x21\x3d\x7f\x9f\x4d\x51\x58", 11);
  expect_same_for_every_split(Role::kServer, frame, {Pong{"Hello"}});
}

TEST(MessageReader, ReadsMaskedPingInEverySplit) {
  expect_same_for_every_split(Role::kServer, client_frame(Opcode::kPing, "Hello"), {Ping{"Hello"}});
}

TEST(MessageReader, ReadsRfc256ByteBinaryInEverySplit) {
  std::string payload(256, '\0');
  for (std::size_t i = 0; i < payload.size(); ++i) {
    payload[i] = static_cast<char>(i);
  }
  const std::string frame = std::string("\x82\x7E\x01\x00", 4) + payload;
  expect_same_for_every_split(Role::kClient, frame, {binary(payload)});
  expect_same_for_every_split(Role::kServer, client_frame(Opcode::kBinary, payload),
                              {binary(payload)});
}

TEST(MessageReader, ReadsRfc64KiBBinaryInEverySplit) {
  std::string payload(65536, '\0');
  for (std::size_t i = 0; i < payload.size(); ++i) {
    payload[i] = static_cast<char>(i * 7 + i / 256);
  }
  const std::string frame = std::string("\x82\x7F\x00\x00\x00\x00\x00\x01\x00\x00", 10) + payload;
  expect_same_for_every_split(Role::kClient, frame, {binary(payload)});
}

TEST(MessageReader, ReadsFragmentedMessageWithInterleavedPingInEverySplit) {
  const std::string frames = client_frame(Opcode::kText, "Hel", false) +
                             client_frame(Opcode::kPing, "are you there?", true, kOtherKey) +
                             client_frame(Opcode::kContinuation, "lo", true, kOtherKey);
  expect_same_for_every_split(Role::kServer, frames, {Ping{"are you there?"}, text("Hello")});
}

TEST(MessageReader, ReadsFragmentedMessageWithInterleavedPingInEverySplitIntoThree) {
  const std::string frames =
      client_frame(Opcode::kBinary, "ab", false) + client_frame(Opcode::kPing, "p") +
      client_frame(Opcode::kContinuation, "cd", false) + client_frame(Opcode::kPong, "") +
      client_frame(Opcode::kContinuation, "ef");
  const std::vector<Event> expected = {Ping{"p"}, Pong{""}, binary("abcdef")};
  for (std::size_t i = 0; i <= frames.size(); ++i) {
    for (std::size_t j = i; j <= frames.size(); ++j) {
      const Outcome outcome = feed(Role::kServer, frames, {i, j});
      ASSERT_EQ(outcome.events, expected) << i << " " << j;
      ASSERT_FALSE(outcome.error.has_value());
      ASSERT_EQ(outcome.consumed, frames.size());
    }
  }
}

// ---------------------------------------------------------------------------------------
// Messages, fragments and control frames.

TEST(MessageReader, ReturnsOneEventPerReadAndStopsRightAfterIt) {
  const std::string first = client_frame(Opcode::kText, "one");
  const std::string second = client_frame(Opcode::kBinary, "two");
  const std::string data = first + second;
  MessageReader reader(Role::kServer, {});
  MessageReader::Result result = reader.read(data);
  EXPECT_EQ(result.consumed, first.size());
  EXPECT_EQ(result.event, std::optional<Event>(text("one")));
  result = reader.read(std::string_view(data).substr(first.size()));
  EXPECT_EQ(result.consumed, second.size());
  EXPECT_EQ(result.event, std::optional<Event>(binary("two")));
  result = reader.read("");
  EXPECT_EQ(result.consumed, 0U);
  EXPECT_FALSE(result.event.has_value());
  EXPECT_FALSE(result.error.has_value());
}

TEST(MessageReader, ReadsEmptyMessagesAndEmptyFragments) {
  const std::string frames =
      client_frame(Opcode::kText, "") + client_frame(Opcode::kBinary, "") +
      client_frame(Opcode::kText, "", false) + client_frame(Opcode::kContinuation, "", false) +
      client_frame(Opcode::kContinuation, "x", false) + client_frame(Opcode::kContinuation, "");
  expect_same_for_every_split(Role::kServer, frames, {text(""), binary(""), text("x")});
}

TEST(MessageReader, ControlFramesBetweenFragmentsDoNotDisturbTheMessage) {
  const std::string frames = client_frame(Opcode::kText, "caf\xC3", false) +
                             client_frame(Opcode::kPing, "1") + client_frame(Opcode::kPong, "2") +
                             client_frame(Opcode::kClose, close_payload(1000, "bye")) +
                             client_frame(Opcode::kContinuation, "\xA9!", true, kOtherKey);
  expect_same_for_every_split(Role::kServer, frames,
                              {Ping{"1"}, Pong{"2"}, Close{{1000, "bye"}}, text("caf\xC3\xA9!")});
}

TEST(MessageReader, IsBetweenMessagesOnlyWhenNoFrameOrFragmentedMessageIsUnderWay) {
  MessageReader reader(Role::kServer, {});
  EXPECT_TRUE(reader.between_messages()) << "nothing read yet";
  const std::string whole = client_frame(Opcode::kText, "hi");
  EXPECT_FALSE(reader.read(std::string_view(whole).substr(0, 1)).event);
  EXPECT_FALSE(reader.between_messages()) << "one byte of a header starts a frame";
  EXPECT_TRUE(reader.read(std::string_view(whole).substr(1)).event);
  EXPECT_TRUE(reader.between_messages());

  // §5.4: the fragments of a message, and the control frames between them, are one message.
  EXPECT_FALSE(reader.read(client_frame(Opcode::kText, "Hel", false)).event);
  EXPECT_FALSE(reader.between_messages()) << "a complete first fragment leaves the message open";
  EXPECT_EQ(reader.read(client_frame(Opcode::kPing, "p")).event, std::optional<Event>(Ping{"p"}));
  EXPECT_FALSE(reader.between_messages()) << "a ping between fragments does not end the message";
  EXPECT_EQ(reader.read(client_frame(Opcode::kContinuation, "lo")).event,
            std::optional<Event>(text("Hello")));
  EXPECT_TRUE(reader.between_messages());

  // A control frame on its own, cut before its last payload byte.
  const std::string ping = client_frame(Opcode::kPing, "ping");
  EXPECT_FALSE(reader.read(std::string_view(ping).substr(0, ping.size() - 1)).event);
  EXPECT_FALSE(reader.between_messages());
  EXPECT_TRUE(reader.read(std::string_view(ping).substr(ping.size() - 1)).event);
  EXPECT_TRUE(reader.between_messages());
}

TEST(MessageReader, AcceptsCodePointsSplitAcrossFragments) {
  const std::string frames = client_frame(Opcode::kText, "\xF0\x9F", false) +
                             client_frame(Opcode::kContinuation, "\x98", false) +
                             client_frame(Opcode::kContinuation, "\x80");
  expect_same_for_every_split(Role::kServer, frames, {text("\xF0\x9F\x98\x80")});
}

TEST(MessageReader, PassesBinaryThatIsNotUtf8) {
  const std::string payload("\xFF\xFE\xC0\x80\xED\xA0\x80", 7);
  expect_same_for_every_split(Role::kServer, client_frame(Opcode::kBinary, payload),
                              {binary(payload)});
}

TEST(MessageReader, ReadsControlFrameOf125Bytes) {
  const std::string payload(125, 'p');
  expect_same_for_every_split(Role::kServer, client_frame(Opcode::kPing, payload), {Ping{payload}});
}

TEST(MessageReader, ReadsCloseWithoutPayloadAs1005) {
  expect_same_for_every_split(Role::kServer, client_frame(Opcode::kClose, ""), {Close{{1005, ""}}});
}

TEST(MessageReader, ReadsCloseWithApplicationCodeAndUtf8Reason) {
  expect_same_for_every_split(
      Role::kClient, server_frame(Opcode::kClose, close_payload(4000, "\xC3\xA9t\xC3\xA9")),
      {Close{{4000, "\xC3\xA9t\xC3\xA9"}}});
}

TEST(MessageReader, AcceptsNonMinimalLengthEncoding) {
  // RFC 6455 §5.2 says senders MUST use the shortest form, but the value is unambiguous and
  // this reader does not police it (see decode_frame_header).
  const std::string frame = std::string("\x81\x7E\x00\x02", 4) + "hi";
  expect_same_for_every_split(Role::kClient, frame, {text("hi")});
}

TEST(MessageReader, ReadsFrameExactlyAtTheLimits) {
  const Limits limits{100, 150};
  const std::string frames = client_frame(Opcode::kBinary, std::string(100, 'a'), false) +
                             client_frame(Opcode::kContinuation, std::string(50, 'b'));
  const Outcome outcome = feed_whole(Role::kServer, frames, limits);
  ASSERT_FALSE(outcome.error.has_value());
  EXPECT_EQ(outcome.events,
            std::vector<Event>{binary(std::string(100, 'a') + std::string(50, 'b'))});
}

// ---------------------------------------------------------------------------------------
// Every rule, with its close code.

struct RuleCase {
  std::string name;
  Role role;
  std::string bytes;
  std::uint16_t code;
  Limits limits{};
};

std::vector<RuleCase> rule_cases() {
  std::vector<RuleCase> cases;
  for (int bit = 0; bit < 3; ++bit) {
    FrameHeader header = client_header(op(Opcode::kText), 2);
    header.rsv1 = bit == 0;
    header.rsv2 = bit == 1;
    header.rsv3 = bit == 2;
    cases.push_back(
        {"RSV" + std::to_string(bit + 1), Role::kServer, raw_frame(header, "hi"), 1002});
  }
  for (const std::uint8_t opcode :
       std::initializer_list<std::uint8_t>{3, 4, 5, 6, 7, 11, 12, 13, 14, 15}) {
    cases.push_back({"reserved opcode " + std::to_string(opcode), Role::kServer,
                     raw_frame(client_header(opcode, 2), "hi"), 1002});
  }
  for (const Opcode control : {Opcode::kPing, Opcode::kPong, Opcode::kClose}) {
    cases.push_back({"fragmented control " + std::to_string(op(control)), Role::kServer,
                     raw_frame(client_header(op(control), 0, false), ""), 1002});
    cases.push_back({"control of 126 bytes " + std::to_string(op(control)), Role::kServer,
                     raw_frame(client_header(op(control), 126), std::string(126, 'x')), 1002});
  }
  cases.push_back({"continuation without a message", Role::kServer,
                   client_frame(Opcode::kContinuation, "lo"), 1002});
  cases.push_back({"continuation after a finished message", Role::kServer,
                   client_frame(Opcode::kText, "done") + client_frame(Opcode::kContinuation, "x"),
                   1002});
  cases.push_back({"text inside a fragmented message", Role::kServer,
                   client_frame(Opcode::kText, "Hel", false) + client_frame(Opcode::kText, "lo"),
                   1002});
  cases.push_back({"binary inside a fragmented message", Role::kServer,
                   client_frame(Opcode::kBinary, "a", false) + client_frame(Opcode::kBinary, "b"),
                   1002});
  cases.push_back(
      {"unmasked frame to a server", Role::kServer, server_frame(Opcode::kText, "Hello"), 1002});
  cases.push_back(
      {"unmasked ping to a server", Role::kServer, server_frame(Opcode::kPing, ""), 1002});
  cases.push_back(
      {"masked frame to a client", Role::kClient, client_frame(Opcode::kText, "Hello"), 1002});
  cases.push_back(
      {"masked close to a client", Role::kClient, client_frame(Opcode::kClose, ""), 1002});
  cases.push_back({"64-bit length with the top bit set", Role::kServer,
                   raw_frame(client_header(op(Opcode::kBinary), std::uint64_t{1} << 63U), ""),
                   1002});
  cases.push_back({"64-bit length all ones", Role::kClient,
                   std::string("\x82\x7F\xFF\xFF\xFF\xFF\xFF\xFF\xFF\xFF", 10), 1002});
  cases.push_back({"frame over max_frame_size", Role::kServer,
                   client_frame(Opcode::kBinary, std::string(101, 'x')), 1009, Limits{100, 1000}});
  cases.push_back({"control frame over a small max_frame_size", Role::kServer,
                   client_frame(Opcode::kPing, std::string(11, 'x')), 1009, Limits{10, 1000}});
  cases.push_back({"message over max_message_size", Role::kServer,
                   client_frame(Opcode::kText, std::string(60, 'x'), false) +
                       client_frame(Opcode::kContinuation, std::string(60, 'y'), false),
                   1009, Limits{100, 100}});
  cases.push_back({"single frame over max_message_size", Role::kServer,
                   client_frame(Opcode::kText, std::string(101, 'x')), 1009, Limits{1000, 100}});
  cases.push_back({"close with 1-byte payload", Role::kServer,
                   client_frame(Opcode::kClose, std::string_view("\x03", 1)), 1002});
  for (const std::uint16_t code : std::initializer_list<std::uint16_t>{
           0, 999, 1004, 1005, 1006, 1015, 1016, 2999, 5000, 65535}) {
    cases.push_back({"close code " + std::to_string(code), Role::kServer,
                     client_frame(Opcode::kClose, close_payload(code)), 1002});
  }
  cases.push_back({"close reason not UTF-8", Role::kServer,
                   client_frame(Opcode::kClose, close_payload(1000, "\xC0\xAF")), 1007});
  cases.push_back({"close reason truncated UTF-8", Role::kClient,
                   server_frame(Opcode::kClose, close_payload(1000, "ok\xE2\x82")), 1007});
  cases.push_back({"invalid UTF-8 in text", Role::kServer,
                   client_frame(Opcode::kText, "Hello \xED\xA0\x80 world"), 1007});
  cases.push_back({"text ending inside a code point", Role::kServer,
                   client_frame(Opcode::kText, "Hello \xE2\x82"), 1007});
  cases.push_back({"fragmented text ending inside a code point", Role::kServer,
                   client_frame(Opcode::kText, "Hi", false) +
                       client_frame(Opcode::kContinuation, "\xF0\x9F\x98"),
                   1007});
  cases.push_back({"invalid UTF-8 across fragments", Role::kServer,
                   client_frame(Opcode::kText, "abc\xE2\x82", false) +
                       client_frame(Opcode::kContinuation, "Xyz"),
                   1007});
  return cases;
}

TEST(MessageReader, FailsEveryRuleWithItsCodeInEverySplit) {
  for (const RuleCase& c : rule_cases()) {
    SCOPED_TRACE(c.name);
    const Outcome whole = feed_whole(c.role, c.bytes, c.limits);
    ASSERT_TRUE(whole.error.has_value());
    EXPECT_EQ(whole.error->code, c.code);
    EXPECT_FALSE(whole.error->reason.empty());
    EXPECT_LE(whole.error->reason.size(), kMaxCloseReasonSize);
    for (std::size_t cut = 0; cut <= c.bytes.size(); ++cut) {
      const Outcome split = feed(c.role, c.bytes, {cut}, c.limits);
      ASSERT_EQ(split.error, whole.error) << "split at " << cut;
      ASSERT_EQ(split.events, whole.events) << "split at " << cut;
    }
    const Outcome bytewise = feed_byte_by_byte(c.role, c.bytes, c.limits);
    EXPECT_EQ(bytewise.error, whole.error);
  }
}

TEST(MessageReader, RejectsUnmaskedClientFrameWith1002) {
  MessageReader reader(Role::kServer, {});
  const MessageReader::Result result = reader.read(server_frame(Opcode::kText, "Hello"));
  ASSERT_TRUE(result.error.has_value());
  EXPECT_EQ(*result.error,
            make_close_status(CloseCode::kProtocolError, "unmasked frame from client"));
  EXPECT_EQ(result.consumed, 2U);
}

TEST(MessageReader, RejectsMaskedServerFrameWith1002) {
  MessageReader reader(Role::kClient, {});
  const MessageReader::Result result = reader.read(client_frame(Opcode::kText, "Hello"));
  ASSERT_TRUE(result.error.has_value());
  EXPECT_EQ(result.error->code, 1002);
}

TEST(MessageReader, StaysFailedAfterAnError) {
  MessageReader reader(Role::kServer, {});
  const MessageReader::Result first = reader.read(server_frame(Opcode::kText, "x"));
  ASSERT_TRUE(first.error.has_value());
  EXPECT_TRUE(reader.failed());
  for (int i = 0; i < 3; ++i) {
    const MessageReader::Result again = reader.read(client_frame(Opcode::kText, "valid"));
    EXPECT_EQ(again.consumed, 0U);
    EXPECT_FALSE(again.event.has_value());
    EXPECT_EQ(again.error, first.error);
  }
}

// ---------------------------------------------------------------------------------------
// Fail fast, and allocate only for bytes that arrive.

TEST(MessageReader, FailsOnInvalidUtf8InTheMiddleOfAFrame) {
  std::string payload(1000, 'a');
  payload[10] = '\xFF';
  const std::string frame = client_frame(Opcode::kText, payload);
  const std::size_t header_size = 8;  // 2 + 2-byte length + 4-byte key
  MessageReader reader(Role::kServer, {});
  const MessageReader::Result result =
      reader.read(std::string_view(frame).substr(0, header_size + 20));
  ASSERT_TRUE(result.error.has_value());
  EXPECT_EQ(result.error->code, 1007);
  EXPECT_EQ(result.consumed, header_size + 20);
}

TEST(MessageReader, FailsOnInvalidUtf8AtTheFirstByteOfTheNextFragment) {
  const std::string first = client_frame(Opcode::kText, "abc\xE2\x82", false);
  const std::string second = client_frame(Opcode::kContinuation, std::string(500, 'X'));
  const std::string data = first + second;
  MessageReader reader(Role::kServer, {});
  MessageReader::Result result = reader.read(std::string_view(data).substr(0, first.size()));
  ASSERT_FALSE(result.error.has_value());
  EXPECT_EQ(result.consumed, first.size());
  const std::size_t second_header_size = 8;
  result = reader.read(std::string_view(data).substr(first.size(), second_header_size + 1));
  ASSERT_TRUE(result.error.has_value());
  EXPECT_EQ(result.error->code, 1007);
}

TEST(MessageReader, RejectsHugeDeclaredLengthFromTheHeaderAloneWithoutAllocating) {
  // 2^63 - 1 is the largest legal length: a 1009, not a 1002, and decided before any
  // payload byte arrives or any buffer is reserved for it.
  const std::string header =
      raw_frame(client_header(op(Opcode::kBinary), (std::uint64_t{1} << 63U) - 1), "");
  ASSERT_EQ(header.size(), kMaxFrameHeaderSize);
  MessageReader reader(Role::kServer, {});
  MessageReader::Result result;
  std::size_t allocated = 0;
  {
    const AllocationCounter counter;
    result = reader.read(header);
    allocated = AllocationCounter::bytes();
  }
  ASSERT_TRUE(result.error.has_value());
  EXPECT_EQ(result.error->code, 1009);
  EXPECT_EQ(result.consumed, kMaxFrameHeaderSize);
  // Only the reason string of the error may allocate.
  EXPECT_LT(allocated, 128U);
}

TEST(MessageReader, ReservesLittleForALargeDeclaredLengthAndGrowsWithTheData) {
  // A header announcing 16 MiB - 1 followed by 100 bytes must not cost 16 MiB.
  const std::uint64_t declared = kDefaultMaxSize - 1;
  const std::string header = raw_frame(client_header(op(Opcode::kBinary), declared), "");
  const std::string input = header + std::string(100, 'x');
  MessageReader reader(Role::kServer, {});
  std::size_t allocated = 0;
  {
    const AllocationCounter counter;
    const MessageReader::Result result = reader.read(input);
    allocated = AllocationCounter::bytes();
    EXPECT_FALSE(result.error.has_value());
    EXPECT_FALSE(result.event.has_value());
  }
  EXPECT_LE(allocated, MessageReader::kMaxUpfrontReserve + 64);

  // A further 1 MiB of payload costs allocations proportional to it (doubling: 128 KiB,
  // 256 KiB, ..., 2 MiB), not to the declared length.
  const std::string more(std::size_t{1024} * 1024, 'y');
  {
    const AllocationCounter counter;
    const MessageReader::Result result = reader.read(more);
    allocated = AllocationCounter::bytes();
    EXPECT_EQ(result.consumed, more.size());
  }
  EXPECT_LE(allocated, 4 * more.size());
}

TEST(MessageReader, NeverReservesMoreThanTheMessageLimit) {
  const Limits limits{200000, 200000};
  // 199 fragments of 1000 bytes, then one of 1000: exactly the limit.
  std::string frames;
  for (int i = 0; i < 199; ++i) {
    frames += client_frame(i == 0 ? Opcode::kBinary : Opcode::kContinuation, std::string(1000, 'f'),
                           false);
  }
  frames += client_frame(Opcode::kContinuation, std::string(1000, 'l'));
  const Outcome outcome = feed_whole(Role::kServer, frames, limits);
  ASSERT_FALSE(outcome.error.has_value());
  ASSERT_EQ(outcome.events.size(), 1U);
  const auto& message = std::get<Message>(outcome.events[0]);
  EXPECT_EQ(message.payload.size(), 200000U);
  EXPECT_LE(message.payload.capacity(), limits.max_message_size);
}

TEST(MessageReader, ReservesExactlyAFinalFrameOfKnownLength) {
  const std::string payload(100000, 'z');
  const Outcome outcome = feed_whole(Role::kServer, client_frame(Opcode::kBinary, payload));
  ASSERT_EQ(outcome.events.size(), 1U);
  const auto& message = std::get<Message>(outcome.events[0]);
  EXPECT_EQ(message.payload, payload);
  EXPECT_EQ(message.payload.capacity(), payload.size());
}

TEST(MessageReader, RejectsAFragmentThatWouldPassTheMessageLimitFromItsHeader) {
  const Limits limits{1000, 1500};
  const std::string first = client_frame(Opcode::kBinary, std::string(1000, 'a'), false);
  const std::string second_header = raw_frame(client_header(op(Opcode::kContinuation), 501), "");
  MessageReader reader(Role::kServer, limits);
  ASSERT_EQ(reader.read(first).consumed, first.size());
  const MessageReader::Result result = reader.read(second_header);
  ASSERT_TRUE(result.error.has_value());
  EXPECT_EQ(result.error->code, 1009);
  EXPECT_EQ(result.consumed, second_header.size());
}

// ---------------------------------------------------------------------------------------
// Compressed messages (RFC 7692), once permessage-deflate was negotiated.

/// The compressed "Hello" of RFC 7692 §7.2.3.1, and the same message compressed again with the
/// first one in the window (§7.2.3.2).
const std::string kDeflatedHello("\xf2\x48\xcd\xc9\xc9\x07\x00", 7);
const std::string kDeflatedHelloAgain("\xf2\x00\x11\x00\x00", 5);

/// A client frame with RSV1 set: the first frame of a compressed message (§6).
std::string compressed_frame(Opcode opcode, std::string_view payload, bool fin = true) {
  std::string frame = client_frame(opcode, payload, fin);
  frame[0] = static_cast<char>(static_cast<std::uint8_t>(frame[0]) | 0x40U);
  return frame;
}

/// A server-role reader that accepts compressed messages with a 32 KiB window.
MessageReader compressing_reader(bool no_context_takeover, Limits limits = {}) {
  MessageReader reader(Role::kServer, limits);
  reader.accept_compressed(15, no_context_takeover);
  return reader;
}

/// Feeds `data` split at `cut` (and whole, and byte by byte) to new compressing readers and
/// checks each gives `expected`.
void expect_compressed_in_every_split(std::string_view data, const std::vector<Event>& expected,
                                      bool no_context_takeover = true) {
  for (std::size_t cut = 0; cut <= data.size(); ++cut) {
    MessageReader reader = compressing_reader(no_context_takeover);
    const Outcome split = feed_into(reader, data, {cut});
    ASSERT_EQ(split.events, expected) << "split at " << cut;
    ASSERT_FALSE(split.error) << "split at " << cut << ": " << split.error->reason;
  }
  std::vector<std::size_t> cuts;
  for (std::size_t i = 1; i < data.size(); ++i) {
    cuts.push_back(i);
  }
  MessageReader reader = compressing_reader(no_context_takeover);
  const Outcome bytewise = feed_into(reader, data, cuts);
  EXPECT_EQ(bytewise.events, expected) << "byte by byte";
  EXPECT_FALSE(bytewise.error);
}

TEST(CompressedMessages, ReadsTheFramesOfRfc7692Section7231AsAClient) {
  // §7.2.3.1's "Hello" as a server sends it: in one frame (RSV1 and FIN, text), then in two,
  // RSV1 on the first only. A client reads unmasked frames.
  const std::string one("\xc1\x07\xf2\x48\xcd\xc9\xc9\x07\x00", 9);
  const std::string two("\x41\x03\xf2\x48\xcd\x80\x04\xc9\xc9\x07\x00", 11);
  for (const std::string& frames : {one, two}) {
    for (std::size_t cut = 0; cut <= frames.size(); ++cut) {
      MessageReader reader(Role::kClient);
      reader.accept_compressed(15, true);
      const Outcome outcome = feed_into(reader, frames, {cut});
      ASSERT_FALSE(outcome.error) << "split at " << cut;
      ASSERT_EQ(outcome.events, std::vector<Event>{text("Hello")}) << "split at " << cut;
    }
  }
  EXPECT_EQ(encode_compressed_frame(Opcode::kText, kDeflatedHello), one);
}

TEST(CompressedMessages, RsvOneWithoutNegotiationFailsWith1002) {
  const Outcome outcome =
      feed_whole(Role::kServer, compressed_frame(Opcode::kText, kDeflatedHello));
  ASSERT_TRUE(outcome.error);
  EXPECT_EQ(outcome.error->code, 1002);
}

TEST(CompressedMessages, InflatesRfc7692HelloInEverySplit) {
  expect_compressed_in_every_split(compressed_frame(Opcode::kText, kDeflatedHello),
                                   {text("Hello")});
}

TEST(CompressedMessages, InflatesAFragmentedMessageWithAPingBetweenInEverySplit) {
  // §6: RSV1 on the first frame only; the fragments' payloads are one DEFLATE stream, cut here
  // inside the data and again just before its last byte.
  const std::string data = compressed_frame(Opcode::kText, kDeflatedHello.substr(0, 3), false) +
                           client_frame(Opcode::kPing, "p") +
                           client_frame(Opcode::kContinuation, kDeflatedHello.substr(3, 3), false) +
                           client_frame(Opcode::kContinuation, kDeflatedHello.substr(6));
  expect_compressed_in_every_split(data, {Ping{"p"}, text("Hello")});
}

TEST(CompressedMessages, TakesUncompressedMessagesBetweenCompressedOnes) {
  // §6: a message without RSV1 is simply not compressed, even when compression was agreed.
  const std::string data = client_frame(Opcode::kText, "plain") +
                           compressed_frame(Opcode::kBinary, kDeflatedHello) +
                           client_frame(Opcode::kText, "again");
  expect_compressed_in_every_split(data, {text("plain"), binary("Hello"), text("again")});
}

TEST(CompressedMessages, KeepsTheWindowAcrossMessagesWithContextTakeover) {
  // §7.2.3.2: the second "Hello" is a back-reference into the first.
  const std::string data = compressed_frame(Opcode::kText, kDeflatedHello) +
                           compressed_frame(Opcode::kText, kDeflatedHelloAgain);
  expect_compressed_in_every_split(data, {text("Hello"), text("Hello")}, false);
}

TEST(CompressedMessages, RefusesABackReferenceWhenTheClientAgreedToNoContextTakeover) {
  // The client promised to start every message afresh (§7.1.1.2): a reference into the
  // previous message is data that cannot be inflated.
  MessageReader reader = compressing_reader(true);
  const Outcome outcome = feed_into(reader,
                                    compressed_frame(Opcode::kText, kDeflatedHello) +
                                        compressed_frame(Opcode::kText, kDeflatedHelloAgain),
                                    {});
  EXPECT_EQ(outcome.events, std::vector<Event>{text("Hello")});
  ASSERT_TRUE(outcome.error);
  EXPECT_EQ(outcome.error->code, 1007);
}

TEST(CompressedMessages, RsvOneOnAContinuationFrameFailsWith1002) {
  MessageReader reader = compressing_reader(true);
  const Outcome outcome =
      feed_into(reader,
                compressed_frame(Opcode::kText, kDeflatedHello.substr(0, 3), false) +
                    compressed_frame(Opcode::kContinuation, kDeflatedHello.substr(3)),
                {});
  ASSERT_TRUE(outcome.error);
  EXPECT_EQ(*outcome.error,
            make_close_status(CloseCode::kProtocolError, "RSV1 set on a continuation frame"));
}

TEST(CompressedMessages, RsvOneOnAControlFrameFailsWith1002) {
  for (const Opcode opcode : {Opcode::kPing, Opcode::kPong, Opcode::kClose}) {
    MessageReader reader = compressing_reader(true);
    const Outcome outcome = feed_into(reader, compressed_frame(opcode, ""), {});
    ASSERT_TRUE(outcome.error) << static_cast<int>(opcode);
    EXPECT_EQ(*outcome.error,
              make_close_status(CloseCode::kProtocolError, "RSV1 set on a control frame"));
  }
}

TEST(CompressedMessages, RsvTwoAndThreeStillFailWith1002) {
  for (const unsigned bit : {0x20U, 0x10U}) {
    MessageReader reader = compressing_reader(true);
    std::string frame = compressed_frame(Opcode::kText, kDeflatedHello);
    frame[0] = static_cast<char>(static_cast<std::uint8_t>(frame[0]) | bit);
    const Outcome outcome = feed_into(reader, frame, {});
    ASSERT_TRUE(outcome.error);
    EXPECT_EQ(outcome.error->code, 1002);
  }
}

TEST(CompressedMessages, CorruptDataFailsWith1007) {
  MessageReader reader = compressing_reader(true);
  const Outcome outcome =
      feed_into(reader, compressed_frame(Opcode::kBinary, std::string(4, '\xff')), {});
  ASSERT_TRUE(outcome.error);
  EXPECT_EQ(outcome.error->code, 1007);
}

TEST(CompressedMessages, InflatedTextMustBeUtf8) {
  // §8.1 holds for the inflated text: "\xC0\xAF" is an overlong "/", never valid.
  MessageReader reader = compressing_reader(true);
  const Outcome outcome =
      feed_into(reader, compressed_frame(Opcode::kText, compress_once("ok \xC0\xAF", 15)), {});
  ASSERT_TRUE(outcome.error);
  EXPECT_EQ(outcome.error->code, 1007);
  EXPECT_EQ(outcome.error->reason, "invalid UTF-8 in text message");
}

TEST(CompressedMessages, StopsAnInflateBombAtTheLimitWithoutSpendingTheMemory) {
  // 16 MiB of zeros compress to about 16 KiB; the limit is 1 MiB. The reader must refuse the
  // message with 1009 once it passes the limit: the message buffer grows by doubling up to the
  // limit (about 2 MiB allocated in all, each buffer freed as the next replaces it), never
  // towards the 16 MiB the bomb holds.
  const Limits limits{std::uint64_t{1} << 20U, std::uint64_t{1} << 20U};
  const std::string bomb = compress_once(std::string(std::size_t{16} << 20U, '\0'), 15);
  ASSERT_LT(bomb.size(), std::size_t{32} * 1024);
  MessageReader reader = compressing_reader(true, limits);
  Outcome outcome;
  {
    const AllocationCounter counter;
    outcome = feed_into(reader, compressed_frame(Opcode::kBinary, bomb), {});
    EXPECT_LT(AllocationCounter::bytes(), (std::size_t{4} << 20U))
        << "allocated while inflating a bomb";
  }
  ASSERT_TRUE(outcome.error);
  EXPECT_EQ(outcome.error->code, 1009);
  EXPECT_TRUE(outcome.events.empty());
}

TEST(CompressedMessages, AcceptsAMessageThatInflatesToExactlyTheLimit) {
  const Limits limits{4096, 4096};
  const std::string exact(4096, 'a');
  MessageReader reader = compressing_reader(true, limits);
  const Outcome outcome =
      feed_into(reader, compressed_frame(Opcode::kText, compress_once(exact, 15)), {});
  EXPECT_FALSE(outcome.error);
  EXPECT_EQ(outcome.events, std::vector<Event>{text(exact)});

  MessageReader over = compressing_reader(true, limits);
  const Outcome refused =
      feed_into(over, compressed_frame(Opcode::kText, compress_once(exact + "a", 15)), {});
  ASSERT_TRUE(refused.error);
  EXPECT_EQ(refused.error->code, 1009);
}

TEST(CompressedMessages, CountsCompressedBytesOnTheWireAgainstTheLimitToo) {
  // A message whose compressed form alone is over the limit is refused from its header, as an
  // uncompressed one would be: a stream that inflates to little cannot be sent without end.
  // Empty stored blocks (00 00 00 ff ff: not final, stored, length 0) inflate to nothing.
  std::string empty_blocks;
  for (int i = 0; i < 120; ++i) {
    empty_blocks += std::string("\x00\x00\x00\xff\xff", 5);
  }
  const Limits limits{1000, 1000};
  MessageReader reader = compressing_reader(true, limits);
  const Outcome outcome = feed_into(reader,
                                    compressed_frame(Opcode::kBinary, empty_blocks, false) +
                                        client_frame(Opcode::kContinuation, empty_blocks),
                                    {});
  ASSERT_TRUE(outcome.error);
  EXPECT_EQ(*outcome.error,
            make_close_status(CloseCode::kMessageTooBig, "message over 1000 bytes"));
  EXPECT_EQ(outcome.consumed, compressed_frame(Opcode::kBinary, empty_blocks, false).size() + 8)
      << "refused at the continuation's header (2 bytes, 2 of length, 4 of key)";
}

}  // namespace
}  // namespace ws
