// The API's live events follow the conference model (issue 12 item 1, issue 13 item 3): each
// change is one JSON event, in order, numbered; a tenant's subscriber sees its own rooms only,
// the operator every room; a room filter narrows it to one.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <boost/json/parse.hpp>
#include <string>
#include <vector>

#include "api/Events.hpp"

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

}  // namespace
}  // namespace confab::api
