// --add-user: the password prompt and the new entry in the users file.
#include "users.hpp"

#include <termios.h>
#include <unistd.h>

#include <fstream>
#include <iostream>
#include <string>

#include "auth.hpp"

namespace ws {

namespace {

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

}  // namespace

int add_user(const Options& options) {
  if (options.users_file.empty() || !is_valid_username(options.add_user)) {
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
  file << hash_password_entry(options.add_user, password) << "\n";
  if (!file) {
    std::cerr << "server: cannot write " << options.users_file << "\n";
    return 2;
  }
  std::cerr << "added " << options.add_user << " to " << options.users_file << "\n";
  return 0;
}

}  // namespace ws
