// registration::Registration against a scripted registrar: the real transaction layer over a
// recording wire, manual time. REGISTER, 401 and the retry, refresh, backoff, 423, Expires: 0.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <set>
#include <string>
#include <utility>
#include <vector>

#include "focus/register/Registration.hpp"
#include "focus/sip/Parser.hpp"
#include "focus/sip/Response.hpp"
#include "focus/timer/Timers.hpp"
#include "focus/txn/TransactionLayer.hpp"

namespace confab::registration {
namespace {

using ::testing::HasSubstr;
using std::chrono::seconds;

sip::Message reparse(const sip::Message& m) {
  auto parsed = sip::parseMessage(m.serialize(), true);
  if (auto* failure = std::get_if<sip::ParseFailure>(&parsed)) {
    ADD_FAILURE() << "not parseable: " << failure->error.reason << "\n" << m.serialize();
    return m;
  }
  return std::get<sip::Message>(std::move(parsed));
}

class RecordingWire final : public txn::Wire {
 public:
  void sendResponse(const sip::Message&, const transport::Source&) override {}
  void sendRequest(const sip::Message& request, const transport::Destination& to) override {
    requests.emplace_back(reparse(request), to);
  }
  [[nodiscard]] transport::SentBy sentBy(transport::Protocol) const override {
    return transport::SentBy{"UDP", "127.0.0.1", 5060};
  }
  std::vector<std::pair<sip::Message, transport::Destination>> requests;
};

class NoRequests final : public txn::TransactionUser {
 public:
  void onRequest(txn::ServerTransaction&) override {}
  void onAck(const sip::Message&, const transport::Source&) override {}
  void onCancel(txn::ServerTransaction&) override {}
  void onServerTransactionEnded(txn::ServerTransaction&) override {}
};

class Changes final : public Registration::Listener {
 public:
  void onRegistrationChanged(const Registration& r) override {
    states.push_back(r.state());
    lines.push_back(r.describe());
  }
  std::vector<Registration::State> states;
  std::vector<std::string> lines;
};

std::string param(const std::string& value, const std::string& name) {
  auto at = value.find(name + "=");
  if (at == std::string::npos) {
    return "<absent>";
  }
  at += name.size() + 1;
  if (value[at] == '"') {
    return value.substr(at + 1, value.find('"', at + 1) - at - 1);
  }
  return value.substr(at, value.find_first_of(",;>", at) - at);
}

constexpr const char* kNonce = "dcd98b7102dd2f0e8b11d0f600bfb0c093";
constexpr const char* kChallenge =
    "Digest realm=\"biloxi.com\", nonce=\"dcd98b7102dd2f0e8b11d0f600bfb0c093\", qop=\"auth\"";

class RegistrationTest : public ::testing::Test {
 protected:
  RegistrationTest() : layer_(wire_, timers_, txn::Settings{}, user_) {}

  static Settings settings() {
    Settings s;
    s.aor = *parseAor("sip:bob@biloxi.com");
    s.registrar = transport::Destination{transport::Protocol::kUdp, "192.0.2.10", 5060};
    s.credentials = auth::Credentials{"bob", "zanzibar", ""};
    s.contactUser = "1000";
    return s;
  }

  Registration& make(Settings s = settings()) {
    registration_ = std::make_unique<Registration>(std::move(s), layer_, timers_, &changes_,
                                                   [] { return std::string("0a4f113b"); });
    return *registration_;
  }

  // REGISTERs sent, each counted once however often the transaction retransmitted it.
  [[nodiscard]] std::size_t sent() const {
    std::set<std::uint32_t> numbers;
    for (const auto& [request, to] : wire_.requests) {
      numbers.insert(request.cseq()->number);
    }
    return numbers.size();
  }
  const sip::Message& last() { return wire_.requests.back().first; }
  std::string header(const char* name) {
    const auto* value = last().header(name);
    return value != nullptr ? *value : "<absent>";
  }
  unsigned cseq() { return last().cseq()->number; }

  // The registrar's answer to the last REGISTER, through the parser as from the wire.
  void answer(int status, const std::vector<std::pair<std::string, std::string>>& headers = {}) {
    sip::Message response = sip::makeResponse(last(), status, {}, "reg-tag");
    for (const auto& [name, value] : headers) {
      response.add(name, value);
    }
    transport::Source from;
    from.remote = {boost::asio::ip::make_address("192.0.2.10"), 5060};
    from.local = {boost::asio::ip::make_address("127.0.0.1"), 5060};
    layer_.receiveResponse(reparse(response), from);
  }
  void challengeAndAccept(int expires) {
    answer(401, {{"WWW-Authenticate", kChallenge}});
    answer(200, {{"Contact", "<sip:1000@127.0.0.1:5060>;expires=" + std::to_string(expires)}});
  }
  void advance(seconds by) { timers_.advance(by); }

  timer::ManualTimers timers_;
  RecordingWire wire_;
  NoRequests user_;
  txn::TransactionLayer layer_;
  Changes changes_;
  std::unique_ptr<Registration> registration_;
};

TEST_F(RegistrationTest, FirstRegisterNamesTheAorAndOurContact) {
  Registration& r = make();
  r.start();
  ASSERT_EQ(sent(), 1U);
  const auto& [request, to] = wire_.requests.back();
  EXPECT_EQ(request.method, "REGISTER");
  EXPECT_EQ(request.requestUri.str(), "sip:biloxi.com");
  EXPECT_EQ(to.host, "192.0.2.10");
  EXPECT_EQ(to.port, 5060);
  EXPECT_EQ(request.to()->uri.str(), "sip:bob@biloxi.com");
  EXPECT_TRUE(request.to()->tag().empty());
  EXPECT_EQ(request.from()->uri.str(), "sip:bob@biloxi.com");
  EXPECT_FALSE(request.from()->tag().empty());
  EXPECT_EQ(header("Contact"), "<sip:1000@127.0.0.1:5060>;expires=3600");
  EXPECT_EQ(header("Expires"), "3600");
  EXPECT_EQ(cseq(), 1U);
  EXPECT_FALSE(request.hasHeader("Authorization"));
  EXPECT_EQ(r.state(), Registration::State::kRegistering);
  EXPECT_EQ(r.describe(), "registering at 192.0.2.10:5060 over UDP");
  EXPECT_EQ(r.contact(), "sip:1000@127.0.0.1:5060");
}

TEST_F(RegistrationTest, ChallengeRetryThenRefreshAtHalfTheGrantedTime) {
  Registration& r = make();
  r.start();
  const std::string callId = last().callId();
  const std::string fromTag = last().from()->tag();

  answer(401, {{"WWW-Authenticate", kChallenge}});
  ASSERT_EQ(sent(), 2U);
  // RFC 3261 §22.2: a new request, CSeq + 1, same Call-ID and From tag, with credentials.
  EXPECT_EQ(cseq(), 2U);
  EXPECT_EQ(last().callId(), callId);
  EXPECT_EQ(last().from()->tag(), fromTag);
  const std::string auth = header("Authorization");
  EXPECT_EQ(param(auth, "uri"), "sip:biloxi.com");
  EXPECT_EQ(param(auth, "nonce"), kNonce);
  EXPECT_EQ(param(auth, "nc"), "00000001");
  // The response for bob/zanzibar, REGISTER sip:biloxi.com, cnonce 0a4f113b (Python hashlib).
  EXPECT_EQ(param(auth, "response"), "9e2d1006810044fd79f39476209ae31a");

  answer(200, {{"Contact", "<sip:someone-else@192.0.2.99>;expires=3000"},
               {"Contact", "<sip:1000@127.0.0.1:5060>;expires=120"}});
  EXPECT_EQ(r.state(), Registration::State::kRegistered);
  EXPECT_EQ(r.granted(), seconds(120));
  EXPECT_EQ(r.expiresAt(), timers_.now() + seconds(120));
  EXPECT_EQ(r.describe(), "registered for 120 s");
  ASSERT_FALSE(changes_.states.empty());
  EXPECT_EQ(changes_.states.back(), Registration::State::kRegistered);

  advance(seconds(59));
  EXPECT_EQ(sent(), 2U);
  advance(seconds(1));
  ASSERT_EQ(sent(), 3U);
  // The refresh reuses the credentials with the next nc (RFC 7616 §3.4).
  EXPECT_EQ(cseq(), 3U);
  EXPECT_EQ(last().callId(), callId);
  EXPECT_EQ(param(header("Authorization"), "nc"), "00000002");
  EXPECT_EQ(header("Expires"), "3600");
  answer(200, {{"Contact", "<sip:1000@127.0.0.1:5060>;expires=120"}});
  EXPECT_EQ(r.state(), Registration::State::kRegistered);
  EXPECT_EQ(changes_.states.back(), Registration::State::kRegistered);
}

TEST_F(RegistrationTest, ExpiresHeaderAndLongGrants) {
  Registration& r = make();
  r.start();
  // No Contact in the 200: the Expires header says; 3600 s is refreshed ten minutes early.
  answer(200, {{"Expires", "3600"}});
  EXPECT_EQ(r.granted(), seconds(3600));
  advance(seconds(2999));
  EXPECT_EQ(sent(), 1U);
  advance(seconds(1));
  EXPECT_EQ(sent(), 2U);
  // A registrar granting more than we asked is held to what we asked; a tiny grant is refreshed
  // no sooner than minRefresh.
  answer(200, {{"Contact", "<sip:1000@127.0.0.1>;expires=99999"}});
  EXPECT_EQ(r.granted(), seconds(3600));
  advance(seconds(3000));
  EXPECT_EQ(sent(), 3U);
  answer(200, {{"Contact", "<sip:1000@127.0.0.1:5060>;expires=1"}});
  EXPECT_EQ(r.granted(), seconds(1));
  advance(seconds(1));
  EXPECT_EQ(sent(), 3U);
  advance(seconds(1));
  EXPECT_EQ(sent(), 4U);
}

TEST_F(RegistrationTest, FailuresBackOffExponentiallyWithJitter) {
  Registration& r = make();
  r.start();
  // RFC 5626 §4.5: a random 50-100% of min(900, 30 * 2^failures) seconds.
  std::vector<std::pair<int, int>> windows{{30, 60}, {60, 120}, {120, 240}, {240, 480},
                                           {450, 900}, {450, 900}};
  for (const auto& [low, high] : windows) {
    const std::size_t before = sent();
    answer(503, {{"Warning", "399 pbx \"overloaded\""}});
    EXPECT_EQ(r.state(), Registration::State::kFailed);
    EXPECT_EQ(r.lastStatus(), 503);
    EXPECT_EQ(r.lastError(), "Service Unavailable");
    ASSERT_TRUE(r.nextAttempt());
    const auto wait = *r.nextAttempt() - timers_.now();
    EXPECT_GE(wait, seconds(low));
    EXPECT_LE(wait, seconds(high));
    EXPECT_THAT(r.describe(), HasSubstr("failed: 503 Service Unavailable (retry in"));
    advance(seconds(low) - seconds(1));
    EXPECT_EQ(sent(), before);
    timers_.advance(std::chrono::duration_cast<timer::Duration>(*r.nextAttempt() - timers_.now()));
    ASSERT_EQ(sent(), before + 1);
  }
  // A success resets the count.
  answer(200, {{"Expires", "600"}});
  EXPECT_EQ(r.failures(), 0U);
  EXPECT_EQ(r.lastStatus(), 0);
}

TEST_F(RegistrationTest, RetryAfterAndTimeout) {
  Registration& r = make();
  r.start();
  answer(503, {{"Retry-After", "120 (maintenance)"}});
  EXPECT_EQ(*r.nextAttempt() - timers_.now(), seconds(120));
  advance(seconds(120));
  ASSERT_EQ(sent(), 2U);
  // No answer at all: Timer F (64*T1) ends the transaction, as if 408 came.
  advance(seconds(32));
  EXPECT_EQ(r.state(), Registration::State::kFailed);
  EXPECT_EQ(r.lastStatus(), 408);
  EXPECT_THAT(r.lastError(), HasSubstr("no answer"));
  // A retry in the window of the second failure.
  advance(seconds(59));
  EXPECT_EQ(sent(), 2U);
  advance(seconds(61));
  EXPECT_EQ(sent(), 3U);
  EXPECT_EQ(cseq(), 3U);
}

TEST_F(RegistrationTest, IntervalTooBriefRaisesTheExpiry) {
  Settings s = settings();
  s.expires = seconds(60);
  Registration& r = make(s);
  r.start();
  EXPECT_EQ(header("Expires"), "60");
  answer(423, {{"Min-Expires", "1800"}});
  ASSERT_EQ(sent(), 2U);
  EXPECT_EQ(cseq(), 2U);
  EXPECT_EQ(header("Expires"), "1800");
  EXPECT_EQ(header("Contact"), "<sip:1000@127.0.0.1:5060>;expires=1800");
  answer(200, {{"Contact", "<sip:1000@127.0.0.1:5060>;expires=1800"}});
  EXPECT_EQ(r.granted(), seconds(1800));
  // Kept for the refresh.
  advance(seconds(1200));
  ASSERT_EQ(sent(), 3U);
  EXPECT_EQ(header("Expires"), "1800");
  // A 423 without a usable Min-Expires is a failure, not a loop.
  answer(423);
  EXPECT_EQ(r.state(), Registration::State::kFailed);
  EXPECT_EQ(r.lastStatus(), 423);
}

TEST_F(RegistrationTest, WrongPasswordFailsWithoutLooping) {
  Registration& r = make();
  r.start();
  answer(401, {{"WWW-Authenticate", kChallenge}});
  answer(401, {{"WWW-Authenticate", kChallenge}});
  EXPECT_EQ(sent(), 2U);
  EXPECT_EQ(r.state(), Registration::State::kFailed);
  EXPECT_EQ(r.lastStatus(), 401);
  EXPECT_THAT(r.lastError(), HasSubstr("refused"));
  // The retry starts afresh, without the refused credentials.
  advance(seconds(60));
  ASSERT_EQ(sent(), 3U);
  EXPECT_FALSE(last().hasHeader("Authorization"));
}

TEST_F(RegistrationTest, NoCredentialsForTheRealm) {
  Settings s = settings();
  s.credentials.realm = "atlanta.com";
  Registration& r = make(s);
  r.start();
  answer(401, {{"WWW-Authenticate", kChallenge}});
  EXPECT_EQ(sent(), 1U);
  EXPECT_EQ(r.state(), Registration::State::kFailed);
  EXPECT_THAT(r.lastError(), HasSubstr("no credentials for realm"));
}

TEST_F(RegistrationTest, ReusedCredentialsChallengedAgainAreAnsweredAfresh) {
  Registration& r = make();
  r.start();
  challengeAndAccept(60);
  advance(seconds(30));
  ASSERT_EQ(sent(), 3U);
  EXPECT_TRUE(last().hasHeader("Authorization"));
  // A server that challenges every request, with the same nonce: answered once more.
  answer(401, {{"WWW-Authenticate", kChallenge}});
  ASSERT_EQ(sent(), 4U);
  EXPECT_EQ(param(header("Authorization"), "nc"), "00000001");
  answer(200, {{"Contact", "<sip:1000@127.0.0.1:5060>;expires=60"}});
  EXPECT_EQ(r.state(), Registration::State::kRegistered);
}

TEST_F(RegistrationTest, ProxyChallengeThenRegistrarChallenge) {
  Registration& r = make();
  r.start();
  answer(407, {{"Proxy-Authenticate", kChallenge}});
  EXPECT_TRUE(last().hasHeader("Proxy-Authorization"));
  answer(401, {{"WWW-Authenticate",
                "Digest realm=\"biloxi.com\", nonce=\"other\", qop=\"auth\", algorithm=SHA-256"}});
  ASSERT_EQ(sent(), 3U);
  // Both: the registrar's new answer and the proxy's credentials again.
  EXPECT_EQ(param(header("Authorization"), "algorithm"), "SHA-256");
  EXPECT_EQ(param(header("Proxy-Authorization"), "nc"), "00000002");
  answer(200);
  EXPECT_EQ(r.state(), Registration::State::kRegistered);
  EXPECT_EQ(r.granted(), seconds(3600));
}

TEST_F(RegistrationTest, StopRemovesTheBindingWithExpiresZero) {
  Registration& r = make();
  r.start();
  challengeAndAccept(120);
  r.stop();
  ASSERT_EQ(sent(), 3U);
  EXPECT_EQ(header("Expires"), "0");
  EXPECT_EQ(header("Contact"), "<sip:1000@127.0.0.1:5060>;expires=0");
  EXPECT_EQ(param(header("Authorization"), "nc"), "00000002");
  EXPECT_EQ(r.state(), Registration::State::kRegistered);
  answer(200);
  EXPECT_EQ(r.state(), Registration::State::kUnregistered);
  EXPECT_EQ(r.describe(), "unregistered");
  EXPECT_FALSE(r.nextAttempt());
  // Nothing more, ever.
  advance(seconds(7200));
  EXPECT_EQ(sent(), 3U);
  r.stop();
  EXPECT_EQ(sent(), 3U);
}

TEST_F(RegistrationTest, StopWhileChallengedAnswersTheChallenge) {
  Registration& r = make();
  r.start();
  answer(200, {{"Expires", "600"}});
  r.stop();
  answer(401, {{"WWW-Authenticate", kChallenge}});
  ASSERT_EQ(sent(), 3U);
  EXPECT_EQ(header("Expires"), "0");
  EXPECT_TRUE(last().hasHeader("Authorization"));
  answer(403);
  EXPECT_EQ(r.state(), Registration::State::kUnregistered);
  EXPECT_THAT(r.describe(), HasSubstr("403"));
}

TEST_F(RegistrationTest, StopBeforeAnythingWentOutSendsNothing) {
  Registration& r = make();
  r.stop();
  EXPECT_EQ(sent(), 0U);
  EXPECT_EQ(r.state(), Registration::State::kUnregistered);
  r.start();
  EXPECT_EQ(sent(), 0U);
}

TEST_F(RegistrationTest, DestroyedWithARequestInFlight) {
  make().start();
  registration_.reset();
  // The transaction lives on in the layer without calling back into freed memory.
  answer(200);
  advance(seconds(64));
  EXPECT_EQ(layer_.clientTransactions(), 0U);
}

TEST_F(RegistrationTest, TcpContactAndConfiguredHost) {
  Settings s = settings();
  s.registrar.protocol = transport::Protocol::kTcp;
  s.contactHost = "confab.example.com";
  Registration& r = make(s);
  r.start();
  EXPECT_EQ(r.contact(), "sip:1000@confab.example.com:5060;transport=tcp");
  answer(200, {{"Contact", "<sip:1000@confab.example.com:5060;transport=tcp>;expires=300"}});
  EXPECT_EQ(r.granted(), seconds(300));
}

TEST(RegistrationAor, OnlySipUrisWithUserAndHost) {
  EXPECT_TRUE(parseAor("sip:1000@pbx.example.com").ok());
  EXPECT_TRUE(parseAor("sips:1000@pbx.example.com:5061").ok());
  EXPECT_FALSE(parseAor("tel:+15551234").ok());
  EXPECT_FALSE(parseAor("sip:pbx.example.com").ok());
  EXPECT_FALSE(parseAor("1000@pbx").ok());
}

}  // namespace
}  // namespace confab::registration
