// The load generator: drives a WebSocket server on loopback with one of four workloads and
// reports rates, latency percentiles, its own CPU time and the server's, then one line of JSON.
// `loadgen --help` lists the flags; bench/run calls it for every row of docs/performance.md.
#include <sys/resource.h>

#include <array>
#include <charconv>
#include <csignal>
#include <cstdio>
#include <ctime>
#include <exception>
#include <iostream>
#include <latch>
#include <memory>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "options.hpp"
#include "proc_stats.hpp"
#include "worker.hpp"

namespace {

using ws::bench::Mode;

void sleep_until(std::int64_t deadline_ns) {
  timespec t{};
  t.tv_sec = static_cast<time_t>(deadline_ns / 1'000'000'000);
  t.tv_nsec = static_cast<long>(deadline_ns % 1'000'000'000);
  while (::clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &t, nullptr) == EINTR) {
  }
}

/// A flat JSON object written field by field (keys are ours and need no escaping).
class JsonObject {
 public:
  JsonObject& number(std::string_view name, double value) {
    std::array<char, 32> digits{};
    const auto result =
        std::to_chars(digits.begin(), digits.end(), value, std::chars_format::general, 7);
    key(name).append(digits.data(), result.ptr);
    return *this;
  }
  JsonObject& integer(std::string_view name, std::uint64_t value) {
    key(name).append(std::to_string(value));
    return *this;
  }
  JsonObject& boolean(std::string_view name, bool value) {
    key(name).append(value ? "true" : "false");
    return *this;
  }
  JsonObject& text(std::string_view name, std::string_view value) {
    std::string& out = key(name);
    out += '"';
    for (const char ch : value) {
      if (ch == '"' || ch == '\\') {
        out += '\\';
        out += ch;
      } else {
        out += static_cast<unsigned char>(ch) < 0x20 ? ' ' : ch;
      }
    }
    out += '"';
    return *this;
  }
  JsonObject& object(std::string_view name, const JsonObject& value) {
    key(name).append(value.str());
    return *this;
  }
  [[nodiscard]] std::string str() const { return "{" + body_ + "}"; }

 private:
  std::string& key(std::string_view name) {
    if (!body_.empty()) {
      body_ += ',';
    }
    body_ += '"';
    body_.append(name);
    body_ += '"';
    body_ += ':';
    return body_;
  }
  std::string body_;
};

double microseconds(std::int64_t nanoseconds) { return static_cast<double>(nanoseconds) / 1e3; }

/// The figures of one run, gathered by main from the workers and from /proc.
struct Report {
  const ws::bench::Options* options = nullptr;
  ws::bench::Stats stats;
  double connect_seconds = 0;
  double window_seconds = 0;
  ws::bench::CpuTime loadgen_cpu;
  ws::bench::ProcessSample server_before;
  ws::bench::ProcessSample server_connected;
  ws::bench::ProcessSample server_from;
  ws::bench::ProcessSample server_until;
  std::string worker_error;

  [[nodiscard]] bool ok() const {
    const auto expected = static_cast<std::uint64_t>(options->connections);
    return worker_error.empty() && stats.errors == 0 && stats.connect_failed == 0 &&
           stats.closed_by_server == 0 && stats.unanswered == 0 && stats.lost == 0 &&
           stats.duplicated == 0 && stats.opened == expected &&
           (options->mode != Mode::kIdle || stats.live_at_end == expected);
  }
  [[nodiscard]] double rate() const {
    return window_seconds > 0 ? static_cast<double>(stats.messages) / window_seconds : 0;
  }
  [[nodiscard]] double megabytes_per_second() const {
    return window_seconds > 0 ? static_cast<double>(stats.bytes) / 1e6 / window_seconds : 0;
  }
  [[nodiscard]] double server_cpu() const {
    return server_until.valid && server_from.valid
               ? server_until.cpu_seconds - server_from.cpu_seconds
               : 0;
  }
};

void print_human(const Report& r) {
  const auto& s = r.stats;
  const auto& o = *r.options;
  std::printf("%s: %zu connection(s) open in %.2f s", ws::bench::mode_name(o.mode), o.connections,
              r.connect_seconds);
  if (s.connect_failed > 0) {
    std::printf(", %llu failed", static_cast<unsigned long long>(s.connect_failed));
  }
  std::printf("\n");
  if (o.mode == Mode::kIdle) {
    std::printf("held %.1f s: %llu of %zu still open, %llu pings answered\n", r.window_seconds,
                static_cast<unsigned long long>(s.live_at_end), o.connections,
                static_cast<unsigned long long>(s.pings));
  } else {
    std::printf("%.0f msg/s  %.1f MB/s  (%llu messages in %.2f s)\n", r.rate(),
                r.megabytes_per_second(), static_cast<unsigned long long>(s.messages),
                r.window_seconds);
    std::printf("latency us: p50 %.1f  p99 %.1f  p99.9 %.1f  max %.1f\n",
                microseconds(s.latency.percentile(0.50)), microseconds(s.latency.percentile(0.99)),
                microseconds(s.latency.percentile(0.999)), microseconds(s.latency.max()));
  }
  if (o.mode == Mode::kBroadcast) {
    std::printf(
        "published %llu, delivered %llu, lost %llu, duplicated %llu\n",
        static_cast<unsigned long long>(s.published), static_cast<unsigned long long>(s.delivered),
        static_cast<unsigned long long>(s.lost), static_cast<unsigned long long>(s.duplicated));
  }
  if (o.compression || s.rx_compressed > 0) {
    std::printf("permessage-deflate: %llu of %llu connection(s) agreed\n",
                static_cast<unsigned long long>(s.deflate_connections),
                static_cast<unsigned long long>(s.opened));
  }
  if (s.rx_messages > 0) {
    const auto per_message = [&](std::uint64_t bytes) {
      return static_cast<double>(bytes) / static_cast<double>(s.rx_messages);
    };
    std::printf(
        "received %llu data messages (%llu compressed), per message: %.1f B of frames, "
        "%.1f B of payload, %.1f B inflated (%.2fx)\n",
        static_cast<unsigned long long>(s.rx_messages),
        static_cast<unsigned long long>(s.rx_compressed), per_message(s.rx_frame_bytes),
        per_message(s.rx_payload_bytes), per_message(s.rx_inflated_bytes),
        s.rx_payload_bytes > 0
            ? static_cast<double>(s.rx_inflated_bytes) / static_cast<double>(s.rx_payload_bytes)
            : 0);
  }
  const double loadgen_cpu = r.loadgen_cpu.user + r.loadgen_cpu.system;
  std::printf("loadgen cpu %.2f s (%.0f%%, %.0f%% of it in the kernel)", loadgen_cpu,
              r.window_seconds > 0 ? 100 * loadgen_cpu / r.window_seconds : 0,
              loadgen_cpu > 0 ? 100 * r.loadgen_cpu.system / loadgen_cpu : 0);
  if (r.server_until.valid) {
    std::printf("  server cpu %.2f s (%.0f%%), rss %llu KiB, threads %llu", r.server_cpu(),
                r.window_seconds > 0 ? 100 * r.server_cpu() / r.window_seconds : 0,
                static_cast<unsigned long long>(r.server_until.rss_kib),
                static_cast<unsigned long long>(r.server_until.threads));
  }
  std::printf("\n");
  if (!s.first_error.empty() || !r.worker_error.empty()) {
    std::printf("first problem: %s\n",
                r.worker_error.empty() ? s.first_error.c_str() : r.worker_error.c_str());
  }
}

void print_json(const Report& r) {
  const auto& s = r.stats;
  const auto& o = *r.options;
  auto sample = [](const ws::bench::ProcessSample& p) {
    JsonObject json;
    json.number("cpu_s", p.cpu_seconds)
        .integer("rss_kib", p.rss_kib)
        .integer("hwm_kib", p.hwm_kib)
        .integer("threads", p.threads);
    return json;
  };
  JsonObject latency;
  latency.number("p50", microseconds(s.latency.percentile(0.50)))
      .number("p99", microseconds(s.latency.percentile(0.99)))
      .number("p999", microseconds(s.latency.percentile(0.999)))
      .number("max", microseconds(s.latency.max()))
      .number("mean", s.latency.mean() / 1e3);
  JsonObject json;
  json.text("mode", ws::bench::mode_name(o.mode))
      .text("label", o.label)
      .boolean("ok", r.ok())
      .integer("connections", o.connections)
      .integer("in_flight", o.in_flight)
      .integer("size", o.size)
      .boolean("binary", o.binary)
      .integer("threads", o.threads)
      .number("connect_s", r.connect_seconds)
      .number("window_s", r.window_seconds)
      .integer("messages", s.messages)
      .number("messages_per_s", r.rate())
      .number("mb_per_s", r.megabytes_per_second())
      .object("latency_us", latency)
      .integer("opened", s.opened)
      .integer("connect_failed", s.connect_failed)
      .integer("closed_by_server", s.closed_by_server)
      .integer("errors", s.errors)
      .integer("pings", s.pings)
      .integer("live_at_end", s.live_at_end)
      .integer("unanswered", s.unanswered)
      .integer("published", s.published)
      .integer("delivered", s.delivered)
      .integer("lost", s.lost)
      .integer("duplicated", s.duplicated)
      .integer("window_stalls", s.window_stalls)
      .boolean("compression_offered", o.compression)
      .integer("deflate_connections", s.deflate_connections)
      .integer("rx_messages", s.rx_messages)
      .integer("rx_compressed", s.rx_compressed)
      .integer("rx_frame_bytes", s.rx_frame_bytes)
      .integer("rx_payload_bytes", s.rx_payload_bytes)
      .integer("rx_inflated_bytes", s.rx_inflated_bytes)
      .number("loadgen_cpu_s", r.loadgen_cpu.user + r.loadgen_cpu.system)
      .number("loadgen_user_s", r.loadgen_cpu.user)
      .number("loadgen_system_s", r.loadgen_cpu.system)
      .number("server_cpu_s", r.server_cpu());
  if (o.server_pid != 0) {
    json.object("server_before", sample(r.server_before))
        .object("server_connected", sample(r.server_connected))
        .object("server_end", sample(r.server_until));
  }
  json.text("first_error", r.worker_error.empty() ? s.first_error : r.worker_error);
  std::printf("%s\n", json.str().c_str());
}

}  // namespace

int main(int argc, char** argv) {
  ws::bench::Options options;
  std::string error;
  const std::vector<std::string> args(argv + 1, argv + argc);
  switch (ws::bench::parse_options(args, options, error)) {
    case ws::bench::ParseOutcome::kHelp:
      std::cout << ws::bench::usage();
      return 0;
    case ws::bench::ParseOutcome::kError:
      std::cerr << "loadgen: " << error << " (see --help)\n";
      return 2;
    case ws::bench::ParseOutcome::kRun:
      break;
  }
  // A write to a connection the server has closed must fail with EPIPE, not kill us.
  std::signal(SIGPIPE, SIG_IGN);
  const std::uint64_t file_limit = ws::bench::raise_open_file_limit();
  if (file_limit < options.connections + 64) {
    std::cerr << "loadgen: the open-file limit is " << file_limit << ", too low for "
              << options.connections << " connections (raise the hard limit: ulimit -Hn)\n";
    return 2;
  }

  Report report;
  report.options = &options;
  try {
    const auto echo = ws::bench::EchoMessages::make(
        options.mode == Mode::kEcho || options.mode == Mode::kPingPong ? options.size : 0,
        options.binary, options.in_flight + 1);
    if (options.mode == Mode::kIdle) {
      options.warmup = {};
    }

    std::vector<std::unique_ptr<ws::bench::Worker>> workers;
    for (std::size_t i = 0; i < options.threads; ++i) {
      const std::size_t first = i * options.connections / options.threads;
      const std::size_t last = (i + 1) * options.connections / options.threads;
      workers.push_back(std::make_unique<ws::bench::Worker>(options, echo, first, last - first));
    }

    std::latch connected(static_cast<std::ptrdiff_t>(workers.size()));
    std::latch go(1);
    ws::bench::Schedule schedule;
    std::vector<std::string> errors(workers.size());
    if (options.server_pid != 0) {
      report.server_before = ws::bench::sample_process(options.server_pid);
    }
    const std::int64_t begin = ws::bench::now_ns();
    std::vector<std::thread> threads;
    for (std::size_t i = 0; i < workers.size(); ++i) {
      threads.emplace_back([&, i] {
        try {
          workers[i]->run(connected, go, schedule);
        } catch (const std::exception& e) {
          errors[i] = e.what();
        }
      });
    }
    connected.wait();
    schedule.start = ws::bench::now_ns();
    report.connect_seconds = static_cast<double>(schedule.start - begin) / 1e9;
    schedule.measure_from = schedule.start + options.warmup.count();
    schedule.measure_until = schedule.measure_from + options.duration.count();
    if (options.server_pid != 0) {
      report.server_connected = ws::bench::sample_process(options.server_pid);
    }
    go.count_down();

    sleep_until(schedule.measure_from);
    const ws::bench::CpuTime cpu_from = ws::bench::own_cpu_time();
    if (options.server_pid != 0) {
      report.server_from = ws::bench::sample_process(options.server_pid);
    }
    sleep_until(schedule.measure_until);
    const ws::bench::CpuTime cpu_until = ws::bench::own_cpu_time();
    report.loadgen_cpu = {cpu_until.user - cpu_from.user, cpu_until.system - cpu_from.system};
    if (options.server_pid != 0) {
      report.server_until = ws::bench::sample_process(options.server_pid);
    }
    report.window_seconds = static_cast<double>(options.duration.count()) / 1e9;

    for (auto& thread : threads) {
      thread.join();
    }
    for (std::size_t i = 0; i < workers.size(); ++i) {
      report.stats.merge(workers[i]->stats());
      if (report.worker_error.empty() && !errors[i].empty()) {
        report.worker_error = errors[i];
      }
    }
  } catch (const std::exception& e) {
    std::cerr << "loadgen: " << e.what() << "\n";
    return 2;
  }
  print_human(report);
  print_json(report);
  return report.ok() ? 0 : 1;
}
