// The list of cases, filled at start-up by the TESTER_CASE macro and by the case families.
#include "registry.hpp"

#include <algorithm>
#include <cctype>
#include <stdexcept>

namespace tester {
namespace {

std::vector<Case>& cases() {
  static std::vector<Case> instance;
  return instance;
}

}  // namespace

bool add_case(Case c) {
  const auto taken = [](const std::string& id) {
    return std::ranges::any_of(cases(), [&id](const Case& other) { return other.id == id; });
  };
  if (!c.id.empty() && taken(c.id)) {
    // Several cases share an Autobahn section without a number of their own (5.x): 5.x, 5.x.2...
    const std::string base = c.id;
    for (int n = 2; taken(c.id); ++n) {
      c.id = base + "." + std::to_string(n);
    }
  }
  if (c.id.empty()) {
    // Cases without an Autobahn number are numbered within their group: handshake.1, ...
    std::size_t count = 1;
    for (const Case& other : cases()) {
      count += other.group == c.group ? 1U : 0U;
    }
    c.id = c.group + "." + std::to_string(count);
  }
  cases().push_back(std::move(c));
  return true;
}

const std::vector<Case>& all_cases() { return cases(); }

std::pair<std::string, std::string> id_and_title(std::string_view name) {
  std::string id;
  std::string_view rest = name;
  if (rest.starts_with("Case")) {
    // Case5_x_Name: the number is the part before the first word that starts with a capital.
    rest.remove_prefix(4);
    while (!rest.empty() && (std::isupper(static_cast<unsigned char>(rest.front())) == 0)) {
      const auto underscore = rest.find('_');
      const std::string_view part = rest.substr(0, underscore);
      id += (id.empty() ? "" : ".") + std::string(part);
      rest = underscore == std::string_view::npos ? "" : rest.substr(underscore + 1);
    }
  } else if (const auto underscore = rest.find('_'); underscore != std::string_view::npos) {
    rest.remove_prefix(underscore + 1);  // Handshake_RejectsPost: the group is said elsewhere
  }
  // "FailsOnPingWith126BytePayload" -> "fails on ping with 126 byte payload"
  std::string title;
  for (std::size_t i = 0; i < rest.size(); ++i) {
    if (rest.substr(i, 3) == "KiB" || rest.substr(i, 3) == "MiB") {
      title += std::string(i > 0 ? " " : "") + std::string(rest.substr(i, 3));  // a unit, one word
      i += 2;
      continue;
    }
    const auto c = static_cast<unsigned char>(rest[i]);
    const auto before = i > 0 ? static_cast<unsigned char>(rest[i - 1]) : ' ';
    const auto after = i + 1 < rest.size() ? static_cast<unsigned char>(rest[i + 1]) : ' ';
    // A capital starts a word unless it continues an acronym ("FF", "U10FFFF"); a number starts
    // a word after a lower-case letter ("Text125").
    const bool starts_word =
        i > 0 &&
        ((std::isupper(c) != 0 && (std::isupper(before) == 0 || std::islower(after) != 0)) ||
         (std::isdigit(c) != 0 && std::islower(before) != 0));
    if (starts_word) {
      title += ' ';
    }
    title += static_cast<char>(std::tolower(c));
  }
  return {id, title};
}

}  // namespace tester
