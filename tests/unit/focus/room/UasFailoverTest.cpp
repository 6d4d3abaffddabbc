// A call whose confab-mixer goes away (issue 14 item 4): the focus over a MixerSet of two real
// confab-mixers (ControlServers on loopback TCP). When the call's mixer dies, the phone gets a
// re-INVITE offering the same session at the other mixer's address with a new SRTP key of ours,
// and the media joins there with the answer; a phone that refuses the move is hung up on, and
// one whose re-INVITE crossed ours (491) is asked again. Moving a participant into a room that
// runs on the other mixer takes the same re-INVITE.
#include <gtest/gtest.h>
#include <poll.h>

#include <memory>
#include <regex>
#include <vector>

#include "mixer/remote/MixerSet.hpp"
#include "tests/unit/focus/room/UasHarness.hpp"
#include "tests/unit/mixer/remote/MixerServer.hpp"

namespace confab::test {
namespace {

using namespace std::chrono_literals;

constexpr mixer::PortRange kDyingPorts{43300, 43349};
constexpr mixer::PortRange kLivePorts{43350, 43399};

// An SDES offer (RFC 4568) from the test phone.
std::string sdesOffer() {
  std::string offer = kOfferPcmu;
  offer.replace(offer.find("RTP/AVP"), 7, "RTP/SAVP");
  return offer +
         "a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:WVNfX19zZW1jdGwgKCkgewkyMjA7fQp9CnVubGVz\r\n";
}

// The phone's 200 to a re-INVITE the focus sent it, with its SDP answer.
std::string okWithAnswer(const sip::Message& sent, const std::string& answer) {
  std::string r = "SIP/2.0 200 OK\r\n";
  for (const char* name : {"Via", "From", "To", "Call-ID", "CSeq"}) {
    r += std::string(name) + ": " + *sent.header(name) + "\r\n";
  }
  r += "Contact: <sip:tester@127.0.0.1:5070>\r\nContent-Type: application/sdp\r\n";
  return r + "Content-Length: " + std::to_string(answer.size()) + "\r\n\r\n" + answer;
}

std::string firstMatch(const std::string& text, const std::string& pattern) {
  std::smatch m;
  return std::regex_search(text, m, std::regex(pattern)) ? m[1].str() : std::string();
}

// The focus (transaction layer and Uas) over a MixerSet of two confab-mixers, the first of
// which can be made to go away.
class FailoverFocus {
 public:
  FailoverFocus()
      : set(twoMixers(*dying, alive)),
        layer_(wire, timers, txn::Settings{}, uas_),
        uas_(&layer_, timers, rooms, *set, room::UasSettings{}) {
    uas_.attach(layer_);
    rooms.put(policy::Room{"1000", "Room 1000", 0});
    source.protocol = transport::Protocol::kUdp;
    source.remote = {boost::asio::ip::make_address("127.0.0.1"), 5070};
    source.local = {boost::asio::ip::make_address("127.0.0.1"), 5060};
  }

  void receive(const std::string& bytes) {
    auto message = std::get<sip::Message>(sip::parseMessage(bytes, true));
    if (message.isRequest()) {
      layer_.receiveRequest(std::move(message), source);
    } else {
      layer_.receiveResponse(std::move(message), source);
    }
  }
  // Delivers the mixers' events to the focus until a request goes out or 5 s pass.
  const sip::Message* awaitRequest() {
    const std::size_t before = wire.requests.size();
    const auto deadline = std::chrono::steady_clock::now() + 5s;
    while (wire.requests.size() == before && std::chrono::steady_clock::now() < deadline) {
      pollfd p{set->eventFd(), POLLIN, 0};
      if (::poll(&p, 1, 20) == 1) {
        set->deliverEvents(uas_);
      }
    }
    return wire.requests.size() > before ? &wire.requests.back().first : nullptr;
  }
  room::Uas& uas() { return uas_; }

  std::unique_ptr<MixerServer> dying = std::make_unique<MixerServer>(kDyingPorts);
  MixerServer alive{kLivePorts};
  std::unique_ptr<mixer::remote::MixerSet> set;
  RecordingWire wire;
  timer::ManualTimers timers;
  policy::Directory rooms;
  transport::Source source;

 private:
  static std::unique_ptr<mixer::remote::MixerSet> twoMixers(const MixerServer& first,
                                                            const MixerServer& second) {
    std::vector<std::unique_ptr<mixer::Control>> mixers;
    for (const auto* server : {&first, &second}) {
      auto remote =
          std::make_unique<mixer::remote::RemoteMixer>(clientSettings(server->endpoint()));
      EXPECT_TRUE(remote->waitUntilReady(5s, 4));
      mixers.push_back(std::move(remote));
    }
    auto set = std::make_unique<mixer::remote::MixerSet>(std::move(mixers));
    set->setDraining(1, true);  // the first room goes to the mixer that will die
    return set;
  }

  txn::TransactionLayer layer_;
  room::Uas uas_;
};

// An SRTP call into 'room' (1000 by default) on the mixer that will die; returns our answer.
std::string callIn(FailoverFocus& focus,
                   const std::string& callId,
                   const std::string& room = "1000") {
  // The phone refreshes the session (RFC 4028), every 120 s.
  focus.receive(request("INVITE", callId, 1, "i" + callId, {},
                        "Supported: timer\r\nSession-Expires: 120;refresher=uac\r\n", sdesOffer(),
                        "sip:" + room + "@127.0.0.1:5060"));
  const auto& ok = focus.wire.responses.back().first;
  EXPECT_EQ(ok.status, 200);
  focus.receive(request("ACK", callId, 1, "a" + callId, ok.to()->tag()));
  focus.set->setDraining(1, false);  // open to take the room over
  return ok.body;
}

TEST(UasFailover, ACallOnAMixerThatDiesIsReInvitedToTheOtherWithANewKey) {
  FailoverFocus focus;
  const std::string answer = callIn(focus, "fo1");
  room::Call* call = focus.uas().findCall("fo1");
  ASSERT_NE(call, nullptr);
  ASSERT_TRUE(call->inMix());
  const int oldPort = std::stoi(firstMatch(answer, "m=audio (\\d+) "));
  const std::string oldKey = firstMatch(answer, "inline:([^\\s|]+)");
  EXPECT_GE(oldPort, kDyingPorts.first);
  EXPECT_LE(oldPort, kDyingPorts.last);
  ASSERT_FALSE(oldKey.empty());

  focus.timers.advance(std::chrono::seconds(60));  // a minute into the call
  focus.dying.reset();                             // as kill -9: its connection drops
  const sip::Message* reinvite = focus.awaitRequest();
  ASSERT_NE(reinvite, nullptr) << "no re-INVITE after the mixer went away";
  ASSERT_EQ(reinvite->method, "INVITE") << call->endReason();
  EXPECT_EQ(reinvite->method, "INVITE");
  EXPECT_EQ(reinvite->to()->tag(), "peer-fo1") << "within the call's dialog";
  const std::string& offer = reinvite->body;
  const int newPort = std::stoi(firstMatch(offer, "m=audio (\\d+) RTP/SAVP 0 101"));
  EXPECT_GE(newPort, kLivePorts.first) << offer;
  EXPECT_LE(newPort, kLivePorts.last) << offer;
  EXPECT_NE(offer.find("c=IN IP4 127.0.0.1"), std::string::npos) << offer;
  const std::string newKey =
      firstMatch(offer, "a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:([^\\s|]+)");
  EXPECT_FALSE(newKey.empty()) << offer;
  EXPECT_NE(newKey, oldKey) << "the new mixer's stream must not reuse the old key";
  EXPECT_GT(std::stoul(firstMatch(offer, "o=\\S+ \\d+ (\\d+) ")),
            std::stoul(firstMatch(answer, "o=\\S+ \\d+ (\\d+) ")))
      << "RFC 3264 §8: a changed SDP has a higher version";
  EXPECT_FALSE(call->inMix()) << "not joined until the phone has the new address";

  // The phone answers (with a new key of its own, as it may) and the media joins there.
  std::string phoneAnswer = sdesOffer();
  phoneAnswer.replace(phoneAnswer.find("o=- 1 1"), 7, "o=- 1 2");
  focus.receive(okWithAnswer(*reinvite, phoneAnswer));
  ASSERT_EQ(focus.wire.requests.back().first.method, "ACK");
  EXPECT_TRUE(call->inMix());
  EXPECT_EQ(call->localRtpPort(), newPort);
  EXPECT_EQ(focus.set->mixerOfEndpoint(call->mediaEndpoint()), 1U);
  EXPECT_FALSE(call->ended());
  // The re-INVITE's 2xx refreshed the session: the old deadline (120 - 32 s after the call came
  // in, 28 s from now) passes without a BYE, and a new one comes 88 s after the move.
  const std::size_t sent = focus.wire.requests.size();
  focus.timers.advance(std::chrono::seconds(87));
  EXPECT_EQ(focus.wire.requests.size(), sent) << "the re-INVITE refreshed the session";
  focus.timers.advance(std::chrono::seconds(2));
  ASSERT_GT(focus.wire.requests.size(), sent);
  EXPECT_EQ(focus.wire.requests[sent].first.method, "BYE") << "no refresh from the phone since";
}

// A call in, then its mixer dies: the re-INVITE that follows (null, with a failure, if none).
const sip::Message* reinviteAfterTheMixerDies(FailoverFocus& focus, const std::string& callId) {
  callIn(focus, callId);
  focus.dying.reset();
  const sip::Message* reinvite = focus.awaitRequest();
  if (reinvite == nullptr || reinvite->method != "INVITE") {
    ADD_FAILURE() << "no re-INVITE after the mixer went away";
    return nullptr;
  }
  return reinvite;
}

TEST(UasFailover, APhoneThatRefusesTheMoveIsHungUpOn) {
  FailoverFocus focus;
  const sip::Message* reinvite = reinviteAfterTheMixerDies(focus, "fo2");
  ASSERT_NE(reinvite, nullptr);
  focus.receive(answerTo(*reinvite, 488));
  EXPECT_EQ(focus.wire.requests.back().first.method, "BYE");
}

TEST(UasFailover, AReInviteThatCrossedTheirsIsSentAgain) {
  FailoverFocus focus;
  const sip::Message* first = reinviteAfterTheMixerDies(focus, "fo3");
  ASSERT_NE(first, nullptr);
  const uint32_t firstCSeq = first->cseq()->number;
  focus.receive(answerTo(*first, 491));
  EXPECT_NE(focus.wire.requests.back().first.method, "BYE");
  focus.timers.advance(2100ms);  // RFC 3261 §14.1: within 2 s for us
  const sip::Message& again = focus.wire.requests.back().first;
  ASSERT_EQ(again.method, "INVITE");
  EXPECT_GT(again.cseq()->number, firstCSeq);
  std::string phoneAnswer = sdesOffer();
  focus.receive(okWithAnswer(again, phoneAnswer));
  EXPECT_TRUE(focus.uas().findCall("fo3")->inMix());
}

TEST(UasFailover, AMoveIntoARoomOnTheOtherMixerReInvitesToItsPorts) {
  FailoverFocus focus;
  focus.rooms.put(policy::Room{"1001", "Room 1001", 0});
  callIn(focus, "mv1");  // room 1000, on the first mixer
  focus.set->setDraining(0, true);
  callIn(focus, "mv2", "1001");  // room 1001, on the second
  focus.set->setDraining(0, false);
  room::Call* call = focus.uas().findCall("mv1");
  ASSERT_NE(call, nullptr);
  ASSERT_EQ(focus.set->mixerOfEndpoint(call->mediaEndpoint()), 0U);
  const std::size_t sent = focus.wire.requests.size();

  ASSERT_EQ(focus.uas().move(call->dialog().key(), *focus.rooms.find("1001")), std::nullopt);
  ASSERT_EQ(focus.wire.requests.size(), sent + 1);
  const sip::Message reinvite = focus.wire.requests.back().first;
  ASSERT_EQ(reinvite.method, "INVITE");
  const int port = std::stoi(firstMatch(reinvite.body, "m=audio (\\d+) "));
  EXPECT_GE(port, kLivePorts.first);
  EXPECT_LE(port, kLivePorts.last);
  EXPECT_EQ(call->roomId(), "1001");
  EXPECT_FALSE(call->inMix());
  // Not settled until the phone has answered: a second move waits.
  EXPECT_EQ(focus.uas().move(call->dialog().key(), *focus.rooms.find("1000")),
            room::MoveRefusal::kNotSettled);

  focus.receive(okWithAnswer(reinvite, sdesOffer()));
  EXPECT_TRUE(call->inMix());
  EXPECT_EQ(focus.set->mixerOfEndpoint(call->mediaEndpoint()), 1U);
  EXPECT_EQ(focus.set->endpointsOn(0), 0U) << "its old ports are freed";
  EXPECT_EQ(call->mix(), focus.uas().findCall("mv2")->mix()) << "in room 1001's mix";
}

}  // namespace
}  // namespace confab::test
