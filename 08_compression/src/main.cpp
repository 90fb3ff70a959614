// Stage 08: the chat server on one event loop per core, its messages compressed when the client
// agrees. Log in at POST /login, chat in rooms over the WebSocket at /ws, over TLS and across
// servers if asked. Run with --help for the flags;
// --add-user manages the users file.
#include <csignal>
#include <cstdio>
#include <iostream>
#include <stdexcept>
#include <string>
#include <vector>

#include "options.hpp"
#include "server.hpp"
#include "users.hpp"

namespace {

// The server the signal handler stops. Set before the handlers are installed.
const ws::Server* running_server = nullptr;

extern "C" void on_stop_signal(int /*signal*/) {
  if (running_server != nullptr) {
    running_server->stop();  // async-signal-safe: one write() to an eventfd
  }
}

void install_stop_handlers() {
  struct sigaction action {};
  action.sa_handler = on_stop_signal;
  sigemptyset(&action.sa_mask);
  sigaction(SIGINT, &action, nullptr);
  sigaction(SIGTERM, &action, nullptr);
}

std::string url_host(const std::string& host) {
  return host.find(':') == std::string::npos ? host : "[" + host + "]";
}

}  // namespace

int main(int argc, char** argv) {
  ws::Options options;
  options.web_root = WS_WEB_ROOT;  // the stage's web/ directory, fixed at build time
  std::string error;
  const std::vector<std::string> args(argv + 1, argv + argc);
  switch (ws::parse_options(args, options, error)) {
    case ws::ParseOutcome::kHelp:
      std::cout << ws::usage();
      return 0;
    case ws::ParseOutcome::kError:
      std::cerr << "server: " << error << " (see --help)\n";
      return 2;
    case ws::ParseOutcome::kRun:
      break;
  }

  if (!options.add_user.empty()) {
    return ws::add_user(options);
  }

  try {
    ws::Server server(options);
    running_server = &server;
    install_stop_handlers();
    if (server.demo_users()) {
      std::printf(
          "warning: demo users active (alice/wonderland, bob/builder): use --users FILE "
          "for real accounts\n");
    }
    std::printf("listening on %s://%s:%u\n", server.scheme(), url_host(options.host).c_str(),
                static_cast<unsigned>(server.port()));
    std::fflush(stdout);
    server.run();
    running_server = nullptr;
  } catch (const std::exception& e) {
    std::cerr << "server: " << e.what() << "\n";
    return 2;
  }
  return 0;
}
