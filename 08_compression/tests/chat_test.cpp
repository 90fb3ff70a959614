// Integration tests of the chat against the real server: rooms, order, history, errors, limits,
// slow consumers, messages dripped too slowly, and shutdown.
#include <gtest/gtest.h>

#include <atomic>
#include <map>
#include <stdexcept>
#include <thread>

#include "chat_client.hpp"
#include "raw_client.hpp"
#include "server_process.hpp"

namespace ws_test {
namespace {

// True for "YYYY-MM-DDTHH:MM:SS.mmmZ", the RFC 3339 UTC form the server sends.
bool is_rfc3339_utc(const std::string& text) {
  const std::string shape = "dddd-dd-ddTdd:dd:dd.dddZ";
  if (text.size() != shape.size()) {
    return false;
  }
  for (std::size_t i = 0; i < shape.size(); ++i) {
    const bool ok = shape[i] == 'd' ? (text[i] >= '0' && text[i] <= '9') : text[i] == shape[i];
    if (!ok) {
      return false;
    }
  }
  return true;
}

TEST(Chat, TwoUsersExchangeMessagesInOrder) {
  ServerProcess server;
  ChatUser alice(server.port(), "alice");
  ChatUser bob(server.port(), "bob");
  EXPECT_EQ(alice.joined().at("room"), "general");
  EXPECT_EQ(bob.joined().at("members"), nlohmann::json({"alice", "bob"}));
  EXPECT_EQ(alice.await("presence"),
            (nlohmann::json{{"room", "general"}, {"user", "bob"}, {"action", "joined"}}));

  for (int i = 0; i < 15; ++i) {
    alice.say("message " + std::to_string(i));
  }
  for (int i = 0; i < 15; ++i) {
    const auto message = bob.await("new_message");
    EXPECT_EQ(message.at("message"), "message " + std::to_string(i));
    EXPECT_EQ(message.at("from"), "alice");
    EXPECT_EQ(message.at("room"), "general");
    EXPECT_TRUE(is_rfc3339_utc(message.at("sent").get<std::string>())) << message.at("sent");
  }
  bob.say("hi alice");
  EXPECT_EQ(bob.await("new_message").at("message"), "hi alice");
  // Alice sees her own messages come back in the same order, then bob's.
  for (int i = 0; i < 15; ++i) {
    EXPECT_EQ(alice.await("new_message").at("message"), "message " + std::to_string(i));
  }
  EXPECT_EQ(alice.await("new_message").at("from"), "bob");
}

TEST(Chat, TheSenderNameComesFromTheLoginNotTheMessage) {
  ServerProcess server;
  ChatUser bob(server.port(), "bob");
  bob.send("send_message", {{"message", "hello"}, {"from", "alice"}});
  EXPECT_EQ(bob.await("new_message").at("from"), "bob");
}

TEST(Chat, RoomsAreIsolated) {
  ServerProcess server;
  ChatUser alice(server.port(), "alice");
  ChatUser bob(server.port(), "bob");
  bob.send("change_room", {{"room", "random"}});
  const auto changed = bob.await("room_changed");
  EXPECT_EQ(changed.at("room"), "random");
  EXPECT_EQ(changed.at("members"), nlohmann::json({"bob"}));
  EXPECT_EQ(alice.await("presence").at("action"), "joined");
  EXPECT_EQ(alice.await("presence").at("action"), "left");

  alice.say("for general only");
  EXPECT_EQ(alice.await("new_message").at("message"), "for general only");
  bob.say("for random only");
  // The next message bob receives is his own: alice's never reached him.
  EXPECT_EQ(bob.await("new_message").at("message"), "for random only");

  alice.send("list_rooms", nlohmann::json::object());
  EXPECT_EQ(alice.await("rooms").at("rooms"),
            (nlohmann::json{{{"name", "general"}, {"members", {"alice"}}},
                            {{"name", "random"}, {"members", {"bob"}}}}));
}

TEST(Chat, NewcomersGetTheLastFiftyMessages) {
  ServerProcess server({"--rate-limit", "0"});
  ChatUser alice(server.port(), "alice");
  for (int i = 0; i < 55; ++i) {
    alice.say("m" + std::to_string(i));
  }
  for (int i = 0; i < 55; ++i) {
    alice.await("new_message");
  }
  ChatUser bob(server.port(), "bob");
  const auto history = bob.joined().at("history");
  ASSERT_EQ(history.size(), 50U);
  EXPECT_EQ(history.front().at("message"), "m5");
  EXPECT_EQ(history.back().at("message"), "m54");
  EXPECT_EQ(history.back().at("from"), "alice");
}

TEST(Chat, FiftyClientsInFiveRoomsSeeTheirRoomInOneOrder) {
  ServerProcess server({"--rate-limit", "0"});
  constexpr int kClients = 50;
  constexpr int kRooms = 5;
  std::vector<std::unique_ptr<ChatUser>> users;
  for (int i = 0; i < kClients; ++i) {
    users.push_back(std::make_unique<ChatUser>(server.port(), i % 2 == 0 ? "alice" : "bob"));
    users.back()->send("change_room", {{"room", "room" + std::to_string(i % kRooms)}});
    users.back()->await("room_changed");
  }
  // Everyone talks at once, from their own thread.
  std::vector<std::thread> talkers;
  talkers.reserve(kClients);
  for (int i = 0; i < kClients; ++i) {
    talkers.emplace_back(
        [&users, i] { users[static_cast<std::size_t>(i)]->say(std::to_string(i)); });
  }
  for (auto& talker : talkers) {
    talker.join();
  }
  // Each client receives exactly the messages of its room, and all members of a room receive
  // them in the same order.
  std::map<int, std::vector<std::string>> order_of_room;
  for (int i = 0; i < kClients; ++i) {
    std::vector<std::string> received;
    for (int m = 0; m < kClients / kRooms; ++m) {
      const auto message = users[static_cast<std::size_t>(i)]->await("new_message");
      EXPECT_EQ(message.at("room"), "room" + std::to_string(i % kRooms));
      EXPECT_EQ(std::stoi(message.at("message").get<std::string>()) % kRooms, i % kRooms);
      received.push_back(message.at("message"));
    }
    auto [known, inserted] = order_of_room.emplace(i % kRooms, received);
    if (!inserted) {
      EXPECT_EQ(known->second, received) << "client " << i << " saw another order";
    }
  }
}

TEST(Chat, MistakesGetAnErrorEventAndTheConnectionStaysOpen) {
  ServerProcess server;
  ChatUser alice(server.port(), "alice");
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"{not json", "malformed JSON"},
      {R"({"type": "dance"})", "unknown event type 'dance'"},
      {R"({"type": "change_room", "payload": {"room": "no spaces"}})", "invalid room name"},
      {R"({"type": "send_message", "payload": {"message": "   "}})", "empty message"},
  };
  for (const auto& [text, reason] : cases) {
    alice.client().send_text(text);
    EXPECT_NE(alice.await("error").at("reason").get<std::string>().find(reason), std::string::npos)
        << text;
  }
  alice.client().send_binary("\x01\x02");
  EXPECT_NE(alice.await("error").at("reason").get<std::string>().find("binary"), std::string::npos);
  alice.say("still connected");
  EXPECT_EQ(alice.await("new_message").at("message"), "still connected");
}

TEST(Chat, AnOversizedMessageClosesWith1009) {
  ServerProcess server;  // --max-message defaults to 4 KiB
  ChatUser alice(server.port(), "alice");
  alice.client().send_text(std::string(5000, 'x'));
  try {
    alice.await("new_message");
    ADD_FAILURE() << "the connection stayed open";
  } catch (const ws::CloseError& error) {
    EXPECT_EQ(error.status.code, 1009);
  }
}

TEST(Chat, TheRateLimitAnswersWithAnError) {
  ServerProcess server;  // 10 messages per second, bursts of 20
  ChatUser alice(server.port(), "alice");
  for (int i = 0; i < 30; ++i) {
    alice.say("spam " + std::to_string(i));
  }
  EXPECT_NE(alice.await("error").at("reason").get<std::string>().find("rate limit"),
            std::string::npos);
}

TEST(Chat, ASlowConsumerIsClosedWhileOthersKeepReceiving) {
  ServerProcess server({"--rate-limit", "0"});
  ChatUser alice(server.port(), "alice");
  // The slow consumer: a raw WebSocket that reads nothing for now.
  RawClient slow(server.port());
  const std::string otp = login_otp(server.port(), "bob", "builder");
  ASSERT_EQ(slow.handshake("Origin: http://127.0.0.1:" + std::to_string(server.port()) + "\r\n",
                           "/ws?otp=" + otp)
                .rfind("HTTP/1.1 101", 0),
            0U);
  // Alice talks in batches and reads her own copies, keeping up; the slow consumer's socket
  // buffers and then its egress queue fill up.
  const std::string text(1000, 'z');
  for (int batch = 0; batch < 120; ++batch) {
    for (int i = 0; i < 100; ++i) {
      alice.say(text);
    }
    for (int i = 0; i < 100; ++i) {
      ASSERT_EQ(alice.await("new_message").at("message"), text);
    }
    if (server.wait_for_line("slow consumer", 0ms)) {
      break;
    }
  }
  // Now it reads: whatever was queued, then the close frame.
  EXPECT_EQ(slow.read_close_code(10s), 1008);
  EXPECT_TRUE(server.wait_for_line("slow consumer"));
  alice.say("life goes on");
  EXPECT_EQ(alice.await("new_message").at("message"), "life goes on");
}

// Reads frames from `client` until the server's close frame (skipping events and pings) and
// returns its payload: the code's two bytes, then the reason.
std::string read_close_payload(RawClient& client, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (int frames = 0; frames < 1000; ++frames) {
    const ServerFrame frame =
        client.read_frame(std::chrono::duration_cast<std::chrono::milliseconds>(
            deadline - std::chrono::steady_clock::now()));
    if (frame.opcode == static_cast<std::uint8_t>(ws::Opcode::kClose)) {
      return frame.payload;
    }
  }
  throw std::runtime_error("no close frame in 1000 frames");
}

TEST(Chat, AMessageDrippedByteByByteIsClosedWith1008WhileOthersChat) {
  // Half a second to answer a ping: a started message has 2 x 500 ms to finish (or to deliver
  // 16 KiB). The first ping is 5 s away, so the server must wake up for the window itself.
  ServerProcess server({"--ping-period", "5s", "--pong-wait", "500ms"});
  RawClient dripper(server.port());
  const std::string otp = login_otp(server.port(), "bob", "builder");
  ASSERT_EQ(dripper
                .handshake("Origin: http://127.0.0.1:" + std::to_string(server.port()) + "\r\n",
                           "/ws?otp=" + otp)
                .rfind("HTTP/1.1 101", 0),
            0U);
  ChatUser alice(server.port(), "alice");

  const std::string frame =
      client_frame(ws::Opcode::kText, R"({"type":"send_message","payload":{"message":"slow"}})");
  std::atomic<bool> stop{false};
  const auto started = std::chrono::steady_clock::now();
  dripper.send(frame.substr(0, 6));  // the header and the masking key, then the payload slowly
  std::thread drip([&] {
    try {
      for (std::size_t i = 6; i < frame.size() && !stop; ++i) {  // at most 5.3 s
        std::this_thread::sleep_for(100ms);
        dripper.send(frame.substr(i, 1));
      }
    } catch (const std::runtime_error&) {
      // the server closed the connection: expected
    }
  });

  // Meanwhile, and after the dripper is gone, alice chats every 100 ms.
  int delivered = 0;
  std::string failure;
  std::thread other([&] {
    try {
      for (int i = 0; i < 15; ++i) {
        const std::string text = "hello " + std::to_string(i);
        alice.say(text);
        const std::string got = alice.await("new_message", 1s).at("message").get<std::string>();
        if (got != text) {
          failure = "message " + std::to_string(i) + ": " + got;
          return;
        }
        ++delivered;
        std::this_thread::sleep_for(100ms);
      }
    } catch (const std::exception& error) {
      failure = error.what();
    }
  });

  std::string close;
  try {
    close = read_close_payload(dripper, 3s);
  } catch (const std::runtime_error& error) {
    ADD_FAILURE() << error.what();
  }
  const auto closed_after = std::chrono::steady_clock::now() - started;
  stop = true;
  drip.join();
  other.join();

  ASSERT_GE(close.size(), 2U);
  EXPECT_EQ(close.substr(0, 2), "\x03\xF0") << "1008, policy violation";
  EXPECT_EQ(close.substr(2), "message too slow");
  EXPECT_GE(closed_after, 1000ms) << "not before the window of 2 x pong_wait has passed";
  EXPECT_LT(closed_after, 1000ms + 400ms) << "the window + slack";
  EXPECT_TRUE(dripper.closed_by_server(1s)) << "its thread is gone: TCP is closed";
  EXPECT_TRUE(server.wait_for_line(
      "message too slow: an unfinished message sent fewer than 16384 bytes in 1000 ms"));
  EXPECT_TRUE(server.wait_for_line(
      "closed 1008 \"message too slow\" (initiated by server; did not wait for a close reply)"));
  EXPECT_EQ(failure, "");
  EXPECT_EQ(delivered, 15) << "alice chatted during and after the drip";
}

TEST(Chat, ShutdownSends1001ToEveryone) {
  ServerProcess server;
  ChatUser alice(server.port(), "alice");
  ChatUser bob(server.port(), "bob");
  ::kill(server.pid(), SIGTERM);
  for (ChatUser* user : {&alice, &bob}) {
    try {
      for (int i = 0; i < 10; ++i) {
        user->client().read_message(std::chrono::steady_clock::now() + 5s);
      }
      ADD_FAILURE() << "no close";
    } catch (const ws::CloseError& error) {
      EXPECT_EQ(error.status.code, 1001);
      EXPECT_TRUE(error.was_clean);
    }
  }
  EXPECT_EQ(server.stop(), 0);
}

TEST(Chat, LeavingIsAnnouncedToTheRoom) {
  ServerProcess server;
  ChatUser alice(server.port(), "alice");
  {
    ChatUser bob(server.port(), "bob");
    alice.await("presence");
    bob.client().close();
  }
  EXPECT_EQ(alice.await("presence"),
            (nlohmann::json{{"room", "general"}, {"user", "bob"}, {"action", "left"}}));
}

}  // namespace
}  // namespace ws_test
