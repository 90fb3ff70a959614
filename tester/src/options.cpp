// The tester's command line: flags with values, durations with units, no silent fallthrough.
#include "options.hpp"

#include <charconv>
#include <functional>
#include <map>

namespace tester {
namespace {

bool parse_duration(const std::string& text, std::chrono::milliseconds* out) {
  long long count = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), count);
  const std::string unit(end, text.data() + text.size());
  if (ec != std::errc{} || count < 0) {
    return false;
  }
  if (unit == "ms") {
    *out = std::chrono::milliseconds(count);
  } else if (unit == "s") {
    *out = std::chrono::seconds(count);
  } else {
    return false;
  }
  return true;
}

bool parse_size(const std::string& text, std::size_t* out) {
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), *out);
  return ec == std::errc{} && end == text.data() + text.size() && *out > 0;
}

}  // namespace

std::string usage() {
  return R"(usage: tester --stage NN (--server 'COMMAND {port}' | --url ws://127.0.0.1:PORT/PATH) [options]

Checks a WebSocket server, in any language, against what a stage of the course expects.

  --stage NN             the stage whose expectations to check (01 ... 08)
  --server 'CMD {port}'  start the server with this shell command, {port} replaced by a free
                         port; the tester waits for it to listen and stops it at the end
  --url URL              check a server that is already running (loopback only); cases that
                         need to signal or read the server are skipped
  --path PATH            with --server, the path of the WebSocket to check (default /, and
                         /ws for the chat stages); with --url, the URL's path is the one
  --echo-path PATH       an echo WebSocket without login on the same server, for the cases
                         that compare messages byte for byte through compression (default
                         /echo for the chat stages, otherwise the WebSocket's own path)
  --cases TEXT[|TEXT]    only the cases whose "group id title" contains one of these texts
                         (any case): --cases utf8, --cases '7.3|7.5', --cases 'login|chat'
  --list                 list the stage's groups and cases, run nothing
  --verbose              print every case and every frame sent (>) and received (<)
  --ping-period TIME     the server's ping period (default 1s; TIME is like 500ms or 2s)
  --pong-wait TIME       how long the server waits for a pong (default 1s)
  --handshake-timeout TIME  how long the server waits for a request head (default 10s)
  --max-message BYTES    the server's message size limit (default 16777216)
  --protocol NAME        a subprotocol the server was started to accept (checks selection)
  --user NAME, --password PASSWORD   the chat's login (default alice / wonderland)
  --startup TIME         how long --server may take to start listening (default 20s)

Exit status: 0 when every expected case passed, 1 when one failed, 2 on a usage error.
)";
}

std::optional<Options> parse_options(const std::vector<std::string>& args, std::string* error,
                                     bool* help) {
  Options options;
  using Setter = std::function<bool(const std::string&)>;
  const auto text = [](std::string* field) {
    return Setter([field](const std::string& value) {
      *field = value;
      return true;
    });
  };
  const auto duration = [](std::chrono::milliseconds* field) {
    return Setter([field](const std::string& value) { return parse_duration(value, field); });
  };
  const std::map<std::string, Setter> with_value = {
      {"--stage", text(&options.stage)},
      {"--url", text(&options.url)},
      {"--server", text(&options.server)},
      {"--path", text(&options.path)},
      {"--echo-path", text(&options.echo_path)},
      {"--cases", text(&options.cases)},
      {"--protocol", text(&options.protocol)},
      {"--user", text(&options.user)},
      {"--password", text(&options.password)},
      {"--ping-period", duration(&options.ping_period)},
      {"--pong-wait", duration(&options.pong_wait)},
      {"--handshake-timeout", duration(&options.handshake_timeout)},
      {"--startup", duration(&options.startup)},
      {"--max-message",
       [&options](const std::string& value) { return parse_size(value, &options.max_message); }},
  };
  for (std::size_t i = 0; i < args.size(); ++i) {
    std::string flag = args[i];
    std::optional<std::string> value;
    if (const auto equals = flag.find('='); flag.starts_with("--") && equals != std::string::npos) {
      value = flag.substr(equals + 1);
      flag.resize(equals);
    }
    if (flag == "--help" || flag == "-h") {
      *help = true;
      return std::nullopt;
    }
    if (flag == "--list" || flag == "--verbose") {
      (flag == "--list" ? options.list : options.verbose) = true;
      continue;
    }
    const auto setter = with_value.find(flag);
    if (setter == with_value.end()) {
      *error = "unknown option '" + flag + "' (see --help)";
      return std::nullopt;
    }
    if (!value) {
      if (i + 1 == args.size()) {
        *error = flag + " needs a value";
        return std::nullopt;
      }
      value = args[++i];
    }
    if (!setter->second(*value)) {
      *error = "invalid value '" + *value + "' for " + flag;
      return std::nullopt;
    }
  }
  if (options.stage.empty()) {
    *error = "say which stage to check: --stage NN";
    return std::nullopt;
  }
  if (!options.list && options.url.empty() == options.server.empty()) {
    *error = "say which server to check: --server 'COMMAND {port}' or --url ws://127.0.0.1:PORT/";
    return std::nullopt;
  }
  if (!options.path.empty() && !options.url.empty()) {
    *error = "--path goes with --server; with --url, put the path in the URL";
    return std::nullopt;
  }
  // RFC 6455 §3: the resource name is an absolute path (and maybe a query).
  if (!options.path.empty() && !options.path.starts_with("/")) {
    *error = "--path must start with '/', got '" + options.path + "'";
    return std::nullopt;
  }
  if (!options.echo_path.empty() && !options.echo_path.starts_with("/")) {
    *error = "--echo-path must start with '/', got '" + options.echo_path + "'";
    return std::nullopt;
  }
  return options;
}

}  // namespace tester
