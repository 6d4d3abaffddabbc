// A room mixing real encoded audio: phones send tones as real RTP (Opus or G.711), the room
// mixes, and each phone decodes what it got; the checks are on the decoded audio.
#include <gtest/gtest.h>

#include <map>
#include <vector>

#include "mixer/room/Room.hpp"
#include "mixer/rtp/RtpPacket.hpp"
#include "mixer/rtp/TelephoneEvent.hpp"
#include "tests/unit/mixer/AudioTestSupport.hpp"

namespace confab::mixer {
namespace {

using test::SineGenerator;

// One participant's device: sends a tone (or silence) and decodes what it receives.
class Phone {
 public:
  Phone(Codec codec, uint8_t pt, double toneHz, uint32_t ssrc)
      : codec_(codec), pt_(pt), encoder_(codec), decoder_(codec),
        tone_(toneHz, toneHz > 0 ? 8000.0 : 0.0, pcmRate(codec)), ssrc_(ssrc) {}

  // The next 20 ms of RTP from this phone.
  std::vector<uint8_t> nextPacket(std::optional<uint8_t> levelId = {}, uint8_t level = 127) {
    std::vector<int16_t> pcm(frameSamples(codec_));
    tone_.fill(pcm);
    std::vector<uint8_t> payload(kMaxEncodedBytes);
    payload.resize(encoder_.encode(pcm, payload));
    rtp::RtpHeader h;
    h.payloadType = pt_;
    h.sequenceNumber = seq_++;
    h.timestamp = ts_;
    h.ssrc = ssrc_;
    if (levelId) {
      h.audioLevelId = *levelId;
      h.audioLevel = rtp::AudioLevel{level < 127, level};
    }
    ts_ += frameTicks(codec_);
    std::vector<uint8_t> packet(1500);
    packet.resize(rtp::writeRtpPacket(packet, h, payload));
    return packet;
  }

  // From the next packet on, this tone (0: silence).
  void setTone(double toneHz) { tone_ = SineGenerator(toneHz, toneHz > 0 ? 8000.0 : 0.0, pcmRate(codec_)); }

  void hear(std::span<const uint8_t> bytes) {
    std::vector<uint8_t> copy(bytes.begin(), bytes.end());
    auto packet = rtp::RtpPacket::parse(copy);
    ASSERT_TRUE(packet);
    EXPECT_EQ(packet->payloadType(), pt_);
    std::vector<int16_t> pcm(frameSamples(codec_));
    ASSERT_TRUE(decoder_.decode(packet->payload(), pcm));
    heard.insert(heard.end(), pcm.begin(), pcm.end());
    timestamps.push_back(packet->timestamp());
    payloadBytes = packet->payload().size();
    ++packetsHeard;
  }

  // The last 'frames' frames heard (the start holds jitter-buffer delay and VAD attack).
  std::span<const int16_t> recent(std::size_t frames) const {
    const std::size_t n = std::min(heard.size(), frames * frameSamples(codec_));
    return std::span<const int16_t>(heard).last(n);
  }
  int rate() const { return pcmRate(codec_); }

  std::vector<int16_t> heard;
  std::vector<uint32_t> timestamps;  // of each packet heard
  std::size_t payloadBytes = 0;      // of the last one
  std::size_t packetsHeard = 0;

 private:
  Codec codec_;
  uint8_t pt_;
  AudioEncoder encoder_;
  AudioDecoder decoder_;
  SineGenerator tone_;
  uint32_t ssrc_;
  uint16_t seq_ = 100;
  uint32_t ts_ = 5000;
};

class RecordingSink final : public Room::Sink {
 public:
  void onRtp(ParticipantId to, std::span<const uint8_t> packet) override {
    auto it = phones.find(to);
    ASSERT_NE(it, phones.end());
    it->second->hear(packet);
  }
  void onDtmf(ParticipantId from, char digit) override { digits.emplace_back(from, digit); }
  std::map<ParticipantId, Phone*> phones;
  std::vector<std::pair<ParticipantId, char>> digits;
};

ParticipantSettings settingsFor(Codec codec, uint8_t pt, uint32_t ssrc) {
  ParticipantSettings s;
  s.codec = codec;
  s.payloadType = pt;
  s.ssrc = ssrc;
  s.telephoneEventPayloadType = 101;
  return s;
}

struct Call {
  ParticipantId id;
  Phone* phone;
};

// Runs 'ticks' ticks, each phone sending one packet first.
void run(Room& room, const std::vector<Call>& calls, int ticks) {
  for (int i = 0; i < ticks; ++i) {
    for (const auto& c : calls) {
      auto packet = c.phone->nextPacket();
      room.receive(c.id, packet);
    }
    room.tick();
  }
}

constexpr double kAbsentDbov = -45.0;

TEST(MixerRoom, EveryoneHearsEveryoneElseButNotThemselves) {
  RecordingSink sink;
  Room room(RoomSettings{}, sink);
  Phone a(Codec::kOpus, 111, 1000, 0xA), b(Codec::kOpus, 111, 1500, 0xB), c(Codec::kOpus, 111, 0, 0xC);
  Call ca{room.add(settingsFor(Codec::kOpus, 111, 0x1A)), &a};
  Call cb{room.add(settingsFor(Codec::kOpus, 111, 0x1B)), &b};
  Call cc{room.add(settingsFor(Codec::kOpus, 111, 0x1C)), &c};
  sink.phones = {{ca.id, &a}, {cb.id, &b}, {cc.id, &c}};
  run(room, {ca, cb, cc}, 100);
  EXPECT_EQ(room.mixRate(), 48000);
  EXPECT_TRUE(test::hasTone(c.recent(50), 1000, 48000, -6));
  EXPECT_TRUE(test::hasTone(c.recent(50), 1500, 48000, -6));
  EXPECT_TRUE(test::hasTone(a.recent(50), 1500, 48000, -3));
  EXPECT_LT(test::toneDbov(a.recent(50), 1000, 48000), kAbsentDbov) << "A hears itself";
  EXPECT_TRUE(test::hasTone(b.recent(50), 1000, 48000, -3));
  EXPECT_LT(test::toneDbov(b.recent(50), 1500, 48000), kAbsentDbov) << "B hears itself";
  // Two talkers encode their own N-1 mixes; the one listener gets the shared Opus mix.
  EXPECT_EQ(room.encodesLastTick(), 3u);
  EXPECT_TRUE(room.stats(ca.id)->talking);
  EXPECT_FALSE(room.stats(cc.id)->talking);
}

TEST(MixerRoom, G711AndOpusParticipantsHearEachOther) {
  RecordingSink sink;
  Room room(RoomSettings{}, sink);
  Phone a(Codec::kPcmu, 0, 1000, 0xA), b(Codec::kOpus, 111, 1500, 0xB), c(Codec::kPcma, 8, 0, 0xC);
  Call ca{room.add(settingsFor(Codec::kPcmu, 0, 0x1A)), &a};
  Call cb{room.add(settingsFor(Codec::kOpus, 111, 0x1B)), &b};
  Call cc{room.add(settingsFor(Codec::kPcma, 8, 0x1C)), &c};
  sink.phones = {{ca.id, &a}, {cb.id, &b}, {cc.id, &c}};
  run(room, {ca, cb, cc}, 100);
  EXPECT_TRUE(test::hasTone(a.recent(50), 1500, 8000, -3));
  EXPECT_LT(test::toneDbov(a.recent(50), 1000, 8000), kAbsentDbov);
  EXPECT_TRUE(test::hasTone(b.recent(50), 1000, 48000, -3));
  EXPECT_LT(test::toneDbov(b.recent(50), 1500, 48000), kAbsentDbov);
  EXPECT_TRUE(test::hasTone(c.recent(50), 1000, 8000, -6));
  EXPECT_TRUE(test::hasTone(c.recent(50), 1500, 8000, -6));
}

TEST(MixerRoom, AllG711RoomMixesAtEightKilohertz) {
  RecordingSink sink;
  Room room(RoomSettings{}, sink);
  Phone a(Codec::kPcmu, 0, 1000, 0xA), b(Codec::kPcmu, 0, 0, 0xB);
  Call ca{room.add(settingsFor(Codec::kPcmu, 0, 0x1A)), &a};
  Call cb{room.add(settingsFor(Codec::kPcmu, 0, 0x1B)), &b};
  sink.phones = {{ca.id, &a}, {cb.id, &b}};
  EXPECT_EQ(room.mixRate(), 8000);
  run(room, {ca, cb}, 50);
  EXPECT_TRUE(test::hasTone(b.recent(30), 1000, 8000, -3));
}

TEST(MixerRoom, G722RoomMixesAtSixteenKilohertzAndKeepsTheWideband) {
  RecordingSink sink;
  Room room(RoomSettings{}, sink);
  // a talks at 6 kHz (only wideband carries it), d at 1 kHz on G.711; b (G.722) and c (G.711)
  // listen.
  Phone a(Codec::kG722, 9, 6000, 0xA), b(Codec::kG722, 9, 0, 0xB), c(Codec::kPcmu, 0, 0, 0xC),
      d(Codec::kPcmu, 0, 1000, 0xD);
  Call ca{room.add(settingsFor(Codec::kG722, 9, 0x1A)), &a};
  Call cb{room.add(settingsFor(Codec::kG722, 9, 0x1B)), &b};
  Call cc{room.add(settingsFor(Codec::kPcmu, 0, 0x1C)), &c};
  Call cd{room.add(settingsFor(Codec::kPcmu, 0, 0x1D)), &d};
  sink.phones = {{ca.id, &a}, {cb.id, &b}, {cc.id, &c}, {cd.id, &d}};
  EXPECT_EQ(room.mixRate(), 16000) << "the widest participant is G.722";
  run(room, {ca, cb, cc, cd}, 100);
  // The G.722 listener hears both talkers, the 6 kHz one too.
  EXPECT_TRUE(test::hasTone(b.recent(50), 6000, 16000, -6));
  EXPECT_TRUE(test::hasTone(b.recent(50), 1000, 16000, -6));
  EXPECT_GT(test::toneDbov(b.recent(50), 6000, 16000), -24.0);
  // The G.711 listener hears the 1 kHz one; 6 kHz cannot pass 8 kHz sampling and does not fold
  // back as a 2 kHz whistle.
  EXPECT_TRUE(test::hasTone(c.recent(50), 1000, 8000, -1));
  EXPECT_LT(test::toneDbov(c.recent(50), 2000, 8000), kAbsentDbov);
  // The talkers hear each other in their N-1 mixes.
  EXPECT_TRUE(test::hasTone(a.recent(50), 1000, 16000, -1));
  EXPECT_LT(test::toneDbov(d.recent(50), 1000, 8000), kAbsentDbov) << "N-1: not themselves";
  // RFC 3551 §4.5.2: 160 bytes and 160 timestamp units per 20 ms, though 320 samples.
  EXPECT_EQ(b.payloadBytes, 160U);
  ASSERT_GE(b.timestamps.size(), 2U);
  EXPECT_EQ(b.timestamps.back() - b.timestamps[b.timestamps.size() - 2], 160U);
  // An Opus participant widens the room to 48 kHz; when they leave it narrows back.
  const ParticipantId opus = room.add(settingsFor(Codec::kOpus, 111, 0x1E));
  EXPECT_EQ(room.mixRate(), 48000);
  room.remove(opus);
  EXPECT_EQ(room.mixRate(), 16000);
  room.remove(ca.id);
  room.remove(cb.id);
  EXPECT_EQ(room.mixRate(), 8000) << "no G.722 left: no wideband to pay for";
}

TEST(MixerRoom, ListenersShareOneEncodePerCodec) {
  RecordingSink sink;
  Room room(RoomSettings{}, sink);
  std::vector<std::unique_ptr<Phone>> phones;
  std::vector<Call> calls;
  for (uint32_t i = 0; i < 10; ++i) {
    const bool talks = i < 2;
    const bool opus = i % 2 == 0;
    phones.push_back(std::make_unique<Phone>(opus ? Codec::kOpus : Codec::kPcmu,
                                             opus ? 111 : 0, talks ? 700.0 + 500.0 * i : 0.0,
                                             0x100 + i));
    calls.push_back({room.add(settingsFor(opus ? Codec::kOpus : Codec::kPcmu, opus ? 111 : 0,
                                          0x200 + i)),
                     phones.back().get()});
    sink.phones[calls.back().id] = phones.back().get();
  }
  run(room, calls, 40);
  // 2 talkers' own mixes + one shared Opus mix + one shared PCMU mix, for 10 participants.
  EXPECT_EQ(room.encodesLastTick(), 4u);
  for (const auto& p : phones) {
    EXPECT_EQ(p->packetsHeard, 40u);
  }
  EXPECT_TRUE(test::hasTone(phones[5]->recent(20), 700, 8000, -6));
  EXPECT_TRUE(test::hasTone(phones[5]->recent(20), 1200, 8000, -6));
}

TEST(MixerRoom, AtMostKLoudestAreMixed) {
  RecordingSink sink;
  RoomSettings settings;
  settings.maxTalkers = 2;
  Room room(settings, sink);
  Phone a(Codec::kOpus, 111, 600, 1), b(Codec::kOpus, 111, 900, 2), c(Codec::kOpus, 111, 1300, 3),
      d(Codec::kOpus, 111, 0, 4);
  std::vector<Call> calls = {{room.add(settingsFor(Codec::kOpus, 111, 11)), &a},
                             {room.add(settingsFor(Codec::kOpus, 111, 12)), &b},
                             {room.add(settingsFor(Codec::kOpus, 111, 13)), &c},
                             {room.add(settingsFor(Codec::kOpus, 111, 14)), &d}};
  for (const auto& c2 : calls) {
    sink.phones[c2.id] = c2.phone;
  }
  run(room, calls, 60);
  int heardTones = 0;
  for (double f : {600.0, 900.0, 1300.0}) {
    heardTones += test::toneDbov(d.recent(30), f, 48000) > -30.0 ? 1 : 0;
  }
  EXPECT_EQ(heardTones, 2);
}

TEST(MixerRoom, MutedVoiceIsNotMixed) {
  RecordingSink sink;
  Room room(RoomSettings{}, sink);
  Phone a(Codec::kOpus, 111, 1000, 1), b(Codec::kOpus, 111, 0, 2);
  Call ca{room.add(settingsFor(Codec::kOpus, 111, 11)), &a};
  Call cb{room.add(settingsFor(Codec::kOpus, 111, 12)), &b};
  sink.phones = {{ca.id, &a}, {cb.id, &b}};
  room.setControls(ca.id, Controls{.muted = true});
  run(room, {ca, cb}, 50);
  EXPECT_LT(test::toneDbov(b.recent(30), 1000, 48000), kAbsentDbov);
  room.setControls(ca.id, Controls{});
  run(room, {ca, cb}, 50);
  EXPECT_TRUE(test::hasTone(b.recent(30), 1000, 48000, -3));
}

TEST(MixerRoom, DeafParticipantHearsSilenceButIsStillHeard) {
  RecordingSink sink;
  Room room(RoomSettings{}, sink);
  Phone a(Codec::kOpus, 111, 1000, 1), b(Codec::kOpus, 111, 1500, 2);
  Call ca{room.add(settingsFor(Codec::kOpus, 111, 11)), &a};
  Call cb{room.add(settingsFor(Codec::kOpus, 111, 12)), &b};
  sink.phones = {{ca.id, &a}, {cb.id, &b}};
  room.setControls(ca.id, Controls{.deaf = true});
  run(room, {ca, cb}, 50);
  EXPECT_LT(test::rmsDbov(a.recent(30)), -50.0);
  EXPECT_TRUE(test::hasTone(b.recent(30), 1000, 48000, -3));
}

// The whole struct is applied at once: a gain set with a mute takes effect when the next
// setControls lifts the mute, and a gain of 0 silences like a mute.
TEST(MixerRoom, ControlsApplyTogetherAndGainScalesTheVoice) {
  RecordingSink sink;
  Room room(RoomSettings{}, sink);
  Phone a(Codec::kOpus, 111, 1000, 1), b(Codec::kOpus, 111, 0, 2);
  Call ca{room.add(settingsFor(Codec::kOpus, 111, 11)), &a};
  Call cb{room.add(settingsFor(Codec::kOpus, 111, 12)), &b};
  sink.phones = {{ca.id, &a}, {cb.id, &b}};
  run(room, {ca, cb}, 50);
  const double unity = test::toneDbov(b.recent(30), 1000, 48000);
  ASSERT_GT(unity, -20.0);
  EXPECT_TRUE(room.setControls(ca.id, Controls{.muted = true, .gain = 0.5F}));
  run(room, {ca, cb}, 50);
  EXPECT_LT(test::toneDbov(b.recent(30), 1000, 48000), kAbsentDbov);
  EXPECT_TRUE(room.setControls(ca.id, Controls{.gain = 0.5F}));
  run(room, {ca, cb}, 50);
  EXPECT_NEAR(test::toneDbov(b.recent(30), 1000, 48000), unity - 6.0, 1.5) << "half: -6 dB";
  EXPECT_TRUE(room.setControls(ca.id, Controls{.gain = 0.0F}));
  run(room, {ca, cb}, 50);
  EXPECT_LT(test::toneDbov(b.recent(30), 1000, 48000), kAbsentDbov);
  EXPECT_FALSE(room.setControls(999, Controls{})) << "an unknown participant";
}

TEST(MixerRoom, ForeignSsrcAndUnknownPayloadTypeChangeNothing) {
  RecordingSink sink;
  Room room(RoomSettings{}, sink);
  Phone a(Codec::kOpus, 111, 1000, 1), b(Codec::kOpus, 111, 0, 2);
  Phone stranger(Codec::kOpus, 111, 1500, 666), wrongPt(Codec::kOpus, 96, 1500, 1);
  Call ca{room.add(settingsFor(Codec::kOpus, 111, 11)), &a};
  Call cb{room.add(settingsFor(Codec::kOpus, 111, 12)), &b};
  sink.phones = {{ca.id, &a}, {cb.id, &b}};
  for (int i = 0; i < 60; ++i) {
    {
      auto pa = a.nextPacket();
      room.receive(ca.id, pa);
    }
    auto s = stranger.nextPacket();
    room.receive(ca.id, s);  // same stream, another SSRC: the RTP-bleed class
    auto w = wrongPt.nextPacket();
    room.receive(ca.id, w);
    {
      auto pb = b.nextPacket();
      room.receive(cb.id, pb);
    }
    room.tick();
  }
  EXPECT_TRUE(test::hasTone(b.recent(30), 1000, 48000, -3));
  EXPECT_LT(test::toneDbov(b.recent(30), 1500, 48000), kAbsentDbov);
  EXPECT_EQ(room.stats(ca.id)->packetsForeignSsrc, 60u);
  EXPECT_EQ(room.stats(ca.id)->packetsMalformed, 60u) << "an unnegotiated payload type";
}

TEST(MixerRoom, TelephoneEventsAreReportedNotMixed) {
  RecordingSink sink;
  Room room(RoomSettings{}, sink);
  Phone a(Codec::kOpus, 111, 0, 1), b(Codec::kOpus, 111, 0, 2);
  Call ca{room.add(settingsFor(Codec::kOpus, 111, 11)), &a};
  Call cb{room.add(settingsFor(Codec::kOpus, 111, 12)), &b};
  sink.phones = {{ca.id, &a}, {cb.id, &b}};
  // Digit 5: start with marker, two updates, three end packets (RFC 4733 §2.5.1.4).
  for (int i = 0; i < 6; ++i) {
    rtp::TelephoneEvent event{5, i >= 3, 10, static_cast<uint16_t>(160 * (i + 1))};
    std::array<uint8_t, 4> payload{};
    rtp::writeTelephoneEvent(payload, event);
    rtp::RtpHeader h;
    h.payloadType = 101;
    h.marker = i == 0;
    h.sequenceNumber = static_cast<uint16_t>(i);
    h.timestamp = 1000;
    h.ssrc = 1;
    std::vector<uint8_t> packet(64);
    packet.resize(rtp::writeRtpPacket(packet, h, payload));
    room.receive(ca.id, packet);
    {
      auto pb = b.nextPacket();
      room.receive(cb.id, pb);
    }
    room.tick();
  }
  ASSERT_EQ(sink.digits.size(), 1u);
  EXPECT_EQ(sink.digits[0], std::make_pair(ca.id, '5'));
}

TEST(MixerRoom, SenderLevelSayingSilenceIsNotDecoded) {
  RecordingSink sink;
  RoomSettings settings;
  settings.quietListenerDbov = -127.0F;  // every frame without a level is decoded
  Room room(settings, sink);
  Phone a(Codec::kOpus, 111, 0, 1), b(Codec::kOpus, 111, 0, 2);
  ParticipantSettings withLevels = settingsFor(Codec::kOpus, 111, 11);
  withLevels.audioLevelId = 1;
  Call ca{room.add(withLevels), &a};
  Call cb{room.add(settingsFor(Codec::kOpus, 111, 12)), &b};
  sink.phones = {{ca.id, &a}, {cb.id, &b}};
  for (int i = 0; i < 50; ++i) {
    auto packet = a.nextPacket(uint8_t{1}, uint8_t{127});
    room.receive(ca.id, packet);
    {
      auto pb = b.nextPacket();
      room.receive(cb.id, pb);
    }
    room.tick();
  }
  EXPECT_GT(room.stats(ca.id)->framesSkippedSilent, 40u);
  EXPECT_EQ(room.stats(ca.id)->framesDecoded, 0u);
  EXPECT_GT(room.stats(cb.id)->framesDecoded, 40u);
}

TEST(MixerRoom, QuietListenerIsDecodedEveryOtherFrameAndStillStartsTalking) {
  RecordingSink sink;
  Room room(RoomSettings{}, sink);
  Phone a(Codec::kOpus, 111, 0, 1), b(Codec::kOpus, 111, 0, 2);
  Call ca{room.add(settingsFor(Codec::kOpus, 111, 11)), &a};
  Call cb{room.add(settingsFor(Codec::kOpus, 111, 12)), &b};
  sink.phones = {{ca.id, &a}, {cb.id, &b}};
  run(room, {ca, cb}, 50);
  // Silence: about half the frames decoded, the others skipped.
  EXPECT_GT(room.stats(ca.id)->framesSkippedQuiet, 20u);
  EXPECT_GT(room.stats(ca.id)->framesDecoded, 20u);
  EXPECT_FALSE(room.stats(ca.id)->talking);
  // Then a speaks (a new phone on the same stream: same SSRC, sequence continues) and is heard.
  Phone loud(Codec::kOpus, 111, 1000, 1);
  sink.phones[ca.id] = &loud;
  for (int i = 0; i < 50; ++i) {
    auto packet = loud.nextPacket();
    // Continue a's sequence numbers and timestamps so the jitter buffer sees one stream.
    const auto seq = static_cast<uint16_t>(100 + 50 + i);
    const uint32_t ts = 5000 + static_cast<uint32_t>(960 * (50 + i));
    packet[2] = static_cast<uint8_t>(seq >> 8);
    packet[3] = static_cast<uint8_t>(seq);
    for (int k = 0; k < 4; ++k) {
      packet[4 + static_cast<std::size_t>(k)] = static_cast<uint8_t>(ts >> (24 - 8 * k));
    }
    room.receive(ca.id, packet);
    auto pb = b.nextPacket();
    room.receive(cb.id, pb);
    room.tick();
  }
  EXPECT_TRUE(room.stats(ca.id)->talking);
  EXPECT_TRUE(test::hasTone(b.recent(30), 1000, 48000, -3));
}

TEST(MixerRoom, G711IsDecodedEveryFrameEvenWhenQuiet) {
  // Decoding G.711 costs next to nothing, so a quiet G.711 participant is never skipped: their
  // first loud frame is seen on the tick it is due.
  RecordingSink sink;
  Room room(RoomSettings{}, sink);
  Phone a(Codec::kPcmu, 0, 0, 1), b(Codec::kPcma, 8, 0, 2);
  Call ca{room.add(settingsFor(Codec::kPcmu, 0, 11)), &a};
  ParticipantSettings sb = settingsFor(Codec::kPcma, 8, 12);
  Call cb{room.add(sb), &b};
  sink.phones = {{ca.id, &a}, {cb.id, &b}};
  run(room, {ca, cb}, 50);
  EXPECT_EQ(room.stats(ca.id)->framesSkippedQuiet, 0u);
  EXPECT_EQ(room.stats(cb.id)->framesSkippedQuiet, 0u);
  EXPECT_GE(room.stats(ca.id)->framesDecoded, 48u);
}

// The tick (counted from 0) at which 'phone' first heard a frame at -30 dBov or louder, or -1.
int firstLoudFrame(const Phone& phone, std::size_t frameSamples) {
  for (std::size_t i = 0; i + frameSamples <= phone.heard.size(); i += frameSamples) {
    if (test::rmsDbov(std::span<const int16_t>(phone.heard).subspan(i, frameSamples)) > -30.0) {
      return static_cast<int>(i / frameSamples);
    }
  }
  return -1;
}

TEST(MixerRoom, AVoiceStartingInAFreePlaceIsHeardOnTheTickItCame) {
  // Packets come 10 ms before each tick (the worker says so). Once the jitter buffer has seen
  // 4 s of that, a packet is played at the next tick, and a voice starting while talker places
  // are free is mixed from its first loud frame: A's first loud packet reaches B in the same tick.
  for (const Codec codec : {Codec::kPcmu, Codec::kOpus}) {
    SCOPED_TRACE(codec == Codec::kPcmu ? "pcmu" : "opus");
    const uint8_t pt = codec == Codec::kPcmu ? 0 : 111;
    RecordingSink sink;
    Room room(RoomSettings{}, sink);
    Phone a(codec, pt, 0, 1), b(codec, pt, 0, 2);
    Call ca{room.add(settingsFor(codec, pt, 11)), &a};
    Call cb{room.add(settingsFor(codec, pt, 12)), &b};
    sink.phones = {{ca.id, &a}, {cb.id, &b}};
    int startedAt = -1;
    for (int tick = 0; tick < 300; ++tick) {
      if (tick == 251) {
        a.setTone(1000);
        startedAt = tick;
      }
      for (const Call& c : {ca, cb}) {
        auto packet = c.phone->nextPacket();
        room.receive(c.id, packet, 10'000);
      }
      room.tick();
    }
    EXPECT_EQ(room.stats(ca.id)->jitterDelayMs, 0u);
    // Opus decodes a quiet participant every other tick, so its first loud frame may be seen a
    // tick late (and its look-ahead puts the tone's first 6.5 ms in the next packet).
    const int heard = firstLoudFrame(b, frameSamples(codec));
    if (codec == Codec::kPcmu) {
      EXPECT_EQ(heard, startedAt);
    } else {
      EXPECT_GE(heard, startedAt);
      EXPECT_LE(heard, startedAt + 2);
    }
    EXPECT_TRUE(room.stats(ca.id)->talking);
  }
}

TEST(MixerRoom, AClickInAFreePlaceIsOneFrameAndNeverATalker) {
  struct TalkingSink final : Room::Sink {
    void onRtp(ParticipantId to, std::span<const uint8_t> packet) override {
      if (auto it = phones.find(to); it != phones.end()) {
        it->second->hear(packet);
      }
    }
    void onDtmf(ParticipantId /*from*/, char /*digit*/) override {}
    void onTalking(ParticipantId id, bool talking) override { changes.emplace_back(id, talking); }
    std::map<ParticipantId, Phone*> phones;
    std::vector<std::pair<ParticipantId, bool>> changes;
  } sink;
  Room room(RoomSettings{}, sink);
  Phone a(Codec::kPcmu, 0, 0, 1), b(Codec::kPcmu, 0, 0, 2);
  Call ca{room.add(settingsFor(Codec::kPcmu, 0, 11)), &a};
  Call cb{room.add(settingsFor(Codec::kPcmu, 0, 12)), &b};
  sink.phones = {{ca.id, &a}, {cb.id, &b}};
  for (int tick = 0; tick < 100; ++tick) {
    a.setTone(tick == 60 ? 1000 : 0);  // one loud frame
    for (const Call& c : {ca, cb}) {
      auto packet = c.phone->nextPacket();
      room.receive(c.id, packet);
    }
    room.tick();
  }
  int loudFrames = 0;
  for (std::size_t i = 0; i + 160 <= b.heard.size(); i += 160) {
    loudFrames += test::rmsDbov(std::span<const int16_t>(b.heard).subspan(i, 160)) > -30.0 ? 1 : 0;
  }
  EXPECT_EQ(loudFrames, 1) << "the click, once";
  EXPECT_TRUE(sink.changes.empty()) << "nobody started talking";
}

TEST(MixerRoom, AStartingVoiceNeverTakesAHeldPlace) {
  // One place, held by A. C's voice starts: its first frames are not mixed over A's (the VAD's
  // attack stands), and C does not displace A (not louder by the stickiness margin).
  RecordingSink sink;
  RoomSettings settings;
  settings.maxTalkers = 1;
  Room room(settings, sink);
  Phone a(Codec::kPcmu, 0, 600, 1), b(Codec::kPcmu, 0, 0, 2), c(Codec::kPcmu, 0, 0, 3);
  Call ca{room.add(settingsFor(Codec::kPcmu, 0, 11)), &a};
  Call cb{room.add(settingsFor(Codec::kPcmu, 0, 12)), &b};
  Call cc{room.add(settingsFor(Codec::kPcmu, 0, 13)), &c};
  sink.phones = {{ca.id, &a}, {cb.id, &b}, {cc.id, &c}};
  run(room, {ca, cb, cc}, 40);
  c.setTone(1300);
  run(room, {ca, cb, cc}, 20);
  EXPECT_TRUE(test::hasTone(b.recent(20), 600, 8000, -3));
  EXPECT_LT(test::toneDbov(b.recent(20), 1300, 8000), kAbsentDbov);
}

TEST(MixerRoom, HeldParticipantGetsNothingAndCostsNoEncode) {
  RecordingSink sink;
  Room room(RoomSettings{}, sink);
  Phone a(Codec::kOpus, 111, 1000, 1), b(Codec::kOpus, 111, 1500, 2), c(Codec::kOpus, 111, 0, 3);
  Call ca{room.add(settingsFor(Codec::kOpus, 111, 11)), &a};
  Call cb{room.add(settingsFor(Codec::kOpus, 111, 12)), &b};
  Call cc{room.add(settingsFor(Codec::kOpus, 111, 13)), &c};
  sink.phones = {{ca.id, &a}, {cb.id, &b}, {cc.id, &c}};
  run(room, {ca, cb, cc}, 30);
  EXPECT_EQ(room.encodesLastTick(), 3u);  // a's N-1, b's N-1, the listeners' mix
  room.setListening(ca.id, false);
  const std::size_t heardBefore = a.packetsHeard;
  run(room, {ca, cb, cc}, 30);
  EXPECT_EQ(a.packetsHeard, heardBefore);
  EXPECT_EQ(room.encodesLastTick(), 2u);
  EXPECT_GT(test::toneDbov(c.recent(20), 1000, 48000), -30.0);  // still heard by the others
  room.setListening(ca.id, true);
  run(room, {ca, cb, cc}, 30);
  EXPECT_TRUE(test::hasTone(a.recent(20), 1500, 48000, -3));
}

TEST(MixerRoom, MutedParticipantIsNotDecoded) {
  RecordingSink sink;
  Room room(RoomSettings{}, sink);
  Phone a(Codec::kOpus, 111, 1000, 1), b(Codec::kOpus, 111, 0, 2);
  Call ca{room.add(settingsFor(Codec::kOpus, 111, 11)), &a};
  Call cb{room.add(settingsFor(Codec::kOpus, 111, 12)), &b};
  sink.phones = {{ca.id, &a}, {cb.id, &b}};
  room.setControls(ca.id, Controls{.muted = true});
  run(room, {ca, cb}, 50);
  EXPECT_EQ(room.stats(ca.id)->framesDecoded, 0u);
  EXPECT_FALSE(room.stats(ca.id)->talking);
}

TEST(MixerRoom, SpeechContinuesUnderFivePercentLoss) {
  for (Codec codec : {Codec::kOpus, Codec::kPcmu, Codec::kG722}) {
    SCOPED_TRACE(static_cast<int>(codec));
    RecordingSink sink;
    Room room(RoomSettings{}, sink);
    const uint8_t pt = codec == Codec::kOpus ? 111 : codec == Codec::kG722 ? 9 : 0;
    Phone a(codec, pt, 1000, 1), b(codec, pt, 0, 2);
    Call ca{room.add(settingsFor(codec, pt, 11)), &a};
    Call cb{room.add(settingsFor(codec, pt, 12)), &b};
    sink.phones = {{ca.id, &a}, {cb.id, &b}};
    uint32_t seed = 12345;
    int lost = 0;
    for (int i = 0; i < 250; ++i) {
      auto packet = a.nextPacket();
      seed = seed * 1103515245u + 12345u;
      if (i > 10 && (seed >> 16) % 100 < 5) {
        ++lost;  // dropped on the way
      } else {
        room.receive(ca.id, packet);
      }
      auto pb = b.nextPacket();
      room.receive(cb.id, pb);
      room.tick();
    }
    EXPECT_GE(lost, 6);
    // Concealment keeps the talker talking: the tone stays clearly audible throughout.
    EXPECT_TRUE(test::hasTone(b.recent(200), 1000, pcmRate(codec), -3));
    EXPECT_GT(test::toneDbov(b.recent(200), 1000, pcmRate(codec)), -20.0);
    EXPECT_GT(room.stats(ca.id)->framesConcealed, 0u);
    EXPECT_TRUE(room.stats(ca.id)->talking);
  }
}

TEST(MixerRoom, NoiseSuppressionQuietensASteadyHiss) {
  // A talker whose line carries steady white noise under a tone; with suppression on, the
  // listener gets the noise well below what it gets without.
  auto noiseHeard = [](bool suppress) {
    RecordingSink sink;
    Room room(RoomSettings{}, sink);
    ParticipantSettings talker = settingsFor(Codec::kPcmu, 0, 11);
    talker.noiseSuppression = suppress;
    const ParticipantId a = room.add(talker);
    Phone listener(Codec::kPcmu, 0, 0, 2);
    const ParticipantId b = room.add(settingsFor(Codec::kPcmu, 0, 12));
    sink.phones = {{b, &listener}};
    Phone dummy(Codec::kPcmu, 0, 0, 3);
    sink.phones[a] = &dummy;
    AudioEncoder encoder(Codec::kPcmu);
    test::SineGenerator tone(440, 6000, 8000);
    uint32_t seed = 99;
    for (int i = 0; i < 300; ++i) {
      std::vector<int16_t> pcm(160);
      tone.fill(pcm);
      for (auto& s : pcm) {
        seed = seed * 1664525u + 1013904223u;
        s = static_cast<int16_t>(s + static_cast<int16_t>((seed >> 20) % 2001) - 1000);
      }
      std::vector<uint8_t> payload(160);
      payload.resize(encoder.encode(pcm, payload));
      rtp::RtpHeader h;
      h.payloadType = 0;
      h.sequenceNumber = static_cast<uint16_t>(i);
      h.timestamp = static_cast<uint32_t>(i) * 160u;
      h.ssrc = 5;
      std::vector<uint8_t> packet(400);
      packet.resize(rtp::writeRtpPacket(packet, h, payload));
      room.receive(a, packet);
      auto silent = listener.nextPacket();
      room.receive(b, silent);
      room.tick();
    }
    const auto heard = listener.recent(100);
    // Noise power: everything but the tone.
    const double total = test::rms(heard);
    const double toneAmp = test::toneAmplitude(heard, 440, 8000);
    const double noise = std::sqrt(std::max(0.0, total * total - toneAmp * toneAmp / 2.0));
    EXPECT_TRUE(test::hasTone(heard, 440, 8000, -6));
    return 20.0 * std::log10(noise / 32767.0);
  };
  const double plain = noiseHeard(false);
  const double suppressed = noiseHeard(true);
  EXPECT_LT(suppressed, plain - 6.0) << "plain " << plain << " dBov, suppressed " << suppressed;
}

}  // namespace
}  // namespace confab::mixer
