// Parsing the load generator's flags.
#include "options.hpp"

#include <charconv>
#include <functional>
#include <map>
#include <string_view>

namespace ws::bench {
namespace {

bool parse_unsigned(std::string_view text, std::uint64_t& value) {
  const auto* end = text.data() + text.size();
  const auto [ptr, ec] = std::from_chars(text.data(), end, value);
  return ec == std::errc() && ptr == end && !text.empty();
}

/// "32", "4K", "1M", "16MiB": a byte count with an optional binary suffix.
bool parse_size(std::string_view text, std::size_t& value) {
  std::uint64_t multiplier = 1;
  for (const std::string_view suffix : {"iB", "B"}) {
    if (text.ends_with(suffix)) {
      text.remove_suffix(suffix.size());
      break;
    }
  }
  if (text.ends_with('K') || text.ends_with('k')) {
    multiplier = 1024;
  } else if (text.ends_with('M')) {
    multiplier = std::uint64_t{1024} * 1024;
  }
  if (multiplier != 1) {
    text.remove_suffix(1);
  }
  std::uint64_t number = 0;
  if (!parse_unsigned(text, number)) {
    return false;
  }
  value = static_cast<std::size_t>(number * multiplier);
  return true;
}

/// "250ms", "5s", "2m", or plain seconds.
bool parse_duration(std::string_view text, Duration& value) {
  std::uint64_t nanos_per_unit = 1'000'000'000;
  if (text.ends_with("ms")) {
    nanos_per_unit = 1'000'000;
    text.remove_suffix(2);
  } else if (text.ends_with('s')) {
    text.remove_suffix(1);
  } else if (text.ends_with('m')) {
    nanos_per_unit = 60'000'000'000;
    text.remove_suffix(1);
  }
  std::uint64_t number = 0;
  if (!parse_unsigned(text, number)) {
    return false;
  }
  value = Duration(static_cast<std::int64_t>(number * nanos_per_unit));
  return true;
}

// A TCP port to connect to: 1-65535.
bool parse_port(std::string_view text, std::uint16_t& port) {
  std::uint64_t n = 0;
  if (!parse_unsigned(text, n) || n == 0 || n > 65535) {
    return false;
  }
  port = static_cast<std::uint16_t>(n);
  return true;
}

}  // namespace

const char* mode_name(Mode mode) {
  switch (mode) {
    case Mode::kEcho:
      return "echo";
    case Mode::kPingPong:
      return "pingpong";
    case Mode::kBroadcast:
      return "broadcast";
    case Mode::kIdle:
      return "idle";
  }
  return "?";
}

ParseOutcome parse_options(const std::vector<std::string>& args, Options& options,
                           std::string& error) {
  using Setter = std::function<bool(std::string_view)>;
  auto count = [](std::size_t& field) {
    return [&field](std::string_view v) {
      std::uint64_t n = 0;
      if (!parse_unsigned(v, n) || n == 0) {
        return false;
      }
      field = static_cast<std::size_t>(n);
      return true;
    };
  };
  auto text = [](std::string& field) {
    return [&field](std::string_view v) {
      field = v;
      return true;
    };
  };
  auto duration = [](Duration& field) {
    return [&field](std::string_view v) { return parse_duration(v, field); };
  };
  const std::map<std::string, Setter, std::less<>> setters = {
      {"--host", text(options.host)},
      {"--port", [&](std::string_view v) { return parse_port(v, options.port); }},
      {"--also-port",
       [&](std::string_view v) {
         std::uint16_t port = 0;
         if (!parse_port(v, port)) {
           return false;
         }
         options.also_ports.push_back(port);
         return true;
       }},
      {"--path", text(options.path)},
      {"--connections", count(options.connections)},
      {"--in-flight", count(options.in_flight)},
      {"--size", [&](std::string_view v) { return parse_size(v, options.size); }},
      {"--warmup", duration(options.warmup)},
      {"--duration", duration(options.duration)},
      {"--connect-concurrency", count(options.connect_concurrency)},
      {"--connect-timeout", duration(options.connect_timeout)},
      {"--drain-timeout", duration(options.drain_timeout)},
      {"--threads", count(options.threads)},
      {"--source-addresses",
       [&](std::string_view v) {
         std::uint64_t n = 0;
         if (!parse_unsigned(v, n) || n == 0 || n > 254) {
           return false;
         }
         options.source_addresses = static_cast<std::size_t>(n);
         return true;
       }},
      {"--publishers", count(options.publishers)},
      {"--window", count(options.window)},
      {"--login-path", text(options.login_path)},
      {"--login-body", text(options.login_body)},
      {"--origin", text(options.origin)},
      {"--ready-match", text(options.ready_match)},
      {"--join-message", text(options.join_message)},
      {"--publish-template", text(options.publish_template)},
      {"--server-pid",
       [&](std::string_view v) {
         std::uint64_t n = 0;
         if (!parse_unsigned(v, n) || n == 0 || n > 0x3FFFFFFF) {
           return false;
         }
         options.server_pid = static_cast<int>(n);
         return true;
       }},
      {"--label", text(options.label)},
  };

  // Flags that take no value.
  const std::map<std::string, std::function<void()>, std::less<>> switches = {
      {"--binary", [&] { options.binary = true; }},
      {"--text", [&] { options.binary = false; }},
      {"--compression", [&] { options.compression = true; }},
  };

  std::size_t i = 0;
  if (!args.empty() && !args[0].starts_with("-")) {
    const std::map<std::string, Mode, std::less<>> modes = {{"echo", Mode::kEcho},
                                                            {"pingpong", Mode::kPingPong},
                                                            {"broadcast", Mode::kBroadcast},
                                                            {"idle", Mode::kIdle}};
    const auto mode = modes.find(args[0]);
    if (mode == modes.end()) {
      error = "unknown mode '" + args[0] + "' (echo, pingpong, broadcast, idle)";
      return ParseOutcome::kError;
    }
    options.mode = mode->second;
    ++i;
  }
  for (; i < args.size(); ++i) {
    std::string_view arg = args[i];
    if (arg == "--help" || arg == "-h") {
      return ParseOutcome::kHelp;
    }
    if (const auto flag = switches.find(arg); flag != switches.end()) {
      flag->second();
      continue;
    }
    std::string_view value;
    bool has_value = false;
    if (const std::size_t eq = arg.find('='); eq != std::string_view::npos) {
      value = arg.substr(eq + 1);
      arg = arg.substr(0, eq);
      has_value = true;
    }
    const auto setter = setters.find(arg);
    if (setter == setters.end()) {
      error = "unknown flag '" + std::string(arg) + "'";
      return ParseOutcome::kError;
    }
    if (!has_value) {
      if (i + 1 >= args.size()) {
        error = std::string(arg) + " needs a value";
        return ParseOutcome::kError;
      }
      value = args[++i];
    }
    if (!setter->second(value)) {
      error = "bad value '" + std::string(value) + "' for " + std::string(arg);
      return ParseOutcome::kError;
    }
  }

  if (options.port == 0) {
    error = "--port is required";
    return ParseOutcome::kError;
  }
  if (options.source_addresses > 1 && !options.host.starts_with("127.")) {
    error = "--source-addresses binds to 127.0.0.x: it needs a loopback --host";
    return ParseOutcome::kError;
  }
  if (options.mode == Mode::kPingPong) {
    options.in_flight = 1;
  }
  if (options.mode == Mode::kBroadcast) {
    if (options.threads != 1) {
      error = "broadcast runs on one thread (it counts every delivery in one place)";
      return ParseOutcome::kError;
    }
    if (options.publishers > options.connections) {
      error = "--publishers cannot exceed --connections";
      return ParseOutcome::kError;
    }
    if (options.publish_template.find("{msg}") == std::string::npos) {
      error = "--publish-template must contain {msg}";
      return ParseOutcome::kError;
    }
  }
  if (options.threads > options.connections) {
    options.threads = options.connections;
  }
  return ParseOutcome::kRun;
}

std::string usage() {
  return R"(usage: loadgen MODE --port P [flags]

Drives a WebSocket server on 127.0.0.1 and prints what it measured, then one line of JSON.

modes:
  echo        C connections keep W messages of S bytes in flight; every echo is checked
  pingpong    echo with one connection and one message in flight: round-trip latency
  broadcast   C connections join a chat; P of them publish; deliveries, loss, latency
  idle        C connections held for the duration, answering pings; how many survive

flags (defaults in brackets):
  --host H                 server address [127.0.0.1]
  --port P                 server port (required)
  --also-port P            another server of the same chat (repeatable): connections are
                           spread over --port and these in turn
  --path PATH              upgrade request target; {otp} is replaced by the login's OTP [/]
  --connections C          [1]
  --in-flight W            messages in flight per connection (echo) [1]
  --size S                 payload bytes (echo) or chat text bytes (broadcast); 4K, 1M [32]
  --text | --binary        echo message type [text]
  --compression            offer permessage-deflate as browsers do ("permessage-deflate;
                           client_max_window_bits") and inflate what the server compresses;
                           what we send stays uncompressed. The JSON counts the bytes of the
                           data messages received in the window, on the wire and inflated
  --warmup D               traffic before measuring: 500ms, 1s [1s]
  --duration D             measurement (idle: hold) time [5s]
  --connect-concurrency N  connections opening at once [128]
  --connect-timeout D      [60s]
  --drain-timeout D        wait for messages in flight after the measurement [10s]
  --threads N              worker threads, each with its own epoll (not broadcast) [1]
  --source-addresses N     bind the client sockets to 127.0.0.1 .. 127.0.0.N in turn, for
                           more connections than one address has ephemeral ports (1-254) [1]
  --server-pid PID         sample this process's CPU time and memory around the measurement
  --label TEXT             copied into the JSON summary

broadcast:
  --publishers P           connections that publish (they receive too) [1]
  --window N               messages a publisher may have out before all received them [64]
  --login-path PATH        POST --login-body there first and use the "otp" it returns
  --login-body JSON
  --origin URL             Origin header of the upgrade
  --ready-match TEXT       joined once a text message containing TEXT arrives; such messages
                           are not deliveries
  --join-message TEXT      sent once joined (any mode); {conn} is replaced by the
                           connection's number, e.g. for a chat room of its own
  --publish-template TEXT  what a publisher sends; {msg} is replaced by the chat text [{msg}]
)";
}

}  // namespace ws::bench
