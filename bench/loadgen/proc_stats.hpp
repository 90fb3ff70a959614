// CPU time and memory of a process, read from /proc (proc(5)), and this process's own CPU time.
#pragma once

#include <cstdint>

namespace ws::bench {

/// One reading of a process's resource use.
struct ProcessSample {
  bool valid = false;         ///< false if the process is gone or /proc could not be read
  double cpu_seconds = 0;     ///< user + system time of all its threads so far
  std::uint64_t rss_kib = 0;  ///< resident memory now (VmRSS)
  std::uint64_t hwm_kib = 0;  ///< peak resident memory so far (VmHWM)
  std::uint64_t threads = 0;
};

/// Reads /proc/PID/stat and /proc/PID/status.
ProcessSample sample_process(int pid);

/// CPU seconds, split as proc(5) and getrusage(2) split them.
struct CpuTime {
  double user = 0;
  double system = 0;  ///< in the kernel: on loopback, mostly TCP delivering our writes
};

/// The CPU time this process used so far, all threads (getrusage).
CpuTime own_cpu_time();

/// Raises this process's open-file limit to its hard limit; returns the new soft limit.
std::uint64_t raise_open_file_limit();

}  // namespace ws::bench
