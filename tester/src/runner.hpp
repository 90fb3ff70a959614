// Runs a stage's cases against the target and prints what failed, where to look, and a summary.
#pragma once

#include "options.hpp"

namespace tester {

/// Lists (--list) or runs the cases `options` selects. Returns the exit status: 0 when every
/// selected case passed (skipped ones are reported, not failed), 1 when one failed, 2 when the
/// run could not start (bad URL, a server that does not start).
int run(const Options& options);

}  // namespace tester
