// The byte stream under a connection: plain TCP, or TLS over TCP for https:// and wss:// (RFC 6455
// §4.1, §10.6). A connection reads and writes through a Transport and never needs to know which
// one it has: both are non-blocking, and both are ready when their socket is.
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

/// One accepted connection's byte stream, non-blocking: every call does what is possible now and
/// returns TryStatus::kAgain for the rest, so the event loop can wait for the socket in epoll.
///
/// A plain transport calls the socket's try_read/try_write directly. A TLS transport never lets
/// OpenSSL touch the socket: OpenSSL encrypts into and decrypts from a pair of memory buffers (a
/// BIO pair), and the transport moves the ciphertext between those buffers and the socket when
/// the socket is ready. So TLS adds no way to block, and none to raise SIGPIPE. Used by one
/// thread at a time. Move-constructible only; closes the socket when destroyed, after a
/// best-effort TLS close_notify (RFC 8446 §6.1) if the session was established.
class Transport {
 public:
  /// TCP as it is: every call goes straight to the socket functions.
  static Transport plain(Fd socket);
  /// The server side of TLS over `socket`; call handshake() until it is done before anything
  /// else. Throws std::runtime_error if OpenSSL cannot allocate the session.
  static Transport tls(Fd socket, const TlsContext& context);

  Transport(Transport&& other) noexcept = default;
  Transport& operator=(Transport&& other) = delete;
  Transport(const Transport&) = delete;
  Transport& operator=(const Transport&) = delete;
  ~Transport();

  /// The socket, for epoll and peer_address().
  [[nodiscard]] int fd() const { return socket_.get(); }

  /// True for a TLS transport.
  [[nodiscard]] bool secure() const { return ssl_ != nullptr; }

  /// Advances the TLS server handshake with whatever the socket has: kOk once it is complete (at
  /// once for a plain transport), kAgain while it waits for the client's next flight (or for the
  /// socket to take ours: see output_pending()), kEof or kError when it failed, with `error`
  /// saying why in words: OpenSSL's reason ("http request", "wrong version number") or "peer
  /// closed the connection".
  TryStatus handshake(std::string& error);

  /// At most `out.size()` bytes of plaintext, without waiting. Bytes OpenSSL has already
  /// decrypted are returned first. A TLS close_notify from the peer is kEof; a TLS protocol error
  /// is kError with errno set to EPROTO.
  TryStatus read_some(std::span<char> out, std::size_t& received);

  /// Writes as much of `parts` as the socket takes now; `written` counts the plaintext bytes
  /// taken. With TLS, small parts share records of up to 16 KiB, and the plaintext counts as
  /// taken once encrypted: its records may still wait in output_pending().
  TryStatus write_some(std::span<const std::string_view> parts, std::size_t& written);

  /// True while TLS records are encrypted but not yet sent: keep the socket watched for EPOLLOUT.
  [[nodiscard]] bool output_pending() const;

  /// Sends the waiting TLS records the socket takes now: kOk when none are left, kAgain when
  /// some still wait.
  TryStatus flush();

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

  // Reads ciphertext from the socket straight into the pair, for OpenSSL to decrypt.
  TryStatus receive();
  // Encrypts `data` (at most one record) into the pair, which must be empty.
  TryStatus encrypt(std::string_view data);
  // Marks the session as failed and sends OpenSSL's alert if the socket takes it at once.
  TryStatus fail();
  // Sends close_notify if the session is up and has not failed, without waiting for the socket.
  void send_close_notify();

  Fd socket_;
  std::unique_ptr<SSL, FreeSsl> ssl_;      // null: plain TCP
  std::unique_ptr<BIO, FreeBio> network_;  // our end of the BIO pair: ciphertext in and out
  std::string record_;   // small buffers gathered into one TLS record before encryption
  bool failed_ = false;  // a TLS error happened: no close_notify may follow
};

}  // namespace ws
