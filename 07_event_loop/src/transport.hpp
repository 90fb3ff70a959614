// The byte stream under a connection: plain TCP, or TLS over TCP for https:// and wss:// (RFC 6455
// §4.1, §10.6). A connection reads and writes through a Transport and never needs to know which
// one it has: the same deadlines, stop signal and wake-ups apply to both.
#pragma once

#include <cstddef>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <utility>

#include "socket.hpp"

// OpenSSL's types, declared here so that only transport.cpp includes OpenSSL's headers.
using BIO = struct bio_st;
using SSL = struct ssl_st;
using SSL_CTX = struct ssl_ctx_st;

namespace ws {

/// A server's TLS settings, loaded once and shared by every connection: its certificate chain
/// and private key (PEM files), TLS 1.2 or newer, OpenSSL's default ciphers. Move-only.
class TlsContext {
 public:
  /// Loads `certificate_file` (the server's certificate, then any intermediates) and `key_file`.
  /// Throws std::runtime_error with OpenSSL's reason when a file is unreadable or malformed, or
  /// when the key does not belong to the certificate.
  TlsContext(const std::string& certificate_file, const std::string& key_file);

  [[nodiscard]] SSL_CTX* get() const { return context_.get(); }

 private:
  struct Free {
    void operator()(SSL_CTX* context) const;
  };
  std::unique_ptr<SSL_CTX, Free> context_;
};

/// One accepted connection's byte stream, with the operations of socket.hpp: read_some and
/// write_all keep exactly their contracts (deadline, stop fd, wake fd; never SIGPIPE).
///
/// A plain transport calls those socket functions directly. A TLS transport never lets OpenSSL
/// touch the socket: OpenSSL encrypts into and decrypts from a pair of memory buffers (a BIO
/// pair), and the transport moves the ciphertext between those buffers and the socket with the
/// same socket functions. So TLS adds no way to block without a deadline, and none to raise
/// SIGPIPE. Used by one thread at a time. Move-constructible only; closes the socket when
/// destroyed, after a best-effort TLS close_notify (RFC 8446 §6.1) if the session was established.
class Transport {
 public:
  /// TCP as it is: every call goes straight to the socket functions.
  static Transport plain(Fd socket);
  /// The server side of TLS over `socket`; call handshake() before anything else. Throws
  /// std::runtime_error if OpenSSL cannot allocate the session.
  static Transport tls(Fd socket, const TlsContext& context);

  Transport(Transport&& other) noexcept = default;
  Transport& operator=(Transport&& other) = delete;
  Transport(const Transport&) = delete;
  Transport& operator=(const Transport&) = delete;
  ~Transport();

  /// The socket, for peer_address() and the like.
  [[nodiscard]] int fd() const { return socket_.get(); }

  /// Performs the TLS server handshake, waiting no later than `deadline` and returning kStopped
  /// as soon as `stop_fd` is readable. A plain transport returns kOk at once. On any other
  /// status, `error` says why in words: OpenSSL's reason for a failed handshake ("http request",
  /// "wrong version number"), or "timed out", "peer closed the connection", ...
  IoStatus handshake(Deadline deadline, int stop_fd, std::string& error);

  /// As ws::read_some: at most `out.size()` bytes of plaintext, with the same statuses. Bytes
  /// OpenSSL has already decrypted are returned without waiting. A TLS close_notify from the peer
  /// is kEof; a TLS protocol error is kError with errno set to EPROTO.
  IoStatus read_some(std::span<char> out, std::size_t& received, Deadline deadline, int stop_fd,
                     int wake_fd = -1);

  /// As ws::write_all: all of `data`, or kTimeout / kError. With TLS, the bytes are encrypted in
  /// records of at most 16 KiB and sent as they fill up.
  IoStatus write_all(std::string_view data, Deadline deadline = kNoDeadline);
  /// As ws::write_all with two buffers (a frame header and its payload).
  IoStatus write_all(std::string_view first, std::string_view second,
                     Deadline deadline = kNoDeadline);
  /// As ws::write_all with a batch of buffers. With TLS, small buffers share records, so a batch
  /// of queued frames costs about one record per 16 KiB, not one per frame.
  IoStatus write_all(std::span<const std::string_view> parts, Deadline deadline = kNoDeadline);

  /// Tells the peer we will send nothing more. Plain TCP: shutdown(SHUT_WR), a FIN right away.
  /// TLS: nothing yet. A TLS 1.2 peer must answer close_notify by dropping what it still wanted
  /// to send, which would include its WebSocket close reply, so the close_notify and the FIN wait
  /// until the transport is destroyed.
  void shutdown_write();

 private:
  struct FreeSsl {
    void operator()(SSL* ssl) const;
  };
  struct FreeBio {
    void operator()(BIO* bio) const;
  };

  explicit Transport(Fd socket) : socket_(std::move(socket)) {}

  // Sends the ciphertext OpenSSL has written (records, alerts) from the pair to the socket.
  IoStatus flush(Deadline deadline);
  // Reads ciphertext from the socket straight into the pair, for OpenSSL to decrypt.
  IoStatus receive(Deadline deadline, int stop_fd, int wake_fd);
  // Encrypts all of `data`, sending the records whenever the pair's buffer is full.
  IoStatus encrypt(std::string_view data, Deadline deadline);
  // Marks the session as failed and sends OpenSSL's alert if the socket takes it at once.
  IoStatus fail();
  // Sends close_notify if the session is up and has not failed, without waiting for the socket.
  void send_close_notify();

  Fd socket_;
  std::unique_ptr<SSL, FreeSsl> ssl_;      // null: plain TCP
  std::unique_ptr<BIO, FreeBio> network_;  // our end of the BIO pair: ciphertext in and out
  std::string record_;   // small buffers gathered into one TLS record before encryption
  bool failed_ = false;  // a TLS error happened: no close_notify may follow
};

}  // namespace ws
