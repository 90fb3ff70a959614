// The Redis broker: hiredis's blocking API, with the listening connection read through poll()
// so that stopping the server wakes it.
#include "redis.hpp"

#include <hiredis/hiredis.h>
#include <poll.h>
#include <sys/time.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <csignal>
#include <initializer_list>
#include <stdexcept>
#include <string_view>
#include <utility>
#include <vector>

#include "log.hpp"

namespace ws {

namespace {

// Any failure to talk to Redis: refused, reset, timed out, or an answer we did not expect.
struct RedisError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

struct ReplyDeleter {
  void operator()(redisReply* reply) const { freeReplyObject(reply); }
};
using Reply = std::unique_ptr<redisReply, ReplyDeleter>;

constexpr std::string_view kChannelPrefix = "chat:room:";

std::string history_key(const std::string& room) { return "chat:history:" + room; }
std::string channel(const std::string& room) { return std::string(kChannelPrefix) + room; }
std::string token_key(const std::string& token) { return "chat:otp:" + token; }

timeval to_timeval(std::chrono::milliseconds duration) {
  return {static_cast<time_t>(duration.count() / 1000),
          static_cast<suseconds_t>((duration.count() % 1000) * 1000)};
}

std::string_view reply_text(const redisReply& reply) { return {reply.str, reply.len}; }

}  // namespace

class RedisBroker::Connection {
 public:
  /// Connects, with kCommandTimeout for the connect and for every later command.
  static std::unique_ptr<Connection> open(const std::string& host, std::uint16_t port) {
    const timeval timeout = to_timeval(kCommandTimeout);
    redisContext* context = redisConnectWithTimeout(host.c_str(), port, timeout);
    if (context == nullptr) {
      throw RedisError("out of memory for a Redis connection");
    }
    auto connection = std::unique_ptr<Connection>(new Connection(context));
    if (context->err != 0) {
      throw RedisError(context->errstr);
    }
    if (redisSetTimeout(context, timeout) != REDIS_OK) {
      throw RedisError(context->errstr);
    }
    return connection;
  }

  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;
  Connection(Connection&&) = delete;
  Connection& operator=(Connection&&) = delete;
  ~Connection() { redisFree(context_); }

  /// Queues a command (binary-safe arguments) without waiting for its reply: several appended
  /// commands go out together and their replies are read in order (a pipeline, one round trip).
  void append(std::initializer_list<std::string_view> args) {
    std::vector<const char*> pointers;
    std::vector<std::size_t> lengths;
    for (const std::string_view arg : args) {
      pointers.push_back(arg.data());
      lengths.push_back(arg.size());
    }
    if (redisAppendCommandArgv(context_, static_cast<int>(pointers.size()), pointers.data(),
                               lengths.data()) != REDIS_OK) {
      throw RedisError(context_->errstr);
    }
  }

  /// The next reply (sending what was appended first). An error reply from Redis throws too.
  Reply read() {
    void* raw = nullptr;
    if (redisGetReply(context_, &raw) != REDIS_OK || raw == nullptr) {
      throw RedisError(context_->err != 0 ? context_->errstr : "no reply");
    }
    Reply reply(static_cast<redisReply*>(raw));
    if (reply->type == REDIS_REPLY_ERROR) {
      throw RedisError("Redis answered: " + std::string(reply_text(*reply)));
    }
    return reply;
  }

  Reply command(std::initializer_list<std::string_view> args) {
    append(args);
    return read();
  }

  /// For the listening connection: the next message Redis pushes, or null once `stop_fd` is
  /// readable. Waits as long as it takes: a quiet channel is not an error.
  Reply next_push(int stop_fd) {
    while (true) {
      void* raw = nullptr;
      if (redisGetReplyFromReader(context_, &raw) != REDIS_OK) {
        throw RedisError(context_->errstr);
      }
      if (raw != nullptr) {
        return Reply(static_cast<redisReply*>(raw));
      }
      std::array<pollfd, 2> fds{{{context_->fd, POLLIN, 0}, {stop_fd, POLLIN, 0}}};
      if (::poll(fds.data(), fds.size(), -1) < 0) {
        if (errno == EINTR) {
          continue;
        }
        throw RedisError("poll failed");
      }
      if ((fds[1].revents & POLLIN) != 0) {
        return nullptr;
      }
      if (redisBufferRead(context_) != REDIS_OK) {  // EOF or reset: Redis went away
        throw RedisError(context_->errstr);
      }
    }
  }

 private:
  explicit Connection(redisContext* context) : context_(context) {}
  redisContext* context_;
};

namespace {

// Subscribes `connection` to every room's channel and waits for Redis to confirm. One pattern
// for all rooms keeps joins free of subscription races: every instance hears every room and
// drops what is for rooms it has no members in (docs/scaling.md weighs the alternative).
void subscribe_to_rooms(RedisBroker::Connection& connection) {
  const std::string pattern = std::string(kChannelPrefix) + "*";
  const Reply reply = connection.command({"PSUBSCRIBE", pattern});
  if (reply->type != REDIS_REPLY_ARRAY || reply->elements < 1 ||
      reply_text(*reply->element[0]) != "psubscribe") {
    throw RedisError("unexpected answer to PSUBSCRIBE");
  }
}

}  // namespace

RedisBroker::RedisBroker(std::string host, std::uint16_t port)
    : host_(std::move(host)), port_(port), instance_(random_instance_id()) {
  // hiredis writes with write(2), which raises SIGPIPE on a socket Redis has closed, and the
  // signal's default action would end the whole server. Our own writes all use MSG_NOSIGNAL, so
  // ignoring the signal process-wide changes nothing else: a write to a dead Redis becomes the
  // EPIPE error the broker handles.
  std::signal(SIGPIPE, SIG_IGN);
  const std::string where = host_ + ":" + std::to_string(port_);
  try {
    command_ = Connection::open(host_, port_);
    const Reply pong = command_->command({"PING"});
    subscriber_ = Connection::open(host_, port_);
    subscribe_to_rooms(*subscriber_);  // before any client: no message can slip past
  } catch (const RedisError& e) {
    throw std::runtime_error("cannot use Redis at " + where + ": " + e.what());
  }
  last_attempt_ = std::chrono::steady_clock::now();
  log_line("redis: instance " + instance_ + " sharing rooms through " + where);
}

RedisBroker::~RedisBroker() { stop(); }

void RedisBroker::start(Listener listener) {
  listener_ = std::move(listener);
  thread_ = std::thread([this] { listen_loop(); });
}

void RedisBroker::stop() {
  stop_.trigger();
  if (thread_.joinable()) {
    thread_.join();
  }
}

RedisBroker::Connection* RedisBroker::command_connection() {
  const auto now = std::chrono::steady_clock::now();
  if (!command_ && now - last_attempt_ >= std::chrono::seconds(1)) {
    last_attempt_ = now;
    try {
      command_ = Connection::open(host_, port_);
    } catch (const RedisError&) {
      command_.reset();  // still down; the listening thread logs the outage once
    }
  }
  return command_.get();
}

void RedisBroker::drop_command_connection(const char* what, const std::string& reason) {
  log_line(std::string("redis: ") + what + " failed: " + reason);
  command_.reset();
  last_attempt_ = std::chrono::steady_clock::now();
}

bool RedisBroker::publish(const std::string& room, const nlohmann::json& message) {
  const std::lock_guard lock(command_mutex_);
  Connection* connection = command_connection();
  if (connection == nullptr) {
    return false;
  }
  // Numbered before sending: if Redis got it but the answer was lost, the number is used up
  // and the next message gets a new one (a gap is harmless, a reused number would be dropped).
  const std::string text = encode_shared({instance_, ++sequence_, message});
  const std::string key = history_key(room);
  const std::string history_start = "-" + std::to_string(kRoomHistorySize);
  try {
    // One transaction, one round trip: the history and the live channel never disagree about
    // which messages exist, as seen by any other client of this Redis.
    connection->append({"MULTI"});
    connection->append({"RPUSH", key, text});
    connection->append({"LTRIM", key, history_start, "-1"});
    connection->append({"PUBLISH", channel(room), text});
    connection->append({"EXEC"});
    for (int reply = 0; reply < 4; ++reply) {
      connection->read();  // OK, then QUEUED three times
    }
    const Reply exec = connection->read();
    if (exec->type != REDIS_REPLY_ARRAY) {
      throw RedisError("the MULTI transaction was not executed");
    }
    return true;
  } catch (const RedisError& e) {
    drop_command_connection("publish", e.what());
    return false;
  }
}

std::optional<std::vector<SharedMessage>> RedisBroker::history(const std::string& room) {
  const std::lock_guard lock(command_mutex_);
  Connection* connection = command_connection();
  if (connection == nullptr) {
    return std::nullopt;
  }
  try {
    const Reply reply = connection->command({"LRANGE", history_key(room), "0", "-1"});
    if (reply->type != REDIS_REPLY_ARRAY) {
      throw RedisError("LRANGE did not answer a list");
    }
    std::vector<SharedMessage> messages;
    for (std::size_t i = 0; i < reply->elements; ++i) {
      const redisReply& item = *reply->element[i];
      if (auto shared =
              item.type == REDIS_REPLY_STRING ? decode_shared(reply_text(item)) : std::nullopt) {
        messages.push_back(std::move(*shared));
      }
    }
    return messages;
  } catch (const RedisError& e) {
    drop_command_connection("history", e.what());
    return std::nullopt;
  }
}

bool RedisBroker::share_token(const std::string& token, const std::string& username,
                              std::chrono::milliseconds lifetime) {
  const std::lock_guard lock(command_mutex_);
  Connection* connection = command_connection();
  if (connection == nullptr) {
    return false;
  }
  try {
    // PX: Redis deletes the key when the lifetime is over, so unused tokens cannot pile up.
    connection->command(
        {"SET", token_key(token), username, "PX", std::to_string(lifetime.count())});
    return true;
  } catch (const RedisError& e) {
    drop_command_connection("storing a login token", e.what());
    return false;
  }
}

std::optional<std::string> RedisBroker::take_token(const std::string& token) {
  const std::lock_guard lock(command_mutex_);
  Connection* connection = command_connection();
  if (connection == nullptr) {
    return std::nullopt;
  }
  try {
    // GETDEL (Redis 6.2+) reads and deletes in one step: two instances redeeming the same token
    // at once cannot both get the user.
    const Reply reply = connection->command({"GETDEL", token_key(token)});
    if (reply->type != REDIS_REPLY_STRING) {
      return std::nullopt;  // nil: unknown, expired or already used
    }
    return std::string(reply_text(*reply));
  } catch (const RedisError& e) {
    drop_command_connection("redeeming a login token", e.what());
    return std::nullopt;
  }
}

void RedisBroker::listen_loop() {
  constexpr std::chrono::milliseconds kFirstBackoff{100};
  constexpr std::chrono::milliseconds kMaxBackoff{2000};
  std::chrono::milliseconds backoff = kFirstBackoff;
  std::unique_ptr<Connection> connection = std::move(subscriber_);
  bool up = true;
  while (!stop_.triggered()) {
    try {
      if (!connection) {
        connection = Connection::open(host_, port_);
        subscribe_to_rooms(*connection);
        if (!up) {
          {
            // Reconnect the command connection too, now, rather than on the next publish.
            const std::lock_guard lock(command_mutex_);
            last_attempt_ = {};
            command_connection();
          }
          up = true;
          log_line("redis: connection back; rooms are shared again");
          listener_.link_changed(true);
        }
        backoff = kFirstBackoff;
      }
      const Reply reply = connection->next_push(stop_.fd());
      if (!reply) {
        break;  // stopping
      }
      // ["pmessage", pattern, channel, data]; anything else (a subscribe confirmation) is not
      // a message.
      if (reply->type != REDIS_REPLY_ARRAY || reply->elements != 4 ||
          reply_text(*reply->element[0]) != "pmessage") {
        continue;
      }
      const std::string_view name = reply_text(*reply->element[2]);
      auto shared = decode_shared(reply_text(*reply->element[3]));
      if (!shared || !name.starts_with(kChannelPrefix)) {
        log_line("redis: ignored a malformed message on " + std::string(name.substr(0, 80)));
        continue;
      }
      if (shared->origin == instance_) {
        continue;  // our own message, back from Redis: our members have it already
      }
      listener_.deliver(std::string(name.substr(kChannelPrefix.size())), *shared);
    } catch (const RedisError& e) {
      connection.reset();
      if (up) {
        {
          // The command connection went down with Redis (possibly unnoticed yet: it sees the
          // loss only when it next writes). Drop it, so that the first publish after Redis
          // is back does not go into a dead socket.
          const std::lock_guard lock(command_mutex_);
          command_.reset();
        }
        up = false;
        log_line(std::string("redis: connection lost (") + e.what() +
                 "); serving this server's members only, reconnecting");
        listener_.link_changed(false);
      }
      pollfd stop{stop_.fd(), POLLIN, 0};
      ::poll(&stop, 1, static_cast<int>(backoff.count()));
      backoff = std::min(backoff * 2, kMaxBackoff);
    }
  }
}

}  // namespace ws
