// The Manager: rooms created on first join and dropped when empty, history, presence, ordered
// broadcasts encoded once.
#include "manager.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <utility>
#include <vector>

#include "event.hpp"
#include "frame.hpp"
#include "memory_broker.hpp"

namespace ws {
namespace {

// An event loop as the Manager sees it: it records each delivery it is handed.
struct TestLoop final : FrameSink {
  void deliver(std::vector<std::uint64_t> ids, Broadcast broadcast) override {
    deliveries.emplace_back(std::move(ids), std::move(broadcast));
  }
  std::vector<std::pair<std::vector<std::uint64_t>, Broadcast>> deliveries;
};

// A member on its own loop, or on a loop it shares, and a way to read back the frames handed
// over for it.
struct TestMember {
  explicit TestMember(const std::string& name, TestLoop* shared = nullptr)
      : loop(shared != nullptr ? shared : &own), member{name, loop, next_id++, {}, {}} {}

  // The frames for this member since the last call, in the order they were handed over.
  std::vector<SharedFrame> frames() {
    std::vector<SharedFrame> out;
    for (; seen < loop->deliveries.size(); ++seen) {
      const auto& [ids, broadcast] = loop->deliveries[seen];
      if (std::find(ids.begin(), ids.end(), member.id) != ids.end()) {
        out.push_back(broadcast.plain);
      }
    }
    return out;
  }

  // The events for this member, decoded (server frames are unmasked text frames).
  std::vector<nlohmann::json> events() {
    std::vector<nlohmann::json> out;
    for (const auto& frame : frames()) {
      FrameHeader header;
      const std::size_t size = decode_frame_header(*frame, header);
      EXPECT_EQ(header.opcode, static_cast<std::uint8_t>(Opcode::kText));
      out.push_back(nlohmann::json::parse(frame->substr(size)));
    }
    return out;
  }

  static inline std::uint64_t next_id = 1;
  TestLoop own;
  TestLoop* loop;
  Member member;
  std::size_t seen = 0;
};

const auto kNoon = std::chrono::system_clock::time_point{} + std::chrono::hours(12);

TEST(Manager, JoiningCreatesTheRoomAndSendsMembersAndHistory) {
  Manager manager;
  TestMember alice("alice");
  manager.join(alice.member, "general");
  EXPECT_EQ(alice.member.room, "general");
  const auto events = alice.events();
  ASSERT_EQ(events.size(), 1U);
  EXPECT_EQ(events[0].at("type"), "room_changed");
  EXPECT_EQ(events[0].at("payload").at("room"), "general");
  EXPECT_EQ(events[0].at("payload").at("members"), nlohmann::json({"alice"}));
  EXPECT_TRUE(events[0].at("payload").at("history").empty());
  EXPECT_EQ(manager.member_count(), 1U);
}

TEST(Manager, OthersSeePresenceAndEveryoneGetsBroadcastsInOneOrder) {
  Manager manager;
  TestMember alice("alice");
  TestMember bob("bob");
  manager.join(alice.member, "general");
  manager.join(bob.member, "general");
  const auto before = alice.events();
  ASSERT_EQ(before.size(), 2U);  // her own room_changed, then bob's arrival
  EXPECT_EQ(before[1].at("type"), "presence");
  EXPECT_EQ(before[1].at("payload"),
            (nlohmann::json{{"room", "general"}, {"user", "bob"}, {"action", "joined"}}));
  EXPECT_EQ(bob.events()[0].at("payload").at("members"), nlohmann::json({"alice", "bob"}));

  manager.broadcast(alice.member, "one", kNoon);
  manager.broadcast(bob.member, "two", kNoon);
  const auto at_alice = alice.events();
  const auto at_bob = bob.events();
  ASSERT_EQ(at_alice.size(), 2U);
  ASSERT_EQ(at_bob.size(), 2U);
  EXPECT_EQ(at_alice[0], at_bob[0]);
  EXPECT_EQ(at_alice[1], at_bob[1]);
  EXPECT_EQ(at_bob[0].at("payload"), (nlohmann::json{{"message", "one"},
                                                     {"from", "alice"},
                                                     {"room", "general"},
                                                     {"sent", "1970-01-01T12:00:00.000Z"}}));
}

TEST(Manager, ABroadcastIsEncodedOnceForAllReceivers) {
  Manager manager;
  TestMember alice("alice");
  TestMember bob("bob");
  manager.join(alice.member, "general");
  manager.join(bob.member, "general");
  alice.frames();
  bob.frames();
  manager.broadcast(alice.member, "shared", kNoon);
  EXPECT_EQ(alice.frames()[0].get(), bob.frames()[0].get());
}

TEST(Manager, RoomsAreIsolated) {
  Manager manager;
  TestMember alice("alice");
  TestMember bob("bob");
  manager.join(alice.member, "general");
  manager.join(bob.member, "random");
  alice.events();
  bob.events();
  manager.broadcast(alice.member, "only for general", kNoon);
  EXPECT_EQ(alice.events().size(), 1U);
  EXPECT_TRUE(bob.events().empty());
}

TEST(Manager, HistoryKeepsTheLastFiftyMessages) {
  Manager manager;
  TestMember alice("alice");
  manager.join(alice.member, "general");
  for (int i = 0; i < 60; ++i) {
    manager.broadcast(alice.member, "m" + std::to_string(i), kNoon);
  }
  TestMember bob("bob");
  manager.join(bob.member, "general");
  const auto history = bob.events()[0].at("payload").at("history");
  ASSERT_EQ(history.size(), Manager::kHistorySize);
  EXPECT_EQ(history.front().at("message"), "m10");
  EXPECT_EQ(history.back().at("message"), "m59");
}

TEST(Manager, ChangingRoomsLeavesTheOldOneAndDropsItWhenEmpty) {
  Manager manager;
  TestMember alice("alice");
  TestMember bob("bob");
  manager.join(alice.member, "general");
  manager.join(bob.member, "general");
  manager.broadcast(alice.member, "remember me", kNoon);
  alice.events();
  manager.join(bob.member, "random");
  EXPECT_EQ(alice.events().back().at("payload").at("action"), "left");
  EXPECT_EQ(manager.rooms().at("rooms").size(), 2U);
  manager.leave(alice.member);
  EXPECT_EQ(manager.rooms(),
            (nlohmann::json{{"rooms", {{{"name", "random"}, {"members", {"bob"}}}}}}));
  EXPECT_EQ(manager.member_count(), 1U);
  // The dropped room's history went with it.
  manager.join(bob.member, "general");
  EXPECT_TRUE(bob.events().back().at("payload").at("history").empty());
}

TEST(Manager, ListsRoomsSortedWithTheirMembers) {
  Manager manager;
  TestMember alice("alice");
  TestMember bob("bob");
  TestMember carol("carol");
  manager.join(alice.member, "zeta");
  manager.join(bob.member, "alpha");
  manager.join(carol.member, "zeta");
  EXPECT_EQ(manager.rooms().at("rooms"),
            (nlohmann::json{{{"name", "alpha"}, {"members", {"bob"}}},
                            {{"name", "zeta"}, {"members", {"alice", "carol"}}}}));
}

TEST(Manager, ABroadcastWakesEachLoopOnceWhateverItsMembers) {
  Manager manager;
  TestLoop first;
  TestLoop second;
  TestMember alice("alice", &first);
  TestMember bob("bob", &first);
  TestMember carol("carol", &second);
  manager.join(alice.member, "general");
  manager.join(bob.member, "general");
  manager.join(carol.member, "general");
  first.deliveries.clear();
  second.deliveries.clear();
  manager.broadcast(alice.member, "hello", kNoon);
  ASSERT_EQ(first.deliveries.size(), 1U) << "one hand-over for alice and bob together";
  EXPECT_EQ(first.deliveries[0].first,
            (std::vector<std::uint64_t>{alice.member.id, bob.member.id}));
  ASSERT_EQ(second.deliveries.size(), 1U);
  EXPECT_EQ(second.deliveries[0].first, std::vector<std::uint64_t>{carol.member.id});
  EXPECT_EQ(first.deliveries[0].second.plain.get(), second.deliveries[0].second.plain.get())
      << "the same encoded frame for every loop";
}

// --- several servers sharing rooms through a broker (--redis) ---

// The texts of the new_message events among `events`.
std::vector<std::string> texts(const std::vector<nlohmann::json>& events) {
  std::vector<std::string> out;
  for (const auto& event : events) {
    if (event.at("type") == "new_message") {
      out.push_back(event.at("payload").at("message"));
    }
  }
  return out;
}

// Two servers, A and B, with their own Managers and a shared (in-memory) broker hub.
struct TwoServers {
  ws_test::MemoryHub hub;
  ws_test::MemoryBroker broker_a{hub, "aaaa"};
  ws_test::MemoryBroker broker_b{hub, "bbbb"};
  Manager a{broker_a};
  Manager b{broker_b};

  // What the real broker's thread does: hands B what A published (and vice versa), in order,
  // skipping each server's own messages.
  void relay(std::size_t& next) {
    for (; next < hub.published.size(); ++next) {
      const auto& [room, shared] = hub.published[next];
      (shared.origin == "aaaa" ? b : a).deliver_remote(room, shared);
    }
  }
};

TEST(ManagerWithBroker, MessagesCrossServersAndStayInTheirRoom) {
  TwoServers servers;
  std::size_t relayed = 0;
  TestMember alice("alice");
  TestMember bob("bob");
  TestMember carol("carol");
  servers.a.join(alice.member, "general");
  servers.b.join(bob.member, "general");
  servers.b.join(carol.member, "random");
  alice.events();
  bob.events();
  carol.events();

  servers.a.broadcast(alice.member, "one", kNoon);
  servers.b.broadcast(bob.member, "two", kNoon);
  servers.a.broadcast(alice.member, "three", kNoon);
  servers.relay(relayed);

  EXPECT_EQ(texts(alice.events()), (std::vector<std::string>{"one", "three", "two"}))
      << "her own at once, bob's when it arrives";
  EXPECT_EQ(texts(bob.events()), (std::vector<std::string>{"two", "one", "three"}));
  EXPECT_TRUE(texts(carol.events()).empty()) << "another room, on either server";
  ASSERT_EQ(servers.hub.published.size(), 3U);
  EXPECT_EQ(servers.hub.published[0].second.origin, "aaaa");
  EXPECT_EQ(servers.hub.published[0].second.sequence, 1U);
  EXPECT_EQ(servers.hub.published[2].second.sequence, 2U) << "numbered per server";
}

TEST(ManagerWithBroker, RepeatsAndOlderMessagesAreNotDeliveredAgain) {
  TwoServers servers;
  TestMember alice("alice");
  TestMember bob("bob");
  servers.a.join(alice.member, "general");
  servers.b.join(bob.member, "general");
  servers.a.broadcast(alice.member, "one", kNoon);
  servers.a.broadcast(alice.member, "two", kNoon);
  bob.events();
  const auto& first = servers.hub.published[0].second;
  const auto& second = servers.hub.published[1].second;

  servers.b.deliver_remote("general", first);
  servers.b.deliver_remote("general", first);  // a repeat
  servers.b.deliver_remote("general", second);
  servers.b.deliver_remote("general", first);  // older than one already delivered
  EXPECT_EQ(texts(bob.events()), (std::vector<std::string>{"one", "two"}));
}

TEST(ManagerWithBroker, HistoryIsSharedAndNotRepeatedLive) {
  TwoServers servers;
  std::size_t relayed = 0;
  TestMember alice("alice");
  servers.a.join(alice.member, "general");
  servers.a.broadcast(alice.member, "before", kNoon);

  // Carol joins B after "before" was published but before B's broker thread relayed it: the
  // race a join always has with messages in flight.
  TestMember carol("carol");
  servers.b.join(carol.member, "general");
  const auto joined = carol.events();
  ASSERT_EQ(joined.size(), 1U);
  const auto& history = joined[0].at("payload").at("history");
  ASSERT_EQ(history.size(), 1U) << "B shows the history A's message went into";
  EXPECT_EQ(history[0].at("message"), "before");

  servers.relay(relayed);  // "before" arrives live too: she has it already
  servers.a.broadcast(alice.member, "after", kNoon);
  servers.relay(relayed);
  EXPECT_EQ(texts(carol.events()), (std::vector<std::string>{"after"}));
}

TEST(ManagerWithBroker, ABrokerThatCannotBeReachedLeavesLocalChatWorking) {
  TwoServers servers;
  TestMember alice("alice");
  TestMember dave("dave");
  servers.a.join(alice.member, "general");
  servers.a.join(dave.member, "general");
  servers.broker_a.reachable = false;
  servers.a.link_changed(false);
  const auto notices = alice.events();
  ASSERT_FALSE(notices.empty());
  EXPECT_EQ(notices.back().at("type"), "error") << "members are told the rooms are split";
  dave.events();

  servers.a.broadcast(alice.member, "local", kNoon);
  EXPECT_EQ(texts(dave.events()), (std::vector<std::string>{"local"}));
  EXPECT_TRUE(servers.hub.published.empty());

  TestMember erin("erin");
  servers.a.join(erin.member, "general");
  const auto joined = erin.events();
  const auto& history = joined.at(0).at("payload").at("history");
  ASSERT_EQ(history.size(), 1U) << "this server's own history stands in";
  EXPECT_EQ(history[0].at("message"), "local");
}

}  // namespace
}  // namespace ws
