// The load generator's event loop: non-blocking sockets on an edge-triggered epoll, writes
// batched with writev from shared pre-built frames, every received byte checked as it arrives.
#include "worker.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <ctime>
#include <stdexcept>
#include <system_error>

namespace ws::bench {
namespace {

constexpr std::int64_t kMillisecond = 1'000'000;
constexpr std::int64_t kSecond = 1'000'000'000;
/// Longest a connection may take from its first socket to joined.
constexpr std::int64_t kHandshakeTimeout = 10 * kSecond;
/// Longest we wait for the server's answer to our close before dropping the socket.
constexpr std::int64_t kCloseTimeout = 3 * kSecond;
/// A broadcast publisher gives up waiting for a message everyone should have received after this.
constexpr std::int64_t kStallTimeout = 5 * kSecond;
/// One read takes at most this much; a 1 MiB message arrives in a few reads.
constexpr std::size_t kReadBufferSize = std::size_t{512} * 1024;
/// Chunks handed to one writev.
constexpr std::size_t kMaxIov = 64;
/// A broadcast or idle message is kept whole to be searched; bigger is a protocol error here.
constexpr std::size_t kMaxKeptMessage = std::size_t{4} * 1024 * 1024;
constexpr int kMaxEvents = 256;
/// Inflated broadcasts kept for the other receivers (see Worker::inflated_kept_): more than the
/// messages in flight in a broadcast run (its window).
constexpr std::size_t kMaxInflatedKept = 1024;
/// Full reads one connection gets before the others have their turn.
constexpr int kReadsPerTurn = 4;

// A broadcast message carries "~LG<publisher:4>.<seq:10>.<sent ns:16 hex>~" then padding, so the
// receiver can tell who sent it, spot gaps and duplicates, and time the delivery.
constexpr std::string_view kMarker = "~LG";
constexpr std::size_t kMarkerSize = 3 + 4 + 1 + 10 + 1 + 16 + 1;

std::string errno_text(int error) { return std::generic_category().message(error); }

/// Appends `value` as exactly `width` digits in `base` (10 or 16), keeping the low digits.
void append_fixed(std::string& out, std::uint64_t value, std::size_t width, unsigned base) {
  constexpr std::string_view kDigits = "0123456789abcdef";
  out.append(width, '0');
  for (std::size_t i = 0; i < width; ++i) {
    out[out.size() - 1 - i] = kDigits[value % base];
    value /= base;
  }
}

std::string chat_text(std::size_t publisher, std::uint64_t seq, std::int64_t sent,
                      std::size_t size) {
  std::string text(kMarker);
  text.reserve(std::max(size, kMarkerSize));
  append_fixed(text, publisher, 4, 10);
  text += '.';
  append_fixed(text, seq, 10, 10);
  text += '.';
  append_fixed(text, static_cast<std::uint64_t>(sent), 16, 16);
  text += '~';
  if (text.size() < size) {
    text.append(size - text.size(), 'x');
  }
  return text;
}

/// Parses the fixed-width number at `text[0, width)` in `base`; false if a digit is wrong.
bool parse_fixed(std::string_view text, int base, std::uint64_t& value) {
  value = 0;
  for (const char ch : text) {
    int digit = -1;
    if (ch >= '0' && ch <= '9') {
      digit = ch - '0';
    } else if (base == 16 && ch >= 'a' && ch <= 'f') {
      digit = ch - 'a' + 10;
    }
    if (digit < 0) {
      return false;
    }
    value = value * static_cast<std::uint64_t>(base) + static_cast<std::uint64_t>(digit);
  }
  return true;
}

std::string replace_all(std::string text, std::string_view from, std::string_view to) {
  for (std::size_t at = text.find(from); at != std::string::npos;
       at = text.find(from, at + to.size())) {
    text.replace(at, from.size(), to);
  }
  return text;
}

/// A masking key for frames made on the fly; its value does not matter to the server.
MaskingKey next_key() {
  static thread_local std::uint32_t state = 0x9E3779B9U;
  state = state * 1664525U + 1013904223U;
  return {static_cast<std::uint8_t>(state >> 24), static_cast<std::uint8_t>(state >> 16),
          static_cast<std::uint8_t>(state >> 8), static_cast<std::uint8_t>(state)};
}

std::uint64_t event_data(std::uint32_t generation, std::size_t index) {
  return (std::uint64_t{generation} << 32) | static_cast<std::uint64_t>(index);
}

}  // namespace

std::int64_t now_ns() {
  timespec t{};
  ::clock_gettime(CLOCK_MONOTONIC, &t);
  return static_cast<std::int64_t>(t.tv_sec) * kSecond + t.tv_nsec;
}

EchoMessages EchoMessages::make(std::size_t size, bool binary, std::size_t variants) {
  EchoMessages messages;
  messages.opcode = binary ? kOpBinary : kOpText;
  std::uint64_t state = 0x2545F4914F6CDD1DULL;
  for (std::size_t v = 0; v < variants; ++v) {
    std::string payload(size, '\0');
    for (std::size_t i = 0; i < size; ++i) {
      // xorshift64: cheap bytes that differ between variants at every position.
      state ^= state << 13;
      state ^= state >> 7;
      state ^= state << 17;
      payload[i] = binary ? static_cast<char>(state & 0xFF)
                          : static_cast<char>('a' + static_cast<int>(state % 26));
    }
    messages.frames.push_back(masked_frame(messages.opcode, payload, next_key()));
    messages.payloads.push_back(std::move(payload));
  }
  return messages;
}

void Stats::merge(const Stats& other) {
  latency.merge(other.latency);
  messages += other.messages;
  bytes += other.bytes;
  opened += other.opened;
  connect_failed += other.connect_failed;
  closed_by_server += other.closed_by_server;
  errors += other.errors;
  if (first_error.empty()) {
    first_error = other.first_error;
  }
  pings += other.pings;
  live_at_end += other.live_at_end;
  unanswered += other.unanswered;
  published += other.published;
  delivered += other.delivered;
  lost += other.lost;
  duplicated += other.duplicated;
  window_stalls += other.window_stalls;
  deflate_connections += other.deflate_connections;
  rx_messages += other.rx_messages;
  rx_compressed += other.rx_compressed;
  rx_frame_bytes += other.rx_frame_bytes;
  rx_payload_bytes += other.rx_payload_bytes;
  rx_inflated_bytes += other.rx_inflated_bytes;
}

Worker::Worker(const Options& options, const EchoMessages& echo, std::size_t first,
               std::size_t count)
    : options_(options),
      echo_(echo),
      first_(first),
      connections_(count),
      epoll_fd_(::epoll_create1(EPOLL_CLOEXEC)),
      read_buffer_(kReadBufferSize),
      iov_(kMaxIov),
      close_frame_(masked_frame(kOpClose, std::string_view("\x03\xE8", 2), next_key())) {
  if (epoll_fd_ < 0) {
    throw std::runtime_error("epoll_create1: " + errno_text(errno));
  }
  if (options_.mode == Mode::kBroadcast) {
    for (std::size_t p = 0; p < options_.publishers; ++p) {
      Publisher publisher;
      publisher.connection = p;
      publisher.received.assign(options_.window, 0);
      publisher.published_at.assign(options_.window, 0);
      publishers_.push_back(std::move(publisher));
    }
    for (auto& c : connections_) {
      c.next_seq.assign(options_.publishers, 0);
    }
  } else {
    for (auto& c : connections_) {
      c.sent_at.assign(options_.in_flight, 0);
    }
  }
}

Worker::~Worker() {
  for (auto& c : connections_) {
    close_socket(c);
  }
  ::close(epoll_fd_);
}

// ---- phases ------------------------------------------------------------------------------------

void Worker::run(std::latch& connected, std::latch& go, const Schedule& schedule) {
  now_ = now_ns();
  connect_all(now_ + options_.connect_timeout.count());
  connected.count_down();
  go.wait();
  traffic(schedule);
  now_ = now_ns();
  drain(now_ + options_.drain_timeout.count());
  close_all();
}

void Worker::connect_all(std::int64_t deadline) {
  loop_until([this] { return settled_ == connections_.size(); }, deadline);
  for (auto& c : connections_) {
    if (!c.ready && c.state != State::kClosed) {
      fail(c, "not open before the connect timeout", false);
    }
  }
}

void Worker::traffic(const Schedule& schedule) {
  measure_from_ = schedule.measure_from;
  measure_until_ = schedule.measure_until;
  now_ = now_ns();
  if (options_.mode == Mode::kEcho || options_.mode == Mode::kPingPong) {
    sending_ = true;
    for (auto& c : connections_) {
      if (c.ready) {
        for (std::size_t i = 0; i < options_.in_flight; ++i) {
          send_echo(c);
        }
        flush(c);
      }
    }
  } else if (options_.mode == Mode::kBroadcast) {
    sending_ = true;
    publish();
  }
  loop_until([] { return false; }, measure_until_);
  sending_ = false;
  stats_.live_at_end = live_;
}

void Worker::drain(std::int64_t deadline) {
  if (options_.mode == Mode::kEcho || options_.mode == Mode::kPingPong) {
    auto all_echoed = [this] {
      return std::all_of(connections_.begin(), connections_.end(),
                         [](const Connection& c) { return !c.ready || c.echoed == c.sent; });
    };
    loop_until(all_echoed, deadline);
    for (const auto& c : connections_) {
      if (c.ready) {
        stats_.unanswered += c.sent - c.echoed;
      }
    }
  } else if (options_.mode == Mode::kBroadcast) {
    auto all_delivered = [this] { return owed_ == 0; };
    loop_until(all_delivered, deadline);
    // Whatever a connection has not received by now never came: count it, live or not.
    for (const auto& c : connections_) {
      if (!c.joined) {
        continue;
      }
      for (std::size_t p = 0; p < publishers_.size(); ++p) {
        stats_.lost += publishers_[p].next - std::min(publishers_[p].next, c.next_seq[p]);
      }
    }
  }
}

void Worker::close_all() {
  now_ = now_ns();
  for (auto& c : connections_) {
    if (c.state == State::kOpen) {
      send_close(c);
    }
  }
  loop_until([this] { return open_sockets_ == 0; }, now_ + kCloseTimeout);
  for (auto& c : connections_) {
    close_socket(c);
  }
}

template <typename Done>
void Worker::loop_until(Done done, std::int64_t deadline) {
  std::array<epoll_event, kMaxEvents> events{};
  std::int64_t next_check = now_;
  while (!done()) {
    now_ = now_ns();
    if (now_ >= deadline) {
      break;
    }
    // Connections start as slots free up, so the server's accept queue stays short.
    while (next_to_start_ < connections_.size() && in_progress_ < options_.connect_concurrency) {
      start_connection(next_to_start_++);
    }
    if (now_ >= next_check) {
      check_deadlines();
      next_check = now_ + 100 * kMillisecond;
    }
    std::int64_t wait = std::min(deadline, next_check) - now_;
    if (measure_from_ > now_) {
      wait = std::min(wait, measure_from_ - now_);
    }
    int timeout_ms = static_cast<int>((wait + kMillisecond - 1) / kMillisecond);
    if (!read_again_.empty()) {
      timeout_ms = 0;
    }
    const int ready = ::epoll_wait(epoll_fd_, events.data(), kMaxEvents, std::max(timeout_ms, 0));
    if (ready < 0 && errno != EINTR) {
      throw std::runtime_error("epoll_wait: " + errno_text(errno));
    }
    for (int i = 0; i < ready; ++i) {
      now_ = now_ns();
      handle_event(events[static_cast<std::size_t>(i)].data.u64,
                   events[static_cast<std::size_t>(i)].events);
    }
    if (!read_again_.empty()) {
      std::vector<std::uint64_t> again;
      again.swap(read_again_);
      for (const std::uint64_t data : again) {
        now_ = now_ns();
        handle_event(data, EPOLLIN);
      }
    }
    if (sending_ && options_.mode == Mode::kBroadcast) {
      now_ = now_ns();
      advance_windows();
      publish();
    }
  }
}

void Worker::handle_event(std::uint64_t data, std::uint32_t events) {
  const auto index = static_cast<std::size_t>(data & 0xFFFFFFFFU);
  Connection& c = connections_[index];
  if (static_cast<std::uint32_t>(data >> 32) != c.generation || c.fd < 0) {
    return;  // an event of a socket this slot has since closed
  }
  if (c.state == State::kLoginConnecting || c.state == State::kConnecting) {
    if ((events & (EPOLLOUT | EPOLLERR | EPOLLHUP)) != 0) {
      on_connected(c);
    }
    return;
  }
  if ((events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) != 0) {
    on_readable(c);
  }
  if ((events & EPOLLOUT) != 0 && c.fd >= 0) {
    flush(c);
  }
}

void Worker::check_deadlines() {
  for (auto& c : connections_) {
    if ((connecting(c) || c.state == State::kClosing) && c.fd >= 0 && now_ > c.deadline) {
      if (c.state == State::kClosing) {
        close_socket(c);
        c.state = State::kClosed;
      } else {
        fail(c, "handshake timed out", false);
      }
    }
  }
}

// ---- connection life ---------------------------------------------------------------------------

bool Worker::connecting(const Connection& c) {
  return c.state == State::kLoginConnecting || c.state == State::kLoginSent ||
         c.state == State::kConnecting || c.state == State::kUpgradeSent ||
         (c.state == State::kOpen && !c.ready);
}

void Worker::start_connection(std::size_t index) {
  Connection& c = connections_[index];
  ++in_progress_;
  c.deadline = now_ + kHandshakeTimeout;
  c.state = options_.login_path.empty() ? State::kConnecting : State::kLoginConnecting;
  c.path = options_.path;
  open_socket(c);
}

std::size_t Worker::index_of(const Connection& c) const {
  return static_cast<std::size_t>(&c - connections_.data());
}

bool Worker::open_socket(Connection& c) {
  const std::size_t index = index_of(c);
  c.fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (c.fd < 0) {
    fail(c, "socket: " + errno_text(errno), false);
    return false;
  }
  ++open_sockets_;
  ++c.generation;
  // Small messages go out at once: latency is what pingpong measures.
  const int one = 1;
  ::setsockopt(c.fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(port_of(index));
  if (::inet_pton(AF_INET, options_.host.c_str(), &address.sin_addr) != 1) {
    fail(c, "not an IPv4 address: " + options_.host, false);
    return false;
  }
  if (options_.source_addresses > 1 && !bind_source(c.fd, first_ + index)) {
    fail(c, "bind: " + errno_text(errno), false);
    return false;
  }
  epoll_event event{};
  event.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET;
  event.data.u64 = event_data(c.generation, index);
  if (::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, c.fd, &event) != 0) {
    fail(c, "epoll_ctl: " + errno_text(errno), false);
    return false;
  }
  if (::connect(c.fd, reinterpret_cast<const sockaddr*>(&address), sizeof address) != 0 &&
      errno != EINPROGRESS) {
    fail(c, "connect: " + errno_text(errno), false);
    return false;
  }
  return true;
}

bool Worker::bind_source(int fd, std::size_t global_index) const {
  // Each source address has its own ephemeral ports. IP_BIND_ADDRESS_NO_PORT leaves the port to
  // connect(), which picks it for the whole (source, destination) pair instead of reserving one
  // for the source address alone.
  const int one = 1;
  ::setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof one);
  sockaddr_in source{};
  source.sin_family = AF_INET;
  source.sin_addr.s_addr =
      htonl(INADDR_LOOPBACK + static_cast<std::uint32_t>(global_index % options_.source_addresses));
  return ::bind(fd, reinterpret_cast<const sockaddr*>(&source), sizeof source) == 0;
}

std::uint16_t Worker::port_of(std::size_t index) const {
  const std::size_t global = first_ + index;
  const std::size_t servers = 1 + options_.also_ports.size();
  const std::size_t turn = global % servers;
  return turn == 0 ? options_.port : options_.also_ports[turn - 1];
}

void Worker::on_connected(Connection& c) {
  int error = 0;
  socklen_t length = sizeof error;
  ::getsockopt(c.fd, SOL_SOCKET, SO_ERROR, &error, &length);
  if (error != 0) {
    fail(c, "connect: " + errno_text(error), false);
    return;
  }
  const std::string host_port = options_.host + ":" + std::to_string(port_of(index_of(c)));
  if (c.state == State::kLoginConnecting) {
    c.state = State::kLoginSent;
    send_owned(c, post_request(host_port, options_.login_path, options_.login_body));
  } else {
    c.state = State::kUpgradeSent;
    c.key = random_key();
    send_owned(c, upgrade_request(host_port, c.path, c.key, options_.origin, options_.compression));
  }
  flush(c);
}

void Worker::on_readable(Connection& c) {
  // Edge-triggered: a short read means the socket is empty; after a few full reads the
  // connection goes to the back of the line (read_again_) so one busy socket cannot starve the
  // others. Whatever the reads queued (echoes, pongs) leaves in one writev at the end.
  for (int reads = 0; c.fd >= 0; ++reads) {
    if (reads == kReadsPerTurn) {
      read_again_.push_back(event_data(c.generation, index_of(c)));
      break;
    }
    const ssize_t n = ::read(c.fd, read_buffer_.data(), read_buffer_.size());
    if (n > 0) {
      now_ = now_ns();
      consume(c, std::string_view(read_buffer_.data(), static_cast<std::size_t>(n)));
      if (static_cast<std::size_t>(n) < read_buffer_.size()) {
        break;
      }
      continue;
    }
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n < 0 && errno == EAGAIN) {
      break;
    }
    const int error = n < 0 ? errno : 0;
    if (c.state == State::kClosing) {
      // The server closed TCP after the close handshake (§7.1.1: the server closes first).
      close_socket(c);
      c.state = State::kClosed;
    } else if (c.state == State::kLoginSent && n == 0) {
      on_http(c);  // a login response may end at EOF (Connection: close)
      if (c.state == State::kLoginSent) {
        fail(c, "login: connection closed before the response", false);
      }
    } else if (connecting(c)) {
      fail(c, n == 0 ? "connection closed during the handshake" : "read: " + errno_text(error),
           false);
    } else {
      lost_by_server(c);
    }
    return;
  }
  if (c.fd >= 0 && c.out_head < c.outbox.size()) {
    flush(c);
  }
}

void Worker::consume(Connection& c, std::string_view bytes) {
  if (c.state == State::kLoginSent || c.state == State::kUpgradeSent) {
    c.inbox.append(bytes);
    on_http(c);
    return;
  }
  if (c.state != State::kOpen && c.state != State::kClosing) {
    return;
  }
  if (!c.inbox.empty()) {
    // A frame header (or a control frame) was split between reads: complete it from the front
    // of these bytes, handle it, then go on with the rest without copying.
    while (true) {
      std::size_t needed = 2;
      ServerFrameHeader header;
      if (const std::size_t size = decode_header(c.inbox, header); size > 0) {
        needed = size + (header.opcode >= kOpClose
                             ? std::min<std::uint64_t>(header.payload_length, kMaxControlPayload)
                             : 0);
      } else if (c.inbox.size() >= 2) {
        needed = header_size(static_cast<std::uint8_t>(c.inbox[1]));
      }
      if (c.inbox.size() >= needed) {
        break;
      }
      if (bytes.empty()) {
        return;
      }
      const std::size_t take = std::min(needed - c.inbox.size(), bytes.size());
      c.inbox.append(bytes.substr(0, take));
      bytes.remove_prefix(take);
    }
    const std::string pending = std::move(c.inbox);
    c.inbox.clear();
    const std::size_t used = consume_frames(c, pending);
    if (c.fd < 0) {
      return;
    }
    if (used < pending.size()) {
      c.inbox = pending.substr(used);  // cannot happen for a complete header; kept for safety
    }
  }
  const std::size_t used = consume_frames(c, bytes);
  if (c.fd >= 0 && used < bytes.size()) {
    c.inbox.assign(bytes.substr(used));
  }
}

void Worker::on_http(Connection& c) {
  const std::size_t head_size = response_head_size(c.inbox);
  if (head_size == 0) {
    return;
  }
  const std::string_view head(c.inbox.data(), head_size);
  const int status = response_status(head);
  if (c.state == State::kLoginSent) {
    const std::string_view length_text = header_value(head, "Content-Length");
    const std::size_t length =
        length_text.empty() ? 0 : static_cast<std::size_t>(std::stoull(std::string(length_text)));
    if (c.inbox.size() < head_size + length) {
      return;
    }
    if (status != 200) {
      fail(c, "login answered " + std::to_string(status), false);
      return;
    }
    const std::string otp(
        json_string_field(std::string_view(c.inbox).substr(head_size, length), "otp"));
    if (otp.empty()) {
      fail(c, "login response without an otp", false);
      return;
    }
    close_socket(c);
    c.inbox.clear();
    c.path = replace_all(options_.path, "{otp}", otp);
    c.state = State::kConnecting;
    open_socket(c);
    return;
  }
  if (status != 101) {
    fail(c, "upgrade answered " + std::to_string(status), false);
    return;
  }
  if (header_value(head, "Sec-WebSocket-Accept") != accept_for(c.key)) {
    fail(c, "wrong Sec-WebSocket-Accept", false);
    return;
  }
  if (!agree_extensions(c, head)) {
    return;
  }
  const std::string rest = c.inbox.substr(head_size);
  c.inbox.clear();
  on_open(c, rest);
}

bool Worker::agree_extensions(Connection& c, std::string_view head) {
  c.deflate = false;
  const std::string_view extensions = header_value(head, "Sec-WebSocket-Extensions");
  if (extensions.empty()) {
    return true;  // declined, or never offered: messages travel uncompressed
  }
  DeflateAnswer answer;
  std::string error;
  if (!options_.compression) {
    error = "an extension never offered: " + std::string(extensions);
  } else if (!parse_deflate_answer(extensions, answer, error)) {
    error = "Sec-WebSocket-Extensions: " + error;
  }
  if (!error.empty()) {
    fail(c, error, false);
    return false;
  }
  c.deflate = true;
  c.deflate_keeps_window = !answer.server_no_context_takeover;
  ++stats_.deflate_connections;
  return true;
}

void Worker::on_open(Connection& c, std::string_view rest) {
  c.state = State::kOpen;
  if (options_.ready_match.empty() || options_.mode != Mode::kBroadcast) {
    on_ready(c);
  }
  if (!rest.empty()) {
    consume(c, rest);
  }
}

void Worker::on_ready(Connection& c) {
  c.ready = true;
  c.joined = true;
  ++stats_.opened;
  ++settled_;
  ++live_;
  --in_progress_;
  if (!options_.join_message.empty()) {
    const std::string text =
        replace_all(options_.join_message, "{conn}", std::to_string(first_ + index_of(c)));
    send_owned(c, masked_frame(kOpText, text, next_key()));
    flush(c);
  }
}

void Worker::fail(Connection& c, const std::string& reason, bool is_error) {
  if (is_error) {
    ++stats_.errors;
  } else if (connecting(c) || c.state == State::kNotStarted) {
    ++stats_.connect_failed;
  }
  if (stats_.first_error.empty()) {
    stats_.first_error = "connection " + std::to_string(first_ + index_of(c)) + ": " + reason;
  }
  const bool was_live = c.ready && c.state == State::kOpen;
  const bool was_connecting = connecting(c) || c.state == State::kNotStarted;
  close_socket(c);
  c.state = State::kClosed;
  if (was_connecting) {
    ++settled_;
    --in_progress_;
  }
  forget(c, was_live);
}

void Worker::lost_by_server(Connection& c) {
  const bool was_live = c.ready && c.state == State::kOpen;
  ++stats_.closed_by_server;
  if (stats_.first_error.empty()) {
    stats_.first_error = "connection " + std::to_string(first_ + index_of(c)) +
                         ": closed by the server without a close frame";
  }
  close_socket(c);
  c.state = State::kClosed;
  forget(c, was_live);
}

void Worker::forget(Connection& c, bool was_live) {
  if (was_live) {
    --live_;
    for (std::size_t p = 0; p < publishers_.size(); ++p) {
      owed_ -= std::min(owed_, publishers_[p].next - std::min(publishers_[p].next, c.next_seq[p]));
    }
  }
  c.ready = false;
  if (options_.mode == Mode::kBroadcast) {
    advance_windows();  // one receiver fewer to wait for
  }
}

void Worker::close_socket(Connection& c) {
  if (c.fd >= 0) {
    ::close(c.fd);  // also removes it from the epoll set
    c.fd = -1;
    --open_sockets_;
  }
  c.outbox.clear();
  c.out_head = 0;
  c.out_offset = 0;
}

// ---- frames in ---------------------------------------------------------------------------------

const char* Worker::header_fault(const Connection& c, const ServerFrameHeader& header) {
  // §5.1: a server never masks; §5.2: no RSV bits without an extension. RFC 7692 §6: RSV1
  // marks a compressed message, on its first frame only, never on a control frame.
  if (header.masked) {
    return "masked server frame";
  }
  if (header.rsv23) {
    return "RSV2 or RSV3 bit set";
  }
  if (header.rsv1 && !c.deflate) {
    return "RSV1 bit set without permessage-deflate";
  }
  if (header.rsv1 && (header.opcode == kOpContinuation || header.opcode >= kOpClose)) {
    return "RSV1 bit set on a continuation or control frame";
  }
  return nullptr;
}

std::size_t Worker::consume_frames(Connection& c, std::string_view bytes) {
  std::size_t pos = 0;
  while (pos < bytes.size() && c.fd >= 0) {
    if (c.in_payload) {
      const std::size_t take =
          static_cast<std::size_t>(std::min<std::uint64_t>(c.frame_remaining, bytes.size() - pos));
      on_payload(c, bytes.substr(pos, take));
      pos += take;
      c.frame_remaining -= take;
      if (c.frame_remaining == 0) {
        c.in_payload = false;
        if (c.frame_fin) {
          on_message(c);
        }
      }
      continue;
    }
    ServerFrameHeader header;
    const std::size_t header_size = decode_header(bytes.substr(pos), header);
    if (header_size == 0) {
      break;
    }
    if (const char* wrong = header_fault(c, header); wrong != nullptr) {
      fail(c, wrong, true);
      break;
    }
    if (header.opcode >= kOpClose) {
      if (header.payload_length > kMaxControlPayload || !header.fin) {
        fail(c, "bad control frame", true);
        break;
      }
      const auto length = static_cast<std::size_t>(header.payload_length);
      if (bytes.size() - pos < header_size + length) {
        break;
      }
      on_control(c, header.opcode, bytes.substr(pos + header_size, length));
      pos += header_size + length;
      continue;
    }
    if (header.opcode == kOpContinuation) {
      if (c.message_opcode == 0) {
        fail(c, "continuation without a message", true);
        break;
      }
    } else if (header.opcode == kOpText || header.opcode == kOpBinary) {
      if (c.message_opcode != 0) {
        fail(c, "new message inside a fragmented one", true);
        break;
      }
      c.message_opcode = header.opcode;
      c.message_compressed = header.rsv1;
    } else {
      fail(c, "reserved opcode", true);
      break;
    }
    pos += header_size;
    c.message_frame_bytes += header_size;
    c.frame_fin = header.fin;
    c.frame_remaining = header.payload_length;
    c.in_payload = c.frame_remaining > 0;
    if (!c.in_payload && c.frame_fin) {
      on_message(c);
    }
  }
  return pos;
}

void Worker::on_payload(Connection& c, std::string_view chunk) {
  c.message_frame_bytes += chunk.size();
  c.message_payload_bytes += chunk.size();
  if (c.message_compressed) {
    // Inflated whole when the message ends: every mode then sees the message as if plain.
    if (c.compressed.size() + chunk.size() > kMaxKeptMessage) {
      fail(c, "compressed message too big", true);
      return;
    }
    c.compressed.append(chunk);
    return;
  }
  take_payload(c, chunk);
}

bool Worker::inflate_message(Connection& c) {
  if (!c.deflate_keeps_window && !c.compressed.empty()) {
    if (const auto kept = inflated_kept_.find(c.compressed); kept != inflated_kept_.end()) {
      c.compressed.clear();
      take_payload(c, kept->second);
      return c.fd >= 0;
    }
  }
  Inflater* inflater = nullptr;
  if (c.deflate_keeps_window) {
    if (!c.inflater) {
      c.inflater = std::make_unique<Inflater>();
    }
    inflater = c.inflater.get();
  } else {
    if (!shared_inflater_) {
      shared_inflater_ = std::make_unique<Inflater>();
    }
    inflater = shared_inflater_.get();
  }
  inflated_.clear();
  std::string error;
  const bool ok = inflater->inflate(c.compressed, inflated_, kMaxKeptMessage, error);
  if (!c.deflate_keeps_window) {
    inflater->reset();
  }
  if (!ok) {
    c.compressed.clear();
    fail(c, "compressed message " + std::to_string(c.message_payload_bytes) + " B: " + error, true);
    return false;
  }
  if (!c.deflate_keeps_window) {
    if (inflated_kept_.size() >= kMaxInflatedKept) {
      inflated_kept_.clear();
    }
    inflated_kept_.emplace(std::move(c.compressed), inflated_);
  }
  c.compressed.clear();
  take_payload(c, inflated_);
  return c.fd >= 0;
}

void Worker::take_payload(Connection& c, std::string_view chunk) {
  if (options_.mode == Mode::kEcho || options_.mode == Mode::kPingPong) {
    // Compared as it arrives: a 1 MiB echo is never buffered.
    const std::string& expected = echo_.payloads[c.echoed % echo_.payloads.size()];
    if (c.message_size + chunk.size() > expected.size() ||
        std::memcmp(expected.data() + c.message_size, chunk.data(), chunk.size()) != 0) {
      c.message_matches = false;
    }
  } else {
    if (c.message.size() + chunk.size() > kMaxKeptMessage) {
      fail(c, "message too big", true);
      return;
    }
    c.message.append(chunk);
  }
  c.message_size += chunk.size();
}

void Worker::on_message(Connection& c) {
  if (c.message_compressed && !inflate_message(c)) {
    return;
  }
  if (measuring()) {
    ++stats_.rx_messages;
    stats_.rx_compressed += c.message_compressed ? 1 : 0;
    stats_.rx_frame_bytes += c.message_frame_bytes;
    stats_.rx_payload_bytes += c.message_payload_bytes;
    stats_.rx_inflated_bytes += c.message_size;
  }
  c.message_compressed = false;
  c.message_frame_bytes = 0;
  c.message_payload_bytes = 0;
  if (options_.mode == Mode::kEcho || options_.mode == Mode::kPingPong) {
    on_echo(c);
  } else if (options_.mode == Mode::kBroadcast) {
    on_chat(c);
  }
  c.message_opcode = 0;
  c.message_size = 0;
  c.message_matches = true;
  c.message.clear();
}

void Worker::on_control(Connection& c, std::uint8_t opcode, std::string_view payload) {
  if (opcode == kOpPing) {
    // §5.5.3: a pong carries the ping's payload.
    ++stats_.pings;
    if (!c.sent_close) {
      send_owned(c, masked_frame(kOpPong, payload, next_key()));
    }
  } else if (opcode == kOpClose) {
    if (c.state == State::kClosing) {
      return;  // the answer to our close; TCP closes next
    }
    // The server is closing: answer with the same code (§5.5.1), and count it as lost.
    const bool was_live = c.ready;
    ++stats_.closed_by_server;
    if (stats_.first_error.empty()) {
      std::string code = "no code";
      if (payload.size() >= 2) {
        code = std::to_string((static_cast<std::uint8_t>(payload[0]) << 8) |
                              static_cast<std::uint8_t>(payload[1]));
      }
      stats_.first_error = "closed by the server: " + code + " " +
                           std::string(payload.size() > 2 ? payload.substr(2) : "");
    }
    if (!c.sent_close) {
      c.sent_close = true;
      const std::string_view code = payload.substr(0, std::min<std::size_t>(2, payload.size()));
      send_owned(c, masked_frame(kOpClose, code, next_key()));
    }
    c.state = State::kClosing;
    c.deadline = now_ + kCloseTimeout;
    if (connecting(c)) {
      ++settled_;
      --in_progress_;
    }
    forget(c, was_live);
  }
}

void Worker::on_echo(Connection& c) {
  const std::string& expected = echo_.payloads[c.echoed % echo_.payloads.size()];
  if (!c.message_matches || c.message_size != expected.size() || c.message_opcode != echo_.opcode) {
    fail(c, "echo " + std::to_string(c.echoed) + " differs from the message sent", true);
    return;
  }
  if (c.echoed == c.sent) {
    fail(c, "an echo of a message never sent", true);
    return;
  }
  const std::int64_t sent = c.sent_at[c.echoed % c.sent_at.size()];
  ++c.echoed;
  if (measuring()) {
    ++stats_.messages;
    stats_.bytes += c.message_size;
    stats_.latency.record(now_ - sent);
  }
  if (sending_ && now_ < measure_until_) {
    send_echo(c);  // on_readable writes it, with the others this read answered
  }
}

void Worker::on_chat(Connection& c) {
  if (c.message_opcode != kOpText) {
    return;
  }
  const std::string_view text = c.message;
  if (!options_.ready_match.empty() && text.find(options_.ready_match) != std::string::npos) {
    if (!c.ready && c.state == State::kOpen) {
      on_ready(c);
    }
    return;  // a join confirmation (with its history) is never a delivery
  }
  // A server may pack several chat messages into one WebSocket message (gorilla's chat example
  // joins queued messages with newlines): every marker is a delivery.
  for (std::size_t at = text.find(kMarker); at != std::string_view::npos;
       at = text.find(kMarker, at + 1)) {
    if (text.size() - at < kMarkerSize) {
      break;
    }
    std::uint64_t publisher = 0;
    std::uint64_t seq = 0;
    std::uint64_t sent = 0;
    if (!parse_fixed(text.substr(at + 3, 4), 10, publisher) ||
        !parse_fixed(text.substr(at + 8, 10), 10, seq) ||
        !parse_fixed(text.substr(at + 19, 16), 16, sent) || publisher >= publishers_.size()) {
      continue;
    }
    on_delivery(c, static_cast<std::size_t>(publisher), seq, static_cast<std::int64_t>(sent));
  }
}

void Worker::on_delivery(Connection& c, std::size_t publisher, std::uint64_t seq,
                         std::int64_t sent) {
  std::uint64_t& expected = c.next_seq[publisher];
  if (seq < expected) {
    ++stats_.duplicated;
    return;
  }
  // A gap is counted as lost when the drain ends (whatever is then still missing).
  owed_ -= std::min(owed_, seq + 1 - expected);
  expected = seq + 1;
  ++stats_.delivered;
  if (measuring()) {
    ++stats_.messages;
    stats_.bytes += options_.size;
    stats_.latency.record(now_ - sent);
  }
  Publisher& p = publishers_[publisher];
  if (seq >= p.oldest && seq < p.next) {
    ++p.received[seq % p.received.size()];
  }
}

// ---- frames out --------------------------------------------------------------------------------

void Worker::send_echo(Connection& c) {
  Chunk chunk;
  chunk.shared = &echo_.frames[c.sent % echo_.frames.size()];
  c.outbox.push_back(std::move(chunk));
  c.sent_at[c.sent % c.sent_at.size()] = now_;
  ++c.sent;
}

void Worker::send_owned(Connection& c, std::string bytes) {
  Chunk chunk;
  chunk.owned = std::move(bytes);
  c.outbox.push_back(std::move(chunk));
}

void Worker::send_close(Connection& c) {
  c.sent_close = true;
  Chunk chunk;
  chunk.shared = &close_frame_;
  c.outbox.push_back(std::move(chunk));
  c.state = State::kClosing;
  c.deadline = now_ + kCloseTimeout;
  flush(c);
}

void Worker::flush(Connection& c) {
  while (c.fd >= 0 && c.out_head < c.outbox.size()) {
    std::size_t count = 0;
    for (std::size_t i = c.out_head; i < c.outbox.size() && count < kMaxIov; ++i, ++count) {
      std::string_view bytes = c.outbox[i].bytes();
      if (i == c.out_head) {
        bytes.remove_prefix(c.out_offset);
      }
      // writev takes non-const buffers but only reads them.
      iov_[count].iov_base = const_cast<char*>(bytes.data());
      iov_[count].iov_len = bytes.size();
    }
    const ssize_t written = ::writev(c.fd, iov_.data(), static_cast<int>(count));
    if (written < 0) {
      if (errno == EINTR) {
        continue;
      }
      if (errno == EAGAIN) {
        return;  // EPOLLOUT says when to go on
      }
      if (c.state == State::kClosing) {
        close_socket(c);
        c.state = State::kClosed;
      } else if (connecting(c)) {
        fail(c, "write: " + errno_text(errno), false);
      } else {
        lost_by_server(c);
      }
      return;
    }
    auto left = static_cast<std::size_t>(written);
    while (left > 0) {
      const std::size_t chunk_left = c.outbox[c.out_head].bytes().size() - c.out_offset;
      if (left < chunk_left) {
        c.out_offset += left;
        break;
      }
      left -= chunk_left;
      c.out_offset = 0;
      ++c.out_head;
    }
  }
  if (c.out_head == c.outbox.size()) {
    c.outbox.clear();
    c.out_head = 0;
  }
}

// ---- broadcast windows -------------------------------------------------------------------------

void Worker::advance_windows() {
  for (auto& p : publishers_) {
    while (p.oldest < p.next) {
      const std::size_t slot = p.oldest % p.received.size();
      const bool everyone = p.received[slot] >= live_;
      const bool stalled = now_ - p.published_at[slot] > kStallTimeout;
      if (!everyone && !stalled) {
        break;
      }
      if (!everyone) {
        ++stats_.window_stalls;
      }
      p.received[slot] = 0;
      ++p.oldest;
    }
  }
}

void Worker::publish() {
  if (!sending_ || now_ >= measure_until_) {
    return;
  }
  for (std::size_t index = 0; index < publishers_.size(); ++index) {
    Publisher& p = publishers_[index];
    Connection& c = connections_[p.connection];
    if (!c.ready || c.state != State::kOpen) {
      continue;
    }
    bool queued = false;
    while (p.next - p.oldest < p.received.size()) {
      const std::string text = chat_text(index, p.next, now_, options_.size);
      send_owned(c, masked_frame(kOpText, replace_all(options_.publish_template, "{msg}", text),
                                 next_key()));
      p.published_at[p.next % p.received.size()] = now_;
      ++p.next;
      owed_ += live_;
      ++stats_.published;
      queued = true;
    }
    if (queued) {
      flush(c);
    }
  }
}

}  // namespace ws::bench
