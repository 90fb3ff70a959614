// Logging: one line per event on stdout, never interleaved between threads.
// Tests and learners read the server through these lines, so they are part of its contract.
#pragma once

#include <string>
#include <string_view>

namespace ws {

/// Writes `line` and a newline to stdout as one unit and flushes, so lines from connection
/// threads never mix and a test reading the pipe sees each line as soon as it is logged.
void log_line(std::string_view line);

/// Makes arbitrary bytes (a client's message) safe for a one-line log: control characters,
/// backslashes and bytes >= 0x80 that do not print are escaped (`\n`, `\x1b`), printable ASCII and
/// UTF-8 multi-byte sequences pass unchanged. A client can therefore never forge a log line.
std::string printable(std::string_view bytes);

}  // namespace ws
