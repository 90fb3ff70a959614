// A peer for the benchmarks: an echo server written with Boost.Beast (Debian's libboost1.74-dev),
// asynchronous on one thread, in the shape of Beast's own websocket_server_async example.
// Usage: beast_echo --port P   (prints "listening on http://127.0.0.1:P" when ready).
#include <boost/asio/dispatch.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/websocket.hpp>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <memory>
#include <string>

namespace {

namespace beast = boost::beast;
namespace websocket = beast::websocket;
namespace net = boost::asio;
using tcp = net::ip::tcp;

/// The same limit as our servers' default --max-message.
constexpr std::size_t kMaxMessage = std::size_t{16} * 1024 * 1024;

/// One connection: accept the upgrade, then read a message and write it back, until it closes.
class Session : public std::enable_shared_from_this<Session> {
 public:
  explicit Session(tcp::socket&& socket) : ws_(std::move(socket)) {}

  void start() {
    ws_.set_option(websocket::stream_base::timeout::suggested(beast::role_type::server));
    ws_.read_message_max(kMaxMessage);
    // Echo each message as one frame, as every other server under test does.
    ws_.auto_fragment(false);
    ws_.async_accept(beast::bind_front_handler(&Session::on_accept, shared_from_this()));
  }

 private:
  void on_accept(beast::error_code error) {
    if (!error) {
      read();
    }
  }

  void read() {
    ws_.async_read(buffer_, beast::bind_front_handler(&Session::on_read, shared_from_this()));
  }

  // An error here is the end of the connection (closed by the peer, or a protocol error that
  // Beast has already answered with a close frame): the session just ends.
  void on_read(beast::error_code error, std::size_t /*bytes*/) {
    if (error) {
      return;
    }
    ws_.text(ws_.got_text());
    ws_.async_write(buffer_.data(),
                    beast::bind_front_handler(&Session::on_write, shared_from_this()));
  }

  void on_write(beast::error_code error, std::size_t /*bytes*/) {
    if (error) {
      return;
    }
    buffer_.consume(buffer_.size());
    read();
  }

  websocket::stream<beast::tcp_stream> ws_;
  beast::flat_buffer buffer_;
};

/// Accepts connections and starts a Session for each.
class Listener : public std::enable_shared_from_this<Listener> {
 public:
  Listener(net::io_context& io, const tcp::endpoint& endpoint) : io_(io), acceptor_(io) {
    acceptor_.open(endpoint.protocol());
    acceptor_.set_option(net::socket_base::reuse_address(true));
    acceptor_.bind(endpoint);
    acceptor_.listen(net::socket_base::max_listen_connections);
  }

  [[nodiscard]] unsigned short port() const { return acceptor_.local_endpoint().port(); }

  void accept() {
    acceptor_.async_accept(net::make_strand(io_),
                           beast::bind_front_handler(&Listener::on_accept, shared_from_this()));
  }

 private:
  void on_accept(beast::error_code error, tcp::socket socket) {
    if (!error) {
      std::make_shared<Session>(std::move(socket))->start();
    }
    accept();
  }

  net::io_context& io_;
  tcp::acceptor acceptor_;
};

}  // namespace

int main(int argc, char** argv) {
  unsigned long port = 0;
  for (int i = 1; i + 1 < argc; ++i) {
    if (std::strcmp(argv[i], "--port") == 0) {
      port = std::strtoul(argv[i + 1], nullptr, 10);
    }
  }
  if (port > 65535) {
    std::cerr << "beast_echo: bad --port\n";
    return 2;
  }
  try {
    net::io_context io(1);
    const auto endpoint =
        tcp::endpoint(net::ip::make_address("127.0.0.1"), static_cast<unsigned short>(port));
    auto listener = std::make_shared<Listener>(io, endpoint);
    listener->accept();
    net::signal_set signals(io, SIGINT, SIGTERM);
    signals.async_wait([&io](beast::error_code /*error*/, int /*signal*/) { io.stop(); });
    std::printf("listening on http://127.0.0.1:%u\n", static_cast<unsigned>(listener->port()));
    std::fflush(stdout);
    io.run();
  } catch (const std::exception& e) {
    std::cerr << "beast_echo: " << e.what() << "\n";
    return 2;
  }
  return 0;
}
