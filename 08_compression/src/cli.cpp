// The course's command-line client, in the spirit of wscat and websocat: opens a WebSocket
// (RFC 6455 §4.1), sends every line of stdin as a message, prints every message that arrives, and
// ends with the closing handshake (§7). `--raw` sends hand-made bytes instead and prints every
// frame that comes back, to watch a server react to broken frames. Run with --help for the flags.
#include <poll.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <charconv>
#include <chrono>
#include <cstdint>
#include <iostream>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "client.hpp"
#include "close.hpp"
#include "frame.hpp"
#include "http.hpp"
#include "mask.hpp"
#include "socket.hpp"

namespace {

constexpr std::string_view kUsage = R"(usage: client URL [options]

Opens a WebSocket to URL (ws://host:port/path), sends each line read from stdin as a text
message, and prints each message received as "< text". When stdin ends (Ctrl-D), it closes
the connection and prints the server's reply as `closed CODE "REASON"`.

  --protocol LIST        offer these subprotocols, comma-separated (e.g. chat,superchat)
  --close CODE [REASON]  the close frame to send when stdin ends (default: 1000). Any code is
                         sent as given, even one the RFC forbids, such as 1004.
  --binary               send each line as a binary message instead of text
  --raw HEX              after the handshake, send exactly these bytes (e.g. "81 02 68 69", an
                         unmasked text frame "hi"), without framing or masking, then print every
                         frame that comes back (pongs and close frames too) until the server
                         closes; stdin is not read. A close frame is answered, nothing else.
  --wait SECONDS         with --raw: stop when nothing arrives for this long (default: 3), and
                         say what the server is still waiting for
  --help                 show this text

Exit code: 0 after a clean close (and always after --raw), 1 when the connection ended without
one, 2 when it could not be opened (bad URL, refused connection, failed handshake) or the command
line is wrong.
)";

/// What the command line asks for.
struct CliOptions {
  std::string url;
  ws::DialOptions dial;
  ws::CloseStatus close_status = ws::make_close_status(ws::CloseCode::kNormalClosure);
  std::optional<std::string> raw;  // the decoded bytes of --raw
  std::chrono::seconds wait{3};    // --wait: how long --raw waits for the next bytes
  bool binary = false;
};

/// A mistake on the command line.
struct UsageError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

/// Decodes "81 02 68 69" or "81026869" (spaces anywhere between bytes). nullopt if not hex.
std::optional<std::string> decode_hex(std::string_view text) {
  std::string digits;
  std::copy_if(text.begin(), text.end(), std::back_inserter(digits),
               [](char c) { return c != ' ' && c != '\t' && c != ':'; });
  std::string bytes;
  for (std::size_t i = 0; i < digits.size(); i += 2) {
    unsigned byte = 0;
    const char* const end = digits.data() + std::min(i + 2, digits.size());
    if (std::from_chars(digits.data() + i, end, byte, 16).ptr != digits.data() + i + 2) {
      return std::nullopt;  // not a hex digit, or an odd number of digits
    }
    bytes += static_cast<char>(byte);
  }
  return bytes.empty() ? std::nullopt : std::optional(bytes);
}

/// Formats the first `limit` bytes of `bytes` as "68 69 ...", with " ..." if there are more.
std::string to_hex(std::string_view bytes, std::size_t limit = std::string_view::npos) {
  constexpr std::string_view kDigits = "0123456789abcdef";
  std::string hex;
  for (const char c : bytes.substr(0, limit)) {
    const auto byte = static_cast<std::uint8_t>(c);
    hex += hex.empty() ? "" : " ";
    hex += kDigits[byte >> 4U];
    hex += kDigits[byte & 0x0FU];
  }
  return bytes.size() > limit ? hex + " ..." : hex;
}

/// "chat, superchat" as {"chat", "superchat"}; empty items are dropped.
std::vector<std::string> split_list(std::string_view list) {
  std::vector<std::string> items;
  for (std::size_t start = 0, comma = 0; comma != std::string_view::npos; start = comma + 1) {
    comma = list.find(',', start);
    if (const std::string_view item = ws::trim(list.substr(start, comma - start)); !item.empty()) {
      items.emplace_back(item);
    }
  }
  return items;
}

/// `text` as a number from `min` to `max`, or nullopt.
std::optional<int> parse_number(const std::string& text, int min, int max) {
  int value = 0;
  const char* const end = text.data() + text.size();
  const auto [ptr, error] = std::from_chars(text.data(), end, value);
  return ptr == end && error == std::errc() && value >= min && value <= max ? std::optional(value)
                                                                            : std::nullopt;
}

/// Reads the command line. Returns nullopt for --help; throws UsageError naming a mistake.
std::optional<CliOptions> parse_options(const std::vector<std::string>& args) {
  CliOptions options;
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string& arg = args[i];
    const bool has_value = i + 1 < args.size();
    if (arg == "--help" || arg == "-h") {
      return std::nullopt;
    }
    if (arg == "--binary") {
      options.binary = true;
    } else if (arg == "--protocol") {
      if (!has_value) {
        throw UsageError("--protocol needs a comma-separated list");
      }
      options.dial.subprotocols = split_list(args[++i]);
    } else if (arg == "--close") {
      const auto code = has_value ? parse_number(args[++i], 0, 65535) : std::nullopt;
      if (!code) {
        throw UsageError("--close needs a code from 0 to 65535");
      }
      options.close_status.code = static_cast<std::uint16_t>(*code);
      // The reason is optional: the next argument, unless it is a flag or the URL.
      if (i + 1 < args.size() && !args[i + 1].starts_with("--") &&
          args[i + 1].find("://") == std::string::npos) {
        options.close_status.reason = args[++i];
      }
    } else if (arg == "--raw") {
      options.raw = has_value ? decode_hex(args[++i]) : std::nullopt;
      if (!options.raw) {
        throw UsageError("--raw needs bytes in hex, such as \"81 02 68 69\"");
      }
    } else if (arg == "--wait") {
      const auto seconds = has_value ? parse_number(args[++i], 1, 9999) : std::nullopt;
      if (!seconds) {
        throw UsageError("--wait needs a number of seconds from 1 to 9999");
      }
      options.wait = std::chrono::seconds(*seconds);
    } else if (arg.starts_with("-")) {
      throw UsageError("unknown flag " + arg);
    } else if (options.url.empty()) {
      options.url = arg;
    } else {
      throw UsageError("unexpected argument \"" + arg + "\" (only one URL)");
    }
  }
  if (options.url.empty()) {
    throw UsageError("missing URL, such as ws://127.0.0.1:1337/");
  }
  return options;
}

/// Prints a received message: text as it is, binary as its size and first 32 bytes in hex.
void print_message(const ws::Message& message) {
  constexpr std::size_t kShownBytes = 32;
  if (message.type == ws::Opcode::kText) {
    std::cout << "< " << message.payload << std::endl;
    return;
  }
  std::cout << "< binary " << message.payload.size() << " bytes"
            << (message.payload.empty() ? "" : ": " + to_hex(message.payload, kShownBytes))
            << std::endl;
}

/// Prints how the connection ended. `we_closed`: our close frame went out first.
void print_end(const ws::CloseError& end, bool we_closed) {
  // Neither side closing cleanly nor TCP simply ending (1006): the server broke a rule and the
  // client failed the connection with this code (§7.1.7).
  const bool server_broke_a_rule = !we_closed && !end.was_clean && end.status.code != 1006;
  std::cout << (we_closed             ? "closed "
                : server_broke_a_rule ? "protocol error from the server: closed "
                                      : "server closed ")
            << ws::describe(end.status) << std::endl;
}

/// Sends every line of stdin, and the close frame when stdin ends, unless `done` fires first
/// (the connection has ended). Runs in its own thread while the main thread prints what arrives.
/// One thread reading and one sending is what Client supports: its writes, including the pongs
/// the reading thread sends, take a mutex.
void send_stdin(ws::Client& client, const CliOptions& options, const ws::StopSignal& done,
                std::atomic<bool>& close_started) {
  std::string pending;  // bytes of stdin not yet sent as a line
  std::array<char, 4096> chunk{};
  ssize_t n = 1;
  while (n > 0) {
    // No signal handler is installed, so neither poll() nor read() fails with EINTR.
    std::array<pollfd, 2> fds{{{STDIN_FILENO, POLLIN, 0}, {done.fd(), POLLIN, 0}}};
    if (::poll(fds.data(), fds.size(), -1) < 0 || fds[1].revents != 0) {
      return;  // the connection has ended (or poll() failed): nothing left to send
    }
    n = ::read(STDIN_FILENO, chunk.data(), chunk.size());
    pending.append(chunk.data(), n > 0 ? static_cast<std::size_t>(n) : 0);
    if (n <= 0 && !pending.empty()) {
      pending += '\n';  // end of input: the last line had no newline
    }
    for (auto newline = pending.find('\n'); newline != std::string::npos;
         newline = pending.find('\n')) {
      std::string line = pending.substr(0, newline);
      pending.erase(0, newline + 1);
      if (line.ends_with('\r')) {
        line.pop_back();
      }
      try {
        options.binary ? client.send_binary(line) : client.send_text(line);
      } catch (const std::runtime_error&) {
        return;  // the connection can take no more; the main thread reports why
      }
    }
  }
  close_started = true;
  try {
    client.send_close(options.close_status);
  } catch (const std::runtime_error&) {
    // The connection has ended already; the main thread reports how.
  }
}

/// Lines from stdin out, messages in, until the connection ends. Returns the exit code.
int run_interactive(ws::Client& client, const CliOptions& options) {
  const ws::StopSignal done;
  std::atomic<bool> close_started{false};  // our close frame has been handed to the client
  std::thread sender([&] { send_stdin(client, options, done, close_started); });
  int exit_code = 1;
  try {
    while (true) {  // without a deadline, read_message() ends only with a CloseError
      print_message(client.read_message());
    }
  } catch (const ws::CloseError& end) {
    print_end(end, close_started);
    exit_code = end.was_clean ? 0 : 1;
  }
  done.trigger();
  sender.join();
  return exit_code;
}

// ---- --raw: hand-made bytes out, every frame in ----

std::string_view opcode_name(std::uint8_t opcode) {
  constexpr std::array<std::string_view, 11> kNames = {
      "continuation", "text", "binary", "", "", "", "", "", "close", "ping", "pong"};
  if (opcode < kNames.size() && !kNames[opcode].empty()) {
    return kNames[opcode];
  }
  return ws::is_control(opcode) ? "reserved control opcode" : "reserved data opcode";
}

/// One received frame as one line, e.g. `< frame: text, FIN=1, RSV1-3=000, 2 bytes: "hi"`.
/// Text shows as text; every other payload in hex (the first 32 bytes), and a close frame's
/// code and reason decoded after it.
std::string describe_frame(const ws::FrameHeader& header, std::string_view payload) {
  constexpr std::size_t kShownBytes = 32;
  const auto bit = [](bool set) { return set ? '1' : '0'; };
  std::string line = "< frame: " + std::string(opcode_name(header.opcode)) +
                     ", FIN=" + bit(header.fin) + ", RSV1-3=" + bit(header.rsv1) +
                     bit(header.rsv2) + bit(header.rsv3) + (header.masked ? ", MASK=1" : "") +
                     ", " + std::to_string(payload.size()) +
                     (payload.size() == 1 ? " byte" : " bytes");
  if (payload.empty()) {
    return line;
  }
  if (header.opcode == static_cast<std::uint8_t>(ws::Opcode::kText)) {
    return line + ": \"" + std::string(payload) + "\"";
  }
  line += ": " + to_hex(payload, kShownBytes);
  if (header.opcode == static_cast<std::uint8_t>(ws::Opcode::kClose)) {
    line += " (close " + ws::describe(ws::parse_close_payload(payload).received) + ")";
  }
  return line;
}

/// What the server is still waiting for once it has read `sent`: the rest of a frame, the rest
/// of a fragmented message, or simply the next frame.
std::string what_the_server_awaits(std::string_view sent) {
  bool message_open = false;
  while (!sent.empty()) {
    ws::FrameHeader header;
    const std::size_t header_size = ws::decode_frame_header(sent, header);
    if (header_size == 0) {
      // The second byte says how long the header is (2-14 bytes); before it arrives, at least 2.
      const std::size_t needed =
          sent.size() < 2 ? 2 : ws::frame_header_size(static_cast<std::uint8_t>(sent[1]));
      return "the server is still waiting for the rest of the frame header (" +
             std::to_string(sent.size()) + " of " + std::to_string(needed) + " bytes sent)";
    }
    const std::size_t payload_sent = sent.size() - header_size;
    if (header.payload_length > payload_sent) {
      return "the server is still waiting for the rest of the frame (" +
             std::to_string(payload_sent) + " of " + std::to_string(header.payload_length) +
             " payload bytes sent)";
    }
    if (!ws::is_control(header.opcode)) {
      message_open = !header.fin;
    }
    sent.remove_prefix(header_size + static_cast<std::size_t>(header.payload_length));
  }
  return message_open ? "the server is waiting for the rest of the message (FIN=0 was last)"
                      : "the server is waiting for the next frame";
}

/// --raw: sends the bytes, then prints every frame that arrives until the server closes TCP or
/// nothing arrives for `wait`, and returns 0. A close frame is answered with the same code, as
/// §5.5.1 asks; no other frame is, so what is printed is exactly what the server chose to send.
int run_raw(ws::Client& client, const std::string& bytes, std::chrono::seconds wait) {
  client.send_raw(bytes);
  std::cout << "> raw " << bytes.size() << " bytes: " << to_hex(bytes) << std::endl;
  std::string received;  // bytes not yet printed as a frame
  std::optional<ws::CloseStatus> server_close;
  bool any_frame = false;
  bool timed_out = false;
  while (!timed_out) {
    try {
      const std::string more = client.read_raw(ws::Clock::now() + wait);
      if (more.empty()) {
        break;  // the server closed TCP
      }
      received += more;
    } catch (const ws::TimeoutError&) {
      timed_out = true;
    }
    ws::FrameHeader header;
    std::size_t header_size = 0;  // 0 while the header is incomplete
    while ((header_size = ws::decode_frame_header(received, header)) > 0 &&
           header.payload_length <= received.size() - header_size) {
      std::string payload = received.substr(header_size, header.payload_length);
      received.erase(0, header_size + payload.size());
      if (header.masked) {  // a server must not mask (§5.1); unmask anyway to show the payload
        static_cast<void>(ws::apply_mask_simple(payload, header.masking_key));
      }
      std::cout << describe_frame(header, payload) << std::endl;
      any_frame = true;
      if (header.opcode == static_cast<std::uint8_t>(ws::Opcode::kClose) && !server_close) {
        server_close = ws::parse_close_payload(payload).received;
        try {
          client.send_close({server_close->code, {}});  // §5.5.1: echo the code
          std::cout << "> close reply sent (masked), "
                    << (payload.empty() ? std::string("empty like the server's")
                                        : "code " + std::to_string(server_close->code))
                    << std::endl;
        } catch (const std::runtime_error&) {
          // The server has gone already; what remains is to report how it ended.
        }
      }
    }
  }
  if (!received.empty()) {
    std::cout << "< " << received.size() << " bytes of an unfinished frame: " << to_hex(received)
              << std::endl;
  }
  if (timed_out) {
    std::cout << (any_frame ? "nothing more within " : "no answer within ") << wait.count()
              << " s: "
              << (server_close ? "the server has not closed TCP after its close frame"
                               : what_the_server_awaits(bytes))
              << std::endl;
    return 0;
  }
  std::cout << "server closed "
            << (server_close ? ws::describe(*server_close)
                             : "1006 \"the server closed TCP without a close frame\"")
            << std::endl;
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    const std::optional<CliOptions> options = parse_options({argv + 1, argv + argc});
    if (!options) {
      std::cout << kUsage;
      return 0;
    }
    ws::Client client = ws::Client::dial(options->url, options->dial);
    std::cout << "connected to " << options->url
              << (client.subprotocol().empty() ? ""
                                               : " (subprotocol: " + client.subprotocol() + ")")
              << std::endl;
    return options->raw ? run_raw(client, *options->raw, options->wait)
                        : run_interactive(client, *options);
  } catch (const UsageError& e) {
    std::cerr << "client: " << e.what() << " (see --help)\n";
    return 2;
  } catch (const std::exception& e) {
    // A bad URL, a refused connection, a failed handshake, or a write that failed in --raw.
    std::cerr << "client: " << e.what() << "\n";
    return 2;
  }
}
