// Cases for a server's first frames (RFC 6455 §5.1-5.3, §5.6): it greets the client with text
// frames, unmasked, and reads the small masked frames the client sends.
#include <random>
#include <string>

#include "cases/common.hpp"
#include "registry.hpp"
#include "target.hpp"

namespace tester {
namespace {

// A payload nobody else sends, so finding it in the server's output proves it was unmasked.
std::string unique_text(const std::string& what) {
  static std::mt19937 random{std::random_device{}()};
  return "tester " + what + " " + std::to_string(random() % 1000000);
}

// RFC 6455 §5.1, §5.6: a server frame is never masked, and a text frame carries UTF-8. The
// session checks every frame it reads (a masked or malformed one fails the case).
TESTER_CASE(greeting, Greeting_SendsTextFramesAfterTheUpgrade, "§5.1, §5.6") {
  Session session;
  session.await_events(1, deadline_in(kReplyDeadline));
  const Observation& seen = session.observation();
  if (!seen.server_violation.empty()) {
    report({Behavior::kFailed, seen.server_violation});
  } else if (seen.events.empty() || seen.events.front().kind != Event::Kind::kText) {
    report({Behavior::kFailed, "no text message within 5 s of the upgrade"});
  }
}

// RFC 6455 §5.3: the client masks every frame with a fresh key; the server unmasks with
// key[i % 4]. Only a correctly unmasked payload appears in the server's output.
TESTER_CASE_NEEDING(greeting, Greeting_PrintsTheTextAClientSends, "§5.3", Needs::kProcess, false) {
  Session session(kIgnoreMessages);
  const std::string text = unique_text("says hello");
  session.send(text_frame(text));
  if (!target().process->wait_for_line(text, 2s)) {
    report({Behavior::kFailed, "the server did not print '" + text +
                                   "' within 2 s (is the payload unmasked with key[i % 4]?)"});
  }
}

// RFC 6455 §5.2: lengths up to 125 fit the 7-bit field, 126 needs the 16-bit one. Reading them
// must not end the connection.
TESTER_CASE_NEEDING(greeting, Greeting_ReadsFramesWith7And16BitLengths, "§5.2", Needs::kProcess,
                    false) {
  Session session(kIgnoreMessages);
  const std::string short_text = unique_text("short");
  const std::string long_text = unique_text(std::string(130, 'l'));
  session.send({text_frame(short_text), text_frame(long_text)});
  const bool both = target().process->wait_for_line(short_text, 2s).has_value() &&
                    target().process->wait_for_line(long_text, 2s).has_value();
  session.await_close(deadline_in(300ms));
  if (!both) {
    report({Behavior::kFailed, "the server did not print both texts (" +
                                   std::to_string(short_text.size()) + " and " +
                                   std::to_string(long_text.size()) + " bytes) within 2 s"});
  } else if (session.closed()) {
    report({Behavior::kFailed, "the server ended the connection after reading two valid frames"});
  }
}

}  // namespace
}  // namespace tester
