// What every hardening fuzz target uses to state its invariants: a broken one prints what it was
// and aborts, which libFuzzer reports as a crash and saves the input that caused it.
#pragma once

#include <cstdio>
#include <cstdlib>

namespace ws::fuzz {

/// Aborts with `what` on stderr when `condition` is false.
inline void check(bool condition, const char* what) {
  if (!condition) {
    std::fprintf(stderr, "invariant violated: %s\n", what);
    std::abort();
  }
}

}  // namespace ws::fuzz
