// The server's command line.
#include "options.hpp"

#include <algorithm>
#include <array>
#include <charconv>
#include <chrono>
#include <cstdint>
#include <string_view>

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

// The flags that take a value (--flag VALUE or --flag=VALUE).
constexpr std::array<std::string_view, 15> kValueFlags = {
    "--host",         "--port",     "--protocol", "--max-message",     "--ping-period",
    "--pong-wait",    "--users",    "--add-user", "--allow-origin",    "--rate-limit",
    "--otp-lifetime", "--tls-cert", "--tls-key",  "--max-connections", "--redis"};

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
    if (std::find(kValueFlags.begin(), kValueFlags.end(), flag) == kValueFlags.end()) {
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
    if (flag == "--host") {
      options.host = value;
    } else if (flag == "--port") {
      if (!parse_port(value, options.port)) {
        error = "invalid port '" + value + "' (expected 0-65535)";
        return ParseOutcome::kError;
      }
    } else if (flag == "--ping-period" || flag == "--pong-wait" || flag == "--otp-lifetime") {
      auto& duration = flag == "--ping-period" ? options.ping_period
                       : flag == "--pong-wait" ? options.pong_wait
                                               : options.otp_lifetime;
      if (!parse_duration(value, duration)) {
        error = "invalid duration '" + value + "' for " + flag;
        error += " (expected e.g. 200ms, 30s, 2m)";
        return ParseOutcome::kError;
      }
    } else if (flag == "--users") {
      options.users_file = value;
    } else if (flag == "--add-user") {
      options.add_user = value;
    } else if (flag == "--tls-cert") {
      options.tls_cert = value;
    } else if (flag == "--tls-key") {
      options.tls_key = value;
    } else if (flag == "--redis") {
      std::string host;
      std::uint16_t port = 0;
      if (!parse_host_port(value, host, port)) {
        error = "invalid Redis address '" + value + "' (expected HOST:PORT, e.g. 127.0.0.1:6379)";
        return ParseOutcome::kError;
      }
      options.redis = value;
    } else if (flag == "--allow-origin") {
      options.allowed_origins = split_list(value);
    } else if (flag == "--max-connections") {
      std::uint64_t count = 0;
      if (!parse_count(value, count) || count == 0) {
        error = "invalid connection count '" + value + "' (expected 1-1000000)";
        return ParseOutcome::kError;
      }
      options.max_connections = static_cast<std::size_t>(count);
    } else if (flag == "--rate-limit") {
      std::uint64_t rate = 0;
      if (!parse_count(value, rate)) {
        error = "invalid rate '" + value + "' (expected messages per second, 0 for no limit)";
        return ParseOutcome::kError;
      }
      options.rate_limit = static_cast<double>(rate);
    } else if (flag == "--max-message") {
      if (!parse_size(value, options.max_message)) {
        error = "invalid size '" + value + "' (expected bytes, or a number with K or M)";
        return ParseOutcome::kError;
      }
    } else {
      options.protocols = split_list(value);
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
