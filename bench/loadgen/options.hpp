// The load generator's command line: which workload, against which server, for how long.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace ws::bench {

/// The workloads (see docs/performance.md for what each measures).
enum class Mode {
  kEcho,       ///< C connections, W messages in flight each, every echo checked byte for byte
  kPingPong,   ///< echo with one message in flight: round-trip latency
  kBroadcast,  ///< chat fan-out: P of the C connections publish, all of them count deliveries
  kIdle,       ///< C connections held open, answering pings; how many survive
};

using Duration = std::chrono::nanoseconds;

/// Everything the load generator was asked to do. Defaults are the documented ones.
struct Options {
  Mode mode = Mode::kEcho;
  std::string host = "127.0.0.1";
  std::uint16_t port = 0;
  /// More servers of the same chat (--also-port, repeatable): connection i goes to the
  /// (i mod n)-th of --port and these, so a broadcast spans several chat servers.
  std::vector<std::uint16_t> also_ports;
  /// The request target of the upgrade; "{otp}" is replaced by the one-time password the login
  /// returned.
  std::string path = "/";
  std::size_t connections = 1;
  std::size_t in_flight = 1;
  /// Payload bytes of each message (echo) or of the chat text of each message (broadcast).
  std::size_t size = 32;
  bool binary = false;
  /// Offer permessage-deflate (RFC 7692) as a browser does, and inflate what the server
  /// compresses. What the load generator sends is never compressed (RSV1 clear is always allowed).
  bool compression = false;
  Duration warmup = std::chrono::seconds(1);
  /// How long the measurement (or, in idle mode, the hold) lasts.
  Duration duration = std::chrono::seconds(5);
  /// Connections being opened at the same time, at most (keeps the server's accept queue short).
  std::size_t connect_concurrency = 128;
  /// Longest wait for every connection to open; longest wait for in-flight messages afterwards.
  Duration connect_timeout = std::chrono::seconds(60);
  Duration drain_timeout = std::chrono::seconds(10);
  /// Worker threads, each with its own epoll and its share of the connections (not broadcast).
  std::size_t threads = 1;
  /// Loopback source addresses the client sockets are bound to in turn: 127.0.0.1 up to
  /// 127.0.0.N. The kernel has about 28,000 ephemeral ports per source address for one server
  /// address and port (net.ipv4.ip_local_port_range), so 100,000 connections need four or more.
  std::size_t source_addresses = 1;

  // Broadcast: how to join a chat, and what to publish.
  std::size_t publishers = 1;
  /// Messages a publisher may have published that not every live connection received yet.
  std::size_t window = 64;
  /// When set, each connection first POSTs `login_body` to this path and reads "otp" back.
  std::string login_path;
  std::string login_body;
  std::string origin;
  /// A connection counts as joined once it receives a text message containing this (empty:
  /// joined as soon as the upgrade succeeds). Such messages never count as deliveries.
  std::string ready_match;
  /// Sent once, right after joining (empty: nothing); "{conn}" is replaced by the connection's
  /// number.
  std::string join_message;
  /// What a publisher sends; "{msg}" is replaced by the generated chat text.
  std::string publish_template = "{msg}";

  /// A process whose CPU time and memory are sampled around the measurement (the server).
  int server_pid = 0;
  /// A free-form label copied into the JSON summary.
  std::string label;
};

/// What parse_options found on the command line.
enum class ParseOutcome { kRun, kHelp, kError };

/// Parses `args` (without the program name) into `options`, which must hold the defaults.
/// On kError, `error` holds a one-line reason.
ParseOutcome parse_options(const std::vector<std::string>& args, Options& options,
                           std::string& error);

/// The --help text.
std::string usage();

/// The mode's name as the command line spells it.
const char* mode_name(Mode mode);

}  // namespace ws::bench
