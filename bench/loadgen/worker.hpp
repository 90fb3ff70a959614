// One load-generating thread: its own epoll instance and its share of the connections, driven
// through the phases of a run (connect, warm up, measure, drain, close).
#pragma once

#include <sys/uio.h>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <latch>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "histogram.hpp"
#include "inflate.hpp"
#include "options.hpp"
#include "wire.hpp"

namespace ws::bench {

/// Nanoseconds on the monotonic clock (the clock every timestamp of a run uses).
std::int64_t now_ns();

/// The echo messages, built once and shared by every connection and thread: `frames[i]` is the
/// masked frame a client sends, `payloads[i]` what its echo must hold, byte for byte. A
/// connection sends the variants in turn, so its k-th echo must equal variant k % count: a lost,
/// duplicated or reordered echo shows up as a mismatch (there are more variants than messages in
/// flight).
struct EchoMessages {
  std::vector<std::string> frames;
  std::vector<std::string> payloads;
  std::uint8_t opcode = kOpText;

  /// Variants of `size` bytes, text (printable ASCII) or binary (pseudo-random bytes).
  static EchoMessages make(std::size_t size, bool binary, std::size_t variants);
};

/// When the traffic starts, when the measurement window opens and when it closes. Written by the
/// main thread before it releases the workers (the latch orders the writes before the reads).
struct Schedule {
  std::int64_t start = 0;
  std::int64_t measure_from = 0;
  std::int64_t measure_until = 0;
};

/// What one worker counted. Rates are computed from the window by the caller.
struct Stats {
  Histogram latency;           ///< round trips (echo) or publish-to-delivery (broadcast)
  std::uint64_t messages = 0;  ///< echoes or deliveries that arrived inside the window
  std::uint64_t bytes = 0;     ///< their payload bytes
  std::uint64_t opened = 0;    ///< connections that completed the handshake (and joined)
  std::uint64_t connect_failed = 0;
  std::uint64_t closed_by_server = 0;  ///< closed by the server, or EOF before we closed
  std::uint64_t errors = 0;  ///< protocol errors and echo mismatches (each ends its connection)
  std::string first_error;
  std::uint64_t pings = 0;          ///< pings answered
  std::uint64_t live_at_end = 0;    ///< connections open when the window closed
  std::uint64_t unanswered = 0;     ///< echoes still missing after the drain
  std::uint64_t published = 0;      ///< broadcast: messages published, whole run
  std::uint64_t delivered = 0;      ///< broadcast: deliveries, whole run
  std::uint64_t lost = 0;           ///< broadcast: deliveries that never came
  std::uint64_t duplicated = 0;     ///< broadcast: deliveries that came twice (or out of order)
  std::uint64_t window_stalls = 0;  ///< broadcast: times a publisher gave up waiting for a message
  // Data messages received inside the window, whatever the mode, and their size three ways: the
  // frames as they came (headers included), their payloads, and the payloads once inflated
  // (the same as the payloads when nothing was compressed).
  std::uint64_t deflate_connections = 0;  ///< connections that agreed to permessage-deflate
  std::uint64_t rx_messages = 0;
  std::uint64_t rx_compressed = 0;  ///< of them, compressed (RSV1)
  std::uint64_t rx_frame_bytes = 0;
  std::uint64_t rx_payload_bytes = 0;
  std::uint64_t rx_inflated_bytes = 0;

  /// Adds `other`'s counts to these (first_error is kept if already set).
  void merge(const Stats& other);
};

/// A worker: owns connections [first, first + count) of the run.
class Worker {
 public:
  Worker(const Options& options, const EchoMessages& echo, std::size_t first, std::size_t count);
  ~Worker();
  Worker(const Worker&) = delete;
  Worker& operator=(const Worker&) = delete;
  Worker(Worker&&) = delete;
  Worker& operator=(Worker&&) = delete;

  /// The whole run: opens every connection, counts down `connected` once each one is open (or
  /// failed), waits for `go`, then runs the traffic by `schedule`, drains and closes.
  void run(std::latch& connected, std::latch& go, const Schedule& schedule);

  [[nodiscard]] const Stats& stats() const { return stats_; }

 private:
  enum class State : std::uint8_t {
    kNotStarted,
    kLoginConnecting,
    kLoginSent,
    kConnecting,
    kUpgradeSent,
    kOpen,
    kClosing,
    kClosed,
  };

  /// A piece of output: one of the shared echo frames, or bytes of its own (pong, close, chat).
  struct Chunk {
    const std::string* shared = nullptr;
    std::string owned;
    [[nodiscard]] std::string_view bytes() const { return shared != nullptr ? *shared : owned; }
  };

  struct Connection {
    int fd = -1;
    std::uint32_t generation = 0;  ///< tells events of an earlier socket of this slot apart
    State state = State::kNotStarted;
    bool ready = false;   ///< open and (broadcast) joined
    bool joined = false;  ///< was ready at some point (a receiver of the broadcast)
    bool sent_close = false;
    std::int64_t deadline = 0;  ///< of the handshake or of the close
    std::string key;
    std::string path;
    std::string inbox;  ///< unconsumed bytes: an HTTP response, a split frame header
    std::vector<Chunk> outbox;
    std::size_t out_head = 0;    ///< first chunk of outbox not completely written
    std::size_t out_offset = 0;  ///< bytes of that chunk already written
    // The frame and message being received.
    bool in_payload = false;
    bool frame_fin = true;
    std::uint64_t frame_remaining = 0;
    std::uint8_t message_opcode = 0;  ///< 0: between messages
    std::uint64_t message_size = 0;
    bool message_matches = true;
    std::string message;  ///< kept for broadcast and idle only
    // permessage-deflate: agreed, whether the server keeps its window across messages (then so
    // must our inflater, one per connection), and the compressed message being received.
    bool deflate = false;
    bool deflate_keeps_window = false;
    bool message_compressed = false;
    std::string compressed;
    std::unique_ptr<Inflater> inflater;
    std::uint64_t message_frame_bytes = 0;    ///< headers and payloads, as received
    std::uint64_t message_payload_bytes = 0;  ///< payloads as received (compressed or not)
    // Echo: messages sent and echoes received, and when each message in flight was sent.
    std::uint64_t sent = 0;
    std::uint64_t echoed = 0;
    std::vector<std::int64_t> sent_at;
    // Broadcast: the sequence number expected next from each publisher.
    std::vector<std::uint64_t> next_seq;
  };

  /// A publisher's window: messages published and not yet received by every live connection.
  struct Publisher {
    std::size_t connection = 0;
    std::uint64_t next = 0;                  ///< sequence number of the next message
    std::uint64_t oldest = 0;                ///< oldest message not yet received everywhere
    std::vector<std::uint64_t> received;     ///< per sequence number mod window
    std::vector<std::int64_t> published_at;  ///< per sequence number mod window
  };

  // Phases.
  void connect_all(std::int64_t deadline);
  void traffic(const Schedule& schedule);
  void drain(std::int64_t deadline);
  void close_all();
  /// Waits for events and handles them until `done()` or `deadline`.
  template <typename Done>
  void loop_until(Done done, std::int64_t deadline);
  void handle_event(std::uint64_t data, std::uint32_t events);
  void check_deadlines();

  // Connection life.
  void start_connection(std::size_t index);
  bool open_socket(Connection& c);
  void on_connected(Connection& c);
  void on_readable(Connection& c);
  void on_http(Connection& c);
  void on_open(Connection& c, std::string_view rest);
  void on_ready(Connection& c);
  void fail(Connection& c, const std::string& reason, bool is_error);
  void lost_by_server(Connection& c);
  void close_socket(Connection& c);
  [[nodiscard]] static bool connecting(const Connection& c);
  [[nodiscard]] std::size_t index_of(const Connection& c) const;
  /// Binds `fd` to the source address of connection `global_index` (--source-addresses);
  /// false with errno set if bind fails.
  [[nodiscard]] bool bind_source(int fd, std::size_t global_index) const;
  // The server port of the connection at `index`: --port and --also-port in turn.
  [[nodiscard]] std::uint16_t port_of(std::size_t index) const;
  /// The connection is gone: its slot is free for the next one to open, and (broadcast) it is
  /// no longer waited for.
  void forget(Connection& c, bool was_live);

  // Frames in.
  void consume(Connection& c, std::string_view bytes);
  std::size_t consume_frames(Connection& c, std::string_view bytes);
  /// Why the server's frame `header` is not allowed on `c`, or nullptr.
  [[nodiscard]] static const char* header_fault(const Connection& c,
                                                const ServerFrameHeader& header);
  void on_payload(Connection& c, std::string_view chunk);
  /// A piece of the message's (inflated) payload: checked (echo) or kept (broadcast, idle).
  void take_payload(Connection& c, std::string_view chunk);
  /// Inflates the compressed message into take_payload; false if the connection failed.
  bool inflate_message(Connection& c);
  /// Reads the server's Sec-WebSocket-Extensions; false if the connection failed.
  bool agree_extensions(Connection& c, std::string_view head);
  void on_message(Connection& c);
  void on_control(Connection& c, std::uint8_t opcode, std::string_view payload);
  void on_echo(Connection& c);
  void on_chat(Connection& c);
  void on_delivery(Connection& c, std::size_t publisher, std::uint64_t seq, std::int64_t sent);

  // Frames out.
  void send_echo(Connection& c);
  static void send_owned(Connection& c, std::string bytes);
  void send_close(Connection& c);
  void flush(Connection& c);
  void publish();
  void advance_windows();

  [[nodiscard]] bool measuring() const { return now_ >= measure_from_ && now_ < measure_until_; }

  const Options& options_;
  const EchoMessages& echo_;
  std::size_t first_;
  std::vector<Connection> connections_;
  std::vector<Publisher> publishers_;
  int epoll_fd_ = -1;
  std::vector<char> read_buffer_;
  std::vector<iovec> iov_;
  /// Connections whose turn to read ended before their socket was empty (epoll data values).
  std::vector<std::uint64_t> read_again_;
  std::string close_frame_;
  /// Inflates for every connection whose server starts each message afresh
  /// (server_no_context_takeover): reset after each message, so one serves them all.
  std::unique_ptr<Inflater> shared_inflater_;
  std::string inflated_;
  /// Messages inflated without a window, by their compressed bytes. A server that compresses a
  /// broadcast once sends every receiver the same bytes, and without a window the same bytes
  /// inflate to the same text: inflating them again for each of 1,000 receivers would make the
  /// load generator, not the server, what a broadcast measures. Receivers read in turn, each
  /// many messages at a time, so the recent ones are kept (cleared when kMaxInflatedKept).
  std::unordered_map<std::string, std::string> inflated_kept_;
  Stats stats_;

  std::int64_t now_ = 0;
  std::int64_t measure_from_ = 0;
  std::int64_t measure_until_ = 0;
  bool sending_ = false;  ///< traffic phase: echoes answered by new messages
  std::size_t next_to_start_ = 0;
  std::size_t in_progress_ = 0;  ///< connections between their first socket and ready
  std::size_t settled_ = 0;      ///< ready or failed
  std::size_t live_ = 0;         ///< ready and not yet closed
  std::size_t open_sockets_ = 0;
  /// Broadcast: deliveries still owed to live connections (published x live receivers, minus
  /// what arrived). The drain waits for this to reach zero.
  std::uint64_t owed_ = 0;
};

}  // namespace ws::bench
