// Session recording and OK / NON-STRICT / FAILED grading for the tester's cases, following the
// close rules of RFC 6455 §5.5.1, §7.1 and §7.4.
#include "session.hpp"

#include <algorithm>
#include <array>
#include <stdexcept>
#include <utility>

#include "target.hpp"

namespace tester {
namespace {

const char* kind_name(Event::Kind kind) {
  switch (kind) {
    case Event::Kind::kText:
      return "text";
    case Event::Kind::kBinary:
      return "binary";
    case Event::Kind::kPong:
      return "pong";
  }
  return "?";
}

std::string describe(const Event& event) {
  return std::string(kind_name(event.kind)) + "(" + std::to_string(event.payload.size()) + " B " +
         preview(event.payload) + ")";
}

std::string describe(const std::vector<Event>& events) {
  if (events.empty()) {
    return "nothing";
  }
  std::string out;
  const std::size_t shown = std::min<std::size_t>(events.size(), 6);
  for (std::size_t i = 0; i < shown; ++i) {
    if (i > 0) {
      out += ", ";
    }
    out += describe(events[i]);
  }
  if (shown < events.size()) {
    out += ", ... (" + std::to_string(events.size()) + " in all)";
  }
  return out;
}

// Explains the first difference between two event lists without printing megabytes.
std::string describe_mismatch(const std::vector<Event>& expected, const std::vector<Event>& got) {
  const std::size_t common = std::min(expected.size(), got.size());
  for (std::size_t i = 0; i < common; ++i) {
    if (expected[i] == got[i]) {
      continue;
    }
    const Event& want = expected[i];
    const Event& have = got[i];
    std::string out = "event #" + std::to_string(i + 1) + ": expected " + describe(want) +
                      ", got " + describe(have);
    if (want.kind == have.kind) {
      const auto diff = std::mismatch(want.payload.begin(), want.payload.end(),
                                      have.payload.begin(), have.payload.end());
      out += "; first difference at byte " +
             std::to_string(static_cast<std::size_t>(diff.first - want.payload.begin()));
    }
    return out;
  }
  if (got.size() < expected.size()) {
    return "received " + std::to_string(got.size()) + " of " + std::to_string(expected.size()) +
           " expected events; missing from #" + std::to_string(got.size() + 1) + ": " +
           describe(expected[got.size()]);
  }
  return "unexpected extra event #" + std::to_string(expected.size() + 1) + ": " +
         describe(got[expected.size()]);
}

std::string describe_close(const CloseSeen& close) {
  if (!close.code) {
    return "an empty close frame";
  }
  return "close " + std::to_string(*close.code) +
         (close.reason.empty() ? "" : " \"" + preview(close.reason) + "\"");
}

bool is_prefix(const std::vector<Event>& prefix, const std::vector<Event>& whole) {
  return prefix.size() <= whole.size() && std::equal(prefix.begin(), prefix.end(), whole.begin());
}

// The verdict and transcript of the running case (cases run one at a time, on the main thread).
Verdict* current_verdict = nullptr;
std::vector<std::string> transcript;
constexpr std::size_t kMaxTranscript = 400;  // a 16 MiB case sends thousands of frames

const char* opcode_name(std::uint8_t code) {
  switch (code) {
    case opcode::kContinuation:
      return "continuation";
    case opcode::kText:
      return "text";
    case opcode::kBinary:
      return "binary";
    case opcode::kClose:
      return "close";
    case opcode::kPing:
      return "ping";
    case opcode::kPong:
      return "pong";
    default:
      return "opcode";
  }
}

std::string describe_frame(std::uint8_t code, bool fin, std::uint8_t rsv, bool masked,
                           std::string_view payload) {
  std::string out = opcode_name(code);
  if (std::string_view(out) == "opcode") {
    out += " " + std::to_string(code);
  }
  out += fin ? " fin" : " (not fin)";
  if (rsv != 0) {
    out += " rsv=" + std::to_string(rsv);
  }
  if (masked) {
    out += " masked";
  }
  out += " " + std::to_string(payload.size()) + " B";
  if (code == opcode::kClose && payload.size() >= 2) {
    out += " code " +
           std::to_string((static_cast<unsigned>(static_cast<std::uint8_t>(payload[0])) << 8U) |
                          static_cast<std::uint8_t>(payload[1]));
    payload.remove_prefix(2);
  }
  if (!payload.empty()) {
    out += " " + preview(payload);
  }
  return out;
}

}  // namespace

Event text_event(std::string payload) { return Event{Event::Kind::kText, std::move(payload)}; }
Event binary_event(std::string payload) { return Event{Event::Kind::kBinary, std::move(payload)}; }
Event pong_event(std::string payload) { return Event{Event::Kind::kPong, std::move(payload)}; }

Session::Session(SessionOptions options) : Session(upgrade_request(), options) {}

Session::Session(const UpgradeRequest& request, SessionOptions options, HttpResponse* response)
    : client_(WireClient::connect(target().address, deadline_in(kReplyDeadline))),
      options_(options) {
  note("> GET " + request.target + " (upgrade)");
  const std::string problem =
      client_.open_handshake(request, deadline_in(kReplyDeadline), response);
  if (!problem.empty()) {
    throw std::runtime_error("opening handshake failed: " + problem);
  }
  started_ = Clock::now();
}

bool Session::send(const std::vector<FrameSpec>& frames, const SendPlan& plan) {
  std::string bytes;
  for (const FrameSpec& frame : frames) {
    bytes += encode_frame(frame);
    note("> " + describe(frame));
    if ((frame.opcode & 0x0FU) == opcode::kClose) {
      observation_.we_sent_close = true;
    }
  }
  return send_raw(bytes, plan);
}

bool Session::send(const FrameSpec& frame, const SendPlan& plan) {
  return send(std::vector<FrameSpec>{frame}, plan);
}

bool Session::send_raw(std::string_view bytes, const SendPlan& plan) {
  if (plan.chunk_size != 0) {
    note("  (in writes of " + std::to_string(plan.chunk_size) + " B, " +
         std::to_string(plan.pause.count()) + " ms apart)");
  }
  // Generous: the large cases write 16 MiB, possibly in small chunks.
  return client_.send_bytes(bytes, plan, deadline_in(kLargeMessageDeadline));
}

// Every loop below also checks the clock: a server that streams frames without pause would
// otherwise keep step() succeeding forever.
void Session::await_events(std::size_t count, Deadline deadline) {
  while (observation_.events.size() < count && !closed() && Clock::now() < deadline) {
    if (!step(deadline)) {
      break;
    }
  }
}

void Session::await_close(Deadline deadline) {
  while (!closed() && Clock::now() < deadline) {
    if (!step(deadline)) {
      break;
    }
  }
  if (observation_.close && !observation_.tcp_closed_by_server) {
    // RFC 6455 §7.1.1: after the close handshake the server closes TCP first; we only wait.
    const Deadline tcp_deadline = deadline_in(kTcpCloseDeadline);
    while (!observation_.tcp_closed_by_server && Clock::now() < tcp_deadline) {
      if (!step(tcp_deadline)) {
        break;
      }
    }
  }
}

void Session::close_with(const FrameSpec& frame, Deadline deadline) {
  send(frame);
  await_close(deadline);
}

bool Session::step(Deadline deadline) {
  if (observation_.tcp_closed_by_server || !observation_.server_violation.empty()) {
    return false;
  }
  ReadResult result = client_.read_frame(deadline);
  const auto violation = [this](std::string what) {
    if (observation_.server_violation.empty()) {
      observation_.server_violation = std::move(what);
    }
    return false;
  };
  switch (result.status) {
    case ReadStatus::kTimeout:
      return false;
    case ReadStatus::kEndOfStream:
    case ReadStatus::kReset:
      observation_.tcp_closed_by_server = true;
      observation_.tcp_end = result.status;
      if (!observation_.close) {
        observation_.time_to_close = Clock::now() - started_;
      }
      return false;
    case ReadStatus::kMalformed:
      return violation("unreadable server frame: " + result.error);
    case ReadStatus::kFrame:
      break;
  }
  const ServerFrame& frame = result.frame;
  note("< " + describe(frame));
  if (observation_.close) {
    // RFC 6455 §5.5.1: nothing may follow a close frame.
    return violation("server sent opcode " + std::to_string(frame.opcode) +
                     " after its close frame");
  }
  if (frame.masked) {
    return violation("server frame is masked (RFC 6455 §5.1 forbids it)");
  }
  // RFC 7692 §6.1: with permessage-deflate, RSV1 marks the first frame of a compressed message,
  // and only that; without an extension every RSV bit is 0 (RFC 6455 §5.2).
  const bool starts_message = frame.opcode == opcode::kText || frame.opcode == opcode::kBinary;
  if (frame.rsv != 0 &&
      !(options_.compressed_messages && frame.rsv == rsv::kRsv1 && starts_message)) {
    return violation(options_.compressed_messages
                         ? "server frame (" + describe(frame) +
                               ") has RSV bits set other than RSV1 on the first frame of a data "
                               "message (RFC 7692 §6.1)"
                         : std::string("server frame has RSV bits set without an extension"));
  }
  if (!frame.minimal_length) {
    return violation("server frame length not minimally encoded (§5.2)");
  }
  const bool control = (frame.opcode & 0x8U) != 0;
  if (control && (!frame.fin || frame.payload.size() > 125)) {
    return violation("server control frame fragmented or longer than 125 bytes (§5.5)");
  }
  switch (frame.opcode) {
    case opcode::kClose: {
      CloseSeen close;
      if (frame.payload.size() == 1) {
        return violation("server close frame with a 1-byte body");
      }
      if (frame.payload.size() >= 2) {
        close.code = static_cast<std::uint16_t>((static_cast<std::uint8_t>(frame.payload[0]) << 8) |
                                                static_cast<std::uint8_t>(frame.payload[1]));
        close.reason = frame.payload.substr(2);
        if (!is_valid_utf8(close.reason)) {
          return violation("server close reason is not valid UTF-8 (§5.5.1)");
        }
      }
      observation_.close = close;
      observation_.time_to_close = Clock::now() - started_;
      if (!observation_.we_sent_close) {
        // RFC 6455 §5.5.1: answer a close with a close, echoing the code.
        client_.send_bytes(
            encode_frame(close.code ? close_frame(*close.code) : empty_close_frame()), SendPlan{},
            deadline_in(kReplyDeadline));
      }
      return true;
    }
    case opcode::kPing:
      observation_.pings.push_back(Clock::now() - started_);
      if (options_.answer_pings) {
        client_.send_bytes(encode_frame(pong_frame(frame.payload)), SendPlan{},
                           deadline_in(kReplyDeadline));
      }
      return true;
    case opcode::kPong:
      observation_.events.push_back(pong_event(frame.payload));
      return true;
    case opcode::kText:
    case opcode::kBinary:
      if (partial_) {
        return violation("server started a new message inside a fragmented one");
      }
      partial_ = Event{frame.opcode == opcode::kText ? Event::Kind::kText : Event::Kind::kBinary,
                       frame.payload};
      partial_compressed_ = frame.rsv == rsv::kRsv1;
      break;
    case opcode::kContinuation:
      if (!partial_) {
        return violation("server sent a continuation frame with no message open");
      }
      partial_->payload += frame.payload;
      break;
    default:
      return violation("server sent reserved opcode " + std::to_string(frame.opcode));
  }
  if (frame.fin) {
    if (options_.record_messages) {
      if (partial_compressed_) {
        observation_.compressed.push_back(observation_.events.size());
      }
      observation_.events.push_back(std::move(*partial_));
    }
    partial_.reset();
  }
  return true;
}

const char* to_string(Behavior behavior) {
  switch (behavior) {
    case Behavior::kOk:
      return "OK";
    case Behavior::kNonStrict:
      return "NON-STRICT";
    case Behavior::kFailed:
      return "FAILED";
  }
  return "?";
}

Verdict worst(Verdict a, const Verdict& b) {
  if (b.behavior == Behavior::kOk) {
    return a;
  }
  if (a.behavior == Behavior::kOk) {
    return b;
  }
  Verdict out;
  out.behavior = std::max(a.behavior, b.behavior);
  out.detail = a.detail + "; " + b.detail;
  return out;
}

Verdict judge_clean_echo(const Observation& seen, const std::vector<Event>& expected,
                         CloseEcho close) {
  if (!seen.server_violation.empty()) {
    return {Behavior::kFailed, seen.server_violation};
  }
  if (seen.events != expected) {
    std::string detail = describe_mismatch(expected, seen.events);
    if (seen.close) {
      detail += " (then " + describe_close(*seen.close) + ")";
    }
    return {Behavior::kFailed, detail};
  }
  if (!seen.close) {
    if (seen.tcp_closed_by_server) {
      return {Behavior::kFailed,
              std::string("server ended TCP (") + to_string(seen.tcp_end) +
                  ") without a close frame; RFC 6455 §5.5.1 requires answering a close"};
    }
    return {Behavior::kFailed, "no close frame within the deadline after our close"};
  }
  Verdict verdict;
  const auto& code = seen.close->code;
  if (close.sent_code) {
    if (code != close.sent_code) {
      if (code == close_code::kNormal) {
        verdict = {Behavior::kNonStrict, "answered close " + std::to_string(*close.sent_code) +
                                             " with 1000 instead of echoing it (RFC 6455 §5.5.1 "
                                             "says an endpoint typically echoes the code)"};
      } else {
        return {Behavior::kFailed, "answered close " + std::to_string(*close.sent_code) + " with " +
                                       describe_close(*seen.close)};
      }
    }
  } else if (code && *code != close_code::kNormal) {
    return {Behavior::kFailed, "answered an empty close with " + describe_close(*seen.close)};
  }
  if (!seen.tcp_closed_by_server) {
    verdict = worst(verdict, {Behavior::kNonStrict,
                              "server did not close TCP within 1 s of the close handshake "
                              "(RFC 6455 §7.1.1: the server closes first)"});
  }
  return verdict;
}

Verdict judge_failure(const Observation& seen, const FailureExpectation& expect) {
  if (!seen.server_violation.empty()) {
    return {Behavior::kFailed, seen.server_violation};
  }
  Verdict verdict;
  if (seen.events != expect.before) {
    if (!is_prefix(seen.events, expect.before)) {
      return {Behavior::kFailed, "expected " + std::to_string(expect.code) + " after " +
                                     describe(expect.before) +
                                     ", but: " + describe_mismatch(expect.before, seen.events)};
    }
    verdict = {Behavior::kNonStrict,
               "failed without first echoing " +
                   describe(std::vector<Event>(
                       expect.before.begin() + static_cast<std::ptrdiff_t>(seen.events.size()),
                       expect.before.end()))};
  }
  if (!seen.close) {
    if (seen.tcp_closed_by_server) {
      return worst(verdict,
                   {Behavior::kNonStrict, std::string("dropped TCP (") + to_string(seen.tcp_end) +
                                              ") without a close frame; expected close " +
                                              std::to_string(expect.code)});
    }
    return {Behavior::kFailed, "server did not fail the connection (expected close " +
                                   std::to_string(expect.code) + ") within the deadline"};
  }
  const auto& code = seen.close->code;
  if (code != expect.code) {
    const bool tolerated =
        code && std::find(expect.non_strict_codes.begin(), expect.non_strict_codes.end(), *code) !=
                    expect.non_strict_codes.end();
    if (!tolerated) {
      return {Behavior::kFailed, "expected close " + std::to_string(expect.code) + ", got " +
                                     describe_close(*seen.close)};
    }
    verdict = worst(verdict, {Behavior::kNonStrict,
                              "closed with " + std::to_string(*code) + " instead of " +
                                  std::to_string(expect.code) + ": " + expect.non_strict_reason});
  }
  if (!seen.tcp_closed_by_server) {
    verdict = worst(
        verdict, {Behavior::kNonStrict, "sent its close frame but did not close TCP within 1 s"});
  }
  return verdict;
}

void report(const Verdict& verdict) {
  if (current_verdict == nullptr) {
    throw std::logic_error("report() called outside a running case");
  }
  *current_verdict = worst(*current_verdict, verdict);
}

void set_current_verdict(Verdict* verdict) { current_verdict = verdict; }

void note(std::string line) {
  if (transcript.size() < kMaxTranscript) {
    transcript.push_back(std::move(line));
  } else if (transcript.size() == kMaxTranscript) {
    transcript.emplace_back("  ... (more frames not shown)");
  }
}

std::vector<std::string> take_transcript() { return std::exchange(transcript, {}); }

std::string describe(const FrameSpec& frame) {
  std::string out = describe_frame(frame.opcode, frame.fin, frame.rsv, frame.masked, frame.payload);
  if (frame.declared_length) {
    out += " (header says " + std::to_string(*frame.declared_length) + " B)";
  }
  return out;
}

std::string describe(const ServerFrame& frame) {
  return describe_frame(frame.opcode, frame.fin, frame.rsv, frame.masked, frame.payload);
}

bool is_valid_utf8(std::string_view bytes) {
  std::size_t i = 0;
  while (i < bytes.size()) {
    const auto b0 = static_cast<std::uint8_t>(bytes[i]);
    if (b0 < 0x80) {
      ++i;
      continue;
    }
    std::size_t need = 0;
    std::uint8_t low = 0x80;
    std::uint8_t high = 0xBF;
    // Unicode Table 3-7: the second byte's range depends on the first, which excludes overlongs
    // (E0, F0), surrogates (ED) and values above U+10FFFF (F4).
    if (b0 >= 0xC2 && b0 <= 0xDF) {
      need = 1;
    } else if (b0 >= 0xE0 && b0 <= 0xEF) {
      need = 2;
      if (b0 == 0xE0) {
        low = 0xA0;
      }
      if (b0 == 0xED) {
        high = 0x9F;
      }
    } else if (b0 >= 0xF0 && b0 <= 0xF4) {
      need = 3;
      if (b0 == 0xF0) {
        low = 0x90;
      }
      if (b0 == 0xF4) {
        high = 0x8F;
      }
    } else {
      return false;
    }
    for (std::size_t k = 1; k <= need; ++k) {
      if (i + k >= bytes.size()) {
        return false;
      }
      const auto b = static_cast<std::uint8_t>(bytes[i + k]);
      const std::uint8_t lo = k == 1 ? low : 0x80;
      const std::uint8_t hi = k == 1 ? high : 0xBF;
      if (b < lo || b > hi) {
        return false;
      }
    }
    i += need + 1;
  }
  return true;
}

std::string preview(std::string_view bytes) {
  constexpr std::size_t kShown = 24;
  std::string out;
  bool printable = std::all_of(
      bytes.begin(), bytes.begin() + static_cast<std::ptrdiff_t>(std::min(bytes.size(), kShown)),
      [](char c) { return c >= 0x20 && c < 0x7F; });
  const std::string_view shown = bytes.substr(0, kShown);
  if (printable) {
    out = "'" + std::string(shown) + "'";
  } else {
    static const char* k_hex = "0123456789abcdef";
    for (const char c : shown) {
      const auto byte = static_cast<std::uint8_t>(c);
      out += k_hex[byte >> 4];
      out += k_hex[byte & 0xFU];
    }
  }
  if (bytes.size() > kShown) {
    out += "...";
  }
  return out;
}

}  // namespace tester
