// The server's command line: the flags every stage's program accepts (see the course README).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace ws {

/// What the server was asked to do. Defaults are the documented ones.
struct Options {
  std::string host = "127.0.0.1";
  std::uint16_t port = 1337;
  /// Subprotocols the server accepts (--protocol chat,superchat); empty: none.
  std::vector<std::string> protocols;
  /// Directory holding index.html, the test page served at GET /.
  std::string web_root;
  /// The largest message (and frame) payload accepted; more is answered with 1009 (§10.4).
  std::uint64_t max_message = std::uint64_t{16} * 1024 * 1024;
  /// Log every message, not just connections and closes.
  bool verbose = false;
};

/// What parse_options found on the command line.
enum class ParseOutcome { kRun, kHelp, kError };

/// Parses `args` (without the program name) into `options`, which must hold the defaults.
/// Accepts `--flag value` and `--flag=value`. On kError, `error` holds a one-line reason.
ParseOutcome parse_options(const std::vector<std::string>& args, Options& options,
                           std::string& error);

/// The --help text.
std::string usage();

}  // namespace ws
