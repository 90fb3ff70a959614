// The byte stream under a connection: plain TCP, or TLS (RFC 8446, RFC 5246) through OpenSSL with
// a BIO pair, so every wait on the socket stays in socket.hpp's deadline- and stop-aware functions.
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

std::string describe_wait(IoStatus status) {
  switch (status) {
    case IoStatus::kTimeout:
      return "timed out";
    case IoStatus::kEof:
      return "peer closed the connection";
    case IoStatus::kStopped:
      return "server shutting down";
    case IoStatus::kError:
      return error_text(errno);
    case IoStatus::kOk:
    case IoStatus::kWoken:
      break;
  }
  return "interrupted";
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

IoStatus Transport::handshake(Deadline deadline, int stop_fd, std::string& error) {
  if (!ssl_) {
    return IoStatus::kOk;
  }
  while (true) {
    ::ERR_clear_error();
    const int rc = ::SSL_do_handshake(ssl_.get());
    const int reason = rc == 1 ? SSL_ERROR_NONE : ::SSL_get_error(ssl_.get(), rc);
    if (reason == SSL_ERROR_WANT_READ || reason == SSL_ERROR_WANT_WRITE ||
        reason == SSL_ERROR_NONE) {
      // Our handshake messages (ServerHello ... Finished, then TLS 1.3's session tickets) go
      // out before we wait for the client's next flight.
      if (const IoStatus sent = flush(deadline); sent != IoStatus::kOk) {
        error = describe_wait(sent);
        return sent;
      }
    }
    if (reason == SSL_ERROR_NONE) {
      return IoStatus::kOk;
    }
    if (reason == SSL_ERROR_WANT_READ) {
      if (const IoStatus got = receive(deadline, stop_fd, -1); got != IoStatus::kOk) {
        error = describe_wait(got);
        return got;
      }
    } else if (reason != SSL_ERROR_WANT_WRITE) {
      // Not TLS at all (plain HTTP, garbage), no protocol or cipher in common, a bad message.
      error = openssl_error();
      return fail();
    }
  }
}

IoStatus Transport::read_some(std::span<char> out, std::size_t& received, Deadline deadline,
                              int stop_fd, int wake_fd) {
  if (!ssl_) {
    return ws::read_some(socket_.get(), out, received, deadline, stop_fd, wake_fd);
  }
  received = 0;
  while (true) {
    // OpenSSL first: bytes it has decrypted but not handed out yet (SSL_pending), or whole
    // records waiting in the pair, are not visible to poll() on the socket, which may have
    // nothing more to say. Only when OpenSSL needs more ciphertext do we wait on the socket.
    ::ERR_clear_error();
    const int rc = ::SSL_read_ex(ssl_.get(), out.data(), out.size(), &received);
    const int reason = rc == 1 ? SSL_ERROR_NONE : ::SSL_get_error(ssl_.get(), rc);
    if (::BIO_ctrl_pending(network_.get()) > 0 && reason != SSL_ERROR_SSL) {
      // Reading can make OpenSSL answer (a TLS 1.3 KeyUpdate, for one).
      if (const IoStatus sent = flush(deadline); sent != IoStatus::kOk) {
        return sent;
      }
    }
    switch (reason) {
      case SSL_ERROR_NONE:
        return IoStatus::kOk;
      case SSL_ERROR_WANT_READ:
        if (const IoStatus got = receive(deadline, stop_fd, wake_fd); got != IoStatus::kOk) {
          return got;
        }
        break;
      case SSL_ERROR_WANT_WRITE:
        break;  // flushed above: the pair has room again
      case SSL_ERROR_ZERO_RETURN:
        return IoStatus::kEof;  // the peer's close_notify: it will send nothing more
      default:
        ::ERR_clear_error();
        return fail();
    }
  }
}

IoStatus Transport::write_all(std::string_view data, Deadline deadline) {
  if (!ssl_) {
    return ws::write_all(socket_.get(), data, deadline);
  }
  const std::array<std::string_view, 1> parts{data};
  return write_all(parts, deadline);
}

IoStatus Transport::write_all(std::string_view first, std::string_view second, Deadline deadline) {
  if (!ssl_) {
    return ws::write_all(socket_.get(), first, second, deadline);
  }
  const std::array<std::string_view, 2> parts{first, second};
  return write_all(parts, deadline);
}

IoStatus Transport::write_all(std::span<const std::string_view> parts, Deadline deadline) {
  if (!ssl_) {
    return ws::write_all(socket_.get(), parts, deadline);
  }
  // Records are filled to 16 KiB: small parts (a batch of chat frames, a frame header) are
  // copied together first; long runs of a big part are encrypted from the caller's buffer.
  record_.clear();
  for (std::string_view part : parts) {
    while (!part.empty()) {
      if (record_.empty() && part.size() >= kMaxRecordPayload) {
        const std::size_t whole = part.size() - part.size() % kMaxRecordPayload;
        if (const IoStatus status = encrypt(part.substr(0, whole), deadline);
            status != IoStatus::kOk) {
          return status;
        }
        part.remove_prefix(whole);
        continue;
      }
      const std::size_t take = std::min(part.size(), kMaxRecordPayload - record_.size());
      record_.append(part.substr(0, take));
      part.remove_prefix(take);
      if (record_.size() == kMaxRecordPayload) {
        if (const IoStatus status = encrypt(record_, deadline); status != IoStatus::kOk) {
          return status;
        }
        record_.clear();
      }
    }
  }
  if (!record_.empty()) {
    if (const IoStatus status = encrypt(record_, deadline); status != IoStatus::kOk) {
      return status;
    }
  }
  return flush(deadline);
}

IoStatus Transport::encrypt(std::string_view data, Deadline deadline) {
  while (!data.empty()) {
    ::ERR_clear_error();
    std::size_t written = 0;
    const int rc = ::SSL_write_ex(ssl_.get(), data.data(), data.size(), &written);
    if (rc == 1) {
      data.remove_prefix(written);
      continue;
    }
    switch (::SSL_get_error(ssl_.get(), rc)) {
      case SSL_ERROR_WANT_WRITE:
        // The pair is full of records: send them, then OpenSSL continues where it stopped
        // (a retry must pass the same bytes, which `data` still holds).
        if (const IoStatus sent = flush(deadline); sent != IoStatus::kOk) {
          return sent;
        }
        break;
      case SSL_ERROR_WANT_READ:
        // OpenSSL needs to hear from the peer before it may send (never, with renegotiation
        // off, but the API allows it). Whatever arrives is kept for the next read_some.
        if (const IoStatus got = receive(deadline, -1, -1); got != IoStatus::kOk) {
          return got;
        }
        break;
      default:
        ::ERR_clear_error();
        return fail();
    }
  }
  return IoStatus::kOk;
}

IoStatus Transport::flush(Deadline deadline) {
  while (true) {
    char* data = nullptr;
    // The bytes waiting in the pair, in place: no copy on the way to the socket. A ring buffer
    // that wraps hands them out in two pieces.
    const int available = ::BIO_nread0(network_.get(), &data);
    if (available <= 0) {
      return IoStatus::kOk;
    }
    if (const IoStatus status = ws::write_all(
            socket_.get(), std::string_view(data, static_cast<std::size_t>(available)), deadline);
        status != IoStatus::kOk) {
      return status;
    }
    ::BIO_nread(network_.get(), &data, available);
  }
}

IoStatus Transport::receive(Deadline deadline, int stop_fd, int wake_fd) {
  char* space = nullptr;
  // Room in the pair, in place: the socket's bytes land where OpenSSL will read them. OpenSSL
  // asks for more only after taking everything the pair held, so there is always room.
  const int room = ::BIO_nwrite0(network_.get(), &space);
  if (room <= 0) {
    errno = ENOBUFS;
    return IoStatus::kError;
  }
  std::size_t received = 0;
  const IoStatus status =
      ws::read_some(socket_.get(), std::span<char>(space, static_cast<std::size_t>(room)), received,
                    deadline, stop_fd, wake_fd);
  if (status == IoStatus::kOk) {
    ::BIO_nwrite(network_.get(), &space, static_cast<int>(received));
  }
  return status;
}

IoStatus Transport::fail() {
  failed_ = true;
  // OpenSSL has queued an alert telling the peer why (RFC 8446 §6.2). Send it if the socket
  // takes it right away; a peer that broke the protocol gets no more of our time.
  flush(Clock::now());
  errno = EPROTO;
  return IoStatus::kError;
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
    flush(Clock::now());
  }
  ::ERR_clear_error();
}

}  // namespace ws
