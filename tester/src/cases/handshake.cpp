// Cases for the opening handshake (RFC 6455 §4.1, §4.2.1, §4.2.2, §4.4).
#include <algorithm>
#include <string>
#include <thread>
#include <vector>

#include "cases/common.hpp"
#include "registry.hpp"
#include "target.hpp"

namespace tester {
namespace {
// ---------------------------------------------------------------------------------------------
// Opening handshake (RFC 6455 §4.1, §4.2.1, §4.2.2, §4.4)
// ---------------------------------------------------------------------------------------------

// Sends `request` on a fresh connection and returns the response head (nullopt with `error`).
std::optional<HttpResponse> send_upgrade_request(const UpgradeRequest& request, std::string* error,
                                                 std::string* key_out = nullptr) {
  WireClient client = WireClient::connect(target().address, deadline_in(kReplyDeadline));
  const std::string bytes = client.build_request(request, key_out);
  if (!client.send_bytes(bytes, SendPlan{}, deadline_in(kReplyDeadline))) {
    *error = "could not send the request";
    return std::nullopt;
  }
  return client.read_http_response(deadline_in(kReplyDeadline), error);
}

// Grades the answer to an invalid request: `strict` statuses are OK; any other 4xx/5xx is
// NON-STRICT; 101 or no answer is FAILED. With `require_version_header`, RFC 6455 §4.2.2's
// Sec-WebSocket-Version: 13 must be present.
Verdict judge_rejection(const std::optional<HttpResponse>& response, const std::string& error,
                        std::vector<int> strict, bool require_version_header = false) {
  if (!response) {
    return {Behavior::kFailed, "no HTTP response: " + error};
  }
  if (response->status == 101) {
    return {Behavior::kFailed, "accepted an invalid handshake with 101 Switching Protocols"};
  }
  if (require_version_header) {
    const auto versions = response->header("Sec-WebSocket-Version");
    if (!versions || versions->find("13") == std::string::npos) {
      return {Behavior::kFailed,
              "answered " + std::to_string(response->status) +
                  " without Sec-WebSocket-Version: 13 (RFC 6455 §4.2.2 requires the header)"};
    }
  }
  if (std::find(strict.begin(), strict.end(), response->status) != strict.end()) {
    return {};
  }
  if (response->status >= 400 && response->status < 600) {
    return {Behavior::kNonStrict, "answered " + std::to_string(response->status) + " " +
                                      response->reason + "; the course expects " +
                                      std::to_string(strict.front())};
  }
  return {Behavior::kFailed, "answered " + std::to_string(response->status) + " " +
                                 response->reason + " to an invalid upgrade request"};
}

// RFC 6455 §1.3, §4.2.2: the specification's own example key and accept value.
TESTER_CASE(handshake, Handshake_AnswersRfcSampleKeyWithRfcAccept, "§1.3") {
  UpgradeRequest request = upgrade_request();
  request.key = "dGhlIHNhbXBsZSBub25jZQ==";
  std::string error;
  const auto response = send_upgrade_request(request, &error);
  Verdict verdict;
  if (!response) {
    verdict = {Behavior::kFailed, "no HTTP response: " + error};
  } else if (response->status != 101) {
    verdict = {Behavior::kFailed, "answered " + std::to_string(response->status)};
  } else if (response->header("Sec-WebSocket-Accept") != "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=") {
    verdict = {Behavior::kFailed, "Sec-WebSocket-Accept is '" +
                                      response->header("Sec-WebSocket-Accept").value_or("") +
                                      "', RFC 6455 §1.3 gives s3pPLMBiTxaQ9kYGzzhZRbK+xOo="};
  }
  report(verdict);
}

// RFC 6455 §4.2.1 items 3-4 with RFC 7230 §3.2, §6.7: header names and the tokens websocket /
// Upgrade are case-insensitive, and Connection is a comma-separated list.
TESTER_CASE(handshake, Handshake_AcceptsCaseInsensitiveTokensInLists, "§4.2.1") {
  UpgradeRequest request = upgrade_request();
  request.upgrade = "WebSocket";
  request.connection = "keep-alive, UPGRADE";
  std::string error;
  std::string key;
  const auto response = send_upgrade_request(request, &error, &key);
  Verdict verdict;
  if (!response) {
    verdict = {Behavior::kFailed, "no HTTP response: " + error};
  } else if (response->status != 101) {
    verdict = {Behavior::kFailed, "answered " + std::to_string(response->status) + " " +
                                      response->reason + " to a valid request"};
  } else if (response->header("Sec-WebSocket-Accept") != websocket_accept_for(key)) {
    verdict = {Behavior::kFailed, "wrong Sec-WebSocket-Accept"};
  }
  report(verdict);
}

// RFC 6455 §4.2.1 item 5: the key is required; without it the server answers 400.
TESTER_CASE(handshake, Handshake_RejectsMissingKeyWith400, "§4.2.1") {
  UpgradeRequest request = upgrade_request();
  request.send_key = false;
  std::string error;
  const auto response = send_upgrade_request(request, &error);
  report(judge_rejection(response, error, {400}));
}

// RFC 6455 §4.2.2 and §4.4: an unsupported version is answered with an error (426 Upgrade
// Required is the suggested one) and Sec-WebSocket-Version listing 13.
TESTER_CASE(handshake, Handshake_RejectsVersion8With426AndVersionHeader, "§4.2.2") {
  UpgradeRequest request = upgrade_request();
  request.version = "8";
  std::string error;
  const auto response = send_upgrade_request(request, &error);
  report(judge_rejection(response, error, {426}, /*require_version_header=*/true));
}

// RFC 6455 §4.1 item 2, §4.2.1 item 1: the method MUST be GET (400 or 405 are both appropriate).
TESTER_CASE(handshake, Handshake_RejectsPostWith400, "§4.1") {
  UpgradeRequest request = upgrade_request();
  request.method = "POST";
  std::string error;
  const auto response = send_upgrade_request(request, &error);
  report(judge_rejection(response, error, {400, 405}));
}

// RFC 6455 §4.1 item 2, §4.2.1 item 1: HTTP/1.1 or higher is required (400 or 505).
TESTER_CASE(handshake, Handshake_RejectsHttp10With400, "§4.1") {
  UpgradeRequest request = upgrade_request();
  request.http_version = "HTTP/1.0";
  std::string error;
  const auto response = send_upgrade_request(request, &error);
  report(judge_rejection(response, error, {400, 505}));
}

struct KeyCase {
  const char* name;
  const char* key;
};
// RFC 6455 §4.1 item 7, §4.2.1 item 5: the key is base64 of exactly 16 bytes; anything else is a
// bad request.
const bool kBadKeys = add_family(
    "handshake", "§4.2.1",
    std::vector<KeyCase>{
        KeyCase{"Handshake_KeyOf15Bytes", "AAAAAAAAAAAAAAAAAAAA"},
        KeyCase{"Handshake_KeyOf17Bytes", "AAAAAAAAAAAAAAAAAAAAAAA="},
        KeyCase{"Handshake_KeyNotBase64", "!!!!!!!!!!!!!!!!!!!!!!=="},
        KeyCase{"Handshake_KeyOf32Bytes", "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="}},
    [](const KeyCase& c) { return std::string(c.name) + "IsRejectedWith400"; },
    [](const KeyCase& c) {
      UpgradeRequest request = upgrade_request();
      request.key = c.key;
      std::string error;
      const auto response = send_upgrade_request(request, &error);
      report(judge_rejection(response, error, {400}));
    });

// RFC 6455 §4.2.2 item 5.4 and §1.9: the server selects at most one of the subprotocols the
// client offered, and never one it did not offer.
TESTER_CASE(handshake, Handshake_NeverSelectsASubprotocolThatWasNotOffered, "§4.2.2") {
  UpgradeRequest request = upgrade_request();
  request.extra_headers.emplace_back("Sec-WebSocket-Protocol",
                                     "tester-unknown-1, tester-unknown-2");
  std::string error;
  const auto response = send_upgrade_request(request, &error);
  if (!response) {
    report({Behavior::kFailed, "no HTTP response: " + error});
    return;
  }
  const auto chosen = response->header("Sec-WebSocket-Protocol");
  if (response->status != 101) {
    report({Behavior::kFailed, "answered " + std::to_string(response->status) +
                                   " to a valid request offering unknown subprotocols; the "
                                   "server should upgrade without choosing one"});
  } else if (chosen) {
    report({Behavior::kFailed, "selected '" + *chosen + "', which it does not support"});
  }
}

// RFC 6455 §4.2.2 item 5.4: offered the subprotocol it was started to accept (--protocol), among
// others, the server answers with exactly that one.
TESTER_CASE(handshake, Handshake_SelectsTheSubprotocolItAccepts, "§4.2.2") {
  if (target().protocol.empty()) {
    throw Skipped("tell the tester a subprotocol the server accepts: --protocol NAME");
  }
  UpgradeRequest request = upgrade_request();
  request.extra_headers.emplace_back("Sec-WebSocket-Protocol",
                                     "tester-unknown-1, " + target().protocol);
  std::string error;
  const auto response = send_upgrade_request(request, &error);
  if (!response) {
    report({Behavior::kFailed, "no HTTP response: " + error});
  } else if (response->status != 101) {
    report({Behavior::kFailed, "answered " + std::to_string(response->status)});
  } else if (response->header("Sec-WebSocket-Protocol") != target().protocol) {
    report({Behavior::kFailed, "answered Sec-WebSocket-Protocol '" +
                                   response->header("Sec-WebSocket-Protocol").value_or("<none>") +
                                   "', expected '" + target().protocol + "'"});
  }
}

// RFC 6455 §10.4 and RFC 6585 §5: a request head too large to be honest is refused with 431
// before it can use up memory (64 KiB here; the course's servers allow 8 KiB).
TESTER_CASE(handshake, Handshake_RefusesA64KiBRequestHeadWith431, "§10.4") {
  UpgradeRequest request = upgrade_request();
  request.extra_headers.emplace_back("X-Filler", std::string(std::size_t{64} * 1024, 'f'));
  std::string error;
  const auto response = send_upgrade_request(request, &error);
  report(judge_rejection(response, error, {431}));
}

// RFC 6455 §10.4, RFC 9110 §15.5.9: a client that starts a request and never finishes it is
// answered 408 after the server's handshake timeout (--handshake-timeout, default 10 s), so it
// cannot hold a connection forever.
TESTER_CASE(handshake, Handshake_AnswersAnUnfinishedRequestWith408, "§10.4") {
  WireClient client = WireClient::connect(target().address, deadline_in(kReplyDeadline));
  const std::string request = client.build_request(upgrade_request(), nullptr);
  client.send_bytes(std::string_view(request).substr(0, request.size() / 2), SendPlan{},
                    deadline_in(kReplyDeadline));
  std::string error;
  const auto response =
      client.read_http_response(deadline_in(target().handshake_timeout + 3s), &error);
  if (!response && client.peer_gone()) {
    report({Behavior::kNonStrict,
            "closed the connection without an answer; 408 tells the client "
            "why (" +
                error + ")"});
    return;
  }
  report(judge_rejection(response, error, {408}));
}

}  // namespace
}  // namespace tester
