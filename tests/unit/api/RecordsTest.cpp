// Call detail records follow the conference model into a real policy store (issue 12 item 1,
// issue 13 item 6): a participant's stay when they leave, the conference when it ends; read back
// over the API, each tenant its own.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <boost/json/parse.hpp>
#include <string>

#include "api/Router.hpp"
#include "focus/conference/Records.hpp"
#include "tests/unit/api/ScratchKeys.hpp"

namespace confab::api {
namespace {

const auto kClient = boost::asio::ip::make_address("192.0.2.13");

class RecordsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    acme_ = keys_.tenant("acme");
    globex_ = keys_.tenant("globex");
    model_.listen(records_);
  }
  void meeting(const std::string& room, int64_t tenant, const std::string& who) {
    policy::Room rules{room, room, 0};
    rules.key = room;
    rules.tenantId = tenant;
    model_.open(rules, "sip:" + room + "@x");
    conference::Participant p;
    p.id = who;
    p.callId = "call-" + who;
    p.entity = "sip:" + who + "@example.com";
    p.displayName = who;
    model_.join(room, p);
    conference::Media media;
    media.codec = "PCMU/8000";
    model_.setMedia(who, media);
    // What the Uas takes from the mixer as the call leaves (Uas::qualityOf).
    policy::CallQuality quality{1500, 3, 12, 0.25, 7.5, 42.0, 9};
    model_.leave(who, conference::DisconnectionMethod::kDeparted, "BYE",
                 who == "ozzie" ? std::nullopt : std::optional(quality));
    model_.end(room);
  }
  boost::json::object get(const std::string& target, const std::string& key) {
    Request request(http::verb::get, target, 11);
    request.set(http::field::host, "localhost");
    request.set(http::field::authorization, key);
    const auto response = router_.route(request, kClient);
    EXPECT_EQ(response.result(), http::status::ok) << target << ": " << response.body();
    return boost::json::parse(response.body()).as_object();
  }

  ScratchKeys keys_;
  conference::Model model_;
  conference::Records records_{keys_.store()};
  Auth auth_{keys_.store()};
  Router router_{keys_.store(), auth_};
  int64_t acme_ = 0;
  int64_t globex_ = 0;
};

TEST_F(RecordsTest, EachStayAndEachConferenceIsRecordedAndReadByItsTenant) {
  meeting("4000@acme", acme_, "alice");
  meeting("7@globex", globex_, "gina");
  meeting("adhoc-1", 0, "ozzie");
  EXPECT_EQ(records_.failures(), 0U);

  const auto acme = get("/v1/records/calls", keys_.bearer(acme_));
  ASSERT_EQ(acme.at("calls").as_array().size(), 1U);
  const auto& call = acme.at("calls").as_array()[0];
  EXPECT_EQ(call.at("callId"), "call-alice");
  EXPECT_EQ(call.at("room"), "4000@acme");
  EXPECT_EQ(call.at("codec"), "PCMU/8000");
  EXPECT_EQ(call.at("disconnection"), "departed");
  EXPECT_EQ(call.at("tenant"), acme_);
  EXPECT_GE(call.at("left").as_int64(), call.at("joined").as_int64());
  const auto& quality = call.at("quality").as_object();
  EXPECT_EQ(quality.at("packetsReceived"), 1500);
  EXPECT_EQ(quality.at("packetsDropped"), 3);
  EXPECT_EQ(quality.at("framesConcealed"), 12);
  EXPECT_EQ(quality.at("fractionLost").to_number<double>(), 0.25);
  EXPECT_EQ(quality.at("jitterMs").to_number<double>(), 7.5);
  EXPECT_EQ(quality.at("roundTripMs").to_number<double>(), 42.0);
  EXPECT_EQ(quality.at("remoteLost"), 9);
  EXPECT_TRUE(get("/v1/records/calls?room=adhoc-1", keys_.bearer())
                  .at("calls")
                  .as_array()[0]
                  .at("quality")
                  .is_null())
      << "a call without media has no quality";
  const auto conferences = get("/v1/records/conferences", keys_.bearer(acme_));
  ASSERT_EQ(conferences.at("conferences").as_array().size(), 1U);
  EXPECT_EQ(conferences.at("conferences").as_array()[0].at("participants"), 1);
  // Another tenant's id in the query finds nothing; the operator sees all three, and can filter.
  EXPECT_TRUE(get("/v1/records/calls?tenant=" + std::to_string(globex_), keys_.bearer(acme_))
                  .at("calls")
                  .as_array()
                  .empty());
  const std::string op = keys_.bearer();
  EXPECT_EQ(get("/v1/records/calls", op).at("calls").as_array().size(), 3U);
  EXPECT_EQ(get("/v1/records/calls?room=7@globex", op).at("calls").as_array().size(), 1U);
  const auto first = get("/v1/records/calls?limit=2", op);
  ASSERT_TRUE(first.contains("next"));
  EXPECT_EQ(get(std::string(first.at("next").as_string()), op).at("calls").as_array().size(), 1U);
  // Records stay when the room goes; they go with their tenant.
  ASSERT_TRUE(std::get<bool>(keys_.store().deleteTenant(acme_)));
  EXPECT_EQ(get("/v1/records/calls", op).at("calls").as_array().size(), 2U);
}

// --records-days: as a conference ends, records that ended longer ago than that go (at most once
// an hour); the ones just written stay.
TEST_F(RecordsTest, RecordsOlderThanTheRetentionAreSweptAsConferencesEnd) {
  conference::Model model;
  conference::Records keeping{keys_.store(), {}, std::chrono::hours(24)};
  model.listen(keeping);
  policy::CallRecord old;
  old.tenantId = acme_;
  old.room = "4000@acme";
  old.callId = "call-long-ago";
  old.joined = 1000;
  old.left = 2000;  // 1970
  ASSERT_TRUE(std::holds_alternative<int64_t>(keys_.store().addCallRecord(old)));
  policy::ConferenceRecord oldConference;
  oldConference.tenantId = acme_;
  oldConference.room = "4000@acme";
  oldConference.started = 1000;
  oldConference.ended = 2000;
  ASSERT_TRUE(std::holds_alternative<int64_t>(keys_.store().addConferenceRecord(oldConference)));

  policy::Room rules{"4000@acme", "4000", 0};
  rules.key = "4000@acme";
  rules.tenantId = acme_;
  model.open(rules, "sip:4000@x");
  conference::Participant p;
  p.id = "d1";
  p.callId = "call-now";
  model.join("4000@acme", p);
  model.leave("d1", conference::DisconnectionMethod::kDeparted, "BYE");
  model.end("4000@acme");

  const auto calls = keys_.store().callRecords({});
  ASSERT_EQ(calls.size(), 1U);
  EXPECT_EQ(calls[0].callId, "call-now");
  EXPECT_EQ(keys_.store().conferenceRecords({}).size(), 1U);
}

}  // namespace
}  // namespace confab::api
