// Reading /proc/PID/stat and /proc/PID/status; getrusage and setrlimit for ourselves.
#include "proc_stats.hpp"

#include <sys/resource.h>
#include <unistd.h>

#include <fstream>
#include <sstream>
#include <string>

namespace ws::bench {

ProcessSample sample_process(int pid) {
  ProcessSample sample;
  const std::string dir = "/proc/" + std::to_string(pid);
  std::ifstream stat(dir + "/stat");
  std::string line;
  if (!std::getline(stat, line)) {
    return sample;
  }
  // The command name (field 2) may hold spaces and parentheses: fields are counted after the
  // last ')'. utime and stime are fields 14 and 15, in clock ticks.
  const std::size_t paren = line.rfind(')');
  if (paren == std::string::npos) {
    return sample;
  }
  std::istringstream fields(line.substr(paren + 2));
  std::string field;
  std::uint64_t utime = 0;
  std::uint64_t stime = 0;
  for (int number = 3; number <= 15 && (fields >> field); ++number) {
    if (number == 14) {
      utime = std::stoull(field);
    } else if (number == 15) {
      stime = std::stoull(field);
    }
  }
  const long ticks = ::sysconf(_SC_CLK_TCK);
  sample.cpu_seconds = static_cast<double>(utime + stime) / static_cast<double>(ticks);

  std::ifstream status(dir + "/status");
  while (std::getline(status, line)) {
    std::istringstream words(line);
    std::string key;
    std::uint64_t value = 0;
    words >> key >> value;
    if (key == "VmRSS:") {
      sample.rss_kib = value;
    } else if (key == "VmHWM:") {
      sample.hwm_kib = value;
    } else if (key == "Threads:") {
      sample.threads = value;
    }
  }
  sample.valid = true;
  return sample;
}

CpuTime own_cpu_time() {
  rusage usage{};
  ::getrusage(RUSAGE_SELF, &usage);
  auto seconds = [](const timeval& t) {
    return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_usec) / 1e6;
  };
  return {seconds(usage.ru_utime), seconds(usage.ru_stime)};
}

std::uint64_t raise_open_file_limit() {
  rlimit limit{};
  ::getrlimit(RLIMIT_NOFILE, &limit);
  if (limit.rlim_cur < limit.rlim_max) {
    limit.rlim_cur = limit.rlim_max;
    ::setrlimit(RLIMIT_NOFILE, &limit);
  }
  return limit.rlim_cur;
}

}  // namespace ws::bench
