// Cases for a server that shuts down (RFC 6455 §7.1.2, §7.4.1): on SIGTERM it closes every
// connection with 1001 "going away" and exits cleanly.
#include <csignal>

#include "cases/common.hpp"
#include "registry.hpp"
#include "target.hpp"

namespace tester {
namespace {

// RFC 6455 §7.4.1: 1001 means the endpoint is going away, "such as a server going down". Two
// clients, so a server that closes only the first one is caught.
TESTER_CASE_NEEDING(shutdown, Shutdown_ClosesEveryClientWith1001AndExits0, "§7.1.2, §7.4.1",
                    Needs::kProcess, true) {
  Session first(kIgnoreMessages);
  Session second(kIgnoreMessages);
  target().process->signal(SIGTERM);
  first.await_close(deadline_in(kReplyDeadline));
  second.await_close(deadline_in(kReplyDeadline));
  for (const Session* session : {&first, &second}) {
    const Observation& seen = session->observation();
    if (!seen.close) {
      report({Behavior::kFailed, seen.tcp_closed_by_server
                                     ? "the connection ended without a close frame"
                                     : "no close frame within 5 s of SIGTERM"});
    } else if (seen.close->code != 1001) {
      report({Behavior::kFailed,
              "closed with " + (seen.close->code ? std::to_string(*seen.close->code) : "no code") +
                  " instead of 1001 (going away)"});
    }
  }
  const auto code = target().process->wait_exit(5s);
  if (!code) {
    report({Behavior::kFailed, "the process did not exit within 5 s of SIGTERM"});
  } else if (*code != 0) {
    report({Behavior::kFailed, "the process exited with code " + std::to_string(*code) +
                                   " after SIGTERM; a clean shutdown exits 0"});
  }
}

}  // namespace
}  // namespace tester
