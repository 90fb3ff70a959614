// Stage 05: the chat server, the course's main program. Log in at POST /login, chat in rooms over
// the WebSocket at /ws. Run with --help for the flags; --add-user manages the users file.
#include <termios.h>
#include <unistd.h>

#include <csignal>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <stdexcept>
#include <string>
#include <vector>

#include "auth.hpp"
#include "options.hpp"
#include "server.hpp"

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

// Reads a line from the terminal without echoing it (or from a pipe, as it is).
std::string read_secret(const char* prompt) {
  std::cerr << prompt << std::flush;
  termios saved{};
  const bool terminal = ::tcgetattr(STDIN_FILENO, &saved) == 0;
  if (terminal) {
    termios quiet = saved;
    quiet.c_lflag &= ~static_cast<tcflag_t>(ECHO);
    ::tcsetattr(STDIN_FILENO, TCSANOW, &quiet);
  }
  std::string line;
  std::getline(std::cin, line);
  if (terminal) {
    ::tcsetattr(STDIN_FILENO, TCSANOW, &saved);
    std::cerr << "\n";
  }
  return line;
}

// --add-user NAME: asks for a password twice and appends NAME's entry to the users file.
int add_user(const ws::Options& options) {
  if (options.users_file.empty() || !ws::is_valid_username(options.add_user)) {
    std::cerr << "server: --add-user needs --users FILE and a name of 1-32 characters from "
                 "a-z 0-9 _ -\n";
    return 2;
  }
  const std::string password = read_secret("password: ");
  if (password.size() < 8 || password != read_secret("again: ")) {
    std::cerr << "server: the passwords differ or are shorter than 8 characters\n";
    return 2;
  }
  std::ofstream file(options.users_file, std::ios::app);
  file << ws::hash_password_entry(options.add_user, password) << "\n";
  if (!file) {
    std::cerr << "server: cannot write " << options.users_file << "\n";
    return 2;
  }
  std::cerr << "added " << options.add_user << " to " << options.users_file << "\n";
  return 0;
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
    return add_user(options);
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
