// The course's command-line client, in the spirit of wscat and websocat: opens a WebSocket
// (RFC 6455 §4.1), sends every line of stdin as a message, prints every message that arrives, and
// ends with the closing handshake (§7). `--raw` sends hand-made bytes instead and prints every
// frame that comes back, to watch a server react to broken frames. Run with --help for the flags.
#include <poll.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <csignal>
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
#include "mask.hpp"
#include "socket.hpp"

namespace {

constexpr std::string_view kUsage = R"(usage: client URL [options]

Opens a WebSocket to URL (ws://host:port/path), sends each line read from stdin as a text
message, and prints each message received as "< text". When stdin ends (or on Ctrl-C), it closes
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

enum class ParseOutcome { kRun, kHelp, kError };

int hex_digit(char c) {
  if (c >= '0' && c <= '9') {
    return c - '0';
  }
  if (c >= 'a' && c <= 'f') {
    return c - 'a' + 10;
  }
  if (c >= 'A' && c <= 'F') {
    return c - 'A' + 10;
  }
  return -1;
}

/// Decodes "81 02 68 69" or "81026869" (spaces anywhere between bytes). nullopt if not hex.
std::optional<std::string> decode_hex(std::string_view text) {
  std::string bytes;
  std::string digits;
  for (const char c : text) {
    if (c == ' ' || c == '\t' || c == ':') {
      continue;
    }
    if (hex_digit(c) < 0) {
      return std::nullopt;
    }
    digits += c;
  }
  if (digits.empty() || digits.size() % 2 != 0) {
    return std::nullopt;
  }
  for (std::size_t i = 0; i < digits.size(); i += 2) {
    bytes += static_cast<char>(hex_digit(digits[i]) * 16 + hex_digit(digits[i + 1]));
  }
  return bytes;
}

/// Formats `bytes` as "68 69 ...".
std::string to_hex(std::string_view bytes) {
  constexpr std::string_view kDigits = "0123456789abcdef";
  std::string hex;
  for (const char c : bytes) {
    const auto byte = static_cast<std::uint8_t>(c);
    if (!hex.empty()) {
      hex += ' ';
    }
    hex += kDigits[byte >> 4U];
    hex += kDigits[byte & 0x0FU];
  }
  return hex;
}

std::vector<std::string> split_list(std::string_view list) {
  std::vector<std::string> items;
  while (!list.empty()) {
    const auto comma = list.find(',');
    std::string_view item = list.substr(0, comma);
    while (!item.empty() && item.front() == ' ') {
      item.remove_prefix(1);
    }
    while (!item.empty() && item.back() == ' ') {
      item.remove_suffix(1);
    }
    if (!item.empty()) {
      items.emplace_back(item);
    }
    list = comma == std::string_view::npos ? std::string_view{} : list.substr(comma + 1);
  }
  return items;
}

ParseOutcome parse_options(const std::vector<std::string>& args, CliOptions& options,
                           std::string& error) {
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string& arg = args[i];
    const bool has_value = i + 1 < args.size();
    if (arg == "--help" || arg == "-h") {
      return ParseOutcome::kHelp;
    }
    if (arg == "--binary") {
      options.binary = true;
    } else if (arg == "--protocol") {
      if (!has_value) {
        error = "--protocol needs a comma-separated list";
        return ParseOutcome::kError;
      }
      options.dial.subprotocols = split_list(args[++i]);
    } else if (arg == "--close") {
      int code = -1;
      if (has_value && !args[i + 1].empty() && args[i + 1].size() <= 5 &&
          args[i + 1].find_first_not_of("0123456789") == std::string::npos) {
        code = std::stoi(args[i + 1]);
      }
      if (code < 0 || code > 65535) {
        error = "--close needs a code from 0 to 65535";
        return ParseOutcome::kError;
      }
      options.close_status.code = static_cast<std::uint16_t>(code);
      ++i;
      // The reason is optional: the next argument, unless it is a flag or the URL.
      if (i + 1 < args.size() && !args[i + 1].starts_with("--") &&
          args[i + 1].find("://") == std::string::npos) {
        options.close_status.reason = args[++i];
      }
    } else if (arg == "--raw") {
      options.raw = has_value ? decode_hex(args[i + 1]) : std::nullopt;
      if (!options.raw) {
        error = "--raw needs bytes in hex, such as \"81 02 68 69\"";
        return ParseOutcome::kError;
      }
      ++i;
    } else if (arg == "--wait") {
      int seconds = 0;
      if (has_value && !args[i + 1].empty() && args[i + 1].size() <= 4 &&
          args[i + 1].find_first_not_of("0123456789") == std::string::npos) {
        seconds = std::stoi(args[i + 1]);
      }
      if (seconds < 1) {
        error = "--wait needs a number of seconds from 1 to 9999";
        return ParseOutcome::kError;
      }
      options.wait = std::chrono::seconds(seconds);
      ++i;
    } else if (arg.starts_with("-")) {
      error = "unknown flag " + arg;
      return ParseOutcome::kError;
    } else if (options.url.empty()) {
      options.url = arg;
    } else {
      error = "unexpected argument \"" + arg + "\" (only one URL)";
      return ParseOutcome::kError;
    }
  }
  if (options.url.empty()) {
    error = "missing URL, such as ws://127.0.0.1:1337/";
    return ParseOutcome::kError;
  }
  return ParseOutcome::kRun;
}

/// Prints a received message: text as it is, binary as its size and first 32 bytes in hex.
void print_message(const ws::Message& message) {
  constexpr std::size_t kShownBytes = 32;
  if (message.type == ws::Opcode::kText) {
    std::cout << "< " << message.payload << std::endl;
    return;
  }
  std::cout << "< binary " << message.payload.size() << " bytes";
  if (!message.payload.empty()) {
    std::cout << ": " << to_hex(std::string_view(message.payload).substr(0, kShownBytes))
              << (message.payload.size() > kShownBytes ? " ..." : "");
  }
  std::cout << std::endl;
}

/// Prints how the connection ended. `we_closed`: our close frame went out first.
void print_end(const ws::CloseError& end, bool we_closed) {
  const std::string status = ws::describe(end.status);
  if (we_closed) {
    std::cout << "closed " << status << std::endl;
  } else if (end.was_clean || end.status.code == 1006) {
    std::cout << "server closed " << status << std::endl;
  } else {
    // The server broke a rule and the client failed the connection with this code (§7.1.7).
    std::cout << "protocol error from the server: closed " << status << std::endl;
  }
}

// Set by SIGINT (Ctrl-C), which asks for a clean close, like the end of stdin.
const ws::StopSignal* interrupted = nullptr;

extern "C" void on_interrupt(int /*signal*/) {
  if (interrupted != nullptr) {
    interrupted->trigger();  // async-signal-safe: one write() to an eventfd
  }
}

void handle_interrupts(bool on) {
  struct sigaction action {};
  action.sa_handler = on ? on_interrupt : SIG_DFL;
  // SA_RESETHAND: the handler runs once, so a second Ctrl-C ends the program at once, should
  // the server never answer our close.
  action.sa_flags = static_cast<int>(SA_RESETHAND);
  sigemptyset(&action.sa_mask);
  sigaction(SIGINT, &action, nullptr);
}

/// Sends every line of stdin from its own thread, and the close frame when stdin ends, while
/// the main thread prints what arrives. One thread reading and one sending is what Client
/// supports: its writes, including the pongs the reading thread sends, take a mutex.
class StdinSender {
 public:
  StdinSender(ws::Client& client, const CliOptions& options)
      : client_(client), options_(options), thread_([this] { run(); }) {}
  StdinSender(const StdinSender&) = delete;
  StdinSender& operator=(const StdinSender&) = delete;
  /// Stops reading stdin (if it has not ended) and waits for the thread.
  ~StdinSender() {
    done_.trigger();
    thread_.join();
  }

  /// True once our close frame has been handed to the client.
  [[nodiscard]] bool close_started() const { return close_started_; }

 private:
  void run() {
    std::string pending;
    std::array<char, 4096> chunk{};
    while (true) {
      std::array<pollfd, 3> fds{{{STDIN_FILENO, POLLIN, 0},
                                 {done_.fd(), POLLIN, 0},
                                 {interrupted == nullptr ? -1 : interrupted->fd(), POLLIN, 0}}};
      if (::poll(fds.data(), fds.size(), -1) < 0) {
        if (errno == EINTR) {
          continue;
        }
        break;
      }
      if (fds[1].revents != 0) {
        return;  // the connection has ended: nothing left to send
      }
      if (fds[2].revents != 0) {
        break;  // Ctrl-C: close as at the end of input
      }
      if (fds[0].revents == 0) {
        continue;
      }
      const ssize_t n = ::read(STDIN_FILENO, chunk.data(), chunk.size());
      if (n < 0 && errno == EINTR) {
        continue;
      }
      if (n <= 0) {
        break;  // end of input
      }
      pending.append(chunk.data(), static_cast<std::size_t>(n));
      std::size_t newline = 0;
      while ((newline = pending.find('\n')) != std::string::npos) {
        std::string line = pending.substr(0, newline);
        pending.erase(0, newline + 1);
        if (!line.empty() && line.back() == '\r') {
          line.pop_back();
        }
        if (!send(line)) {
          return;
        }
      }
    }
    if (!pending.empty() && !send(pending)) {
      return;
    }
    close_started_ = true;
    try {
      client_.send_close(options_.close_status);
    } catch (const std::runtime_error&) {
      // The connection has ended already; the main thread reports how.
    }
  }

  // Sends one line; false when the connection can take no more (the main thread reports why).
  bool send(const std::string& line) {
    try {
      if (options_.binary) {
        client_.send_binary(line);
      } else {
        client_.send_text(line);
      }
      return true;
    } catch (const std::runtime_error&) {
      return false;
    }
  }

  ws::Client& client_;
  const CliOptions& options_;
  ws::StopSignal done_;
  std::atomic<bool> close_started_{false};
  std::thread thread_;  // last: it starts running once everything it uses exists
};

/// Lines from stdin out, messages in, until the connection ends. Returns the exit code.
int run_interactive(ws::Client& client, const CliOptions& options) {
  const ws::StopSignal interrupt;
  interrupted = &interrupt;
  handle_interrupts(true);
  int exit_code = 1;
  {
    StdinSender sender(client, options);
    try {
      while (true) {
        print_message(client.read_message());
      }
    } catch (const ws::CloseError& end) {
      print_end(end, sender.close_started());
      exit_code = end.was_clean ? 0 : 1;
    }
  }
  handle_interrupts(false);
  interrupted = nullptr;
  return exit_code;
}

// ---- --raw: hand-made bytes out, every frame in ----

std::string_view opcode_name(std::uint8_t opcode) {
  switch (opcode) {
    case 0x0:
      return "continuation";
    case 0x1:
      return "text";
    case 0x2:
      return "binary";
    case 0x8:
      return "close";
    case 0x9:
      return "ping";
    case 0xA:
      return "pong";
    default:
      return ws::is_control(opcode) ? "reserved control opcode" : "reserved data opcode";
  }
}

/// The size of the complete frame at the start of `bytes` (header and payload), or 0 while it is
/// not all there. Fills `header`.
std::size_t complete_frame_size(std::string_view bytes, ws::FrameHeader& header) {
  const std::size_t header_size = ws::decode_frame_header(bytes, header);
  if (header_size == 0 || header.payload_length > bytes.size() - header_size) {
    return 0;
  }
  return header_size + static_cast<std::size_t>(header.payload_length);
}

/// One received frame as one line, e.g. `< frame: text, FIN=1, RSV1-3=000, 2 bytes: "hi"`.
/// Text shows as text; every other payload in hex (the first 32 bytes), and a close frame's
/// code and reason decoded after it.
std::string describe_frame(const ws::FrameHeader& header, std::string_view payload) {
  constexpr std::size_t kShownBytes = 32;
  std::string line = "< frame: " + std::string(opcode_name(header.opcode));
  line += ", FIN=" + std::string(header.fin ? "1" : "0") + ", RSV1-3=";
  line +=
      std::string(header.rsv1 ? "1" : "0") + (header.rsv2 ? "1" : "0") + (header.rsv3 ? "1" : "0");
  if (header.masked) {
    line += ", MASK=1";
  }
  line += ", " + std::to_string(payload.size()) + (payload.size() == 1 ? " byte" : " bytes");
  if (payload.empty()) {
    return line;
  }
  if (header.opcode == static_cast<std::uint8_t>(ws::Opcode::kText)) {
    return line + ": \"" + std::string(payload) + "\"";
  }
  line += ": " + to_hex(payload.substr(0, kShownBytes));
  line += payload.size() > kShownBytes ? " ..." : "";
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
/// nothing arrives for `wait`. A close frame is answered with the same code, as §5.5.1 asks; no
/// other frame is answered, so what is printed is exactly what the server chose to send.
/// Returns 0.
int run_raw(ws::Client& client, const std::string& bytes, std::chrono::seconds wait) {
  client.send_raw(bytes);
  std::cout << "> raw " << bytes.size() << " bytes: " << to_hex(bytes) << std::endl;
  std::string received;  // bytes not yet printed as a frame
  std::optional<ws::CloseStatus> server_close;
  bool any_frame = false;
  while (true) {
    std::string more;
    try {
      more = client.read_raw(ws::Clock::now() + wait);
    } catch (const ws::TimeoutError&) {
      if (!received.empty()) {
        std::cout << "< " << received.size()
                  << " bytes of an unfinished frame: " << to_hex(received) << std::endl;
      }
      std::cout << (any_frame ? "nothing more within " : "no answer within ") << wait.count()
                << " s: "
                << (server_close ? "the server has not closed TCP after its close frame"
                                 : what_the_server_awaits(bytes))
                << std::endl;
      return 0;
    }
    if (more.empty()) {
      break;  // the server closed TCP
    }
    received += more;
    ws::FrameHeader header;
    std::size_t size = 0;
    while ((size = complete_frame_size(received, header)) > 0) {
      const auto payload_length = static_cast<std::size_t>(header.payload_length);
      std::string payload = received.substr(size - payload_length, payload_length);
      received.erase(0, size);
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
  if (server_close) {
    std::cout << "server closed " << ws::describe(*server_close) << std::endl;
  } else {
    std::cout << "server closed 1006 \"the server closed TCP without a close frame\"" << std::endl;
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CliOptions options;
  std::string error;
  switch (parse_options(std::vector<std::string>(argv + 1, argv + argc), options, error)) {
    case ParseOutcome::kHelp:
      std::cout << kUsage;
      return 0;
    case ParseOutcome::kError:
      std::cerr << "client: " << error << " (see --help)\n";
      return 2;
    case ParseOutcome::kRun:
      break;
  }

  try {
    ws::Client client = ws::Client::dial(options.url, options.dial);
    std::cout << "connected to " << options.url
              << (client.subprotocol().empty() ? ""
                                               : " (subprotocol: " + client.subprotocol() + ")")
              << std::endl;
    return options.raw ? run_raw(client, *options.raw, options.wait)
                       : run_interactive(client, options);
  } catch (const std::exception& e) {
    // A bad URL, a refused connection, a failed handshake, or a write that failed in --raw.
    std::cerr << "client: " << e.what() << "\n";
    return 2;
  }
}
