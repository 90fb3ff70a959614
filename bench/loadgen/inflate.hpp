// permessage-deflate (RFC 7692) on the receiving side only: the load generator offers the
// extension, reads the server's answer, and inflates the messages the server compressed. It never
// compresses what it sends (RSV1 clear is always allowed, §6), so it needs no Deflater.
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>

// zlib's stream type, kept out of this header so that its users need not include zlib.h.
struct z_stream_s;

namespace ws::bench {

/// What the server agreed to in its Sec-WebSocket-Extensions answer (RFC 7692 §7.1).
struct DeflateAnswer {
  /// §7.1.1.1: the server starts every message afresh, so the client keeps no window either.
  bool server_no_context_takeover = false;
  /// §7.1.1.2: noted only; the load generator sends nothing compressed.
  bool client_no_context_takeover = false;
  int server_max_window_bits = 15;  ///< §7.1.2.1: at most the 15 our inflater accepts
  int client_max_window_bits = 15;  ///< §7.1.2.2: allowed because we offered it
};

/// Parses the server's Sec-WebSocket-Extensions `value`: exactly one permessage-deflate, with
/// parameters of §7.1 only, each at most once. False with `error` set otherwise (§9.1 of RFC
/// 6455: a client must fail the connection on an extension it did not offer).
bool parse_deflate_answer(std::string_view value, DeflateAnswer& answer, std::string& error);

/// Inflates whole compressed message payloads (§7.2.2): raw DEFLATE, a 32 KiB window (enough for
/// any server_max_window_bits), with 00 00 ff ff appended at the end of each message. The window
/// carries over from one message to the next until reset() (call it after each message when the
/// server said server_no_context_takeover). About 7 KiB of state plus the 32 KiB window.
class Inflater {
 public:
  Inflater();  ///< std::runtime_error if zlib cannot start
  ~Inflater();
  Inflater(const Inflater&) = delete;
  Inflater& operator=(const Inflater&) = delete;
  Inflater(Inflater&&) = delete;
  Inflater& operator=(Inflater&&) = delete;

  /// Appends the inflated `payload` to `out`. False with `error` set when it is not valid DEFLATE
  /// data or inflates past `limit` bytes.
  bool inflate(std::string_view payload, std::string& out, std::size_t limit, std::string& error);

  /// Forgets the window: the next message starts afresh.
  void reset();

 private:
  struct StreamDeleter {
    void operator()(z_stream_s* stream) const;
  };
  std::unique_ptr<z_stream_s, StreamDeleter> stream_;
};

}  // namespace ws::bench
