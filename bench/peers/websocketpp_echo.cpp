// A peer for the benchmarks: an echo server written with websocketpp (Debian's
// libwebsocketpp-dev) on Boost.Asio, one thread, as in websocketpp's own echo_server example.
// Usage: websocketpp_echo --port P   (prints "listening on http://127.0.0.1:P" when ready).
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <websocketpp/config/asio_no_tls.hpp>
#include <websocketpp/server.hpp>

namespace {

using Server = websocketpp::server<websocketpp::config::asio>;

/// The same limit as our servers' default --max-message.
constexpr std::size_t kMaxMessage = std::size_t{16} * 1024 * 1024;

}  // namespace

int main(int argc, char** argv) {
  unsigned long port = 0;
  for (int i = 1; i + 1 < argc; ++i) {
    if (std::strcmp(argv[i], "--port") == 0) {
      port = std::strtoul(argv[i + 1], nullptr, 10);
    }
  }
  if (port > 65535) {
    std::cerr << "websocketpp_echo: bad --port\n";
    return 2;
  }
  try {
    Server server;
    server.clear_access_channels(websocketpp::log::alevel::all);
    server.clear_error_channels(websocketpp::log::elevel::all);
    server.set_max_message_size(kMaxMessage);
    server.init_asio();
    server.set_reuse_addr(true);
    server.set_message_handler(
        [&server](websocketpp::connection_hdl hdl, const Server::message_ptr& msg) {
          websocketpp::lib::error_code error;
          // A failed send means the connection is going away; websocketpp cleans it up.
          server.send(std::move(hdl), msg->get_payload(), msg->get_opcode(), error);
        });
    boost::asio::signal_set signals(server.get_io_service(), SIGINT, SIGTERM);
    signals.async_wait([&server](const boost::system::error_code& /*error*/, int /*signal*/) {
      server.stop_listening();
      server.stop();
    });
    server.listen(boost::asio::ip::tcp::endpoint(boost::asio::ip::make_address("127.0.0.1"),
                                                 static_cast<unsigned short>(port)));
    server.start_accept();
    websocketpp::lib::asio::error_code error;
    const auto local = server.get_local_endpoint(error);
    std::printf("listening on http://127.0.0.1:%u\n", static_cast<unsigned>(local.port()));
    std::fflush(stdout);
    server.run();
  } catch (const std::exception& e) {
    std::cerr << "websocketpp_echo: " << e.what() << "\n";
    return 2;
  }
  return 0;
}
