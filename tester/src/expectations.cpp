// The course's expectations, one table: which groups of cases each stage's server must pass.
// A stage expects what the stages before it expect, except what its new program no longer does
// (from 03 on the server echoes instead of greeting; the chat of 05 no longer echoes). Stage 08
// compresses; its cases compare bytes, so they use an echo beside the chat (Target::echo_path).
#include "expectations.hpp"

namespace tester {

const std::vector<Group>& groups() {
  static const std::vector<Group> table = {
      {"handshake", "§4.1-4.2",
       "the opening handshake: 101 and Sec-WebSocket-Accept, each bad request refused with its "
       "status, request limits, subprotocols",
       "read how you parse the request head and judge each header (§4.2.1), then build the 101 "
       "answer (§4.2.2); a refusal is an HTTP status with Connection: close"},
      {"greeting", "§5.1-5.3, §5.6",
       "the server's first frames (unmasked text) and reading small masked client frames",
       "server frames are never masked and carry FIN; unmask a client payload with key[i % 4]"},
      {"close", "§5.5.1, §7.1-7.4",
       "the close handshake: echo the code, refuse invalid codes (1002) and reasons (1007), "
       "close TCP first",
       "read how you answer a close frame: validate the code and reason, echo the code, then "
       "close the TCP connection yourself (§7.1.1)"},
      {"shutdown", "§7.1.2, §7.4.1",
       "SIGTERM closes every client with 1001 and the process exits 0",
       "on SIGTERM send close 1001 (going away) to every connection, wait briefly for the "
       "replies, then exit with status 0"},
      {"payloads", "§5.2", "messages of every length echoed, in one frame or in pieces",
       "read how you decode the 7-, 16- and 64-bit lengths and how you read a payload that "
       "arrives in several reads"},
      {"pings", "§5.5.2-5.5.3", "pings answered with the same payload, pongs ignored",
       "answer each ping with a pong carrying the same bytes; a control frame has at most 125 "
       "bytes; an unsolicited pong is ignored"},
      {"rsv", "§5.2", "reserved bits without an extension fail with 1002",
       "with no extension negotiated, RSV1-3 must be 0: check them before anything else"},
      {"opcodes", "§5.2, §11.8", "reserved opcodes fail with 1002",
       "opcodes 3-7 and 11-15 are reserved: fail the connection with 1002"},
      {"fragments", "§5.4", "fragmented messages, control frames between fragments, orphans",
       "keep one message open at a time: continuation only inside it, a new text/binary only "
       "outside it, control frames allowed (and answered) between fragments"},
      {"utf8", "§5.6, §8.1", "text must be valid UTF-8, checked across fragments, failing fast",
       "validate text incrementally as bytes arrive (a code point may span fragments); fail "
       "with 1007 as soon as the bytes can no longer become valid"},
      {"close_echo", "§5.5.1, §7.1", "closing after echoed traffic and inside a fragmented message",
       "after a close, send nothing more but your close; a close inside a fragmented message "
       "still closes cleanly"},
      {"limits", "§5.2, §9-10", "large messages echoed exactly; the size limit gives 1009",
       "never allocate what a header announces before checking it against your limit; the "
       "limit applies to the reassembled message"},
      {"robustness", "§5.1, §7.1.7, §10.4",
       "unmasked frames, huge lengths, clients that vanish or stall: the server keeps serving",
       "a bad or vanished client ends only its own connection: check the MASK bit (§5.1) and "
       "the 64-bit length's top bit (§5.2), and never block other clients"},
      {"heartbeat", "§5.5.2-5.5.3",
       "pings within the period, a silent peer dropped, a dripped frame closed",
       "ping every period; close a peer whose pong is later than the pong wait; close a message "
       "that stops making progress (1008)"},
      {"login", "§4.1, §10.5", "login before the upgrade with a one-time password, origin check",
       "POST /login returns a one-time password; the upgrade checks the path, the Origin (403) "
       "and the password (401: missing, unknown, or used)"},
      {"chat", "§5.6, §7.4.1", "rooms, events, history and limits of the chat",
       "each room has one order; events are JSON {type, payload}; a bad event gets an error "
       "event, an oversized message 1009"},
      {"compression", "RFC 7692 §5-8",
       "permessage-deflate: offers accepted or declined validly, compressed messages echoed "
       "byte-exactly, RSV1 only on first data frames, the limit on the inflated size",
       "accept the first valid offer and answer only the parameters you agreed (§7.1); inflate a "
       "message with RSV1 after appending 00 00 ff ff (§7.2.2), counting its inflated size "
       "against the limit as you go (1009)"},
  };
  return table;
}

const std::vector<Stage>& stages() {
  static const std::vector<Stage> table = {
      {"01", "first steps", false, {"handshake", "greeting"}},
      {"02", "closing connection", false, {"handshake", "greeting", "close", "shutdown"}},
      {"03",
       "frames",
       false,
       {"handshake", "close", "shutdown", "payloads", "pings", "rsv", "opcodes", "fragments",
        "utf8", "close_echo", "limits", "robustness"}},
      {"04",
       "ping pong",
       false,
       {"handshake", "close", "shutdown", "payloads", "pings", "rsv", "opcodes", "fragments",
        "utf8", "close_echo", "limits", "robustness", "heartbeat"}},
      {"05", "chat", true, {"handshake", "close", "shutdown", "heartbeat", "login", "chat"}},
      // Deployment adds TLS, a proxy and several servers behind it: the wire of one server
      // seen over ws:// is the chat's.
      {"06", "deployment", true, {"handshake", "close", "shutdown", "heartbeat", "login", "chat"}},
      // The event loop changes how the server waits, not what it says.
      {"07", "event loop", true, {"handshake", "close", "shutdown", "heartbeat", "login", "chat"}},
      // Compression is checked on an echo WebSocket beside the chat (--echo-path, /echo).
      {"08",
       "compression",
       true,
       {"handshake", "close", "shutdown", "heartbeat", "login", "chat", "compression"}},
  };
  return table;
}

const Group* find_group(std::string_view name) {
  for (const Group& group : groups()) {
    if (group.name == name) {
      return &group;
    }
  }
  return nullptr;
}

const Stage* find_stage(std::string_view number) {
  for (const Stage& stage : stages()) {
    if (stage.number == number ||
        (number.size() == 1 && stage.number == "0" + std::string(number))) {
      return &stage;
    }
  }
  return nullptr;
}

}  // namespace tester
