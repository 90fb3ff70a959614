// The server's command line.
#include "options.hpp"

#include <charconv>

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

}  // namespace

std::string usage() {
  return "usage: server [--host HOST] [--port PORT] [--protocol NAME[,NAME...]]\n"
         "\n"
         "A WebSocket server that greets each client and prints what it sends.\n"
         "\n"
         "  --host HOST        address to listen on (default 127.0.0.1; 'localhost' binds\n"
         "                     IPv4 and IPv6)\n"
         "  --port PORT        TCP port (default 1337; 0 picks a free port)\n"
         "  --protocol LIST    subprotocols to accept, comma-separated (default: none)\n"
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
    if (flag != "--host" && flag != "--port" && flag != "--protocol") {
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
    } else {
      options.protocols = split_list(value);
    }
  }
  return ParseOutcome::kRun;
}

}  // namespace ws
