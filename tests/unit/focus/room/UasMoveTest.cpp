// Moving a live participant to another room (issue 13 item 2), over a focus without sockets: the
// call keeps its media endpoint (no re-INVITE, no BYE), the conference model shows it leaving one
// room and joining the other, the mixer is told to move the leg and is given its controls again,
// the target's rules (role, mute, lock, limit) hold, and the rooms start and end as on join and
// hang-up.
#include <gtest/gtest.h>

#include "tests/unit/focus/room/UasHarness.hpp"

namespace confab::test {
namespace {

using room::MoveRefusal;

// Every change of the model, as watchers and call records see them.
class ChangeLog final : public conference::Listener {
 public:
  struct Seen {
    conference::Change::Kind kind;
    std::string room;
    std::string callId;
    std::optional<conference::DisconnectionMethod> how;
    std::string reason;
    policy::Role role = policy::Role::kParticipant;
  };
  void onChange(const conference::Change& change) override {
    Seen seen{change.kind, change.conference.id, {}, {}, {}, {}};
    if (const auto* p = change.participant) {
      seen.callId = p->callId;
      seen.how = p->disconnection;
      seen.reason = p->disconnectReason;
      seen.role = p->role;
    }
    log.push_back(std::move(seen));
  }
  [[nodiscard]] const Seen* find(conference::Change::Kind kind, const std::string& room) const {
    for (const auto& s : log) {
      if (s.kind == kind && s.room == room) {
        return &s;
      }
    }
    return nullptr;
  }
  std::vector<Seen> log;
};

// A call from the harness's peer into 'room', answered and ACKed.
std::string callInto(UasHarness& h, const std::string& callId, const std::string& room) {
  const std::string ruri = "sip:" + room + "@127.0.0.1:5060";
  h.receive(request("INVITE", callId, 1, "i" + callId, {}, {}, kOfferPcmu, ruri));
  EXPECT_EQ(h.lastStatus(), 200);
  const std::string tag = h.lastResponse().to()->tag();
  h.receive(request("ACK", callId, 1, "a" + callId, tag, {}, {}, ruri));
  return tag;
}

std::string keyOf(UasHarness& h, const std::string& callId) {
  const room::Call* call = h.uas().findCall(callId);
  return call == nullptr ? std::string() : call->dialog().key();
}

policy::Room room(const std::string& id, int64_t tenant = 0) {
  policy::Room r{id, "Room " + id};
  r.tenantId = tenant;
  return r;
}

class UasMove : public ::testing::Test {
 protected:
  void SetUp() override {
    h_.rooms.put(room("1001"));
    h_.uas().conferences().listen(changes_);
    callInto(h_, "alice", "1000");
    callInto(h_, "bob", "1000");
    callInto(h_, "carol", "1001");
  }
  void TearDown() override { h_.uas().conferences().unlisten(changes_); }
  std::optional<MoveRefusal> move(const std::string& callId, const policy::Room& to) {
    return h_.uas().move(keyOf(h_, callId), to);
  }
  policy::Room target() { return *h_.rooms.find("1001"); }

  UasHarness h_;
  ChangeLog changes_;
};

TEST_F(UasMove, TheCallKeepsItsMediaAndTheModelShowsItLeaveOneRoomAndJoinTheOther) {
  room::Call* alice = h_.uas().findCall("alice");
  ASSERT_NE(alice, nullptr);
  const auto endpoint = alice->mediaEndpoint();
  const auto port = alice->localRtpPort();
  const auto ssrc = alice->ssrc();
  changes_.log.clear();
  h_.tap().requests.clear();
  const std::size_t sent = h_.wire.requests.size();

  ASSERT_EQ(move("alice", target()), std::nullopt);

  EXPECT_EQ(alice, h_.uas().findCall("alice")) << "the same call";
  EXPECT_EQ(alice->mediaEndpoint(), endpoint);
  EXPECT_EQ(alice->localRtpPort(), port);
  EXPECT_EQ(alice->ssrc(), ssrc);
  EXPECT_EQ(alice->roomId(), "1001");
  EXPECT_EQ(h_.wire.requests.size(), sent) << "no re-INVITE, no BYE";
  EXPECT_EQ(alice->mix()->id(), h_.uas().mixOf("1001"));
  ASSERT_EQ(h_.uas().callsIn("1000").size(), 1U);
  EXPECT_EQ(h_.uas().callsIn("1000")[0]->dialog().callId(), "bob");
  EXPECT_EQ(h_.uas().callsIn("1001").size(), 2U);

  // RFC 4575: one room's watchers see them go (booted, saying where), the other's see them come.
  const auto* left = changes_.find(conference::Change::Kind::kLeft, "1000");
  ASSERT_NE(left, nullptr);
  EXPECT_EQ(left->callId, "alice");
  EXPECT_EQ(left->how, conference::DisconnectionMethod::kBooted);
  EXPECT_EQ(left->reason, "moved to room 1001");
  const auto* joined = changes_.find(conference::Change::Kind::kJoined, "1001");
  ASSERT_NE(joined, nullptr);
  EXPECT_EQ(joined->callId, "alice");
  EXPECT_EQ(h_.uas().conferences().find("1000")->find(keyOf(h_, "alice")), nullptr);
  const auto* now = h_.uas().conferences().find("1001")->find(keyOf(h_, "alice"));
  ASSERT_NE(now, nullptr);
  EXPECT_EQ(now->status, conference::EndpointStatus::kConnected);
  EXPECT_EQ(now->entity, "sip:tester@127.0.0.1:5070");
  EXPECT_EQ(h_.uas().conferences().find("1000")->activeCount(), 1U);
  EXPECT_EQ(h_.uas().conferences().find("1001")->activeCount(), 2U);
  EXPECT_EQ(changes_.find(conference::Change::Kind::kEnded, "1000"), nullptr)
      << "bob is still in 1000";

  // The mixer moved the leg into the target's mix, then was given its controls again (a move
  // resets them to those of the last join, mixer/engine/Control.hpp).
  ASSERT_GE(h_.tap().requests.size(), 2U);
  const auto moved = std::find_if(h_.tap().requests.begin(), h_.tap().requests.end(),
                                  [](const auto& r) { return !r.controls; });
  ASSERT_NE(moved, h_.tap().requests.end());
  EXPECT_EQ(moved->endpoint, endpoint);
  EXPECT_EQ(moved->mix, h_.uas().mixOf("1001"));
  ASSERT_NE(moved + 1, h_.tap().requests.end()) << "no controls after the move";
  EXPECT_EQ((moved + 1)->endpoint, endpoint);
  EXPECT_TRUE((moved + 1)->controls.has_value());
}

TEST_F(UasMove, ControlsGoWithThemAndTheTargetsMuteRulesApply) {
  conference::Controls set;
  set.deaf = true;
  set.gain = 2.0F;
  ASSERT_TRUE(h_.uas().conferences().setControls(keyOf(h_, "alice"), set));
  h_.tap().requests.clear();
  policy::Room muting = target();
  muting.muteOnEntry = true;
  h_.rooms.put(muting);
  ASSERT_EQ(move("alice", muting), std::nullopt);
  const room::Call* alice = h_.uas().findCall("alice");
  EXPECT_TRUE(alice->controls().deaf);
  EXPECT_FLOAT_EQ(alice->controls().gain, 2.0F);
  EXPECT_TRUE(alice->controls().muted) << "the target room mutes those who enter";
  const auto* p = h_.uas().conferences().participant(keyOf(h_, "alice"));
  ASSERT_NE(p, nullptr);
  EXPECT_EQ(p->controls, alice->controls()) << "the model and the call agree";
  // What the mixer was last told for the leg is all of it.
  const auto last = std::find_if(
      h_.tap().requests.rbegin(), h_.tap().requests.rend(),
      [&](const auto& r) { return r.endpoint == alice->mediaEndpoint() && r.controls; });
  ASSERT_NE(last, h_.tap().requests.rend());
  EXPECT_TRUE(last->controls->muted);
  EXPECT_TRUE(last->controls->deaf);
  EXPECT_FLOAT_EQ(last->controls->gain, 2.0F);
}

TEST_F(UasMove, AModeratorOfOneRoomIsAParticipantOfTheOtherAndAListenerStaysOne) {
  ASSERT_TRUE(h_.uas().conferences().setRole(keyOf(h_, "alice"), policy::Role::kModerator));
  h_.uas().findCall("alice")->setRole(policy::Role::kModerator);
  ASSERT_TRUE(h_.uas().conferences().setRole(keyOf(h_, "bob"), policy::Role::kListener));
  h_.uas().findCall("bob")->setRole(policy::Role::kListener);
  ASSERT_EQ(move("alice", target()), std::nullopt);
  ASSERT_EQ(move("bob", target()), std::nullopt);
  EXPECT_EQ(h_.uas().conferences().participant(keyOf(h_, "alice"))->role,
            policy::Role::kParticipant);
  EXPECT_FALSE(h_.uas().findCall("alice")->moderator());
  const auto* bob = h_.uas().conferences().participant(keyOf(h_, "bob"));
  EXPECT_EQ(bob->role, policy::Role::kListener);
  EXPECT_TRUE(bob->controls.muted);
}

TEST_F(UasMove, TheTargetStartsIfNotRunningAndTheLastOneOutEndsTheSource) {
  h_.rooms.put(room("1002"));
  ASSERT_EQ(move("carol", *h_.rooms.find("1002")), std::nullopt);
  EXPECT_NE(changes_.find(conference::Change::Kind::kStarted, "1002"), nullptr);
  EXPECT_NE(changes_.find(conference::Change::Kind::kEnded, "1001"), nullptr)
      << "1001 is empty: its conference ends as when its last caller hangs up";
  EXPECT_EQ(h_.uas().conferences().find("1001"), nullptr);
  EXPECT_FALSE(h_.uas().mixOf("1001").has_value()) << "its mix is gone";
  EXPECT_EQ(h_.uas().callsIn("1002").size(), 1U);
  // And the call leaves 1002 as anyone does: BYE, the conference ends.
  h_.receive(request("BYE", "carol", 2, "bcarol", h_.uas().findCall("carol")->dialog().localTag(),
                     {}, {}, "sip:1001@127.0.0.1:5060"));
  h_.timers.advance(std::chrono::milliseconds(1));
  EXPECT_EQ(h_.uas().conferences().find("1002"), nullptr);
}

TEST_F(UasMove, RefusalsLeaveEverythingWhereItWas) {
  EXPECT_EQ(h_.uas().move("no-such-participant", target()), MoveRefusal::kNoParticipant);
  EXPECT_EQ(move("alice", *h_.rooms.find("1000")), MoveRefusal::kSameRoom);
  EXPECT_EQ(move("alice", room("1001", 7)), MoveRefusal::kOtherTenant);
  // Locked by a moderator while it runs.
  ASSERT_TRUE(h_.uas().setLocked("1001", true));
  EXPECT_EQ(move("alice", target()), MoveRefusal::kLocked);
  ASSERT_TRUE(h_.uas().setLocked("1001", false));
  // Locked by its rule before it runs.
  policy::Room locked = room("1003");
  locked.locked = true;
  EXPECT_EQ(move("alice", locked), MoveRefusal::kLocked);
  policy::Room full = target();
  full.maxParticipants = 1;  // carol is in
  EXPECT_EQ(move("alice", full), MoveRefusal::kFull);
  policy::Room waiting = room("1004");
  waiting.waitForModerator = true;
  EXPECT_EQ(move("alice", waiting), MoveRefusal::kWaitsForModerator);
  EXPECT_EQ(h_.uas().findCall("alice")->roomId(), "1000");
  EXPECT_EQ(h_.uas().callsIn("1000").size(), 2U);
  EXPECT_EQ(changes_.find(conference::Change::Kind::kLeft, "1000"), nullptr);
  EXPECT_EQ(h_.uas().conferences().find("1003"), nullptr) << "no conference started for nothing";
}

TEST_F(UasMove, ACallerStillRingingIsNotMovedNorOneHearingTheCount) {
  // Answered but not ACKed: dialing-in, not in the mix yet.
  h_.receive(request("INVITE", "dave", 1, "idave", {}, {}, kOfferPcmu));
  ASSERT_EQ(h_.lastStatus(), 200);
  EXPECT_EQ(move("dave", target()), MoveRefusal::kNotSettled);
  // '#' : the count, heard alone in a mix of their own.
  h_.receive(request("INFO", "bob", 2, "kbob", h_.uas().findCall("bob")->dialog().localTag(),
                     "Content-Type: application/dtmf\r\n", "#"));
  EXPECT_EQ(move("bob", target()), MoveRefusal::kNotSettled);
}

}  // namespace
}  // namespace confab::test
