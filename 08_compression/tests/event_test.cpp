// The chat's event protocol: parsing what clients send, the validation rules, what we send.
#include "event.hpp"

#include <gtest/gtest.h>

namespace ws {
namespace {

TEST(Event, ParsesTypeAndPayload) {
  std::string error;
  const auto event = parse_event(R"({"type":"send_message","payload":{"message":"hi"}})", error);
  ASSERT_TRUE(event) << error;
  EXPECT_EQ(event->type, "send_message");
  EXPECT_EQ(event->payload.at("message"), "hi");
}

TEST(Event, AMissingPayloadIsAnEmptyObject) {
  std::string error;
  const auto event = parse_event(R"({"type":"list_rooms"})", error);
  ASSERT_TRUE(event) << error;
  EXPECT_TRUE(event->payload.is_object());
  EXPECT_TRUE(event->payload.empty());
}

TEST(Event, RejectsMalformedEnvelopesWithAReason) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"not json", "malformed JSON"},
      {R"({"type": "x", )", "malformed JSON"},
      {"[1,2]", "must be a JSON object"},
      {R"({"payload": {}})", "string \"type\""},
      {R"({"type": 3})", "string \"type\""},
      {R"({"type": "send_message", "payload": "hi"})", "\"payload\" must be an object"},
  };
  for (const auto& [text, reason] : cases) {
    std::string error;
    EXPECT_FALSE(parse_event(text, error)) << text;
    EXPECT_NE(error.find(reason), std::string::npos) << text << " -> " << error;
  }
}

TEST(Event, RoomNamesAreShortAndPlain) {
  EXPECT_TRUE(is_valid_room_name("general"));
  EXPECT_TRUE(is_valid_room_name("Rust_2026-fans"));
  EXPECT_TRUE(is_valid_room_name(std::string(32, 'r')));
  EXPECT_FALSE(is_valid_room_name(""));
  EXPECT_FALSE(is_valid_room_name(std::string(33, 'r')));
  EXPECT_FALSE(is_valid_room_name("two words"));
  EXPECT_FALSE(is_valid_room_name("caf\xc3\xa9"));
  EXPECT_FALSE(is_valid_room_name("../etc"));
}

TEST(Event, MessagesAreOneToAThousandCharactersAndNotBlank) {
  std::string error;
  EXPECT_TRUE(is_valid_message_text("hi", error));
  // 1000 characters of two bytes each: characters are counted, not bytes.
  std::string greek;
  for (int i = 0; i < 1000; ++i) {
    greek += "\xce\xbb";  // λ
  }
  EXPECT_TRUE(is_valid_message_text(greek, error)) << error;
  EXPECT_FALSE(is_valid_message_text(greek + "x", error));
  EXPECT_NE(error.find("longer than 1000"), std::string::npos);
  EXPECT_FALSE(is_valid_message_text("", error));
  EXPECT_FALSE(is_valid_message_text(" \t\r\n", error));
  EXPECT_EQ(error, "empty message");
}

TEST(Event, TimestampsAreRfc3339Utc) {
  // 2026-11-21T06:31:44.123Z
  const std::chrono::system_clock::time_point time{std::chrono::milliseconds(1'795'242'704'123)};
  EXPECT_EQ(rfc3339_utc(time), "2026-11-21T06:31:44.123Z");
  EXPECT_EQ(rfc3339_utc(std::chrono::system_clock::time_point{}), "1970-01-01T00:00:00.000Z");
}

TEST(Event, EncodesTheEnvelopeAndNewMessages) {
  const auto payload =
      new_message_payload("hi", "alice", "general", std::chrono::system_clock::time_point{});
  EXPECT_EQ(payload.at("from"), "alice");
  EXPECT_EQ(payload.at("sent"), "1970-01-01T00:00:00.000Z");
  const auto json = nlohmann::json::parse(encode_event("new_message", payload));
  EXPECT_EQ(json.at("type"), "new_message");
  EXPECT_EQ(json.at("payload").at("message"), "hi");
  EXPECT_EQ(nlohmann::json::parse(error_event("nope")),
            (nlohmann::json{{"type", "error"}, {"payload", {{"reason", "nope"}}}}));
}

}  // namespace
}  // namespace ws
