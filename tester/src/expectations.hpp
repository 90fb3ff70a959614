// What each stage of the course must pass: its groups of cases, and for each group the RFC
// section it checks and where to look when a case of it fails.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace tester {

/// A group of cases: one behaviour a stage adds.
struct Group {
  std::string name;     // "pings"
  std::string section;  // "§5.5.2-5.5.3"
  std::string about;    // what the group checks, for --list
  std::string look;     // where to look in your server when a case fails
};

/// A stage's expectations.
struct Stage {
  std::string number;  // "03"
  std::string name;    // "frames"
  bool chat = false;   // the WebSocket needs a login first (POST /login, then /ws?otp=...)
  std::vector<std::string> groups;
};

/// Every group, in the order a stage's cases run.
const std::vector<Group>& groups();
/// Every stage, in order.
const std::vector<Stage>& stages();

/// The group or stage with this name or number, or nullptr.
const Group* find_group(std::string_view name);
const Stage* find_stage(std::string_view number);

}  // namespace tester
