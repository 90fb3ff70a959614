// The server's command line.
#include "options.hpp"

#include <array>
#include <charconv>
#include <chrono>
#include <cstdint>
#include <string_view>
#include <utility>

namespace ws {

namespace {

bool parse_port(const std::string& text, std::uint16_t& port) {
  unsigned value = 0;
  const auto* end = text.data() + text.size();
  const auto [ptr, ec] = std::from_chars(text.data(), end, value);
  if (ec != std::errc() || ptr != end || text.empty() || value > 65535) {
    return false;
  }
  port = static_cast<std::uint16_t>(value);
  return true;
}

std::vector<std::string> split_list(const std::string& text) {
  std::vector<std::string> items;
  std::string item;
  for (const char c : text + ",") {
    if (c == ',') {
      if (!item.empty()) {
        items.push_back(item);
      }
      item.clear();
    } else if (c != ' ') {
      item += c;
    }
  }
  return items;
}

// Sizes in bytes, with an optional binary suffix: "4096", "64K", "16M".
bool parse_size(const std::string& text, std::uint64_t& size) {
  std::uint64_t value = 0;
  const auto* end = text.data() + text.size();
  const auto [ptr, ec] = std::from_chars(text.data(), end, value);
  if (ec != std::errc() || text.empty() || ptr == text.data()) {
    return false;
  }
  const std::string_view suffix(ptr, static_cast<std::size_t>(end - ptr));
  unsigned shift = 0;
  if (suffix == "K" || suffix == "KiB") {
    shift = 10;
  } else if (suffix == "M" || suffix == "MiB") {
    shift = 20;
  } else if (!suffix.empty()) {
    return false;
  }
  // The 64-bit length field caps every payload below 2^63 (§5.2); anything bigger is a typo.
  if (value == 0 || value > (std::uint64_t{1} << (62U - shift))) {
    return false;
  }
  size = value << shift;
  return true;
}

// Durations with a unit: "200ms", "30s", "2m". Plain numbers are refused: a unit-less "30" is
// too easy to misread as milliseconds or minutes.
bool parse_duration(const std::string& text, std::chrono::milliseconds& duration) {
  std::uint64_t value = 0;
  const auto* end = text.data() + text.size();
  const auto [ptr, ec] = std::from_chars(text.data(), end, value);
  if (ec != std::errc() || ptr == text.data() || value == 0 || value > 86'400'000) {
    return false;
  }
  const std::string_view unit(ptr, static_cast<std::size_t>(end - ptr));
  const auto count = static_cast<std::chrono::milliseconds::rep>(value);
  if (unit == "ms") {
    duration = std::chrono::milliseconds(count);
  } else if (unit == "s") {
    duration = std::chrono::seconds(count);
  } else if (unit == "m") {
    duration = std::chrono::minutes(count);
  } else {
    return false;
  }
  return true;
}

// A plain count from 0 to 1,000,000 ("10", not "10k" or "-1").
bool parse_count(const std::string& text, std::uint64_t& count) {
  const auto* end = text.data() + text.size();
  const auto [ptr, ec] = std::from_chars(text.data(), end, count);
  return ec == std::errc() && ptr == end && !text.empty() && count <= 1'000'000;
}

// Stores a flag's value in `options`. Returns an empty string, or what is wrong with the value.
using StoreValue = std::string (*)(const std::string& value, Options& options);

// A flag that takes a value (--flag VALUE or --flag=VALUE), and how its value is stored.
struct ValueFlag {
  std::string_view name;
  StoreValue store;
};

std::string store_duration(const std::string& value, std::chrono::milliseconds& duration,
                           std::string_view flag) {
  if (!parse_duration(value, duration)) {
    return "invalid duration '" + value + "' for " + std::string(flag) +
           " (expected e.g. 200ms, 30s, 2m)";
  }
  return {};
}

// Every flag that takes a value. --help and --verbose, which take none, are parse_options' own.
const std::array<ValueFlag, 19> kValueFlags = {{
    {"--host",
     [](const std::string& value, Options& options) -> std::string {
       options.host = value;
       return {};
     }},
    {"--port",
     [](const std::string& value, Options& options) -> std::string {
       if (!parse_port(value, options.port)) {
         return "invalid port '" + value + "' (expected 0-65535)";
       }
       return {};
     }},
    {"--protocol",
     [](const std::string& value, Options& options) -> std::string {
       options.protocols = split_list(value);
       return {};
     }},
    {"--max-message",
     [](const std::string& value, Options& options) -> std::string {
       if (!parse_size(value, options.max_message)) {
         return "invalid size '" + value + "' (expected bytes, or a number with K or M)";
       }
       return {};
     }},
    {"--ping-period",
     [](const std::string& value, Options& options) -> std::string {
       return store_duration(value, options.ping_period, "--ping-period");
     }},
    {"--pong-wait",
     [](const std::string& value, Options& options) -> std::string {
       return store_duration(value, options.pong_wait, "--pong-wait");
     }},
    {"--otp-lifetime",
     [](const std::string& value, Options& options) -> std::string {
       return store_duration(value, options.otp_lifetime, "--otp-lifetime");
     }},
    {"--users",
     [](const std::string& value, Options& options) -> std::string {
       options.users_file = value;
       return {};
     }},
    {"--add-user",
     [](const std::string& value, Options& options) -> std::string {
       options.add_user = value;
       return {};
     }},
    {"--allow-origin",
     [](const std::string& value, Options& options) -> std::string {
       options.allowed_origins = split_list(value);
       return {};
     }},
    {"--rate-limit",
     [](const std::string& value, Options& options) -> std::string {
       std::uint64_t rate = 0;
       if (!parse_count(value, rate)) {
         return "invalid rate '" + value + "' (expected messages per second, 0 for no limit)";
       }
       options.rate_limit = static_cast<double>(rate);
       return {};
     }},
    {"--max-connections",
     [](const std::string& value, Options& options) -> std::string {
       std::uint64_t count = 0;
       if (!parse_count(value, count) || count == 0) {
         return "invalid connection count '" + value + "' (expected 1-1000000)";
       }
       options.max_connections = static_cast<std::size_t>(count);
       return {};
     }},
    {"--tls-cert",
     [](const std::string& value, Options& options) -> std::string {
       options.tls_cert = value;
       return {};
     }},
    {"--tls-key",
     [](const std::string& value, Options& options) -> std::string {
       options.tls_key = value;
       return {};
     }},
    {"--redis",
     [](const std::string& value, Options& options) -> std::string {
       std::string host;
       std::uint16_t port = 0;
       if (!parse_host_port(value, host, port)) {
         return "invalid Redis address '" + value + "' (expected HOST:PORT, e.g. 127.0.0.1:6379)";
       }
       options.redis = value;
       return {};
     }},
    {"--threads",
     [](const std::string& value, Options& options) -> std::string {
       std::uint64_t count = 0;
       if (!parse_count(value, count) || count == 0 || count > 1024) {
         return "invalid thread count '" + value + "' (expected 1-1024)";
       }
       options.threads = static_cast<std::size_t>(count);
       return {};
     }},
    {"--echo",
     [](const std::string& value, Options& options) -> std::string {
       if (value.empty() || value.front() != '/' || value == "/ws") {
         return "invalid echo path '" + value + "' (expected a path like /echo, not /ws)";
       }
       options.echo_path = value;
       return {};
     }},
    {"--compression",
     [](const std::string& value, Options& options) -> std::string {
       if (value == "off") {
         options.compression.mode = CompressionMode::kOff;
       } else if (value == "no-context-takeover") {
         options.compression.mode = CompressionMode::kNoContextTakeover;
       } else if (value == "context-takeover") {
         options.compression.mode = CompressionMode::kContextTakeover;
       } else {
         return "invalid compression '" + value +
                "' (expected off, no-context-takeover or context-takeover)";
       }
       return {};
     }},
    {"--compression-window-bits",
     [](const std::string& value, Options& options) -> std::string {
       std::uint64_t bits = 0;
       // 9-15: zlib cannot compress raw DEFLATE with the 256-byte window of 8 bits.
       if (!parse_count(value, bits) || bits < 9 || bits > 15) {
         return "invalid compression window bits '" + value + "' (expected 9-15)";
       }
       options.compression.window_bits = static_cast<int>(bits);
       return {};
     }},
}};

// The row of the flag called `name`, or nullptr if no flag of that name takes a value.
const ValueFlag* find_value_flag(std::string_view name) {
  for (const ValueFlag& flag : kValueFlags) {
    if (flag.name == name) {
      return &flag;
    }
  }
  return nullptr;
}

}  // namespace

bool parse_host_port(const std::string& text, std::string& host, std::uint16_t& port) {
  const auto colon = text.rfind(':');
  if (colon == std::string::npos || colon == 0) {
    return false;
  }
  host = text.substr(0, colon);
  if (host.size() > 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);  // [::1]:6379
  }
  return parse_port(text.substr(colon + 1), port) && port != 0;
}

std::string usage() {
  return "usage: server [--host HOST] [--port PORT] [--users FILE] [--allow-origin LIST]\n"
         "              [--max-message SIZE] [--rate-limit N] [--ping-period TIME]\n"
         "              [--pong-wait TIME] [--protocol LIST] [--verbose]\n"
         "              [--tls-cert FILE --tls-key FILE] [--redis HOST:PORT]\n"
         "              [--threads N] [--echo PATH]\n"
         "              [--compression MODE] [--compression-window-bits N]\n"
         "       server --users FILE --add-user NAME\n"
         "\n"
         "The chat server: log in at POST /login, then chat in rooms over a WebSocket at /ws.\n"
         "\n"
         "  --host HOST        address to listen on (default 127.0.0.1; 'localhost' binds\n"
         "                     IPv4 and IPv6)\n"
         "  --port PORT        TCP port (default 8080; 0 picks a free port)\n"
         "  --users FILE       users and password hashes (default: demo users alice/wonderland\n"
         "                     and bob/builder)\n"
         "  --add-user NAME    ask for NAME's password, add NAME to --users FILE, and exit\n"
         "  --allow-origin LIST  origins whose pages may connect, comma-separated (default: the\n"
         "                     server's own, e.g. http://127.0.0.1:8080)\n"
         "  --otp-lifetime TIME  how long a login's one-time password stays valid (default 10s)\n"
         "  --max-connections N  connections served at once; more get 503 (default 10000)\n"
         "  --rate-limit N     chat messages per second per client, bursts of 2N (default 10;\n"
         "                     0: no limit)\n"
         "  --protocol LIST    subprotocols to accept, comma-separated (default: none)\n"
         "  --max-message SIZE largest message accepted, in bytes or with K/M (default 4K);\n"
         "                     bigger ones are refused with close code 1009\n"
         "  --ping-period TIME time between pings, with a unit: 200ms, 30s, 2m (default 30s)\n"
         "  --pong-wait TIME   how long after a ping a silent client is dropped (default 10s)\n"
         "  --tls-cert FILE    serve HTTPS and wss with this certificate (PEM: the server's\n"
         "                     certificate, then any intermediates); needs --tls-key\n"
         "  --tls-key FILE     the certificate's private key (PEM); needs --tls-cert\n"
         "  --redis HOST:PORT  share rooms, history and logins with other servers through\n"
         "                     this Redis (default: none, one server on its own)\n"
         "  --threads N        event loops, each a thread serving its share of the\n"
         "                     connections (default: one per core)\n"
         "  --echo PATH        also serve an echo WebSocket at PATH (e.g. /echo), without login,\n"
         "                     for conformance checks and load tests (default: none)\n"
         "  --compression MODE permessage-deflate: off, no-context-takeover (each message\n"
         "                     compressed on its own) or context-takeover (each connection\n"
         "                     keeps its window; smaller messages, more memory) (default\n"
         "                     no-context-takeover)\n"
         "  --compression-window-bits N  the largest window the server compresses with, as a\n"
         "                     power of two: 9-15 (default 15, 32 KiB)\n"
         "  --verbose          log every message, not only connections and closes\n"
         "  --help             show this text\n";
}

ParseOutcome parse_options(const std::vector<std::string>& args, Options& options,
                           std::string& error) {
  for (std::size_t i = 0; i < args.size(); ++i) {
    std::string flag = args[i];
    std::string value;
    bool has_value = false;
    if (const auto equals = flag.find('=');
        flag.rfind("--", 0) == 0 && equals != std::string::npos) {
      value = flag.substr(equals + 1);
      flag = flag.substr(0, equals);
      has_value = true;
    }
    if (flag == "--help" || flag == "-h") {
      return ParseOutcome::kHelp;
    }
    if (flag == "--verbose" && !has_value) {
      options.verbose = true;
      continue;
    }
    const ValueFlag* const known = find_value_flag(flag);
    if (known == nullptr) {
      error = "unknown option '" + args[i] + "'";
      return ParseOutcome::kError;
    }
    if (!has_value) {
      if (i + 1 == args.size()) {
        error = "option " + flag + " needs a value";
        return ParseOutcome::kError;
      }
      value = args[++i];
    }
    if (std::string problem = known->store(value, options); !problem.empty()) {
      error = std::move(problem);
      return ParseOutcome::kError;
    }
  }
  // A certificate is useless without its private key, and a key alone proves nothing.
  if (options.tls_cert.empty() != options.tls_key.empty()) {
    error = "--tls-cert and --tls-key go together: the certificate and its private key";
    return ParseOutcome::kError;
  }
  return ParseOutcome::kRun;
}

}  // namespace ws
