// Managing the users file from the command line: `server --users FILE --add-user NAME` asks for
// NAME's password without echoing it and appends NAME's entry (auth.hpp's format) to FILE.
#pragma once

#include "options.hpp"

namespace ws {

/// Runs --add-user: asks twice for the password of `options.add_user` (on the terminal without
/// echo, or read as lines from a pipe) and appends its hashed entry to `options.users_file`.
/// Returns the process's exit code: 0, or 2 with the reason on stderr (no --users FILE, an invalid
/// name, passwords that differ or are shorter than 8 characters, a file that cannot be written).
int add_user(const Options& options);

}  // namespace ws
