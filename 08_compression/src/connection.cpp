// One connection on an event loop: reads into the inbox, writes from the egress queue, one timer.
#include "connection.hpp"

#include <algorithm>
#include <array>
#include <cerrno>
#include <string>

#include "log.hpp"
#include "worker.hpp"

namespace ws {

namespace {

// The most a connection reads in one pass before the loop moves on to the others: a fast
// sender cannot keep its loop to itself. Level-triggered epoll reports the rest next pass.
constexpr std::size_t kReadsPerPass = 4;

// Past this many bytes waiting for the peer, the connection stops reading from it until they are
// written: a peer that pings or sends messages without reading the answers can make the server
// queue at most this, plus the answers to one pass of reads (one echoed message, say).
constexpr std::size_t kReadPauseBytes = std::size_t{64} * 1024;

}  // namespace

Connection::Connection(Transport transport, std::uint64_t id, Worker& worker,
                       std::size_t egress_limit)
    : transport_(std::move(transport)), id_(id), worker_(worker), egress_(egress_limit) {}

Connection::~Connection() {
  session_.reset();  // a WebSocket leaves its room while the connection still exists
  worker_.loop().forget(transport_.fd());
}

void Connection::run(std::unique_ptr<Session> session) {
  const bool first = !session_;
  // The session being replaced may be the caller (the HTTP side, upgrading): it is kept alive
  // until the current event has been handled.
  retired_ = std::move(session_);
  session_ = std::move(session);
  if (first) {
    tls_ready_ = !transport_.secure();
    watch_for(false);
  } else if (!inbox_.empty()) {
    session_->on_input();  // the first frames may have come with the request
  }
  if (!finished_) {
    rearm();
  }
}

void Connection::log(const std::string& text) const {
  log_line("#" + std::to_string(id_) + " " + text);
}

bool Connection::reading_paused() const { return egress_.bytes() > kReadPauseBytes; }

void Connection::watch_for(bool write) {
  const bool read = !input_closed_ && !reading_paused();
  const std::uint32_t events = (read ? EPOLLIN : 0U) | (write ? EPOLLOUT : 0U);
  if (!registered_) {
    worker_.loop().watch(transport_.fd(), events, *this);
    registered_ = true;
  } else if (events != watched_) {
    worker_.loop().change(transport_.fd(), events, *this);
  }
  watched_ = events;
}

void Connection::on_ready(std::uint32_t events) {
  if (finished_) {
    return;
  }
  // EPOLLHUP and EPOLLERR come whatever was asked for: a write (or a read) reports the failure.
  if ((events & (EPOLLOUT | EPOLLHUP | EPOLLERR)) != 0) {
    const std::size_t waiting = egress_.bytes();
    flush();
    if (!finished_ && (events & EPOLLOUT) != 0 && egress_.bytes() < waiting) {
      // The socket's buffer was full and has room again: the peer acknowledged and read bytes.
      // (Bytes the kernel merely buffers prove nothing; room made after a full buffer does.)
      session_->on_written();
    }
  }
  if (!finished_ && !input_closed_ && !reading_paused() &&
      (events & (EPOLLIN | EPOLLHUP | EPOLLERR)) != 0) {
    read_input();
  }
  if (!finished_) {
    rearm();
  }
}

void Connection::read_input() {
  if (!tls_ready_) {
    std::string error;
    const TryStatus status = transport_.handshake(error);
    if (status == TryStatus::kAgain) {
      if (transport_.output_pending()) {
        worker_.mark_dirty(*this);
      }
      return;
    }
    if (status != TryStatus::kOk) {
      log("TLS handshake failed: " + error);
      end();
      return;
    }
    tls_ready_ = true;
  }
  const std::span<char> buffer = worker_.read_buffer();
  bool got = false;
  TryStatus status = TryStatus::kOk;
  for (std::size_t reads = 0; reads < kReadsPerPass && status == TryStatus::kOk; ++reads) {
    std::size_t received = 0;
    status = transport_.read_some(buffer, received);
    if (status == TryStatus::kOk) {
      inbox_.append(buffer.data(), received);
      got = true;
    }
  }
  if (got) {
    session_->on_input();
  }
  if (finished_) {
    return;
  }
  if (status == TryStatus::kEof || status == TryStatus::kError) {
    // Nothing more will arrive, and level-triggered epoll would keep reporting the end: stop
    // watching for input while what is queued goes out.
    input_closed_ = true;
    session_->on_end(status);
    end_after_flush();
  } else if (status == TryStatus::kOk && transport_.secure()) {
    // The budget ran out: OpenSSL may hold decrypted bytes that epoll cannot see. Come back.
    worker_.loop().post([id = id_, &worker = worker_] { worker.on_ready_later(id, EPOLLIN); });
  }
  if (transport_.output_pending()) {
    worker_.mark_dirty(*this);
  }
}

void Connection::send(SharedFrame frame) {
  if (egress_.empty()) {
    write_progress_ = Clock::now();  // the patience for these bytes starts now
  }
  egress_.push_anyway(std::move(frame));
  worker_.mark_dirty(*this);
}

bool Connection::offer(SharedFrame frame) {
  const bool was_empty = egress_.empty();
  if (!egress_.push(std::move(frame))) {
    return false;
  }
  if (was_empty) {
    write_progress_ = Clock::now();
  }
  worker_.mark_dirty(*this);
  return true;
}

void Connection::send_instead_of_backlog(SharedFrame frame) {
  egress_.drop_unstarted();
  if (egress_.empty()) {
    write_progress_ = Clock::now();
  }
  egress_.push_anyway(std::move(frame));
  worker_.mark_dirty(*this);
}

void Connection::shutdown_write_after_flush() {
  shutdown_after_flush_ = true;
  worker_.mark_dirty(*this);
}

void Connection::end_after_flush() {
  end_after_flush_ = true;
  worker_.mark_dirty(*this);
}

void Connection::end() {
  if (!finished_) {
    finished_ = true;
    worker_.ended(*this);
  }
}

void Connection::on_timer() {
  if (finished_) {
    return;
  }
  armed_ = kNoDeadline;  // this entry has fired; rearm() pushes the next one
  const Clock::time_point now = Clock::now();
  if (!egress_.empty() && now - write_progress_ >= session_->write_patience()) {
    session_->on_write_stalled();
    end();
    return;
  }
  session_->on_timer(now);
  if (!finished_) {
    rearm();
  }
}

void Connection::on_stop() {
  if (!finished_) {
    session_->on_stop();
    if (!finished_) {
      rearm();
    }
  }
}

void Connection::on_frame(const Broadcast& broadcast) {
  if (!finished_) {
    session_->on_frame(broadcast);
    if (!finished_) {
      rearm();
    }
  }
}

void Connection::resumed() {
  if (!finished_) {
    rearm();
  }
}

void Connection::rearm() {
  retired_.reset();
  Deadline next = session_->next_wakeup();
  if (!egress_.empty()) {
    next = std::min(next, write_progress_ + session_->write_patience());
  }
  // Only ever brought forward: a later deadline is found by the earlier timer when it fires.
  if (next < armed_) {
    armed_ = next;
    worker_.wake_at(next, id_);
  }
}

bool Connection::flush_once() {
  std::array<std::string_view, 64> parts{};
  const std::size_t count = egress_.gather(parts);
  std::size_t written = 0;
  const TryStatus status = count > 0
                               ? transport_.write_some(std::span(parts.data(), count), written)
                               : transport_.flush();
  if (status == TryStatus::kError) {
    session_->on_end(status);
    end();
    return false;
  }
  if (written > 0) {
    egress_.consume(written);
    write_progress_ = Clock::now();
  }
  return status == TryStatus::kOk && written > 0;
}

void Connection::flush() {
  if (finished_) {
    return;
  }
  const bool was_paused = reading_paused();
  // Loop while the socket takes everything it is given; a short write means its buffer is full.
  for (int round = 0; round < 16 && (!egress_.empty() || transport_.output_pending()); ++round) {
    const std::size_t before = egress_.bytes();
    if (!flush_once()) {
      break;
    }
    if (egress_.bytes() == before) {
      break;
    }
  }
  if (finished_) {
    return;
  }
  const bool pending = !egress_.empty() || transport_.output_pending();
  if (!pending) {
    if (shutdown_after_flush_) {
      shutdown_after_flush_ = false;
      transport_.shutdown_write();
    }
    if (end_after_flush_) {
      end();
      return;
    }
  }
  watch_for(pending);
  if (was_paused && !reading_paused() && transport_.secure() && !input_closed_) {
    // OpenSSL may hold decrypted bytes that epoll will not report: read them now.
    worker_.loop().post([id = id_, &worker = worker_] { worker.on_ready_later(id, EPOLLIN); });
  }
  rearm();
}

}  // namespace ws
