// The API steering a live conference through the focus (issue 13 item 2): a real focus without
// sockets (tests/unit/focus/room/UasHarness.hpp) with calls in room 1000, and the router in front
// of it with a real policy store. Lock and mute-all go through the conference model as a
// moderator's keypad would; a removal is a BYE on the wire; a dial-out is an INVITE; ending the
// conference sends everyone a BYE.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <boost/json/parse.hpp>
#include <cctype>
#include <map>
#include <sstream>
#include <string>

#include "api/Router.hpp"
#include "tests/unit/api/ScratchKeys.hpp"
#include "tests/unit/focus/room/UasHarness.hpp"

namespace confab::api {
namespace {

using test::callIn;
using test::UasHarness;

const auto kClient = boost::asio::ip::make_address("192.0.2.11");

class LiveRoutesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    tenant_ = keys_.tenant("default");
    keys_.room(tenant_, "1000", "Room 1000");
    // The focus finds room 1000 as the store has it: the default tenant's.
    policy::Room live{"1000", "Room 1000"};
    live.tenantId = tenant_;
    h_.rooms.put(live);
    aliceTag_ = callIn(h_, "alice-call");
    bobTag_ = callIn(h_, "bob-call");
  }
  Response call(http::verb method, const std::string& target, const std::string& body = {}) {
    return router_.route(apiRequest(method, target, key_, body), kClient);
  }
  static boost::json::value json(const Response& response) { return jsonOf(response); }
  std::vector<sip::Message> sent(const std::string& method) {
    std::vector<sip::Message> out;
    for (const auto& [m, to] : h_.wire.requests) {
      if (m.isRequest() && m.method == method) {
        out.push_back(m);
      }
    }
    return out;
  }
  const conference::Conference& conference() { return *h_.uas().conferences().find("1000"); }

  UasHarness h_;
  ScratchKeys keys_;
  Live live_{h_.uas(), "/nonexistent/recordings", "/nonexistent/media", nullptr};
  Auth auth_{keys_.store()};
  Router router_{keys_.store(), auth_, &live_};
  std::string key_ = keys_.bearer();
  std::string aliceTag_;
  std::string bobTag_;
  int64_t tenant_ = 0;
};

TEST_F(LiveRoutesTest, TheRoomShowsItsConferenceAndEachParticipantsRole) {
  const auto room = json(call(http::verb::get, "/v1/rooms/1000")).as_object();
  const auto& participants = room.at("participants").as_array();
  ASSERT_EQ(participants.size(), 2U);
  for (const auto& p : participants) {
    EXPECT_THAT(std::string(p.at("callId").as_string()),
                ::testing::AnyOf("alice-call", "bob-call"));
    EXPECT_EQ(p.at("role"), "participant");
    EXPECT_EQ(p.at("status"), "connected");
  }
  EXPECT_EQ(room.at("conference").at("locked"), false);
  EXPECT_EQ(room.at("conference").at("participants"), 2);
}

// GET /v1/conferences: what runs now, each key its own tenant's.
TEST_F(LiveRoutesTest, RunningConferencesAreListedToTheKeysThatMaySeeThem) {
  auto listed = json(call(http::verb::get, "/v1/conferences")).as_object();
  ASSERT_EQ(listed.at("conferences").as_array().size(), 1U);
  const auto& running = listed.at("conferences").as_array()[0].as_object();
  EXPECT_EQ(running.at("room"), "1000");
  EXPECT_EQ(running.at("tenant"), tenant_);
  EXPECT_EQ(running.at("participants"), 2);
  EXPECT_EQ(running.at("locked"), false);
  EXPECT_GT(running.at("started").as_int64(), 0);

  key_ = keys_.bearer(tenant_, true);  // the room's own tenant, read-only
  EXPECT_EQ(json(call(http::verb::get, "/v1/conferences")).at("conferences").as_array().size(), 1U);
  key_ = keys_.bearer(keys_.tenant("globex"));
  EXPECT_TRUE(json(call(http::verb::get, "/v1/conferences")).at("conferences").as_array().empty())
      << "another tenant sees nothing of it";
}

TEST_F(LiveRoutesTest, LockAndMuteAllGoThroughTheConferenceModel) {
  auto locked = call(http::verb::patch, "/v1/rooms/1000/conference", R"({"locked":true})");
  ASSERT_EQ(locked.result(), http::status::ok) << locked.body();
  EXPECT_EQ(json(locked).at("locked"), true);
  EXPECT_TRUE(conference().locked);
  EXPECT_TRUE(h_.uas().locked("1000")) << "new callers who are not moderators are kept out";
  auto muted = call(http::verb::patch, "/v1/rooms/1000/conference", R"({"allMuted":true})");
  ASSERT_EQ(muted.result(), http::status::ok);
  EXPECT_TRUE(conference().allMuted);
  for (const auto& p : conference().participants) {
    EXPECT_TRUE(p.controls.muted) << p.callId << ": not a moderator, so muted";
  }
  EXPECT_EQ(call(http::verb::patch, "/v1/rooms/1000/conference", R"({"locked":"yes"})").result(),
            http::status::bad_request);
  EXPECT_EQ(call(http::verb::patch, "/v1/rooms/1000/conference", R"({"volume":1})").result(),
            http::status::bad_request);
}

TEST_F(LiveRoutesTest, ARoleChangesInTheModel) {
  auto changed =
      call(http::verb::patch, "/v1/rooms/1000/participants/bob-call", R"({"role":"moderator"})");
  ASSERT_EQ(changed.result(), http::status::ok) << changed.body();
  EXPECT_EQ(json(changed).at("role"), "moderator");
  EXPECT_EQ(conference().participants[1].role, policy::Role::kModerator);
  // A listener is muted with it.
  auto listener =
      call(http::verb::patch, "/v1/rooms/1000/participants/alice-call", R"({"role":"listener"})");
  EXPECT_EQ(json(listener).at("muted"), true);
  EXPECT_EQ(call(http::verb::patch, "/v1/rooms/1000/participants/alice-call", R"({"role":"boss"})")
                .result(),
            http::status::bad_request);
}

TEST_F(LiveRoutesTest, ARemovalIsAByeAndAnUnknownParticipant404) {
  EXPECT_EQ(call(http::verb::delete_, "/v1/rooms/1000/participants/nobody").result(),
            http::status::not_found);
  ASSERT_EQ(call(http::verb::delete_, "/v1/rooms/1000/participants/bob-call").result(),
            http::status::no_content);
  const auto byes = sent("BYE");
  ASSERT_EQ(byes.size(), 1U);
  EXPECT_EQ(byes[0].callId(), "bob-call");
}

TEST_F(LiveRoutesTest, ADialOutIsAnInviteFromTheConference) {
  auto placed = call(http::verb::post, "/v1/rooms/1000/participants",
                     R"({"uri":"sip:carol@127.0.0.1:5094"})");
  ASSERT_EQ(placed.result(), http::status::accepted) << placed.body();
  const auto invites = sent("INVITE");
  ASSERT_EQ(invites.size(), 1U);
  EXPECT_EQ(invites[0].requestUri.str(), "sip:carol@127.0.0.1:5094");
  EXPECT_NE(invites[0].header("From")->find("sip:1000@"), std::string::npos);
  for (const char* bad : {R"({"uri":"tel:+15551234"})", R"({"uri":"sip:"})"}) {
    EXPECT_EQ(call(http::verb::post, "/v1/rooms/1000/participants", bad).result(),
              http::status::unprocessable_entity)
        << bad;
  }
  EXPECT_EQ(call(http::verb::post, "/v1/rooms/1000/participants", R"({"uri":5})").result(),
            http::status::bad_request);
}

// Who someone is and where they are, for a caller and for a party the room called: the URI
// alone (no display name or tag), and a real address even before the called party sent anything.
TEST_F(LiveRoutesTest, EachParticipantShowsItsUriAndAddress) {
  ASSERT_EQ(
      call(http::verb::post, "/v1/rooms/1000/participants", R"({"uri":"sip:carol@127.0.0.1:5094"})")
          .result(),
      http::status::accepted);
  const auto invite = sent("INVITE").at(0);
  sip::Message ok = sip::makeResponse(invite, 200, {}, "caroltag");
  ok.add("Contact", "<sip:carol@127.0.0.1:5096>");
  ok.add("Content-Type", "application/sdp");
  ok.body =
      "v=0\r\no=carol 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
      "m=audio 7000 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\na=sendrecv\r\n";
  h_.receive(ok.serialize());

  const auto room = json(call(http::verb::get, "/v1/rooms/1000")).as_object();
  std::map<std::string, boost::json::object> by;
  for (const auto& p : room.at("participants").as_array()) {
    by[std::string(p.at("callId").as_string())] = p.as_object();
  }
  ASSERT_EQ(by.size(), 3U) << room;
  const auto& alice = by.at("alice-call");
  EXPECT_EQ(alice.at("uri"), "sip:tester@127.0.0.1:5070");
  EXPECT_EQ(alice.at("displayName"), "Tester");
  EXPECT_EQ(alice.at("address").as_string(), h_.source.remote.str());
  const auto& carol = by.at(invite.callId());
  EXPECT_EQ(carol.at("uri"), "sip:carol@127.0.0.1:5094");
  // Where our requests to them go (their Contact), not "0.0.0.0:0".
  EXPECT_EQ(carol.at("address"), "127.0.0.1:5096");
  EXPECT_THAT(std::string(carol.at("from").as_string()), ::testing::HasSubstr("tag=caroltag"));
}

TEST_F(LiveRoutesTest, EndingTheConferenceHangsUpOnEveryone) {
  auto ended = call(http::verb::delete_, "/v1/rooms/1000/conference");
  ASSERT_EQ(ended.result(), http::status::ok);
  EXPECT_EQ(json(ended).at("removed"), 2);
  EXPECT_EQ(sent("BYE").size(), 2U);
}

TEST_F(LiveRoutesTest, MetricsShowTheBridgeInPrometheusTextToTheOperator) {
  EXPECT_EQ(call(http::verb::get, "/v1/rooms/1000").result(), http::status::ok);
  const auto metrics = call(http::verb::get, "/metrics");
  ASSERT_EQ(metrics.result(), http::status::ok);
  EXPECT_THAT(std::string(metrics[http::field::content_type]),
              ::testing::StartsWith("text/plain; version=0.0.4"));
  const std::string& text = metrics.body();
  EXPECT_THAT(text, ::testing::HasSubstr("# TYPE confab_calls gauge\nconfab_calls 2\n"));
  EXPECT_THAT(text, ::testing::HasSubstr("\nconfab_conferences 1\n"));
  EXPECT_THAT(text, ::testing::HasSubstr("\nconfab_participants 2\n"));
  EXPECT_THAT(text, ::testing::HasSubstr("confab_mixer_ticks_total{thread=\"0\"} "));
  EXPECT_THAT(text, ::testing::HasSubstr("# TYPE confab_sip_transactions_total counter\n"));
  EXPECT_THAT(text, ::testing::HasSubstr(
                        "confab_api_requests_total{route=\"/v1/rooms/{id}\",method=\"GET\",status="
                        "\"200\"} 1\n"));
  // Every sample line is NAME[{LABELS}] VALUE.
  std::istringstream lines(text);
  for (std::string line; std::getline(lines, line);) {
    if (!line.starts_with("#")) {
      EXPECT_THAT(line, ::testing::MatchesRegex("[a-z_]+(\\{.*\\})? [0-9.e+-]+")) << line;
    }
  }
  key_ = keys_.bearer(keys_.tenant("acme"));
  EXPECT_EQ(call(http::verb::get, "/metrics").result(), http::status::forbidden)
      << "the bridge's numbers are the operator's";
}

// What the SIP transports took in and threw out, so that an operator sees malformed traffic
// (behind a proxy that filters it, "bad" stays 0: tests/integration/test_kamailio.sh).
TEST_F(LiveRoutesTest, MetricsCountTheSipMessagesReceivedAndRefused) {
  EXPECT_THAT(call(http::verb::get, "/metrics").body(),
              ::testing::Not(::testing::HasSubstr("confab_sip_messages_total")))
      << "no transports wired: nothing to show";
  transport::TransportCounters counters;
  counters.messagesReceived = 12;
  counters.badMessages = 3;
  counters.framingErrors = 1;
  counters.nonSipDatagrams = 5;
  live_.transport = &counters;
  const std::string text = call(http::verb::get, "/metrics").body();
  EXPECT_THAT(text, ::testing::HasSubstr("# TYPE confab_sip_messages_total counter\n"));
  EXPECT_THAT(text, ::testing::HasSubstr("confab_sip_messages_total{outcome=\"received\"} 12\n"));
  EXPECT_THAT(text, ::testing::HasSubstr("confab_sip_messages_total{outcome=\"bad\"} 3\n"));
  EXPECT_THAT(text, ::testing::HasSubstr("confab_sip_messages_total{outcome=\"framing\"} 1\n"));
  EXPECT_THAT(text, ::testing::HasSubstr("confab_sip_messages_total{outcome=\"oversize\"} 0\n"));
  EXPECT_THAT(text, ::testing::HasSubstr("confab_sip_messages_total{outcome=\"non_sip\"} 5\n"));
  live_.transport = nullptr;
}

TEST_F(LiveRoutesTest, NothingToSteerInARoomNobodyIsIn) {
  keys_.room(keys_.store().tenantByName("default")->id, "1001");
  for (auto [method, target, body] :
       {std::tuple{http::verb::patch, "/v1/rooms/1001/conference", R"({"locked":true})"},
        std::tuple{http::verb::delete_, "/v1/rooms/1001/conference", ""},
        std::tuple{http::verb::post, "/v1/rooms/1001/participants", R"({"uri":"sip:x@y"})"}}) {
    EXPECT_EQ(call(method, target, body).result(), http::status::conflict) << target;
  }
}

// Issue 13 item 2: a participant moved to another room of the tenant keeps their call (no BYE, no
// re-INVITE) and shows in the other room.
TEST_F(LiveRoutesTest, AMoveTakesTheCallIntoAnotherRoomOfTheTenant) {
  keys_.room(tenant_, "1001");
  const std::size_t sent = h_.wire.requests.size();
  auto moved =
      call(http::verb::post, "/v1/rooms/1000/participants/alice-call/move", R"({"room":"1001"})");
  ASSERT_EQ(moved.result(), http::status::ok) << moved.body();
  EXPECT_EQ(json(moved).at("room"), "1001");
  EXPECT_EQ(json(moved).at("callId"), "alice-call");
  EXPECT_EQ(json(moved).at("status"), "connected");
  EXPECT_EQ(json(moved).at("inMix"), true);
  EXPECT_EQ(h_.wire.requests.size(), sent) << "no BYE, no re-INVITE";
  const auto before = json(call(http::verb::get, "/v1/rooms/1000")).as_object();
  ASSERT_EQ(before.at("participants").as_array().size(), 1U);
  EXPECT_EQ(before.at("participants").as_array()[0].at("callId"), "bob-call");
  const auto after = json(call(http::verb::get, "/v1/rooms/1001")).as_object();
  ASSERT_EQ(after.at("participants").as_array().size(), 1U);
  EXPECT_EQ(after.at("participants").as_array()[0].at("callId"), "alice-call");
  EXPECT_EQ(after.at("conference").at("participants"), 1);
  // Not idempotent: the same move again finds them gone from 1000.
  EXPECT_EQ(
      call(http::verb::post, "/v1/rooms/1000/participants/alice-call/move", R"({"room":"1001"})")
          .result(),
      http::status::not_found);
  // A tenant's own key may name its room without "@tenant", as in the path.
  key_ = keys_.bearer(tenant_);
  auto back =
      call(http::verb::post, "/v1/rooms/1001/participants/alice-call/move", R"({"room":"1000"})");
  ASSERT_EQ(back.result(), http::status::ok) << back.body();
  EXPECT_EQ(h_.uas().callsIn("1000").size(), 2U);
  EXPECT_EQ(h_.uas().conferences().find("1001"), nullptr) << "1001 ended when it emptied";
}

TEST_F(LiveRoutesTest, AMoveIsRefusedWithAProblemNamingTheRoom) {
  keys_.room(tenant_, "1001");
  keys_.room(tenant_, "1002", "Small", 1);
  const std::string target = "/v1/rooms/1000/participants/alice-call/move";
  const auto refused = [&](const std::string& body, http::status status,
                           std::vector<std::string> fields) {
    auto response = call(http::verb::post, target, body);
    EXPECT_EQ(response.result(), status) << body << ": " << response.body();
    EXPECT_EQ(response[http::field::content_type], "application/problem+json") << body;
    EXPECT_EQ(problemFields(response), fields) << body << ": " << response.body();
  };
  refused("", http::status::unsupported_media_type, {"Content-Type"});
  refused("{}", http::status::bad_request, {"room"});
  refused(R"({"room":1001})", http::status::bad_request, {"room"});
  refused(R"({"room":"1001","muted":true})", http::status::bad_request, {"muted"});
  refused(R"({"room":"../x"})", http::status::bad_request, {"room"});
  refused(R"({"room":"9999"})", http::status::not_found, {"room"});
  refused(R"({"room":"1000"})", http::status::conflict, {"room"});
  auto locked = call(http::verb::patch, "/v1/rooms/1001", R"({"locked":true})");
  ASSERT_EQ(locked.result(), http::status::ok) << locked.body();
  refused(R"({"room":"1001"})", http::status::conflict, {"room"});
  // Room 1002 takes one: alice fits, bob does not.
  ASSERT_EQ(call(http::verb::post, target, R"({"room":"1002"})").result(), http::status::ok);
  auto full =
      call(http::verb::post, "/v1/rooms/1000/participants/bob-call/move", R"({"room":"1002"})");
  EXPECT_EQ(full.result(), http::status::conflict) << full.body();
  EXPECT_THAT(std::string(json(full).at("detail").as_string()), ::testing::HasSubstr("full"));
  EXPECT_EQ(call(http::verb::post, "/v1/rooms/1000/participants/nobody/move", R"({"room":"1001"})")
                .result(),
            http::status::not_found);
  EXPECT_EQ(h_.uas().callsIn("1000").size(), 1U) << "bob stayed";
  // Someone the room is still calling (a dial-out, ringing) is not in the mix yet.
  ASSERT_EQ(
      call(http::verb::post, "/v1/rooms/1000/participants", R"({"uri":"sip:carol@127.0.0.1:5094"})")
          .result(),
      http::status::accepted);
  // Its Call-ID as a path segment (RFC 3986 §2.1: all but unreserved characters encoded).
  std::string segment;
  for (const char byte : sent("INVITE").at(0).callId()) {
    const auto c = static_cast<unsigned char>(byte);
    static constexpr char kHex[] = "0123456789ABCDEF";
    if (std::isalnum(c) != 0 || c == '-' || c == '.' || c == '_' || c == '~') {
      segment += static_cast<char>(c);
    } else {
      segment += {'%', kHex[c >> 4], kHex[c & 0xf]};
    }
  }
  auto ringing = call(http::verb::post, "/v1/rooms/1000/participants/" + segment + "/move",
                      R"({"room":"1001"})");
  EXPECT_EQ(ringing.result(), http::status::conflict) << ringing.body();
}

TEST_F(LiveRoutesTest, AMoveStaysWithinTheTenant) {
  const auto acme = keys_.tenant("acme");
  keys_.room(acme, "4000");
  const std::string target = "/v1/rooms/1000/participants/alice-call/move";
  // The operator sees acme's room, but a participant does not cross tenants.
  auto crossing = call(http::verb::post, target, R"({"room":"4000@acme"})");
  EXPECT_EQ(crossing.result(), http::status::not_found) << crossing.body();
  EXPECT_EQ(problemFields(crossing), std::vector<std::string>{"room"});
  // The tenant's own key finds no such room at all.
  key_ = keys_.bearer(tenant_);
  crossing = call(http::verb::post, target, R"({"room":"4000@acme"})");
  EXPECT_EQ(crossing.result(), http::status::not_found) << crossing.body();
  EXPECT_EQ(problemFields(crossing), std::vector<std::string>{"room"});
  // Acme's key does not find the participant's room; a read-only key may not move anyone.
  key_ = keys_.bearer(acme);
  EXPECT_EQ(call(http::verb::post, target, R"({"room":"4000"})").result(), http::status::not_found);
  key_ = keys_.bearer(tenant_, true);
  EXPECT_EQ(call(http::verb::post, target, R"({"room":"1000"})").result(), http::status::forbidden);
  EXPECT_EQ(h_.uas().callsIn("1000").size(), 2U) << "nobody moved";
}

}  // namespace
}  // namespace confab::api
