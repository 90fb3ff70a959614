// The byte stream under a connection: plain TCP, or TLS (RFC 8446, RFC 5246) through OpenSSL with
// a BIO pair, so the socket is only ever read and written when the event loop says it is ready.
#include "transport.hpp"

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <sys/socket.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <stdexcept>

namespace ws {

namespace {

// The largest TLS record payload (RFC 8446 §5.1): gathering small writes up to this size gives
// one record, one MAC and one header for a whole batch of frames.
constexpr std::size_t kMaxRecordPayload = std::size_t{16} * 1024;

// Each direction of the BIO pair buffers this much ciphertext: a whole record with its header
// and tag (16 KiB + 256 bytes at most in TLS 1.3), so one socket call moves one full record.
constexpr std::size_t kPairBufferSize = std::size_t{17} * 1024;

// OpenSSL's error queue for this thread, as one line ("http request", "wrong version number"),
// emptied. Names the library's reasons only: the numeric codes help nobody reading a log.
std::string openssl_error() {
  std::string text;
  while (const unsigned long code = ::ERR_get_error()) {
    const char* reason = ::ERR_reason_error_string(code);
    std::string item = reason != nullptr ? reason : "";
    if (ERR_SYSTEM_ERROR(code)) {
      item = error_text(ERR_GET_REASON(code));  // errno, e.g. "No such file or directory"
    } else if (item.empty()) {
      std::array<char, 256> buffer{};
      ::ERR_error_string_n(code, buffer.data(), buffer.size());
      item = buffer.data();
    }
    if (text.find(item) == std::string::npos) {
      text += (text.empty() ? "" : ": ") + item;
    }
  }
  return text.empty() ? "unknown TLS error" : text;
}

}  // namespace

void TlsContext::Free::operator()(SSL_CTX* context) const { ::SSL_CTX_free(context); }

TlsContext::TlsContext(const std::string& certificate_file, const std::string& key_file)
    : context_(::SSL_CTX_new(::TLS_server_method())) {
  if (!context_) {
    throw std::runtime_error("TLS: " + openssl_error());
  }
  ::ERR_clear_error();
  // TLS 1.0 and 1.1 are deprecated (RFC 8996); every browser speaks 1.2 and 1.3.
  ::SSL_CTX_set_min_proto_version(context_.get(), TLS1_2_VERSION);
  // Renegotiation lets a client make the server redo expensive handshakes on one connection;
  // TLS 1.3 dropped it, and nothing here needs it.
  ::SSL_CTX_set_options(context_.get(), SSL_OP_NO_RENEGOTIATION);
  if (::SSL_CTX_use_certificate_chain_file(context_.get(), certificate_file.c_str()) != 1) {
    throw std::runtime_error("cannot use TLS certificate " + certificate_file + ": " +
                             openssl_error());
  }
  if (::SSL_CTX_use_PrivateKey_file(context_.get(), key_file.c_str(), SSL_FILETYPE_PEM) != 1 ||
      ::SSL_CTX_check_private_key(context_.get()) != 1) {
    throw std::runtime_error("cannot use TLS key " + key_file + " with certificate " +
                             certificate_file + ": " + openssl_error());
  }
}

void Transport::FreeSsl::operator()(SSL* ssl) const { ::SSL_free(ssl); }
void Transport::FreeBio::operator()(BIO* bio) const { ::BIO_free(bio); }

Transport Transport::plain(Fd socket) { return Transport(std::move(socket)); }

Transport Transport::tls(Fd socket, const TlsContext& context) {
  Transport transport(std::move(socket));
  ::ERR_clear_error();
  transport.ssl_.reset(::SSL_new(context.get()));
  BIO* inside = nullptr;   // OpenSSL's end: it reads ciphertext from here and writes records here
  BIO* outside = nullptr;  // ours: the socket's bytes go in here, and the records come out here
  if (!transport.ssl_ ||
      ::BIO_new_bio_pair(&inside, kPairBufferSize, &outside, kPairBufferSize) != 1) {
    throw std::runtime_error("TLS session: " + openssl_error());
  }
  ::SSL_set_bio(transport.ssl_.get(), inside, inside);  // the session now owns `inside`
  transport.network_.reset(outside);
  ::SSL_set_accept_state(transport.ssl_.get());
  return transport;
}

Transport::~Transport() { send_close_notify(); }

TryStatus Transport::handshake(std::string& error) {
  if (!ssl_) {
    return TryStatus::kOk;
  }
  while (true) {
    ::ERR_clear_error();
    const int rc = ::SSL_do_handshake(ssl_.get());
    const int reason = rc == 1 ? SSL_ERROR_NONE : ::SSL_get_error(ssl_.get(), rc);
    if (reason == SSL_ERROR_NONE || reason == SSL_ERROR_WANT_READ ||
        reason == SSL_ERROR_WANT_WRITE) {
      // Our handshake messages (ServerHello ... Finished, then TLS 1.3's session tickets) go out
      // as far as the socket takes them; the rest waits in output_pending().
      if (flush() == TryStatus::kError) {
        error = error_text(errno);
        return TryStatus::kError;
      }
    }
    if (reason == SSL_ERROR_NONE) {
      return TryStatus::kOk;
    }
    if (reason == SSL_ERROR_WANT_WRITE) {
      return TryStatus::kAgain;  // the pair is full until the socket takes our flight
    }
    if (reason != SSL_ERROR_WANT_READ) {
      // Not TLS at all (plain HTTP, garbage), no protocol or cipher in common, a bad message.
      error = openssl_error();
      return fail();
    }
    if (const TryStatus got = receive(); got != TryStatus::kOk) {
      if (got == TryStatus::kEof) {
        error = "peer closed the connection";
      } else if (got == TryStatus::kError) {
        error = error_text(errno);
      }
      return got;
    }
  }
}

TryStatus Transport::read_some(std::span<char> out, std::size_t& received) {
  if (!ssl_) {
    return try_read(socket_.get(), out, received);
  }
  received = 0;
  while (true) {
    // OpenSSL first: bytes it has decrypted but not handed out yet, or whole records waiting in
    // the pair, are not visible to epoll on the socket. Only when OpenSSL needs more ciphertext
    // do we read the socket.
    ::ERR_clear_error();
    const int rc = ::SSL_read_ex(ssl_.get(), out.data(), out.size(), &received);
    const int reason = rc == 1 ? SSL_ERROR_NONE : ::SSL_get_error(ssl_.get(), rc);
    if (reason != SSL_ERROR_SSL && flush() == TryStatus::kError) {
      return TryStatus::kError;  // reading can make OpenSSL answer (a TLS 1.3 KeyUpdate)
    }
    switch (reason) {
      case SSL_ERROR_NONE:
        return TryStatus::kOk;
      case SSL_ERROR_WANT_READ:
        if (const TryStatus got = receive(); got != TryStatus::kOk) {
          return got;
        }
        break;
      case SSL_ERROR_WANT_WRITE:
        return TryStatus::kAgain;  // its answer waits for the socket: EPOLLOUT, then read again
      case SSL_ERROR_ZERO_RETURN:
        return TryStatus::kEof;  // the peer's close_notify: it will send nothing more
      default:
        ::ERR_clear_error();
        return fail();
    }
  }
}

TryStatus Transport::write_some(std::span<const std::string_view> parts, std::size_t& written) {
  if (!ssl_) {
    return try_write(socket_.get(), parts, written);
  }
  written = 0;
  // One record at a time, and only into an empty pair: so a record always fits the pair whole
  // (OpenSSL's retry rules never come into play), and the records that wait for the socket are
  // never more than one. Small parts (a batch of chat frames, a frame header) are gathered into
  // one record first.
  std::size_t part = 0;
  std::size_t offset = 0;
  while (part < parts.size()) {
    if (const TryStatus sent = flush(); sent != TryStatus::kOk) {
      return sent == TryStatus::kAgain && written > 0 ? TryStatus::kOk : sent;
    }
    record_.clear();
    while (part < parts.size() && record_.size() < kMaxRecordPayload) {
      const std::string_view rest = parts[part].substr(offset);
      const std::size_t take = std::min(rest.size(), kMaxRecordPayload - record_.size());
      record_.append(rest.substr(0, take));
      offset += take;
      if (offset == parts[part].size()) {
        ++part;
        offset = 0;
      }
    }
    if (const TryStatus status = encrypt(record_); status != TryStatus::kOk) {
      return status;
    }
    written += record_.size();
  }
  const TryStatus sent = flush();
  return sent == TryStatus::kError ? sent : TryStatus::kOk;
}

TryStatus Transport::encrypt(std::string_view data) {
  ::ERR_clear_error();
  std::size_t written = 0;
  if (::SSL_write_ex(ssl_.get(), data.data(), data.size(), &written) != 1 ||
      written != data.size()) {
    ::ERR_clear_error();
    return fail();
  }
  return TryStatus::kOk;
}

bool Transport::output_pending() const { return ssl_ && ::BIO_ctrl_pending(network_.get()) > 0; }

TryStatus Transport::flush() {
  if (!ssl_) {
    return TryStatus::kOk;
  }
  while (true) {
    char* data = nullptr;
    // The bytes waiting in the pair, in place: no copy on the way to the socket. A ring buffer
    // that wraps hands them out in two pieces.
    const int available = ::BIO_nread0(network_.get(), &data);
    if (available <= 0) {
      return TryStatus::kOk;
    }
    const std::array<std::string_view, 1> part{
        std::string_view(data, static_cast<std::size_t>(available))};
    std::size_t sent = 0;
    if (const TryStatus status = try_write(socket_.get(), part, sent); status != TryStatus::kOk) {
      return status;
    }
    ::BIO_nread(network_.get(), &data, static_cast<int>(sent));
  }
}

TryStatus Transport::receive() {
  char* space = nullptr;
  // Room in the pair, in place: the socket's bytes land where OpenSSL will read them. OpenSSL
  // asks for more only after taking everything the pair held, so there is always room.
  const int room = ::BIO_nwrite0(network_.get(), &space);
  if (room <= 0) {
    errno = ENOBUFS;
    return TryStatus::kError;
  }
  std::size_t received = 0;
  const TryStatus status =
      try_read(socket_.get(), std::span<char>(space, static_cast<std::size_t>(room)), received);
  if (status == TryStatus::kOk) {
    ::BIO_nwrite(network_.get(), &space, static_cast<int>(received));
  }
  return status;
}

TryStatus Transport::fail() {
  failed_ = true;
  // OpenSSL has queued an alert telling the peer why (RFC 8446 §6.2). Send it if the socket
  // takes it right away; a peer that broke the protocol gets no more of our time.
  flush();
  errno = EPROTO;
  return TryStatus::kError;
}

void Transport::shutdown_write() {
  if (!ssl_) {
    ::shutdown(socket_.get(), SHUT_WR);
  }
}

void Transport::send_close_notify() {
  if (!ssl_ || failed_ || ::SSL_is_init_finished(ssl_.get()) != 1) {
    return;
  }
  // RFC 8446 §6.1: close_notify tells the peer the stream ended here, not that an attacker cut
  // it short. We do not wait for the peer's own close_notify: TCP is closed right after.
  ::ERR_clear_error();
  if (::SSL_shutdown(ssl_.get()) >= 0) {
    flush();
  }
  ::ERR_clear_error();
}

}  // namespace ws
