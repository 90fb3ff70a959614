// Runs cases one at a time, each on fresh connections, and reports them in a screenful.
#include "runner.hpp"

#include <arpa/inet.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <csignal>
#include <iostream>
#include <map>
#include <memory>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "expectations.hpp"
#include "registry.hpp"
#include "target.hpp"

namespace tester {
namespace {

// Failures shown in full (transcript and hint) before the rest are shortened to one line each,
// so that the report of a server that fails everything still fits on a screen.
constexpr std::size_t kDetailedFailures = 2;
constexpr std::size_t kTranscriptLines = 6;
// Failures listed at all (the rest are counted), unless --verbose.
constexpr std::size_t kListedFailures = 8;

struct Url {
  ServerAddress address;
  std::string path;
};

// Parses ws://HOST:PORT/PATH (or http://, whose host and port are the same server's).
Url parse_url(const std::string& text) {
  const auto scheme_end = text.find("://");
  if (scheme_end == std::string::npos) {
    throw std::runtime_error("--url must look like ws://127.0.0.1:PORT/PATH, got '" + text + "'");
  }
  const std::string scheme = text.substr(0, scheme_end);
  if (scheme == "wss" || scheme == "https") {
    throw std::runtime_error("the tester speaks plain ws://; check a TLS server through a proxy");
  }
  std::string rest = text.substr(scheme_end + 3);
  const auto slash = rest.find('/');
  Url url{{}, slash == std::string::npos ? "/" : rest.substr(slash)};
  rest = rest.substr(0, slash);
  const auto colon = rest.rfind(':');
  std::string host = rest.substr(0, colon);
  unsigned port = 80;
  if (colon != std::string::npos) {
    const std::string digits = rest.substr(colon + 1);
    const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), port);
    if (ec != std::errc{} || end != digits.data() + digits.size() || port == 0 || port > 65535) {
      throw std::runtime_error("bad port in --url '" + text + "'");
    }
  }
  if (host == "localhost") {
    host = "127.0.0.1";
  }
  in_addr parsed{};
  // Only ever this machine: a loopback address starts with 127.
  if (inet_pton(AF_INET, host.c_str(), &parsed) != 1 || (ntohl(parsed.s_addr) >> 24U) != 127) {
    throw std::runtime_error("the tester only connects to 127.0.0.0/8 or localhost, not '" + host +
                             "'");
  }
  url.address = {host, static_cast<std::uint16_t>(port)};
  return url;
}

struct Result {
  const Case* c = nullptr;
  Verdict verdict;
  bool skipped = false;
  std::string skip_reason;
  std::vector<std::string> transcript;
};

std::string lower(std::string text) {
  std::transform(text.begin(), text.end(), text.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return text;
}

// True when "group id title" of `c` contains one of the '|'-separated words of `pattern`,
// ignoring case ("utf8", "7.3|7.5", "login|chat"). An empty pattern matches every case.
bool matches(const Case& c, const std::string& pattern) {
  const std::string text = lower(c.group + " " + c.id + " " + c.title);
  std::size_t start = 0;
  for (;;) {
    const std::size_t bar = pattern.find('|', start);
    const std::string word = lower(pattern.substr(start, bar - start));
    if (text.find(word) != std::string::npos) {
      return true;
    }
    if (bar == std::string::npos) {
      return false;
    }
    start = bar + 1;
  }
}

// The selected cases of `stage`, in the order of its groups; cases that stop the server last.
std::vector<const Case*> select_cases(const Stage& stage, const std::string& pattern) {
  std::vector<const Case*> selected;
  for (const std::string& group : stage.groups) {
    for (const Case& c : all_cases()) {
      if (c.group == group && matches(c, pattern)) {
        selected.push_back(&c);
      }
    }
  }
  std::stable_partition(selected.begin(), selected.end(),
                        [](const Case* c) { return !c->stops_server; });
  return selected;
}

// "pings 2.5", or "handshake.3" for a case numbered within its group.
std::string display_id(const Case& c) {
  return c.id.starts_with(c.group + ".") ? c.id : c.group + " " + c.id;
}

std::string section_of(const Case& c) {
  if (!c.section.empty()) {
    return c.section;
  }
  const Group* group = find_group(c.group);
  return group != nullptr ? group->section : "";
}

int list(const Stage& stage, const std::vector<const Case*>& cases) {
  std::cout << "stage " << stage.number << " (" << stage.name << ") expects these groups:\n";
  for (const std::string& name : stage.groups) {
    const Group* group = find_group(name);
    std::cout << "\n" << name << " (" << group->section << "): " << group->about << "\n";
    for (const Case* c : cases) {
      if (c->group == name) {
        std::cout << "  " << c->id << "  " << c->title
                  << (c->needs == Needs::kProcess ? "  [--server]" : "") << "\n";
      }
    }
  }
  std::cout << "\n" << cases.size() << " cases\n";
  return 0;
}

void print_failure(const Result& result, bool detailed) {
  const Case& c = *result.c;
  std::cout << (result.verdict.behavior == Behavior::kNonStrict ? "NON-STRICT " : "FAIL ")
            << display_id(c) << "  " << c.title << "  [" << section_of(c) << "]\n";
  std::cout << "      got:  " << result.verdict.detail << "\n";
  if (!detailed) {
    return;
  }
  const std::size_t shown = std::min(result.transcript.size(), kTranscriptLines);
  for (std::size_t i = 0; i < shown; ++i) {
    std::cout << (i == 0 ? "      wire: " : "            ") << result.transcript[i] << "\n";
  }
  if (shown < result.transcript.size()) {
    std::cout << "            ... (" << result.transcript.size() - shown
              << " more with --verbose)\n";
  }
  if (const Group* group = find_group(c.group)) {
    std::cout << "      look: " << group->look << "\n";
  }
}

}  // namespace

namespace {

// Where and how to reach the server, from the options; throws std::invalid_argument for a bad
// --url. With --server, the port is filled in once the server has started.
Target base_target(const Stage& stage, const Options& options) {
  Target base;
  if (!options.url.empty()) {
    const Url url = parse_url(options.url);
    base.address = url.address;
    base.path = url.path;
  } else {
    base.address.host = "127.0.0.1";
    base.path = !options.path.empty() ? options.path : stage.chat ? "/ws" : "/";
  }
  // A chat's messages are JSON events seen by a room, so the cases that compare bytes through
  // compression need an echo beside it, without login (stage 08's server: --echo /echo).
  base.echo_path = !options.echo_path.empty() ? options.echo_path
                   : stage.chat               ? "/echo"
                                              : base.path;
  base.ping_period = options.ping_period;
  base.pong_wait = options.pong_wait;
  base.handshake_timeout = options.handshake_timeout;
  base.max_message = options.max_message;
  base.protocol = options.protocol;
  if (stage.chat) {
    base.login = Login{options.user, options.password};
  }
  return base;
}

// The server of --server, started again whenever a case ended it (by crashing it, or on
// purpose), so that one failure does not fail every case after it.
class Server {
 public:
  Server(const Options& options, const Stage& stage, Target base)
      : options_(options), stage_(stage), base_(std::move(base)) {}

  // (Re)starts the server and points the cases at it; false (and says why) if it cannot start.
  bool start() {
    try {
      process_.reset();
      process_ = std::make_unique<ServerProcess>(options_.server, options_.startup);
    } catch (const std::exception& error) {
      std::cout << "tester: cannot start the server: " << error.what() << "\n";
      return false;
    }
    Target target = base_;
    target.address.port = process_->port();
    target.process = process_.get();
    if (stage_.chat) {
      target.origin = "http://127.0.0.1:" + std::to_string(process_->port());
    }
    set_target(target);
    return true;
  }

  [[nodiscard]] ServerProcess* process() const { return process_.get(); }

 private:
  const Options& options_;
  const Stage& stage_;
  Target base_;
  std::unique_ptr<ServerProcess> process_;
};

// Runs one case and returns its result, with a failure added when it made the server exit.
Result run_case(const Case& c, ServerProcess* server) {
  Result result{&c, {}, false, {}, {}};
  if (c.needs == Needs::kProcess && server == nullptr) {
    result.skipped = true;
    result.skip_reason = "needs --server";
    return result;
  }
  set_current_verdict(&result.verdict);
  try {
    c.run();
  } catch (const Skipped& skipped) {
    result.skipped = true;
    result.skip_reason = skipped.what();
  } catch (const std::exception& error) {
    result.verdict = worst(result.verdict, {Behavior::kFailed, error.what()});
  }
  set_current_verdict(nullptr);
  result.transcript = take_transcript();
  if (server != nullptr && server->exited() && !c.stops_server) {
    std::string said;
    for (const auto& line : server->last_lines(3)) {
      said += " | " + line;
    }
    result.verdict =
        worst(result.verdict, {Behavior::kFailed, "the server exited with code " +
                                                      std::to_string(*server->exited()) + said});
  }
  return result;
}

// With --verbose, every case as it ends: its verdict, then its wire transcript.
void print_verbose(const Result& result) {
  std::cout << (result.skipped                             ? "skip "
                : result.verdict.behavior == Behavior::kOk ? "ok   "
                                                           : "FAIL ")
            << display_id(*result.c) << "  " << result.c->title << "\n";
  for (const auto& line : result.transcript) {
    std::cout << "        " << line << "\n";
  }
}

// The report: failures first (the first few in full), then one line per group, then the total.
// Returns the exit code: 0 only when every case that ran passed.
int report(const Stage& stage, const std::vector<Result>& results, bool verbose) {
  std::size_t failed = 0;
  std::size_t skipped = 0;
  std::map<std::string, std::pair<std::size_t, std::size_t>> per_group;  // passed, total
  for (const Result& result : results) {
    auto& [group_passed, group_total] = per_group[result.c->group];
    if (result.skipped) {
      ++skipped;
      continue;
    }
    ++group_total;
    if (result.verdict.behavior == Behavior::kOk) {
      ++group_passed;
      continue;
    }
    if (verbose || failed < kListedFailures) {
      print_failure(result, verbose || failed < kDetailedFailures);
    } else if (failed == kListedFailures) {
      std::cout << "... more failures: --verbose lists them all, --cases narrows the run\n";
    }
    ++failed;
  }
  std::cout << "\n";
  for (const std::string& group : stage.groups) {
    const auto it = per_group.find(group);
    if (it != per_group.end() && it->second.second > 0) {
      std::cout << "  " << group << ": " << it->second.first << "/" << it->second.second
                << " passed\n";
    }
  }
  for (const Result& result : results) {
    if (result.skipped) {
      std::cout << "  skipped " << display_id(*result.c) << " (" << result.skip_reason << ")\n";
    }
  }
  std::cout << results.size() - failed - skipped << " passed, " << failed << " failed";
  if (skipped > 0) {
    std::cout << ", " << skipped << " skipped";
  }
  std::cout << "\n";
  return failed == 0 ? 0 : 1;
}

}  // namespace

int run(const Options& options) {
  const Stage* stage = find_stage(options.stage);
  if (stage == nullptr) {
    std::cerr << "tester: no stage '" << options.stage << "' (stages " << stages().front().number
              << "-" << stages().back().number << ")\n";
    return 2;
  }
  std::vector<const Case*> cases;
  Target base;
  try {
    cases = select_cases(*stage, options.cases);
    if (options.list) {
      return list(*stage, cases);
    }
    base = base_target(*stage, options);
  } catch (const std::exception& error) {
    std::cerr << "tester: " << error.what() << "\n";
    return 2;
  }
  if (cases.empty()) {
    std::cerr << "tester: no case of stage " << stage->number << " matches '" << options.cases
              << "'\n";
    return 2;
  }

  Server server(options, *stage, base);
  if (!options.server.empty()) {
    if (!server.start()) {
      return 2;
    }
  } else {
    if (stage->chat) {
      base.origin = "http://" + base.address.host + ":" + std::to_string(base.address.port);
    }
    set_target(base);
    // Every case would fail the same way: say so once.
    try {
      WireClient::connect(base.address, deadline_in(kReplyDeadline));
    } catch (const std::exception& error) {
      std::cerr << "tester: nothing to check at " << options.url << ": " << error.what() << "\n";
      return 2;
    }
  }
  std::cout << "tester: stage " << stage->number << " (" << stage->name << "), " << cases.size()
            << " cases, against "
            << (server.process() != nullptr ? server.process()->command() : options.url) << "\n";

  std::vector<Result> results;
  for (const Case* c : cases) {
    results.push_back(run_case(*c, server.process()));
    ServerProcess* process = server.process();
    if (process != nullptr && process->exited() && c != cases.back() && !server.start()) {
      return 1;
    }
    if (options.verbose) {
      print_verbose(results.back());
    }
  }
  return report(*stage, results, options.verbose);
}

}  // namespace tester
