// Integration tests of the event loops against the real server: a reader that takes one byte at
// a time, a consumer that stops reading (closed by the bytes queued for it), thousands of idle
// connections each with its own heartbeat timers, one room spread over several loops, shutdown
// with connections in every state, and the echo endpoint (RFC 6455 §5.4, §5.5, §7.1, §7.4).
#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <system_error>
#include <thread>
#include <vector>

#include "chat_client.hpp"
#include "frame.hpp"
#include "raw_client.hpp"
#include "server_process.hpp"

namespace ws_test {
namespace {

using Clock = std::chrono::steady_clock;

// The RFC's sample nonce and the answer it must get (§1.3, §4.2.2).
constexpr std::string_view kSampleKey = "dGhlIHNhbXBsZSBub25jZQ==";
constexpr std::string_view kSampleAccept = "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=";

constexpr std::size_t kMiB = std::size_t{1024} * 1024;

/// Milliseconds from now until `deadline`, never negative: a poll() timeout.
int ms_until(Clock::time_point deadline) {
  const auto left =
      std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
  return static_cast<int>(std::clamp<std::int64_t>(left, 0, 60'000));
}

std::int64_t ms_between(Clock::time_point from, Clock::time_point to) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(to - from).count();
}

sockaddr_in loopback(std::uint16_t port) {
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(port);
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  return address;
}

/// A loopback TCP connection for what RawClient does not offer: a receive buffer chosen before
/// connecting (so the window advertised from the SYN on is small), and reads of a chosen size.
/// The constructor throws std::runtime_error if it cannot connect.
class Connection {
 public:
  explicit Connection(std::uint16_t port, int receive_buffer = 0)
      : fd_(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) {
    if (fd_ < 0) {
      throw std::runtime_error("socket failed");
    }
    if (receive_buffer > 0) {
      ::setsockopt(fd_, SOL_SOCKET, SO_RCVBUF, &receive_buffer, sizeof receive_buffer);
    }
    const sockaddr_in address = loopback(port);
    if (::connect(fd_, reinterpret_cast<const sockaddr*>(&address), sizeof address) != 0) {
      ::close(fd_);
      throw std::runtime_error("cannot connect to 127.0.0.1:" + std::to_string(port));
    }
  }
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;
  Connection(Connection&&) = delete;
  Connection& operator=(Connection&&) = delete;
  ~Connection() { ::close(fd_); }

  /// Sends all of `bytes`; throws std::runtime_error if the connection is gone.
  void send_all(std::string_view bytes) const {
    while (!bytes.empty()) {
      const ssize_t n = ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
      if (n <= 0) {
        throw std::runtime_error("send failed: the server closed the connection");
      }
      bytes.remove_prefix(static_cast<std::size_t>(n));
    }
  }

  /// Appends to `out` at most `max` bytes, waiting for them until `deadline`. Returns false at
  /// the end of the stream: EOF, or a reset (then reset() is true). Throws std::runtime_error on
  /// timeout.
  bool read_some(std::string& out, std::size_t max, Clock::time_point deadline) {
    std::array<char, std::size_t{64} * 1024> chunk;  // filled by recv, never read beyond that
    const std::size_t wanted = std::min(max, chunk.size());
    while (true) {
      // Try first: a reader taking one byte at a time mostly finds the next one waiting.
      const ssize_t n = ::recv(fd_, chunk.data(), wanted, MSG_DONTWAIT);
      if (n > 0) {
        out.append(chunk.data(), static_cast<std::size_t>(n));
        return true;
      }
      if (n == 0) {
        return false;
      }
      if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
        reset_ = errno == ECONNRESET;
        return false;
      }
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, ms_until(deadline)) == 0 && Clock::now() >= deadline) {
        throw std::runtime_error("timed out waiting for the server");
      }
    }
  }

  /// The local port: how the server's end of this connection is found in /proc/net/tcp.
  [[nodiscard]] std::uint16_t local_port() const {
    sockaddr_in address{};
    socklen_t size = sizeof address;
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&address), &size);
    return ntohs(address.sin_port);
  }

  /// Bytes received by the kernel and not read yet.
  [[nodiscard]] std::size_t unread() const {
    int count = 0;
    ::ioctl(fd_, FIONREAD, &count);
    return static_cast<std::size_t>(std::max(count, 0));
  }

  /// True once a read found the connection reset rather than closed.
  [[nodiscard]] bool reset() const { return reset_; }

 private:
  int fd_;
  bool reset_ = false;
};

/// Splits the server's byte stream into frames as bytes arrive, however few at a time.
class FrameParser {
 public:
  void feed(std::string_view bytes) { buffer_.append(bytes); }

  /// The next whole frame, or nullopt until more bytes have arrived.
  std::optional<ServerFrame> next() {
    ws::FrameHeader header;
    const std::size_t header_size = ws::decode_frame_header(buffer_, header);
    if (header_size == 0 || buffer_.size() - header_size < header.payload_length) {
      return std::nullopt;
    }
    ServerFrame frame{header.fin, header.opcode, header.masked,
                      buffer_.substr(header_size, header.payload_length)};
    buffer_.erase(0, header_size + header.payload_length);
    return frame;
  }

 private:
  std::string buffer_;
};

bool is_opcode(const ServerFrame& frame, ws::Opcode opcode) {
  return frame.opcode == static_cast<std::uint8_t>(opcode);
}

/// The status code of a close frame (§5.5.1), 1005 when it carries none.
std::uint16_t close_code_of(const ServerFrame& frame) {
  if (frame.payload.size() < 2) {
    return 1005;
  }
  return static_cast<std::uint16_t>((static_cast<std::uint8_t>(frame.payload[0]) << 8U) |
                                    static_cast<std::uint8_t>(frame.payload[1]));
}

/// The reason of a close frame: what follows the code.
std::string close_reason_of(const ServerFrame& frame) {
  return frame.payload.size() > 2 ? frame.payload.substr(2) : "";
}

/// An opening handshake request for `path` (§4.1) with `extra_headers` (whole lines with CRLF).
std::string upgrade_request(std::uint16_t port, const std::string& path,
                            const std::string& extra_headers = {}) {
  return "GET " + path + " HTTP/1.1\r\nHost: 127.0.0.1:" + std::to_string(port) +
         "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: " +
         std::string(kSampleKey) + "\r\nSec-WebSocket-Version: 13\r\n" + extra_headers + "\r\n";
}

/// The Origin header line of the chat's own page.
std::string own_origin(std::uint16_t port) {
  return "Origin: http://127.0.0.1:" + std::to_string(port) + "\r\n";
}

/// Logs in as bob and opens the chat's WebSocket on `connection`, reading `chunk` bytes at a
/// time. Returns what followed the 101 response head (the first frames), for a FrameParser.
/// Throws std::runtime_error unless the server switched protocols.
std::string open_chat(Connection& connection, std::uint16_t port, std::size_t chunk,
                      Clock::time_point deadline) {
  const std::string otp = login_otp(port, "bob", demo_password("bob"));
  connection.send_all(upgrade_request(port, "/ws?otp=" + otp, own_origin(port)));
  std::string received;
  std::size_t head_end = 0;
  while ((head_end = received.find("\r\n\r\n")) == std::string::npos) {
    if (!connection.read_some(received, chunk, deadline)) {
      throw std::runtime_error("connection closed during the handshake");
    }
  }
  if (!received.starts_with("HTTP/1.1 101 ")) {
    throw std::runtime_error("handshake refused: " + received.substr(0, head_end));
  }
  return received.substr(head_end + 4);
}

/// Reads frames from `connection` through `frames`, `chunk` bytes per read, until one is a chat
/// event of `type`; returns its payload. Throws std::runtime_error when the connection ends or
/// `deadline` passes first.
nlohmann::json await_event(Connection& connection, FrameParser& frames, std::string_view type,
                           std::size_t chunk, Clock::time_point deadline) {
  std::string bytes;
  for (int reads = 0; reads < 10'000'000; ++reads) {
    while (auto frame = frames.next()) {
      if (is_opcode(*frame, ws::Opcode::kText)) {
        const auto event = nlohmann::json::parse(frame->payload);
        if (event.at("type") == type) {
          return event.at("payload");
        }
      }
    }
    bytes.clear();
    if (!connection.read_some(bytes, chunk, deadline)) {
      throw std::runtime_error("connection ended while waiting for " + std::string(type));
    }
    frames.feed(bytes);
  }
  throw std::runtime_error("too many reads while waiting for " + std::string(type));
}

/// Waits until at least `count` of the server's lines contain `text`; false after `timeout`.
bool wait_for_count(ServerProcess& server, std::string_view text, std::size_t count,
                    std::chrono::milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  while (true) {
    const auto lines = server.lines();
    const auto found = std::count_if(lines.begin(), lines.end(), [&](const std::string& line) {
      return line.find(text) != std::string::npos;
    });
    if (static_cast<std::size_t>(found) >= count) {
      return true;
    }
    if (Clock::now() >= deadline) {
      return false;
    }
    std::this_thread::sleep_for(10ms);
  }
}

/// The server's lines that contain `text`, one per line, for a failure's message.
std::string lines_with(ServerProcess& server, std::string_view text) {
  std::string found;
  for (const std::string& line : server.lines()) {
    if (line.find(text) != std::string::npos) {
      found += line + "\n";
    }
  }
  return found;
}

/// The bytes in the kernel's send buffer at the server's end of the connection from
/// `client_port` (tx_queue in /proc/net/tcp, the Send-Q of `ss`), or nullopt if not found.
std::optional<std::size_t> server_send_queue(std::uint16_t server_port, std::uint16_t client_port) {
  std::ifstream table("/proc/net/tcp");
  std::string line;
  std::getline(table, line);                             // the column names
  const auto port_of = [](const std::string& address) {  // "0100007F:1F90"
    return std::stoul(address.substr(address.find(':') + 1), nullptr, 16);
  };
  while (std::getline(table, line)) {
    std::istringstream fields(line);
    std::string slot;
    std::string local;
    std::string remote;
    std::string state;
    std::string queues;  // "tx_queue:rx_queue", in hex
    fields >> slot >> local >> remote >> state >> queues;
    if (port_of(local) == server_port && port_of(remote) == client_port) {
      return std::stoul(queues.substr(0, queues.find(':')), nullptr, 16);
    }
  }
  return std::nullopt;
}

// --- Chat messages that prove themselves intact and in order ---

/// How message_text() fills a message after its label.
enum class Filler {
  kAscii,  ///< 200-999 ASCII letters: messages of varied sizes
  kWide,   ///< four-byte characters up to the chat's 1000: about 4 KiB on the wire
};

/// The text of message `index` from sender `sender`: a label ("s2-17"), a space, then filler
/// whose length and characters depend on both, so that a message cut, merged or shifted in
/// transit no longer matches the text of its own label. Never more than the chat's 1000
/// characters (kMaxMessageCharacters).
std::string message_text(int sender, int index, Filler filler = Filler::kAscii) {
  std::string text = "s" + std::to_string(sender) + "-" + std::to_string(index) + " ";
  const auto shift = static_cast<std::uint32_t>(sender + index);
  if (filler == Filler::kAscii) {
    const std::size_t length = 200 + static_cast<std::size_t>((sender * 131 + index * 97) % 800);
    for (std::size_t i = text.size(); i < length; ++i) {
      text += static_cast<char>('a' + (i + shift) % 26);
    }
    return text;
  }
  for (auto i = static_cast<std::uint32_t>(text.size()); i < 1000; ++i) {
    // U+1F600-U+1F64F, emoticons: four bytes each in UTF-8 (RFC 3629).
    const std::uint32_t code_point = 0x1F600 + (i + shift) % 80;
    text += static_cast<char>(0xF0U | (code_point >> 18U));
    text += static_cast<char>(0x80U | ((code_point >> 12U) & 0x3FU));
    text += static_cast<char>(0x80U | ((code_point >> 6U) & 0x3FU));
    text += static_cast<char>(0x80U | (code_point & 0x3FU));
  }
  return text;
}

/// The sender and index in a label made by message_text(), or nullopt.
std::optional<std::pair<int, int>> parse_label(const std::string& label) {
  int sender = -1;
  int index = -1;
  // NOLINTNEXTLINE(cert-err34-c): a failed conversion is reported through the count
  if (std::sscanf(label.c_str(), "s%d-%d", &sender, &index) != 2) {
    return std::nullopt;
  }
  return std::pair{sender, index};
}

/// What one member saw of the room: the labels of the chat messages in the order they arrived,
/// and the first problem found ("" if none).
struct Seen {
  std::vector<std::string> labels;
  std::string failure;
};

/// Records the new_message `payload` into `seen`, checking that its text arrived intact.
void record(Seen& seen, const nlohmann::json& payload) {
  const std::string text = payload.at("message").get<std::string>();
  const std::string label = text.substr(0, text.find(' '));
  const auto parsed = parse_label(label);
  const bool intact =
      parsed && (text == message_text(parsed->first, parsed->second) ||
                 text == message_text(parsed->first, parsed->second, Filler::kWide));
  if (!intact && seen.failure.empty()) {
    seen.failure = "message " + std::to_string(seen.labels.size()) + " is damaged: '" +
                   text.substr(0, 40) + "...' (" + std::to_string(text.size()) + " bytes)";
  }
  seen.labels.push_back(label);
}

/// Reads chat messages from `user` into `seen` until it holds `count`, skipping other events.
/// A timeout or the end of the connection is recorded as seen.failure.
void read_messages(ChatUser& user, std::size_t count, Seen& seen) {
  try {
    while (seen.labels.size() < count) {
      record(seen, user.await("new_message", 20s));
    }
  } catch (const std::exception& error) {
    seen.failure = "after " + std::to_string(seen.labels.size()) + " messages: " + error.what();
  }
}

/// Has `talker` say wide messages (labelled s`sender`-0, -1, ...) in rounds of 16, reading its
/// own copies into `seen`, until at least `target` bytes of them wait in the server for `member`,
/// a member of the same room that reads nothing meanwhile: bytes beyond what the kernel's socket
/// buffers on both sides hold (the server's Send-Q in /proc/net/tcp, the member's unread bytes).
/// Throws std::runtime_error if that does not happen within `deadline` or 20 MiB.
void fill_backlog(ServerProcess& server, ChatUser& talker, int sender, Seen& seen,
                  const Connection& member, std::size_t target, Clock::time_point deadline) {
  // Each frame carries the text plus more than 100 bytes (the event's JSON and the frame
  // header): counting 100 underestimates what was sent, so the backlog is at least as computed.
  constexpr std::size_t kOverhead = 100;
  std::size_t sent = 0;
  for (int round = 0; round < 320 && Clock::now() < deadline; ++round) {
    for (int i = 0; i < 16; ++i) {
      const std::string text = message_text(sender, round * 16 + i, Filler::kWide);
      talker.say(text);
      sent += text.size() + kOverhead;
    }
    read_messages(talker, seen.labels.size() + 16, seen);
    if (!seen.failure.empty()) {
      throw std::runtime_error("while filling a backlog: " + seen.failure);
    }
    const auto in_kernel = server_send_queue(server.port(), member.local_port());
    if (!in_kernel) {
      throw std::runtime_error("the server's end of the connection is not in /proc/net/tcp");
    }
    if (sent >= *in_kernel + member.unread() + target) {
      return;
    }
  }
  throw std::runtime_error("the kernel took everything: no backlog in the server after " +
                           std::to_string(sent / 1024) + " KiB");
}

/// Checks that every member saw all `total` messages, intact, in one order, and each sender's
/// messages in the order they were sent.
void expect_one_order(const std::vector<Seen>& seen, std::size_t total) {
  ASSERT_FALSE(seen.empty());
  for (std::size_t member = 0; member < seen.size(); ++member) {
    EXPECT_EQ(seen[member].failure, "") << "member " << member;
    EXPECT_EQ(seen[member].labels.size(), total) << "member " << member;
    EXPECT_TRUE(seen[member].labels == seen[0].labels)
        << "member " << member << " saw another order than member 0";
  }
  std::map<int, int> next_index;
  for (const std::string& label : seen[0].labels) {
    const auto parsed = parse_label(label);
    ASSERT_TRUE(parsed) << label;
    ASSERT_EQ(parsed->second, next_index[parsed->first]++)
        << "sender " << parsed->first << "'s messages arrived out of order";
  }
}

/// Starts one thread per member: the first `senders` send `per_sender` messages each, then
/// every member reads all `senders * per_sender`. Returns what each member saw.
std::vector<Seen> chat_concurrently(std::vector<std::unique_ptr<ChatUser>>& members, int senders,
                                    int per_sender) {
  const auto total = static_cast<std::size_t>(senders) * static_cast<std::size_t>(per_sender);
  std::vector<Seen> seen(members.size());
  std::vector<std::thread> threads;
  threads.reserve(members.size());
  for (std::size_t m = 0; m < members.size(); ++m) {
    threads.emplace_back([&, m] {
      ChatUser& user = *members[m];
      const auto sender = static_cast<int>(m);
      for (int i = 0; sender < senders && i < per_sender; ++i) {
        try {
          user.say(message_text(sender, i));
        } catch (const std::exception& error) {
          seen[m].failure = std::string("send failed: ") + error.what();
          return;
        }
      }
      read_messages(user, total, seen[m]);
    });
  }
  for (auto& thread : threads) {
    thread.join();
  }
  return seen;
}

// --- 1. Partial writes ---

// A non-blocking server must cope with a socket that takes a few bytes at a time: writes are
// partial, and what the socket did not take waits in the connection's queue, in order, until it
// is writable again, while the loop serves everybody else.
TEST(EventLoop, AReaderTakingOneByteAtATimeGetsEveryMessageInTheRoomsOrder) {
  ServerProcess server({"--rate-limit", "0"});
  constexpr int kSenders = 3;
  constexpr int kPerSender = 67;  // 201 messages of 200-1000 bytes
  constexpr auto kTotal = static_cast<std::size_t>(kSenders) * kPerSender;
  const auto deadline = Clock::now() + 90s;

  // The kernel rounds a tiny SO_RCVBUF up to its minimum, a few KiB.
  Connection slow(server.port(), 1);
  FrameParser slow_frames;
  slow_frames.feed(open_chat(slow, server.port(), 1, deadline));
  await_event(slow, slow_frames, "room_changed", 1, deadline);  // it is in the room now

  // Before it reads a byte, the first sender fills the kernel's buffers towards it, and then
  // some: 128 KiB wait in the server. From then on every write to it is partial, and the room's
  // messages queue behind what is waiting.
  std::vector<std::unique_ptr<ChatUser>> senders;
  senders.reserve(kSenders);
  senders.push_back(std::make_unique<ChatUser>(server.port(), "alice"));
  Seen backlog;
  fill_backlog(server, *senders[0], kSenders, backlog, slow, std::size_t{128} * 1024, deadline);
  for (int s = 1; s < kSenders; ++s) {
    senders.push_back(std::make_unique<ChatUser>(server.port(), s % 2 == 0 ? "alice" : "bob"));
  }

  Seen slow_seen;
  std::thread slow_reader([&] {
    try {
      while (slow_seen.labels.size() < backlog.labels.size() + kTotal) {
        record(slow_seen, await_event(slow, slow_frames, "new_message", 1, deadline));
      }
    } catch (const std::exception& error) {
      slow_seen.failure =
          "after " + std::to_string(slow_seen.labels.size()) + " messages: " + error.what();
    }
  });
  std::vector<Seen> seen = chat_concurrently(senders, kSenders, kPerSender);
  slow_reader.join();

  // The one-byte reader got the backlog first, then the room's messages like everybody else.
  const auto backlog_size = static_cast<std::ptrdiff_t>(backlog.labels.size());
  ASSERT_GE(slow_seen.labels.size(), backlog.labels.size()) << slow_seen.failure;
  EXPECT_TRUE(std::equal(backlog.labels.begin(), backlog.labels.end(), slow_seen.labels.begin()))
      << "the backlog did not arrive first and in order";
  slow_seen.labels.erase(slow_seen.labels.begin(), slow_seen.labels.begin() + backlog_size);
  seen.push_back(slow_seen);  // the last member: the one-byte reader
  expect_one_order(seen, kTotal);
}

// --- 2. The egress queue is bounded in bytes ---

// Reads what `slow` had been sent until the server's close frame or the end of the stream,
// recording the chat messages in `seen`. Returns the close frame, or nullopt if the stream ended
// (or `deadline` passed) first.
std::optional<ServerFrame> read_until_close(Connection& slow, FrameParser& frames, Seen& seen,
                                            Clock::time_point deadline) {
  std::string bytes;
  for (int reads = 0; reads < 1'000'000; ++reads) {
    while (auto frame = frames.next()) {
      if (is_opcode(*frame, ws::Opcode::kClose)) {
        return frame;
      }
      if (is_opcode(*frame, ws::Opcode::kText)) {
        const auto event = nlohmann::json::parse(frame->payload);
        if (event.at("type") == "new_message") {
          record(seen, event.at("payload"));
        }
      }
    }
    bytes.clear();
    try {
      if (!slow.read_some(bytes, std::size_t{64} * 1024, deadline)) {
        return std::nullopt;
      }
    } catch (const std::runtime_error&) {
      return std::nullopt;  // timed out
    }
    frames.feed(bytes);
  }
  return std::nullopt;
}

// A member that stops reading must not grow the server's memory nor hold up the room: once
// more than 1 MiB waits for it, it is closed with 1008 (§7.4.1: policy violation), and the
// others carry on. Nothing is silently dropped: what it did receive is the room's history
// without a gap.
TEST(EventLoop, AMemberWhoStopsReadingIsClosedWith1008OnceAMebibyteWaitsForIt) {
  // 4 KiB messages, with room for the JSON around them in an event.
  ServerProcess server({"--rate-limit", "0", "--max-message", "8K"});
  constexpr int kBatch = 8;           // messages per sender between reads
  constexpr std::size_t kRound = 16;  // messages of both senders between reads
  const auto deadline = Clock::now() + 60s;

  ChatUser alice(server.port(), "alice");
  ChatUser bob(server.port(), "bob");
  Connection slow(server.port(), 1);
  FrameParser slow_frames;
  slow_frames.feed(open_chat(slow, server.port(), 4096, deadline));
  await_event(slow, slow_frames, "room_changed", 4096, deadline);
  // From here on, `slow` reads nothing until the server has given up on it.

  Seen room;  // as alice sees it
  Seen bob_seen;
  std::size_t broadcast = 0;
  int batches = 0;
  bool closed = false;
  // At most 25 MiB: the socket buffers on both sides (a few MiB on loopback) plus the queue.
  for (; batches < 400 && !closed && Clock::now() < deadline; ++batches) {
    for (int i = 0; i < kBatch; ++i) {
      alice.say(message_text(0, batches * kBatch + i, Filler::kWide));
      bob.say(message_text(1, batches * kBatch + i, Filler::kWide));
    }
    read_messages(alice, room.labels.size() + kRound, room);
    read_messages(bob, bob_seen.labels.size() + kRound, bob_seen);
    ASSERT_EQ(room.failure, "");
    ASSERT_EQ(bob_seen.failure, "");
    broadcast += kRound * message_text(0, 0, Filler::kWide).size();
    // Alice and bob are reading: a close can only be the slow member's.
    closed = server.wait_for_line(" closed 10", 0ms).has_value();
  }
  ASSERT_TRUE(closed) << "still open after " << broadcast / 1024 << " KiB";
  const auto line = server.wait_for_line("slow consumer", 0ms);
  ASSERT_TRUE(line) << "closed otherwise:\n" << lines_with(server, " closed 10");
  EXPECT_NE(line->find("; closing"), std::string::npos) << *line;
  EXPECT_GT(broadcast, kMiB) << "closed before a mebibyte could have been waiting";
  EXPECT_TRUE(bob_seen.labels == room.labels) << "alice and bob saw different orders";

  // The room carries on without it.
  bob.say(message_text(1, batches * kBatch, Filler::kWide));
  read_messages(alice, room.labels.size() + 1, room);
  read_messages(bob, bob_seen.labels.size() + 1, bob_seen);
  EXPECT_EQ(room.failure, "");
  EXPECT_EQ(bob_seen.failure, "");
  EXPECT_EQ(room.labels.back(), "s1-" + std::to_string(batches * kBatch));

  // Now it reads: what had reached it, then the close frame, unless its socket was still so
  // full that the close frame could not be written and the server had to end TCP without it.
  Seen slow_seen;
  const auto close = read_until_close(slow, slow_frames, slow_seen, Clock::now() + 10s);
  if (close) {
    EXPECT_EQ(close_code_of(*close), 1008);
    EXPECT_EQ(close_reason_of(*close), "slow consumer");
  } else {
    std::cout << "the close frame could not get through: the stream ended with "
              << (slow.reset() ? "a reset" : "EOF") << " after " << slow_seen.labels.size()
              << " messages\n";
  }
  EXPECT_EQ(slow_seen.failure, "");
  EXPECT_LT(slow_seen.labels.size(), room.labels.size());
  EXPECT_TRUE(std::equal(slow_seen.labels.begin(), slow_seen.labels.end(), room.labels.begin()))
      << "what the slow member received is not the start of the room's history";
}

// --- 3. Thousands of idle connections, each with its own timers ---

/// One silent WebSocket among thousands, driven by IdleFleet's poll() loop.
struct IdleConnection {
  enum class Step { kConnecting, kRequesting, kResponding, kOpen, kEnded };
  int fd = -1;
  Step step = Step::kConnecting;
  std::size_t request_sent = 0;
  std::string head;  // the response head as it arrives
  FrameParser frames;
  Clock::time_point upgraded_at;
  std::optional<Clock::time_point> pinged_at;  // the first ping
  std::optional<Clock::time_point> closed_at;  // the close frame, or the end of the stream
  std::optional<Clock::time_point> ended_at;   // the end of the stream (EOF or reset)
  std::optional<ServerFrame> close;
  std::string failure;
};

/// Opens `count` WebSockets to `path`, at most `in_flight` handshakes at a time, and never
/// answers anything: no pong, no close. Records when each was upgraded, pinged and closed.
class IdleFleet {
 public:
  IdleFleet(std::uint16_t port, const std::string& path, std::size_t count, std::size_t in_flight)
      : port_(port), request_(upgrade_request(port, path)), in_flight_(in_flight) {
    connections_.resize(count);
  }
  IdleFleet(const IdleFleet&) = delete;
  IdleFleet& operator=(const IdleFleet&) = delete;
  IdleFleet(IdleFleet&&) = delete;
  IdleFleet& operator=(IdleFleet&&) = delete;
  ~IdleFleet() {
    for (const IdleConnection& c : connections_) {
      if (c.fd >= 0) {
        ::close(c.fd);
      }
    }
  }

  /// Runs until every connection has ended or `deadline` passes; false in the second case.
  bool run(Clock::time_point deadline) {
    std::vector<pollfd> fds;
    std::vector<std::size_t> owners;
    while (ended_ < connections_.size()) {
      open_more();
      fds.clear();
      owners.clear();
      for (std::size_t i = 0; i < opened_; ++i) {
        const IdleConnection& c = connections_[i];
        if (c.step != IdleConnection::Step::kEnded) {
          const bool writing = c.step == IdleConnection::Step::kConnecting ||
                               c.step == IdleConnection::Step::kRequesting;
          fds.push_back({c.fd, static_cast<short>(writing ? POLLOUT : POLLIN), 0});
          owners.push_back(i);
        }
      }
      if (Clock::now() >= deadline) {
        return false;
      }
      if (::poll(fds.data(), fds.size(), std::min(ms_until(deadline), 100)) < 0 && errno != EINTR) {
        throw std::runtime_error("poll failed");
      }
      for (std::size_t k = 0; k < fds.size(); ++k) {
        if (fds[k].revents != 0) {
          advance(connections_[owners[k]]);
        }
      }
    }
    return true;
  }

  [[nodiscard]] const std::vector<IdleConnection>& connections() const { return connections_; }

 private:
  // Starts connecting until `in_flight_` handshakes are under way or all have been started.
  void open_more() {
    while (opened_ < connections_.size() && opened_ - upgraded_ - failed_ < in_flight_) {
      IdleConnection& c = connections_[opened_++];
      c.fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
      const sockaddr_in address = loopback(port_);
      if (c.fd < 0 ||
          (::connect(c.fd, reinterpret_cast<const sockaddr*>(&address), sizeof address) != 0 &&
           errno != EINPROGRESS)) {
        end(c, "cannot connect: " + std::generic_category().message(errno));
      }
    }
  }

  void advance(IdleConnection& c) {
    switch (c.step) {
      case IdleConnection::Step::kConnecting:
        finish_connect(c);
        break;
      case IdleConnection::Step::kRequesting:
        send_request(c);
        break;
      case IdleConnection::Step::kResponding:
      case IdleConnection::Step::kOpen:
        receive(c);
        break;
      case IdleConnection::Step::kEnded:
        break;
    }
  }

  void finish_connect(IdleConnection& c) {
    int error = 0;
    socklen_t size = sizeof error;
    ::getsockopt(c.fd, SOL_SOCKET, SO_ERROR, &error, &size);
    if (error != 0) {
      end(c, "cannot connect: " + std::generic_category().message(error));
      return;
    }
    c.step = IdleConnection::Step::kRequesting;
    send_request(c);
  }

  void send_request(IdleConnection& c) {
    const std::string_view rest = std::string_view(request_).substr(c.request_sent);
    const ssize_t n = ::send(c.fd, rest.data(), rest.size(), MSG_NOSIGNAL);
    if (n < 0 && errno != EAGAIN) {
      end(c, "request failed: " + std::generic_category().message(errno));
      return;
    }
    c.request_sent += static_cast<std::size_t>(std::max<ssize_t>(n, 0));
    if (c.request_sent == request_.size()) {
      c.step = IdleConnection::Step::kResponding;
    }
  }

  void receive(IdleConnection& c) {
    std::array<char, 4096> chunk;  // filled by recv, never read beyond that
    const ssize_t n = ::recv(c.fd, chunk.data(), chunk.size(), 0);
    if (n < 0 && errno == EAGAIN) {
      return;
    }
    if (n <= 0) {
      if (c.step == IdleConnection::Step::kResponding) {
        end(c, "closed during the handshake");
        return;
      }
      c.ended_at = Clock::now();
      c.closed_at = c.closed_at.value_or(*c.ended_at);
      end(c, "");
      return;
    }
    std::string_view bytes(chunk.data(), static_cast<std::size_t>(n));
    if (c.step == IdleConnection::Step::kResponding) {
      c.head.append(bytes);
      const auto head_end = c.head.find("\r\n\r\n");
      if (head_end == std::string::npos) {
        return;
      }
      if (!c.head.starts_with("HTTP/1.1 101 ") || c.head.find(kSampleAccept) > head_end) {
        end(c, "handshake refused: " + c.head.substr(0, c.head.find("\r\n")));
        return;
      }
      c.step = IdleConnection::Step::kOpen;
      c.upgraded_at = Clock::now();
      ++upgraded_;
      c.frames.feed(std::string_view(c.head).substr(head_end + 4));
    } else {
      c.frames.feed(bytes);
    }
    take_frames(c);
  }

  static void take_frames(IdleConnection& c) {
    while (auto frame = c.frames.next()) {
      if (is_opcode(*frame, ws::Opcode::kPing)) {
        c.pinged_at = c.pinged_at.value_or(Clock::now());
      } else if (is_opcode(*frame, ws::Opcode::kClose) && !c.close) {
        c.closed_at = c.closed_at.value_or(Clock::now());
        c.close = std::move(frame);
      } else if (c.failure.empty()) {
        c.failure = "unexpected frame, opcode " + std::to_string(frame->opcode);
      }
    }
  }

  void end(IdleConnection& c, const std::string& failure) {
    if (c.step != IdleConnection::Step::kOpen) {
      ++failed_;  // it no longer holds a place among the handshakes in flight
    }
    if (c.failure.empty()) {
      c.failure = failure;
    }
    if (c.fd >= 0) {
      ::close(c.fd);
      c.fd = -1;
    }
    c.step = IdleConnection::Step::kEnded;
    ++ended_;
  }

  std::uint16_t port_;
  std::string request_;
  std::size_t in_flight_;
  std::vector<IdleConnection> connections_;
  std::size_t opened_ = 0;
  std::size_t upgraded_ = 0;
  std::size_t failed_ = 0;
  std::size_t ended_ = 0;
};

// Raises this process's descriptor limit to its hard limit (the server, started after, inherits
// it). Returns the limit now in force.
rlim_t raise_descriptor_limit() {
  rlimit limit{};
  ::getrlimit(RLIMIT_NOFILE, &limit);
  limit.rlim_cur = limit.rlim_max;
  ::setrlimit(RLIMIT_NOFILE, &limit);
  ::getrlimit(RLIMIT_NOFILE, &limit);
  return limit.rlim_cur;
}

// An event loop keeps a timer per connection (the next ping, the pong deadline) in one heap: a
// thousand idle connections cost no thread and no wake-up until one of their timers is due.
// Every connection must still get its own ping on time (§5.5.2), and each must be dropped when
// it stays silent (1001 "heartbeat timeout", or at least the end of TCP).
TEST(EventLoop, TwoThousandSilentConnectionsAreEachPingedThenDropped) {
  constexpr std::size_t kConnections = 2000;
  if (raise_descriptor_limit() < 4200) {
    GTEST_SKIP() << "needs 4200 descriptors (RLIMIT_NOFILE's hard limit is lower)";
  }
  constexpr auto kPingPeriod = 1s;
  constexpr auto kPongWait = 1s;
  ServerProcess server({"--echo", "/echo", "--ping-period", "1s", "--pong-wait", "1s"});

  IdleFleet fleet(server.port(), "/echo", kConnections, 64);
  const auto started = Clock::now();
  const bool all_ended = fleet.run(started + 90s);
  const auto took = Clock::now() - started;
  std::cout << "2000 connections opened, pinged and dropped in "
            << std::chrono::duration_cast<std::chrono::milliseconds>(took).count() << " ms\n";

  const auto ping_budget = kPingPeriod + 1s;
  const auto drop_budget = kPingPeriod + kPongWait + 3s;
  std::size_t failed = 0;
  std::size_t unpinged = 0;
  std::size_t not_dropped = 0;
  std::size_t wrong_close = 0;
  std::int64_t worst_ping = 0;
  std::int64_t worst_drop = 0;
  std::string example;
  for (const IdleConnection& c : fleet.connections()) {
    if (!c.failure.empty()) {
      ++failed;
      example = c.failure;
      continue;
    }
    if (!c.pinged_at || *c.pinged_at - c.upgraded_at > ping_budget) {
      ++unpinged;
    }
    if (!c.ended_at || *c.ended_at - c.upgraded_at > drop_budget) {
      ++not_dropped;
    }
    if (c.close &&
        (close_code_of(*c.close) != 1001 || close_reason_of(*c.close) != "heartbeat timeout")) {
      ++wrong_close;
      example =
          "close " + std::to_string(close_code_of(*c.close)) + " " + close_reason_of(*c.close);
    }
    worst_ping = std::max(worst_ping, c.pinged_at ? ms_between(c.upgraded_at, *c.pinged_at) : 0);
    worst_drop = std::max(worst_drop, c.ended_at ? ms_between(c.upgraded_at, *c.ended_at) : 0);
  }
  EXPECT_TRUE(all_ended) << "some connections were still open after 90 s";
  EXPECT_EQ(failed, 0U) << "connections that failed to open or saw another frame, e.g. " << example;
  EXPECT_EQ(unpinged, 0U) << "connections without a ping within 2 s of their upgrade (worst: "
                          << worst_ping << " ms)";
  EXPECT_EQ(not_dropped, 0U) << "connections not closed within 5 s of their upgrade (worst: "
                             << worst_drop << " ms)";
  EXPECT_EQ(wrong_close, 0U) << "close frames other than 1001 \"heartbeat timeout\", e.g. "
                             << example;
  std::cout << "worst ping " << worst_ping << " ms, worst drop " << worst_drop
            << " ms after the upgrade\n";

  // And the server still serves.
  RawClient fresh(server.port());
  ASSERT_EQ(fresh.handshake({}, "/echo").rfind("HTTP/1.1 101 ", 0), 0U);
  fresh.send(client_frame(ws::Opcode::kText, "still here"));
  const ServerFrame echo = fresh.read_frame();
  EXPECT_EQ(echo.opcode, static_cast<std::uint8_t>(ws::Opcode::kText));
  EXPECT_EQ(echo.payload, "still here");
}

// --- 4. One room, several loops ---

// With several loops, the members of one room live on different threads: a broadcast is handed
// to each loop once, and every loop must deliver the room's messages in the one order the room
// gave them.
TEST(EventLoop, MembersSpreadOverFourLoopsSeeOneOrder) {
  ServerProcess server({"--threads", "4", "--rate-limit", "0"});
  constexpr int kMembers = 8;  // accepted round-robin: two on each loop
  constexpr int kSenders = 4;
  constexpr int kPerSender = 50;
  std::vector<std::unique_ptr<ChatUser>> members;
  members.reserve(kMembers);
  for (int m = 0; m < kMembers; ++m) {
    members.push_back(std::make_unique<ChatUser>(server.port(), m % 2 == 0 ? "alice" : "bob"));
  }
  const std::vector<Seen> seen = chat_concurrently(members, kSenders, kPerSender);
  expect_one_order(seen, std::size_t{kSenders} * kPerSender);
}

// --- 5. Shutdown ---

// On SIGTERM every WebSocket gets 1001 "going away" (§7.4.1) whatever it was doing, every
// connection still in HTTP is closed, and the process exits 0 within 10 s.
TEST(EventLoop, ShutdownClosesConnectionsInEveryStateAndExitsZero) {
  ServerProcess server({"--rate-limit", "0", "--max-message", "8K"});
  const auto setup_deadline = Clock::now() + 30s;

  // (e) upgraded, then stops reading while alice talks in its room, until about 256 KiB wait
  // in the server beyond what the kernel's socket buffers took: data queued, but less than the
  // 1 MiB that would make it a slow consumer.
  ChatUser alice(server.port(), "alice");
  alice.send("change_room", {{"room", "backlog"}});
  alice.await("room_changed");
  Connection queued(server.port(), 1);
  FrameParser queued_frames;
  queued_frames.feed(open_chat(queued, server.port(), 4096, setup_deadline));
  await_event(queued, queued_frames, "room_changed", 4096, setup_deadline);
  queued.send_all(
      client_frame(ws::Opcode::kText, R"({"type":"change_room","payload":{"room":"backlog"}})"));
  await_event(queued, queued_frames, "room_changed", 4096, setup_deadline);
  Seen alice_seen;
  fill_backlog(server, alice, 0, alice_seen, queued, std::size_t{256} * 1024, setup_deadline);
  ASSERT_FALSE(server.wait_for_line("slow consumer", 0ms));

  // (c) upgraded and idle.
  RawClient idle(server.port());
  ASSERT_EQ(idle.handshake(own_origin(server.port()),
                           "/ws?otp=" + login_otp(server.port(), "bob", demo_password("bob")))
                .rfind("HTTP/1.1 101 ", 0),
            0U);
  // (d) upgraded, then half a frame: the header and two bytes of its payload.
  RawClient halfway(server.port());
  ASSERT_EQ(halfway
                .handshake(own_origin(server.port()),
                           "/ws?otp=" + login_otp(server.port(), "bob", demo_password("bob")))
                .rfind("HTTP/1.1 101 ", 0),
            0U);
  const std::string unfinished =
      client_frame(ws::Opcode::kText, R"({"type":"list_rooms","payload":{}})");
  halfway.send(std::string_view(unfinished).substr(0, 8));
  // (a) connected, nothing sent; (b) half a request head.
  const std::size_t connected_before = [&] {
    const auto lines = server.lines();
    return static_cast<std::size_t>(std::count_if(lines.begin(), lines.end(), [](const auto& l) {
      return l.find(" connected from ") != std::string::npos;
    }));
  }();
  RawClient silent(server.port());
  RawClient half_head(server.port());
  half_head.send("GET /ws HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgr");
  ASSERT_TRUE(wait_for_count(server, " connected from ", connected_before + 2, 5s));

  const auto stopped = Clock::now();
  ASSERT_EQ(::kill(server.pid(), SIGTERM), 0);
  const auto deadline = stopped + 10s;
  const auto left = [&] {
    return std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
  };

  // Each WebSocket answers the close as a client should (§5.5.1), after finishing the frame it
  // was sending, so the server need not wait for its close timeout.
  const std::string close_reply = client_frame(ws::Opcode::kClose, std::string("\x03\xE9", 2));
  // (c) must get 1001, and then sees TCP end.
  EXPECT_EQ(idle.read_close_code(left()), 1001);
  idle.send(close_reply);
  EXPECT_TRUE(idle.closed_by_server(left()));
  // (d): its socket has room, so its close frame gets through as well.
  EXPECT_EQ(halfway.read_close_code(left()), 1001);
  halfway.send(unfinished.substr(8) + close_reply);
  EXPECT_TRUE(halfway.closed_by_server(left()));
  // (e): what was queued, then 1001, unless its socket could not take the close frame in time.
  Seen queued_seen;
  const auto close = read_until_close(queued, queued_frames, queued_seen, deadline);
  if (close) {
    EXPECT_EQ(close_code_of(*close), 1001);
    queued.send_all(close_reply);
  } else {
    std::cout << "the close frame could not get through to the member with data queued: "
              << (queued.reset() ? "reset" : "EOF") << " after " << queued_seen.labels.size()
              << " of " << alice_seen.labels.size() << " messages\n";
  }
  EXPECT_EQ(queued_seen.failure, "");
  EXPECT_LE(queued_seen.labels.size(), alice_seen.labels.size());
  EXPECT_TRUE(
      std::equal(queued_seen.labels.begin(), queued_seen.labels.end(), alice_seen.labels.begin()))
      << "what the member received is not the start of the room's history";
  // Alice, on ws::Client like any real client, answers by herself.
  try {
    alice.client().read_message(Clock::now() + left());
    ADD_FAILURE() << "alice got a message instead of the close";
  } catch (const ws::CloseError& error) {
    EXPECT_EQ(error.status.code, 1001);
  }
  // (a) and (b) are simply closed.
  EXPECT_TRUE(silent.closed_by_server(left()));
  EXPECT_TRUE(half_head.closed_by_server(left()));

  // Signal 0 sends nothing: this only waits for the exit.
  EXPECT_EQ(server.stop(0, std::max(left(), 0ms)), 0);
  const auto took = Clock::now() - stopped;
  EXPECT_LT(took, 10s);
  std::cout << "exited " << std::chrono::duration_cast<std::chrono::milliseconds>(took).count()
            << " ms after SIGTERM\n";
}

// --- 6. The echo endpoint ---

// Opens the echo WebSocket at /echo, with no login and no Origin check.
void open_echo(RawClient& client, const std::string& extra_headers = {}) {
  const std::string head = client.handshake(extra_headers, "/echo");
  ASSERT_EQ(head.rfind("HTTP/1.1 101 ", 0), 0U) << head;
  ASSERT_NE(head.find(kSampleAccept), std::string::npos) << head;
}

TEST(EchoEndpoint, EchoesTextAndBinaryWithTheirTypeWithoutLoginOrOriginCheck) {
  ServerProcess server({"--echo", "/echo"});
  RawClient client(server.port());
  open_echo(client, "Origin: http://elsewhere.example\r\n");
  client.send(client_frame(ws::Opcode::kText, "héllo"));
  const std::string binary("\x00\xFF\x80 binary", 10);
  client.send(client_frame(ws::Opcode::kBinary, binary));
  client.send(client_frame(ws::Opcode::kText, ""));
  const ServerFrame text = client.read_frame();
  EXPECT_TRUE(text.fin);
  EXPECT_FALSE(text.masked) << "§5.1: a server never masks";
  EXPECT_EQ(text.opcode, static_cast<std::uint8_t>(ws::Opcode::kText));
  EXPECT_EQ(text.payload, "héllo");
  const ServerFrame bytes = client.read_frame();
  EXPECT_EQ(bytes.opcode, static_cast<std::uint8_t>(ws::Opcode::kBinary));
  EXPECT_EQ(bytes.payload, binary);
  const ServerFrame empty = client.read_frame();
  EXPECT_EQ(empty.opcode, static_cast<std::uint8_t>(ws::Opcode::kText));
  EXPECT_EQ(empty.payload, "");

  // §5.5.1: the close handshake, as on the chat: the code echoed, then TCP closed by the server.
  client.send(client_frame(ws::Opcode::kClose, std::string("\x03\xE8"
                                                           "bye",
                                                           5)));
  EXPECT_EQ(client.read_close_code(), 1000);
  EXPECT_TRUE(client.closed_by_server());
}

TEST(EchoEndpoint, EchoesAFragmentedMessageWholeAndAnswersAPingBetweenItsFragments) {
  ServerProcess server({"--echo", "/echo"});
  RawClient client(server.port());
  open_echo(client);
  // §5.4: fragments of one message, with a control frame between them.
  client.send(client_frame(ws::Opcode::kText, "Hel", false));
  client.send(client_frame(ws::Opcode::kContinuation, "lo, ", false));
  client.send(client_frame(ws::Opcode::kPing, "between"));
  client.send(client_frame(ws::Opcode::kContinuation, "world", true));
  const ServerFrame pong = client.read_frame();
  EXPECT_EQ(pong.opcode, static_cast<std::uint8_t>(ws::Opcode::kPong));
  EXPECT_EQ(pong.payload, "between");
  const ServerFrame echo = client.read_frame();
  EXPECT_TRUE(echo.fin);
  EXPECT_EQ(echo.opcode, static_cast<std::uint8_t>(ws::Opcode::kText));
  EXPECT_EQ(echo.payload, "Hello, world");
}

TEST(EchoEndpoint, ClosesAMessageOverMaxMessageWith1009) {
  ServerProcess server({"--echo", "/echo", "--max-message", "1K"});
  RawClient client(server.port());
  open_echo(client);
  client.send(client_frame(ws::Opcode::kBinary, std::string(1024, 'x')));
  EXPECT_EQ(client.read_frame().payload.size(), 1024U) << "the limit itself is allowed";
  // §10.4, §7.4.1: 1009, message too big, here for a message in two fragments.
  client.send(client_frame(ws::Opcode::kBinary, std::string(600, 'y'), false));
  client.send(client_frame(ws::Opcode::kContinuation, std::string(425, 'y'), true));
  EXPECT_EQ(client.read_close_code(), 1009);
  EXPECT_TRUE(client.closed_by_server());
}

TEST(EchoEndpoint, IsNotFoundWithoutTheFlag) {
  ServerProcess server;
  RawClient client(server.port());
  const std::string response = client.handshake({}, "/echo");
  EXPECT_EQ(response.rfind("HTTP/1.1 404 ", 0), 0U) << response;
  EXPECT_NE(response.find("the WebSocket endpoint is /ws"), std::string::npos) << response;
}

}  // namespace
}  // namespace ws_test
