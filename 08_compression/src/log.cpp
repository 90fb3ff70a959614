// Logging: one line per event on stdout, never interleaved between threads.
#include "log.hpp"

#include <cstdint>
#include <cstdio>
#include <mutex>

namespace ws {

namespace {
std::mutex log_mutex;
}  // namespace

void log_line(std::string_view line) {
  const std::lock_guard lock(log_mutex);
  std::fwrite(line.data(), 1, line.size(), stdout);
  std::fputc('\n', stdout);
  std::fflush(stdout);
}

std::string printable(std::string_view bytes) {
  static constexpr std::string_view kHex = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size());
  for (const char c : bytes) {
    const auto byte = static_cast<std::uint8_t>(c);
    if (c == '\n') {
      out += "\\n";
    } else if (c == '\r') {
      out += "\\r";
    } else if (c == '\t') {
      out += "\\t";
    } else if (c == '\\') {
      out += "\\\\";
    } else if (byte < 0x20 || byte == 0x7f) {
      out += "\\x";
      out += kHex[byte >> 4U];
      out += kHex[byte & 0x0fU];
    } else {
      out += c;  // printable ASCII, or part of a UTF-8 sequence the terminal can show
    }
  }
  return out;
}

}  // namespace ws
