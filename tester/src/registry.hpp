// The tester's cases and how they are registered: every case file adds its cases to one list at
// start-up, each under a group; expectations.cpp says which groups each stage must pass.
#pragma once

#include <functional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "session.hpp"

namespace tester {

/// What a case needs from the run beyond a server to connect to.
enum class Needs {
  kConnection,  // only the address: works with --url or --server
  kProcess,     // reads the server's output or signals it: only with --server
};

/// One check. `run` calls `report` (session.hpp) with its verdicts; a case that reports nothing
/// passed. An exception escaping `run` is a failure with the exception's message.
struct Case {
  std::string group;    // "pings"; a group is what a stage expects (expectations.cpp)
  std::string id;       // "2.5": unique, what --cases matches together with the title
  std::string title;    // "fails on a ping with a 126-byte payload with 1002"
  std::string section;  // "§5.5": where the rule is; empty means the group's section
  std::function<void()> run;
  Needs needs = Needs::kConnection;
  bool stops_server = false;  // the server is gone afterwards (shutdown cases run last)
};

/// Thrown by a case that cannot run against this target (for example it needs --server); the
/// runner counts it as skipped, not failed, and prints the reason.
struct Skipped : std::runtime_error {
  using std::runtime_error::runtime_error;
};

/// Adds `c` to the list. Called during static initialisation by the macros below.
bool add_case(Case c);

/// Every registered case, in registration order within each file.
const std::vector<Case>& all_cases();

/// Turns "Case2_5_FailsOnPingWith126Bytes" into {"2.5", "fails on ping with 126 bytes"} and
/// "Handshake_RejectsPost" into {"", "rejects post"}: the ids of the Autobahn-numbered cases come
/// from their names.
std::pair<std::string, std::string> id_and_title(std::string_view name);

/// Registers one case per parameter, for families of cases that differ only in data: the case
/// named `name_of(param)` (as for TESTER_CASE) runs `body(param)`.
template <typename Param, typename NameOf, typename Body>
bool add_family(const std::string& group, const std::string& section,
                const std::vector<Param>& params, NameOf name_of, Body body) {
  for (const Param& param : params) {
    const std::string name = name_of(param);
    auto [id, title] = id_and_title(name);
    add_case(Case{group, std::move(id), std::move(title), section, [param, body] { body(param); }});
  }
  return true;
}

}  // namespace tester

// Defines and registers a case: TESTER_CASE(pings, Case2_5_Name, "§5.5") { ...body... }.
// The id and title come from the name (id_and_title).
#define TESTER_CASE(group, name, section) \
  TESTER_CASE_NEEDING(group, name, section, ::tester::Needs::kConnection, false)

// A case that reads the server's output or signals it (only with --server); `stops` says that
// the server is gone afterwards.
#define TESTER_CASE_NEEDING(group, name, section, needs, stops)                              \
  void name();                                                                               \
  const bool name##_registered = ::tester::add_case(                                         \
      ::tester::Case{#group, ::tester::id_and_title(#name).first,                            \
                     ::tester::id_and_title(#name).second, section, &(name), needs, stops}); \
  void name()
