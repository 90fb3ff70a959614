// libFuzzer target for the opening handshake (RFC 6455 §4.1-4.2, RFC 9112 §2-5): arbitrary bytes
// through find_head_end, parse_request, looks_like_upgrade and evaluate_upgrade, checking that
// what the parser accepts is well-formed and that every response the server would write is one
// clean HTTP head (no CR or LF smuggled in from the request).
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "fuzz_check.hpp"
#include "handshake.hpp"
#include "http.hpp"

namespace {

using ws::fuzz::check;

// The reference helpers below are written from the RFCs, not from http.cpp, so a mistake in one
// is unlikely to be repeated in the other.

// RFC 9110 §5.6.2: tchar = "!" / "#" / "$" / "%" / "&" / "'" / "*" / "+" / "-" / "." / "^" / "_"
// / "`" / "|" / "~" / DIGIT / ALPHA.
bool is_digit(char c) { return c >= '0' && c <= '9'; }

bool is_tchar(char c) {
  return is_digit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
         std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

bool is_token(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), is_tchar);
}

// A byte that may never appear inside a field value or a request target: every control
// character but horizontal tab, and DEL. CR and LF are the ones header injection needs.
bool is_forbidden_in_value(char c) {
  const auto byte = static_cast<unsigned char>(c);
  return (byte < 0x20 && c != '\t') || byte == 0x7F;
}

bool is_clean_value(std::string_view s) {
  return std::none_of(s.begin(), s.end(), is_forbidden_in_value);
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') {
      c = static_cast<char>(c - 'A' + 'a');
    }
  }
  return out;
}

std::size_t count_crlf(std::string_view s) {
  std::size_t count = 0;
  for (std::size_t at = s.find("\r\n"); at != std::string_view::npos; at = s.find("\r\n", at + 2)) {
    ++count;
  }
  return count;
}

// RFC 4648 §4 base64 with padding; nullopt when `text` is not canonical-length base64.
std::optional<std::string> base64_decode(std::string_view text) {
  static constexpr std::string_view kAlphabet =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  if (text.size() % 4 != 0) {
    return std::nullopt;
  }
  std::size_t padding = 0;
  while (padding < 2 && padding < text.size() && text[text.size() - 1 - padding] == '=') {
    ++padding;
  }
  std::string out;
  std::uint32_t bits = 0;
  int bit_count = 0;
  for (std::size_t i = 0; i + padding < text.size(); ++i) {
    const auto value = kAlphabet.find(text[i]);
    if (value == std::string_view::npos) {
      return std::nullopt;
    }
    bits = (bits << 6U) | static_cast<std::uint32_t>(value);
    bit_count += 6;
    if (bit_count >= 8) {
      bit_count -= 8;
      out.push_back(static_cast<char>((bits >> static_cast<unsigned>(bit_count)) & 0xFFU));
    }
  }
  return out;
}

// The request written back out as a head: what a proxy that forwards it would send.
std::string serialize(const ws::HttpRequest& request) {
  std::string head = request.method + " " + request.target + " " + request.version + "\r\n";
  for (const auto& [name, value] : request.headers) {
    head += name + ": " + value + "\r\n";
  }
  return head + "\r\n";
}

void check_request(const ws::HttpRequest& request) {
  check(is_token(request.method), "method is a token");
  check(!request.target.empty() && request.target.front() == '/', "target starts with '/'");
  check(is_clean_value(request.target), "target has no CR, LF or other control byte");
  check(request.target.find(' ') == std::string::npos, "target has no space");
  const std::string_view version = request.version;
  check(version.size() == 8 && version.substr(0, 5) == "HTTP/" && is_digit(version[5]) &&
            version[6] == '.' && is_digit(version[7]),
        "version is HTTP/d.d");
  check(request.headers.size() <= ws::kMaxHeaderCount, "at most kMaxHeaderCount fields");
  for (const auto& field : request.headers) {
    const std::string& name = field.first;
    const std::string& value = field.second;
    check(is_token(name), "field name is a token");
    check(is_clean_value(value), "field value has no CR, LF or other control byte");
    check(value.empty() || (value.front() != ' ' && value.front() != '\t' && value.back() != ' ' &&
                            value.back() != '\t'),
          "field value is trimmed");
    check(request.header_count(name) >= 1, "a present field is counted");
    // header() answers the first field of that name, whatever its case.
    const auto first =
        std::find_if(request.headers.begin(), request.headers.end(),
                     [&](const auto& other) { return lower(other.first) == lower(name); });
    check(request.header(name) == std::optional<std::string_view>(first->second),
          "header() finds the first field with that name, ignoring case");
    for (const std::string& token : request.header_tokens(name)) {
      check(!token.empty() && token.find(',') == std::string::npos,
            "list items are non-empty and comma-free");
      check(token.front() != ' ' && token.front() != '\t' && token.back() != ' ' &&
                token.back() != '\t',
            "list items are trimmed");
      check(request.has_token(name, lower(token)), "has_token ignores case");
    }
  }

  // Written back out, the request is one head with exactly one line per field and nothing else:
  // no value or target can end a line early or add one.
  const std::string head = serialize(request);
  check(count_crlf(head) == request.headers.size() + 2, "re-serialized head has one CRLF per line");
  check(std::count(head.begin(), head.end(), '\r') == std::count(head.begin(), head.end(), '\n'),
        "re-serialized head has no bare CR or LF");
  check(ws::find_head_end(head) == head.size(), "re-serialized head ends at its only blank line");
  std::string error;
  const auto again = ws::parse_request(head, error);
  check(again.has_value(), "re-serialized head parses");
  check(again->method == request.method && again->target == request.target &&
            again->version == request.version && again->headers == request.headers,
        "re-serialized head parses to the same request");
}

// A response the server writes: one head whose status line carries `status`, nothing but clean
// lines in it, and a body of exactly Content-Length bytes when it says so.
void check_response(std::string_view response, int status) {
  const std::string status_line_start = "HTTP/1.1 " + std::to_string(status) + " ";
  check(response.substr(0, status_line_start.size()) == status_line_start, "status line");
  const auto head_end = ws::find_head_end(response);
  check(head_end.has_value(), "response has a complete head");
  const std::string_view head = response.substr(0, *head_end);
  check(
      std::count(head.begin(), head.end(), '\r') == std::count(head.begin(), head.end(), '\n') &&
          static_cast<std::size_t>(std::count(head.begin(), head.end(), '\n')) == count_crlf(head),
      "response head has no bare CR or LF");
  const std::string_view body = response.substr(*head_end);
  const auto length_at = head.find("\r\nContent-Length: ");
  if (length_at != std::string_view::npos) {
    const auto digits =
        head.substr(length_at + 18, head.find("\r\n", length_at + 2) - length_at - 18);
    check(digits == std::to_string(body.size()), "Content-Length is the body's size");
  } else {
    check(body.empty(), "a response without Content-Length has no body");
  }
}

void check_upgrade(const ws::HttpRequest& request, const std::vector<std::string>& supported) {
  const ws::UpgradeDecision decision = ws::evaluate_upgrade(request, supported);
  const bool asks =
      std::any_of(request.headers.begin(), request.headers.end(), [](const auto& field) {
        const std::string name = lower(field.first);
        return name == "upgrade" || name == "sec-websocket-key" || name == "sec-websocket-version";
      });
  check(ws::looks_like_upgrade(request) == asks, "looks_like_upgrade sees the three headers");

  check(decision.status == 101 || decision.status == 400 || decision.status == 426,
        "an upgrade is answered 101, 400 or 426");
  check_response(decision.response, decision.status);
  if (decision.status != 101) {
    check(!decision.reason.empty() && is_clean_value(decision.reason),
          "a refusal has a one-line reason");
    check(decision.subprotocol.empty(), "a refusal chooses no subprotocol");
    if (decision.status == 426) {
      check(decision.response.find("\r\nSec-WebSocket-Version: 13\r\n") != std::string::npos,
            "426 names the version we speak");
    }
    return;
  }

  // RFC 6455 §4.2.1: everything a valid opening handshake must carry.
  check(asks, "an accepted upgrade asked for one");
  check(request.method == "GET" && request.version == "HTTP/1.1", "accepted: GET and HTTP/1.1");
  check(request.header_count("Host") == 1, "accepted: exactly one Host");
  check(request.has_token("Upgrade", "websocket") && request.has_token("Connection", "upgrade"),
        "accepted: Upgrade and Connection tokens");
  check(request.header_count("Sec-WebSocket-Version") == 1 &&
            request.header("Sec-WebSocket-Version") == "13",
        "accepted: version 13, once");
  check(request.header_count("Sec-WebSocket-Key") == 1, "accepted: one key");
  const auto key = request.header("Sec-WebSocket-Key");
  const auto decoded = base64_decode(*key);
  check(decoded.has_value() && decoded->size() == 16, "accepted key is base64 of 16 bytes");
  check(key->size() == 24, "accepted key is 24 characters");

  const std::string accept = ws::compute_accept_key(*key);
  check(accept.size() == 28 && accept.back() == '=' && base64_decode(accept).has_value() &&
            base64_decode(accept)->size() == 20,
        "Sec-WebSocket-Accept is base64 of a 20-byte SHA-1");
  check(decision.response.find("\r\nSec-WebSocket-Accept: " + accept + "\r\n") != std::string::npos,
        "101 carries the accept key");
  check(ws::find_head_end(decision.response) == decision.response.size(), "101 is a head only");
  check(count_crlf(decision.response) == (decision.subprotocol.empty() ? 5U : 6U),
        "101 has exactly its own lines");
  if (!decision.subprotocol.empty()) {
    // §4.2.2: the server answers with one of the client's offers, and one it speaks.
    const auto offered = request.header_tokens("Sec-WebSocket-Protocol");
    check(std::find(offered.begin(), offered.end(), decision.subprotocol) != offered.end(),
          "the chosen subprotocol was offered");
    check(std::find(supported.begin(), supported.end(), decision.subprotocol) != supported.end(),
          "the chosen subprotocol is supported");
  }
}

void check_head(std::string_view head) {
  std::string error;
  const auto request = ws::parse_request(head, error);
  if (!request) {
    check(!error.empty() && is_clean_value(error), "a parse failure has a one-line reason");
    return;
  }
  check_request(*request);
  check_upgrade(*request, {});
  check_upgrade(*request, {"chat", "superchat"});
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);

  const auto head_end = ws::find_head_end(input);
  const auto blank_line = input.find("\r\n\r\n");
  if (head_end) {
    check(blank_line != std::string_view::npos && *head_end == blank_line + 4,
          "find_head_end stops at the first blank line");
    check_head(input.substr(0, *head_end));
  } else {
    check(blank_line == std::string_view::npos, "find_head_end finds every blank line");
  }
  // parse_request is meant for a delimited head, but it must be safe on anything.
  check_head(input);
  return 0;
}
