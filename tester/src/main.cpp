// The course's tester: checks any WebSocket server against a stage's expectations.
#include <csignal>
#include <iostream>
#include <string>
#include <vector>

#include "options.hpp"
#include "runner.hpp"

int main(int argc, char** argv) {
  // A server that drops a connection while we write must fail a case, not kill the tester.
  std::signal(SIGPIPE, SIG_IGN);
  const std::vector<std::string> args(argv + 1, argv + argc);
  std::string error;
  bool help = false;
  const auto options = tester::parse_options(args, &error, &help);
  if (!options) {
    if (help) {
      std::cout << tester::usage();
      return 0;
    }
    std::cerr << "tester: " << error << "\n";
    return 2;
  }
  return tester::run(*options);
}
