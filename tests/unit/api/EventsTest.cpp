// The API's live events follow the conference model (issue 12 item 1, issue 13 item 3): each
// change is one JSON event, in order, numbered; a tenant's subscriber sees its own rooms only,
// the operator every room; a room filter narrows it to one.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <boost/json/parse.hpp>
#include <string>
#include <vector>

#include "api/Events.hpp"
#include "tests/unit/focus/room/UasHarness.hpp"

namespace confab::api {
namespace {

struct RecordingSink final : EventSink {
  void push(std::shared_ptr<const std::string> event) override {
    events.push_back(boost::json::parse(*event).as_object());
  }
  std::vector<std::string> types() const {
    std::vector<std::string> out;
    for (const auto& e : events) {
      out.emplace_back(e.at("type").as_string());
    }
    return out;
  }
  std::vector<boost::json::object> events;
};

policy::Room rules(const std::string& key, int64_t tenant) {
  policy::Room r{key, key, 0};
  r.key = key;
  r.tenantId = tenant;
  return r;
}

conference::Participant person(const std::string& id) {
  conference::Participant p;
  p.id = id;
  p.callId = "call-" + id;
  p.entity = "sip:" + id + "@example.com";
  p.displayName = id;
  p.status = conference::EndpointStatus::kConnected;
  return p;
}

class EventsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    model_.listen(hub_);
    hub_.subscribe(operator_, Principal{1, 0, false}, "");
    hub_.subscribe(acme_, Principal{2, 5, true}, "");
    hub_.subscribe(globex_, Principal{3, 6, false}, "");
    hub_.subscribe(oneRoom_, Principal{4, 5, false}, "4001@acme");
  }
  conference::Model model_;
  EventHub hub_;
  RecordingSink operator_, acme_, globex_, oneRoom_;
};

TEST_F(EventsTest, EachChangeIsOneEventInOrderForThoseWhoMaySeeIt) {
  model_.open(rules("4000@acme", 5), "sip:4000@acme.example");
  model_.join("4000@acme", person("alice"));
  conference::Controls muted;
  muted.muted = true;
  model_.setControls("alice", muted);
  model_.setLocked("4000@acme", true);
  model_.leave("alice", conference::DisconnectionMethod::kBooted, "removed");
  model_.end("4000@acme");

  const std::vector<std::string> expected = {"conference.started",  "participant.joined",
                                             "participant.updated", "conference.changed",
                                             "participant.left",    "conference.ended"};
  EXPECT_EQ(operator_.types(), expected);
  EXPECT_EQ(acme_.types(), expected) << "its own tenant's room";
  EXPECT_TRUE(globex_.events.empty()) << "another tenant's room: nothing";
  EXPECT_TRUE(oneRoom_.events.empty()) << "filtered to another room";

  const auto& joined = acme_.events[1];
  EXPECT_EQ(joined.at("room"), "4000@acme");
  EXPECT_EQ(joined.at("participant").at("callId"), "call-alice");
  EXPECT_EQ(joined.at("participant").at("role"), "participant");
  EXPECT_EQ(joined.at("participant").at("status"), "connected");
  EXPECT_EQ(acme_.events[2].at("participant").at("muted"), true);
  EXPECT_EQ(acme_.events[3].at("conference").at("locked"), true);
  EXPECT_EQ(acme_.events[4].at("participant").at("disconnection"), "booted");
  // Numbered: consecutive here, each one higher.
  for (std::size_t i = 1; i < acme_.events.size(); ++i) {
    EXPECT_EQ(acme_.events[i].at("seq").to_number<uint64_t>(),
              acme_.events[i - 1].at("seq").to_number<uint64_t>() + 1);
  }
}

TEST_F(EventsTest, ARoomFilterAndAnAdHocConferenceOnlyTheOperatorSees) {
  model_.open(rules("4001@acme", 5), "sip:4001@acme.example");
  model_.open(rules("adhoc-x", 0), "sip:adhoc-x@bridge", true);
  EXPECT_EQ(oneRoom_.types(), std::vector<std::string>{"conference.started"});
  EXPECT_EQ(oneRoom_.events[0].at("room"), "4001@acme");
  EXPECT_EQ(acme_.events.size(), 1U) << "not the ad-hoc one: it belongs to no tenant";
  EXPECT_EQ(operator_.events.size(), 2U);
}

TEST_F(EventsTest, AnUnsubscribedSinkHearsNothingMore) {
  hub_.unsubscribe(acme_);
  model_.open(rules("4000@acme", 5), "sip:4000@acme.example");
  EXPECT_TRUE(acme_.events.empty());
  EXPECT_EQ(hub_.subscribers(), 3U);
}

// Keys and talking from a real (socketless) focus: the lobby's meeting number is never told, the
// keys pressed once in the conference are; talking is told for a caller in the conference.
TEST(ActivityEvents, KeysInTheConferenceAreToldButNeverThoseAtEntry) {
  room::UasSettings settings;
  settings.lobbyUser = "lobby";
  test::UasHarness h(settings);
  EventHub hub;
  h.uas().conferences().listen(hub);
  h.uas().listenActivity(&hub);
  RecordingSink sink;
  hub.subscribe(sink, Principal{1, 0, false}, "");
  auto info = [&](unsigned cseq, const std::string& tag, char key) {
    h.receive(test::request("INFO", "k1", cseq, "k" + std::to_string(cseq), tag,
                            "Content-Type: application/dtmf-relay\r\n",
                            "Signal=" + std::string(1, key) + "\r\nDuration=160\r\n",
                            "sip:lobby@127.0.0.1:5060"));
  };
  h.receive(
      test::request("INVITE", "k1", 1, "i1", {}, {}, test::kOfferPcmu, "sip:lobby@127.0.0.1:5060"));
  ASSERT_EQ(h.lastStatus(), 200);
  const std::string tag(h.lastResponse().to()->tag());
  h.receive(test::request("ACK", "k1", 1, "a1", tag, {}, {}, "sip:lobby@127.0.0.1:5060"));
  h.timers.advance(std::chrono::milliseconds(600));
  unsigned cseq = 2;
  for (char key : std::string("1000#")) {
    info(cseq++, tag, key);
  }
  h.timers.advance(std::chrono::milliseconds(10));
  const room::Call* call = h.uas().findCall("k1");
  ASSERT_NE(call, nullptr);
  ASSERT_EQ(call->stage(), room::Call::Stage::kIn);
  for (const auto& e : sink.events) {
    EXPECT_NE(e.at("type"), "participant.key") << "a key from the lobby was told";
  }
  info(cseq++, tag, '5');
  ASSERT_FALSE(sink.events.empty());
  EXPECT_EQ(sink.events.back().at("type"), "participant.key");
  EXPECT_EQ(sink.events.back().at("key"), "5");
  EXPECT_EQ(sink.events.back().at("room"), "1000");
  EXPECT_EQ(sink.events.back().at("participant").at("callId"), "k1");
  hub.onTalking(*call, true);
  EXPECT_EQ(sink.events.back().at("type"), "participant.talking");
  EXPECT_EQ(sink.events.back().at("talking"), true);
}

}  // namespace
}  // namespace confab::api
