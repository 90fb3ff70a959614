// Reading permessage-deflate answers and inflating compressed messages (RFC 7692 §7.1, §7.2.2).
#include "inflate.hpp"

#include <zlib.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <stdexcept>

namespace ws::bench {
namespace {

std::string_view trim(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) {
    text.remove_prefix(1);
  }
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) {
    text.remove_suffix(1);
  }
  return text;
}

std::string lower(std::string_view text) {
  std::string out(text);
  for (char& ch : out) {
    ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  }
  return out;
}

/// A window size parameter's value: 8-15, optionally quoted (§7.1.2).
bool parse_window_bits(std::string_view text, int& bits) {
  if (text.size() >= 2 && text.front() == '"' && text.back() == '"') {
    text = text.substr(1, text.size() - 2);
  }
  if (text.empty() || text.size() > 2 || !std::all_of(text.begin(), text.end(), [](char ch) {
        return std::isdigit(static_cast<unsigned char>(ch)) != 0;
      })) {
    return false;
  }
  bits = 0;
  for (const char ch : text) {
    bits = bits * 10 + (ch - '0');
  }
  return bits >= 8 && bits <= 15;
}

/// §7.2.2: what a sender removed from the end of each message's DEFLATE data.
constexpr std::array<unsigned char, 4> kTail = {0x00, 0x00, 0xFF, 0xFF};
constexpr std::size_t kOutputStep = std::size_t{16} * 1024;

}  // namespace

bool parse_deflate_answer(std::string_view value, DeflateAnswer& answer, std::string& error) {
  answer = DeflateAnswer{};
  if (value.find(',') != std::string_view::npos) {
    error = "more than one extension in the answer";
    return false;
  }
  bool first = true;
  std::array<bool, 4> seen{};
  while (true) {
    const std::size_t semicolon = value.find(';');
    const std::string_view part = trim(value.substr(0, semicolon));
    if (first) {
      if (lower(part) != "permessage-deflate") {
        error = "an extension not offered: " + std::string(part);
        return false;
      }
      first = false;
    } else {
      const std::size_t eq = part.find('=');
      const std::string name = lower(trim(part.substr(0, eq)));
      const std::string_view argument =
          eq == std::string_view::npos ? std::string_view{} : trim(part.substr(eq + 1));
      const bool has_value = eq != std::string_view::npos;
      std::size_t slot = 0;
      bool ok = false;
      if (name == "server_no_context_takeover") {
        slot = 0;
        ok = !has_value;
        answer.server_no_context_takeover = true;
      } else if (name == "client_no_context_takeover") {
        slot = 1;
        ok = !has_value;
        answer.client_no_context_takeover = true;
      } else if (name == "server_max_window_bits") {
        slot = 2;
        ok = has_value && parse_window_bits(argument, answer.server_max_window_bits);
      } else if (name == "client_max_window_bits") {
        slot = 3;
        ok = has_value && parse_window_bits(argument, answer.client_max_window_bits);
      } else {
        error = "unknown permessage-deflate parameter: " + name;
        return false;
      }
      if (!ok || seen[slot]) {
        error = "bad or repeated permessage-deflate parameter: " + std::string(part);
        return false;
      }
      seen[slot] = true;
    }
    if (semicolon == std::string_view::npos) {
      return true;
    }
    value.remove_prefix(semicolon + 1);
  }
}

void Inflater::StreamDeleter::operator()(z_stream_s* stream) const {
  ::inflateEnd(stream);
  delete stream;
}

Inflater::Inflater() {
  auto* stream = new z_stream_s{};
  // Negative window bits: raw DEFLATE, no zlib header or checksum (§7.2.2). 15 inflates whatever
  // window the server compressed with.
  if (::inflateInit2(stream, -15) != Z_OK) {
    delete stream;
    throw std::runtime_error("inflateInit2 failed");
  }
  stream_.reset(stream);
}

Inflater::~Inflater() = default;

void Inflater::reset() { ::inflateReset(stream_.get()); }

bool Inflater::inflate(std::string_view payload, std::string& out, std::size_t limit,
                       std::string& error) {
  z_stream_s& s = *stream_;
  const std::size_t start = out.size();
  std::size_t used = start;
  bool ended = false;
  auto feed = [&](const unsigned char* data, std::size_t size) {
    // zlib reads but never writes next_in; its type is not const.
    s.next_in = const_cast<unsigned char*>(data);
    s.avail_in = static_cast<uInt>(size);
    while (!ended) {
      if (out.size() - used < kOutputStep) {
        out.resize(used + kOutputStep);
      }
      s.next_out = reinterpret_cast<unsigned char*>(out.data() + used);
      s.avail_out = static_cast<uInt>(out.size() - used);
      const int rc = ::inflate(&s, Z_SYNC_FLUSH);
      used = out.size() - s.avail_out;
      if (used - start > limit) {
        error = "message inflates past " + std::to_string(limit) + " bytes";
        return false;
      }
      if (rc == Z_STREAM_END) {
        // A final block (BFINAL): the message is complete; what follows is ignored, and the
        // next message must start a new stream.
        ended = true;
        ::inflateReset(&s);
        break;
      }
      if (rc == Z_BUF_ERROR || (rc == Z_OK && s.avail_in == 0 && s.avail_out > 0)) {
        break;  // every byte read and every byte out
      }
      if (rc != Z_OK) {
        error = std::string("invalid DEFLATE data: ") + (s.msg != nullptr ? s.msg : "?");
        return false;
      }
    }
    return true;
  };
  const bool ok = feed(reinterpret_cast<const unsigned char*>(payload.data()), payload.size()) &&
                  (ended || feed(kTail.data(), kTail.size()));
  out.resize(used);
  return ok;
}

}  // namespace ws::bench
