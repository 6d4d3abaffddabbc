// The receive side of a room with real senders: Opus with in-band FEC under loss, Opus DTX,
// G.711 with RFC 3389 comfort noise, and packetizations other than 20 ms. Every check is on the
// audio a listener decodes from what the room sent it (plus the talker's counters).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <numbers>
#include <optional>
#include <vector>

#include "mixer/codec/G711.hpp"
#include "mixer/codec/Opus.hpp"
#include "mixer/codec/OpusPacket.hpp"
#include "mixer/room/Room.hpp"
#include "mixer/rtp/RtpPacket.hpp"
#include "tests/unit/mixer/AudioTestSupport.hpp"

namespace confab::mixer {
namespace {

constexpr uint8_t kOpusPt = 111;
constexpr uint8_t kPcmuPt = 0;
constexpr uint8_t kCnPt = 13;

// A phone sending RTP the way real ones do: ptime of 10..60 ms, Opus with in-band FEC or DTX
// (packets of 2 bytes or less are not sent, RFC 7587 §3.1.3), RFC 3389 comfort noise, the marker
// on the first packet of each talkspurt (RFC 3551 §4.1).
class Sender {
 public:
  struct Options {
    Codec codec = Codec::kOpus;
    int ptimeMs = 20;
    bool fec = false;
    bool dtx = false;
  };

  explicit Sender(Options options) : options_(options), rate_(pcmRate(options.codec)) {
    if (options.codec == Codec::kOpus) {
      codec::OpusEncoderConfig config;
      config.inbandFec = options.fec;
      config.packetLossPercent = options.fec ? 10 : 0;
      config.dtx = options.dtx;
      opus_.emplace(config);
    }
  }

  // The next 20 ms of captured audio; returns the packets it completes (none, one or two).
  std::vector<std::vector<uint8_t>> capture(std::span<const int16_t> pcm) {
    pending_.insert(pending_.end(), pcm.begin(), pcm.end());
    std::vector<std::vector<uint8_t>> out;
    const auto packetSamples = static_cast<std::size_t>(rate_ / 1000 * options_.ptimeMs);
    while (pending_.size() >= packetSamples) {
      std::span<const int16_t> audio = std::span<const int16_t>(pending_).first(packetSamples);
      std::vector<uint8_t> payload(1500);
      if (opus_) {
        payload.resize(opus_->encode(audio, payload).value());
      } else {
        payload.resize(codec::mulaw::encode(audio, payload));
      }
      if (options_.dtx && payload.size() <= 2) {
        ++skipped;
        silent_ = true;
      } else {
        out.push_back(packet(kPt(), payload, silent_));
        silent_ = false;
      }
      timestamp_ += static_cast<uint32_t>(packetSamples);
      pending_.erase(pending_.begin(),
                     pending_.begin() + static_cast<std::ptrdiff_t>(packetSamples));
    }
    return out;
  }

  // RFC 3389: a CN packet (level in -dBov) at the current time; the caller then stops capturing
  // until speech resumes, and calls skip() for the time that passed.
  std::vector<uint8_t> comfortNoise(uint8_t level) {
    silent_ = true;
    return packet(kCnPt, std::vector<uint8_t>{level}, false);
  }
  void skip(int ms) { timestamp_ += static_cast<uint32_t>(rate_ / 1000 * ms); }

  int skipped = 0;

 private:
  uint8_t kPt() const { return options_.codec == Codec::kOpus ? kOpusPt : kPcmuPt; }

  std::vector<uint8_t> packet(uint8_t pt, std::span<const uint8_t> payload, bool marker) {
    rtp::RtpHeader h;
    h.payloadType = pt;
    h.marker = marker;
    h.sequenceNumber = sequence_++;
    h.timestamp = timestamp_;
    h.ssrc = 0x5E4D;
    std::vector<uint8_t> bytes(1600);
    bytes.resize(rtp::writeRtpPacket(bytes, h, payload));
    return bytes;
  }

  Options options_;
  int rate_;
  std::optional<codec::OpusEncoder> opus_;
  std::vector<int16_t> pending_;
  uint16_t sequence_ = 7;
  uint32_t timestamp_ = 123456;
  bool silent_ = true;  // the first packet starts a talkspurt
};

// The listener: a G.711 phone that decodes everything the room sends it.
class Listener final : public Room::Sink {
 public:
  void onRtp(ParticipantId to, std::span<const uint8_t> bytes) override {
    if (to != id) {
      return;
    }
    std::vector<uint8_t> copy(bytes.begin(), bytes.end());
    auto packet = rtp::RtpPacket::parse(copy);
    ASSERT_TRUE(packet);
    std::vector<int16_t> pcm(packet->payload().size());
    codec::mulaw::decode(packet->payload(), pcm);
    heard.insert(heard.end(), pcm.begin(), pcm.end());
  }
  void onDtmf(ParticipantId /*from*/, char /*digit*/) override {}
  void onTalking(ParticipantId /*who*/, bool talking) override { talkingEvents.push_back(talking); }

  ParticipantId id = 0;
  std::vector<int16_t> heard;  // 8 kHz
  std::vector<bool> talkingEvents;
};

ParticipantSettings settingsFor(Codec codec, uint32_t ssrc) {
  ParticipantSettings s;
  s.codec = codec;
  s.payloadType = codec == Codec::kOpus ? kOpusPt : kPcmuPt;
  s.ssrc = ssrc;
  return s;
}

// How cleanly pcm (8 kHz) is one steady sine at frequency: the best-fitting sine of that
// frequency over the whole stretch against what is left, in dB. A gap, a click or a phase jump
// anywhere lowers it; G.711 alone stays above 30 dB.
double sineFitSnrDb(std::span<const int16_t> pcm, double frequency, int rate) {
  const double w = 2.0 * std::numbers::pi * frequency / rate;
  double c = 0.0;
  double s = 0.0;
  for (std::size_t i = 0; i < pcm.size(); ++i) {
    c += pcm[i] * std::cos(w * static_cast<double>(i));
    s += pcm[i] * std::sin(w * static_cast<double>(i));
  }
  const double n = static_cast<double>(pcm.size());
  c *= 2.0 / n;
  s *= 2.0 / n;
  double signal = 0.0;
  double noise = 0.0;
  for (std::size_t i = 0; i < pcm.size(); ++i) {
    const double fit =
        c * std::cos(w * static_cast<double>(i)) + s * std::sin(w * static_cast<double>(i));
    signal += fit * fit;
    noise += (pcm[i] - fit) * (pcm[i] - fit);
  }
  return noise > 0.0 ? 10.0 * std::log10(signal / noise) : 200.0;
}

// Level of each 20 ms frame, dBov.
std::vector<double> frameLevels(std::span<const int16_t> pcm, std::size_t frame = 160) {
  std::vector<double> levels;
  for (std::size_t at = 0; at + frame <= pcm.size(); at += frame) {
    levels.push_back(test::rmsDbov(pcm.subspan(at, frame)));
  }
  return levels;
}

// A 1 kHz tone whose loudness rises and falls three times a second, like syllables. A steady tone
// would do for packetization, but not for FEC: SILK's voice activity detector soon takes a
// steady tone for background noise, and libopus codes LBRR only for active speech frames.
class SyllabicTone {
 public:
  explicit SyllabicTone(int rate) : rate_(rate) {}
  void fill(std::span<int16_t> out) {
    for (auto& sample : out) {
      const double t = static_cast<double>(n_++) / rate_;
      const double envelope = 0.55 + 0.45 * std::sin(2.0 * std::numbers::pi * 3.0 * t);
      sample = static_cast<int16_t>(
          std::lround(8000.0 * envelope * std::sin(2.0 * std::numbers::pi * 1000.0 * t)));
    }
  }

 private:
  int rate_;
  uint64_t n_ = 0;
};

struct ToneRun {
  std::vector<int16_t> heard;
  ParticipantStats talker;
  int lost = 0;
};

// A talker sends a 1 kHz tone for `ticks` ticks through a room to a G.711 listener; packets whose
// index `drop` says are lost on the way.
template <typename Drop>
ToneRun sendTone(Sender::Options options, int ticks, Drop drop, bool syllabic = false) {
  Listener listener;
  Room room(RoomSettings{}, listener);
  const ParticipantId talker = room.add(settingsFor(options.codec, 1));
  listener.id = room.add(settingsFor(Codec::kPcmu, 2));
  Sender sender(options);
  test::SineGenerator tone(1000.0, 8000.0, pcmRate(options.codec));
  SyllabicTone syllables(pcmRate(options.codec));
  std::vector<int16_t> pcm(frameSamples(options.codec));
  ToneRun run;
  int index = 0;
  for (int tick = 0; tick < ticks; ++tick) {
    if (syllabic) {
      syllables.fill(pcm);
    } else {
      tone.fill(pcm);
    }
    for (auto& packet : sender.capture(pcm)) {
      if (drop(index++)) {
        ++run.lost;
      } else {
        room.receive(talker, packet);
      }
    }
    room.tick();
  }
  run.heard = listener.heard;
  run.talker = *room.stats(talker);
  return run;
}

// What loss did to a run: the same run without loss is the reference (same codec settings, same
// delays), so everything that differs is damage. Whole-run SNR, and 20 ms frames damaged
// (their own SNR under 10 dB).
struct Damage {
  double snrDb;
  int badFrames;
};

Damage damage(std::span<const int16_t> reference, std::span<const int16_t> lossy) {
  Damage d{test::snrDb(reference, lossy), 0};
  for (std::size_t at = 0; at + 160 <= reference.size(); at += 160) {
    d.badFrames += test::snrDb(reference.subspan(at, 160), lossy.subspan(at, 160)) < 10.0 ? 1 : 0;
  }
  return d;
}

TEST(MixerRoomReceive, OpusInbandFecBeatsConcealmentUnderLoss) {
  // About 11 % of packets lost (15 % drawn, never two in a row), the same ones in both runs. The
  // loss starts after 3 s, once the jitter buffer has settled (it shrinks once, at 2 s), so the
  // lossy runs and the loss-free references keep the same delay throughout.
  const auto drop = [](int i) {
    const auto lost = [](int k) {
      return k >= 150 && ((static_cast<uint32_t>(k) * 2654435761U) >> 16) % 100 < 15;
    };
    return lost(i) && !lost(i - 1);
  };
  const auto never = [](int) { return false; };
  const int ticks = 650;  // 13 s, 10 of them lossy
  const ToneRun fec = sendTone({Codec::kOpus, 20, true, false}, ticks, drop, true);
  const ToneRun fecReference = sendTone({Codec::kOpus, 20, true, false}, ticks, never, true);
  const ToneRun plc = sendTone({Codec::kOpus, 20, false, false}, ticks, drop, true);
  const ToneRun plcReference = sendTone({Codec::kOpus, 20, false, false}, ticks, never, true);
  EXPECT_GE(fec.lost, 50);  // 11 % of the 500 lossy packets
  EXPECT_EQ(fec.lost, plc.lost);

  const auto lossy = [](const ToneRun& r) { return std::span<const int16_t>(r.heard).last(80000); };
  const Damage withFec = damage(lossy(fecReference), lossy(fec));
  const Damage withPlc = damage(lossy(plcReference), lossy(plc));
  std::printf(
      "1 kHz syllabic Opus, %d of %d packets lost singly: against the loss-free run, "
      "FEC %.1f dB SNR and %d damaged frames (%lu recovered from LBRR, %lu concealed), "
      "plain PLC %.1f dB and %d damaged frames\n",
      fec.lost, ticks, withFec.snrDb, withFec.badFrames,
      static_cast<unsigned long>(fec.talker.framesRecoveredFec),
      static_cast<unsigned long>(fec.talker.framesConcealed), withPlc.snrDb, withPlc.badFrames);
  EXPECT_GT(withFec.snrDb, withPlc.snrDb + 3.0);
  EXPECT_LT(withFec.badFrames, withPlc.badFrames / 2);

  // Each loss was either recovered from the next packet's LBRR or (where the encoder put none:
  // it codes LBRR only for active speech) concealed; without FEC all were concealed.
  EXPECT_EQ(fec.talker.framesLost, static_cast<uint64_t>(fec.lost));
  EXPECT_EQ(fec.talker.framesRecoveredFec + fec.talker.framesConcealed,
            static_cast<uint64_t>(fec.lost));
  EXPECT_GT(fec.talker.framesRecoveredFec, fec.talker.framesConcealed);
  EXPECT_EQ(plc.talker.framesRecoveredFec, 0U);
  EXPECT_EQ(plc.talker.framesConcealed, static_cast<uint64_t>(plc.lost));
  EXPECT_TRUE(fec.talker.talking);
  EXPECT_EQ(fec.talker.packetsLate, 0U);
}

TEST(MixerRoomReceive, FecRecoversOnlyTheFrameBeforeTheNextPacket) {
  // Two packets lost in a row, ten times: LBRR in the packet after the pair covers only the
  // second of them; the first is concealed. (With the jitter buffer down to 20 ms the first one
  // is due before anything newer has come: it is played as concealment of a silent sender and
  // counted as lost once the next packet shows its sequence number was skipped.)
  const auto drop = [](int i) { return i >= 150 && i < 650 && (i % 50 == 0 || i % 50 == 1); };
  const ToneRun run = sendTone({Codec::kOpus, 20, true, false}, 700, drop, true);
  EXPECT_EQ(run.lost, 20);
  EXPECT_EQ(run.talker.framesLost, 20U);
  EXPECT_EQ(run.talker.framesRecoveredFec + run.talker.framesConcealed, 20U);
  EXPECT_LE(run.talker.framesRecoveredFec, 10U);
  EXPECT_GE(run.talker.framesConcealed, 10U);
  EXPECT_EQ(run.talker.framesComfortNoise, 0U);
}

TEST(MixerRoomReceive, WhatWeSendOpusListenersCarriesFec) {
  // Our own encoders add in-band FEC by default (codec::kDefaultFecLossPercent): an Opus
  // listener hearing a talker gets LBRR in most packets, so it can recover a lost one.
  class LbrrCounter final : public Room::Sink {
   public:
    void onRtp(ParticipantId to, std::span<const uint8_t> bytes) override {
      if (to != id) {
        return;
      }
      std::vector<uint8_t> copy(bytes.begin(), bytes.end());
      auto packet = rtp::RtpPacket::parse(copy);
      ASSERT_TRUE(packet);
      ++packets;
      withLbrr += codec::opusHasLbrr(packet->payload()) ? 1 : 0;
    }
    void onDtmf(ParticipantId /*from*/, char /*digit*/) override {}
    ParticipantId id = 0;
    int packets = 0;
    int withLbrr = 0;
  } sink;
  Room room(RoomSettings{}, sink);
  const ParticipantId talker = room.add(settingsFor(Codec::kOpus, 1));
  sink.id = room.add(settingsFor(Codec::kOpus, 2));
  Sender sender({Codec::kOpus, 20, false, false});
  SyllabicTone tone(48000);
  std::vector<int16_t> pcm(960);
  for (int tick = 0; tick < 150; ++tick) {
    tone.fill(pcm);
    for (auto& packet : sender.capture(pcm)) {
      room.receive(talker, packet);
    }
    room.tick();
  }
  EXPECT_EQ(sink.packets, 150);
  EXPECT_GT(sink.withLbrr, 75) << sink.withLbrr << " of " << sink.packets;
  std::printf("sent to an Opus listener: %d of %d packets carry LBRR\n", sink.withLbrr,
              sink.packets);
}

// Counts, per participant, the packets sent to them, those carrying LBRR and those in CELT mode.
class OpusModeByListener final : public Room::Sink {
 public:
  void onRtp(ParticipantId to, std::span<const uint8_t> bytes) override {
    std::vector<uint8_t> copy(bytes.begin(), bytes.end());
    auto packet = rtp::RtpPacket::parse(copy);
    ASSERT_TRUE(packet);
    ASSERT_FALSE(packet->payload().empty());
    ++packets[to];
    withLbrr[to] += codec::opusHasLbrr(packet->payload()) ? 1 : 0;
    celt[to] += codec::parseToc(packet->payload()[0]).mode() == codec::OpusMode::Celt ? 1 : 0;
  }
  void onDtmf(ParticipantId /*from*/, char /*digit*/) override {}
  void clear() {
    packets.clear();
    withLbrr.clear();
    celt.clear();
  }
  std::map<ParticipantId, int> packets;
  std::map<ParticipantId, int> withLbrr;
  std::map<ParticipantId, int> celt;
};

ParticipantSettings opusWithFec(uint32_t ssrc, bool fec) {
  ParticipantSettings s = settingsFor(Codec::kOpus, ssrc);
  s.opusFec = fec;
  return s;
}

TEST(MixerRoomReceive, FecInWhatWeSendFollowsEachListenersUseinbandfec) {
  // RFC 7587 §6.1: one listener asked for FEC, one did not. Each gets what it asked for, in one
  // room: LBRR for the one (VOIP mode), the cheaper CELT-only mix for the other. The talkers' own
  // N-1 mixes are CELT only whatever they asked (RoomSettings::talkerOpusCeltOnly).
  OpusModeByListener sink;
  Room room(RoomSettings{}, sink);
  const ParticipantId talker = room.add(opusWithFec(1, false));
  const ParticipantId other = room.add(opusWithFec(4, true));  // a second talker, asking for FEC
  const ParticipantId wants = room.add(opusWithFec(2, true));
  const ParticipantId refuses = room.add(opusWithFec(3, false));
  Sender sender({Codec::kOpus, 20, false, false});
  Sender otherSender({Codec::kOpus, 20, false, false});
  SyllabicTone tone(48000);
  SyllabicTone otherTone(48000);
  std::vector<int16_t> pcm(960);
  auto talk = [&](int ticks, bool both) {
    for (int tick = 0; tick < ticks; ++tick) {
      tone.fill(pcm);
      for (auto& packet : sender.capture(pcm)) {
        room.receive(talker, packet);
      }
      if (both) {
        otherTone.fill(pcm);
        for (auto& packet : otherSender.capture(pcm)) {
          room.receive(other, packet);
        }
      }
      room.tick();
    }
  };
  talk(150, true);
  EXPECT_GT(sink.withLbrr[wants], 75) << "the listener that asked for FEC";
  EXPECT_EQ(sink.celt[wants], 0);
  EXPECT_EQ(sink.withLbrr[refuses], 0) << "the listener that did not";
  EXPECT_EQ(sink.celt[refuses], 150);
  EXPECT_EQ(sink.withLbrr[talker], 0) << "the talker's own mix";
  EXPECT_EQ(sink.withLbrr[other], 0) << "the other talker's own mix, CELT only though it asked";
  EXPECT_GT(sink.celt[other], 100);
  EXPECT_EQ(sink.packets[refuses], 150);
  // A re-INVITE that changes their mind applies in place.
  ASSERT_TRUE(room.update(refuses, opusWithFec(3, true)));
  sink.clear();
  talk(50, false);
  EXPECT_GT(sink.withLbrr[refuses], 20);
  EXPECT_EQ(sink.celt[refuses], 0);
}

TEST(MixerRoomReceive, FecFollowsTheLossAListenerReports) {
  // A listener that takes FEC gets it until a report shows a clean path, then the CELT-only mix;
  // a report with loss brings FEC back at once, and it stays for Room::kFecHoldTicks after the
  // last lossy report, whatever clean reports come meanwhile.
  OpusModeByListener sink;
  Room room(RoomSettings{}, sink);
  const ParticipantId talker = room.add(opusWithFec(1, false));
  const ParticipantId listener = room.add(opusWithFec(2, true));
  const ParticipantId refuses = room.add(opusWithFec(3, false));
  Sender sender({Codec::kOpus, 20, false, false});
  SyllabicTone tone(48000);
  std::vector<int16_t> pcm(960);
  auto talk = [&](int ticks) {
    sink.clear();
    for (int tick = 0; tick < ticks; ++tick) {
      tone.fill(pcm);
      for (auto& packet : sender.capture(pcm)) {
        room.receive(talker, packet);
      }
      room.tick();
    }
  };
  talk(100);
  EXPECT_GT(sink.withLbrr[listener], 50) << "no report yet: FEC";
  room.lossReported(listener, 0);
  talk(100);
  EXPECT_EQ(sink.withLbrr[listener], 0) << "a clean path";
  EXPECT_EQ(sink.celt[listener], 100);
  room.lossReported(listener, 13);  // 5 %
  talk(100);
  EXPECT_GT(sink.withLbrr[listener], 50) << "loss reported";
  EXPECT_EQ(sink.celt[listener], 0);
  room.lossReported(listener, Room::kLossyFraction - 1);  // under the threshold
  talk(static_cast<int>(Room::kFecHoldTicks) - 150);
  EXPECT_EQ(sink.celt[listener], 0) << "held after the last lossy report";
  talk(100);
  EXPECT_GT(sink.celt[listener], 40) << "the hold ran out";
  EXPECT_EQ(sink.packets[listener], 100);
  // A listener who refused FEC never gets it, whatever they report.
  room.lossReported(refuses, 255);
  talk(50);
  EXPECT_EQ(sink.withLbrr[refuses], 0);
  EXPECT_EQ(sink.celt[refuses], 50);
  // An unknown participant is ignored.
  room.lossReported(999, 255);
}

TEST(MixerRoomReceive, TheOldEncodingsStayAvailableBySetting) {
  // talkerOpusCeltOnly and plainListenerOpusCeltOnly false: the VOIP encoder everywhere, as before
  // (a hybrid or SILK mix), with FEC for the talker who asked for it.
  OpusModeByListener sink;
  RoomSettings settings;
  settings.talkerOpusCeltOnly = false;
  settings.plainListenerOpusCeltOnly = false;
  Room room(settings, sink);
  const ParticipantId talker = room.add(opusWithFec(1, true));
  const ParticipantId other = room.add(opusWithFec(4, true));
  const ParticipantId refuses = room.add(opusWithFec(3, false));
  Sender sender({Codec::kOpus, 20, false, false});
  Sender otherSender({Codec::kOpus, 20, false, false});
  SyllabicTone tone(48000);
  SyllabicTone otherTone(48000);
  std::vector<int16_t> pcm(960);
  for (int tick = 0; tick < 150; ++tick) {
    tone.fill(pcm);
    for (auto& packet : sender.capture(pcm)) {
      room.receive(talker, packet);
    }
    otherTone.fill(pcm);
    for (auto& packet : otherSender.capture(pcm)) {
      room.receive(other, packet);
    }
    room.tick();
  }
  EXPECT_GT(sink.withLbrr[talker], 40) << "the talker's own mix, VOIP with FEC";
  EXPECT_LT(sink.celt[refuses], 20) << "the listener without FEC, VOIP";
  EXPECT_EQ(sink.withLbrr[refuses], 0);
}

TEST(MixerRoomReceive, OtherPacketizationsPlayAsOneContinuousTone) {
  struct Case {
    Codec codec;
    int ptimeMs;
  };
  for (const Case c : {Case{Codec::kPcmu, 10}, Case{Codec::kPcmu, 30}, Case{Codec::kPcmu, 40},
                       Case{Codec::kPcmu, 60}, Case{Codec::kOpus, 40}, Case{Codec::kOpus, 60},
                       Case{Codec::kOpus, 10}, Case{Codec::kPcmu, 20}}) {
    SCOPED_TRACE(testing::Message()
                 << (c.codec == Codec::kOpus ? "opus " : "pcmu ") << c.ptimeMs << " ms");
    const ToneRun run =
        sendTone({c.codec, c.ptimeMs, false, false}, 250, [](int) { return false; });
    // The last 3 s: one steady tone, no gap, no click, every 20 ms frame at the same level.
    const auto tail = std::span<const int16_t>(run.heard).last(24000);
    const double snr = sineFitSnrDb(tail, 1000.0, 8000);
    EXPECT_GT(snr, c.codec == Codec::kOpus ? 22.0 : 28.0);
    EXPECT_TRUE(test::hasTone(tail, 1000.0, 8000, -0.5));
    const auto levels = frameLevels(tail);
    const auto [quietest, loudest] = std::minmax_element(levels.begin(), levels.end());
    EXPECT_LT(*loudest - *quietest, 1.0) << "quietest frame " << *quietest;
    EXPECT_EQ(run.talker.framesLost, 0U);
    EXPECT_EQ(run.talker.framesConcealed, 0U);
    EXPECT_EQ(run.talker.packetsMalformed, 0U);
    EXPECT_EQ(run.talker.packetsDuplicate, 0U);
    EXPECT_EQ(run.talker.packetsLate, 0U);
    EXPECT_TRUE(run.talker.talking);
    std::printf("%s %d ms: SNR %.1f dB, frame levels %.2f..%.2f dBov, delay %u ms\n",
                c.codec == Codec::kOpus ? "opus" : "pcmu", c.ptimeMs, snr, *quietest, *loudest,
                run.talker.jitterDelayMs);
  }
}

// Low background noise, about -60 dBov: what a quiet room sounds like between words.
void backgroundNoise(std::span<int16_t> out, uint32_t& seed) {
  for (auto& sample : out) {
    seed = seed * 1664525U + 1013904223U;
    sample = static_cast<int16_t>(static_cast<int>(seed >> 26) - 32);
  }
}

TEST(MixerRoomReceive, OpusDtxSilenceIsNeitherLossNorTalk) {
  // 1.5 s of syllabic tone, 3 s of background noise (the encoder goes DTX: a packet every
  // 400 ms), 1 s of tone again. (A steady tone would not do: libopus's own voice activity
  // detector soon calls it background and goes DTX in the middle of it.)
  Listener listener;
  Room room(RoomSettings{}, listener);
  const ParticipantId talker = room.add(settingsFor(Codec::kOpus, 1));
  listener.id = room.add(settingsFor(Codec::kPcmu, 2));
  Sender sender({Codec::kOpus, 20, true, true});
  SyllabicTone tone(48000);
  std::vector<int16_t> pcm(960);
  uint32_t seed = 1;
  int sent = 0;
  uint32_t maxDelayMs = 0;
  std::vector<bool> talking;
  for (int tick = 0; tick < 275; ++tick) {
    if (tick < 75 || tick >= 225) {
      tone.fill(pcm);
    } else {
      backgroundNoise(pcm, seed);
    }
    for (auto& packet : sender.capture(pcm)) {
      room.receive(talker, packet);
      ++sent;
    }
    room.tick();
    talking.push_back(room.stats(talker)->talking);
    maxDelayMs = std::max(maxDelayMs, room.stats(talker)->jitterDelayMs);
  }
  const ParticipantStats& stats = *room.stats(talker);
  std::printf(
      "DTX: %d packets sent, %d not sent; %lu frames of comfort noise, %lu concealed, "
      "jitter delay at most %u ms\n",
      sent, sender.skipped, static_cast<unsigned long>(stats.framesComfortNoise),
      static_cast<unsigned long>(stats.framesConcealed), maxDelayMs);
  EXPECT_GE(sender.skipped, 120);  // most of the 150 silent frames were never sent
  // The gaps were silence: nothing concealed as lost, nothing late, the delay stayed put.
  EXPECT_EQ(stats.framesLost, 0U);
  EXPECT_EQ(stats.framesConcealed, 0U);
  EXPECT_EQ(stats.framesRecoveredFec, 0U);
  EXPECT_EQ(stats.packetsLate, 0U);
  EXPECT_LE(maxDelayMs, 40U);
  // Talking through the tone, not through the silence, and talking again when the tone is back.
  EXPECT_TRUE(talking[70]);
  EXPECT_TRUE(std::none_of(talking.begin() + 100, talking.begin() + 225, [](bool t) { return t; }));
  EXPECT_TRUE(talking.back());
  EXPECT_EQ(listener.talkingEvents, (std::vector<bool>{true, false, true}));
  // The listener heard the tone, then (past the hangover) silence, then the tone again.
  const auto heard = std::span<const int16_t>(listener.heard);
  EXPECT_TRUE(test::hasTone(heard.subspan(50 * 160, 20 * 160), 1000.0, 8000, -3.0));
  EXPECT_LT(test::rmsDbov(heard.subspan(110 * 160, 110 * 160)), -55.0);
  EXPECT_TRUE(test::hasTone(heard.last(30 * 160), 1000.0, 8000, -3.0));
}

TEST(MixerRoomReceive, G711ComfortNoiseIsPlayedNotDecoded) {
  // 1 s of tone; then RFC 3389: a CN packet at -50 dBov, nothing for 1 s, an update, nothing for
  // 1 s; then the tone again (its first packet marked).
  for (const bool negotiated : {true, false}) {
    SCOPED_TRACE(negotiated ? "CN negotiated" : "CN not negotiated");
    Listener listener;
    Room room(RoomSettings{}, listener);
    ParticipantSettings talkerSettings = settingsFor(Codec::kPcmu, 1);
    if (negotiated) {
      talkerSettings.comfortNoisePayloadType = kCnPt;
    }
    const ParticipantId talker = room.add(talkerSettings);
    listener.id = room.add(settingsFor(Codec::kPcmu, 2));
    Sender sender({Codec::kPcmu, 20, false, false});
    test::SineGenerator tone(1000.0, 8000.0, 8000);
    std::vector<int16_t> pcm(160);
    std::vector<bool> talking;
    for (int tick = 0; tick < 200; ++tick) {
      if (tick < 50 || tick >= 150) {
        tone.fill(pcm);
        for (auto& packet : sender.capture(pcm)) {
          room.receive(talker, packet);
        }
      } else {
        if (tick == 50 || tick == 100) {
          auto cn = sender.comfortNoise(50);
          room.receive(talker, cn);
        }
        sender.skip(20);
      }
      room.tick();
      talking.push_back(room.stats(talker)->talking);
    }
    const ParticipantStats& stats = *room.stats(talker);
    EXPECT_EQ(stats.framesLost, 0U);
    EXPECT_EQ(stats.framesConcealed, 0U);
    EXPECT_EQ(stats.packetsLate, 0U);
    // The tone (all but what the jitter buffer still holds), never the CN packets; a quiet
    // listener's every other frame is taken out undecoded until they talk again.
    EXPECT_LE(stats.framesDecoded + stats.framesSkippedQuiet, 100U);
    EXPECT_GE(stats.framesDecoded + stats.framesSkippedQuiet, 97U);
    EXPECT_LE(stats.framesSkippedQuiet, 3U);
    EXPECT_EQ(stats.packetsMalformed, negotiated ? 0U : 2U);
    EXPECT_TRUE(talking[45]);
    EXPECT_TRUE(
        std::none_of(talking.begin() + 75, talking.begin() + 150, [](bool t) { return t; }));
    EXPECT_TRUE(talking.back());
    EXPECT_EQ(listener.talkingEvents, (std::vector<bool>{true, false, true}));

    // While the talker's hangover lasts the listener hears the noise the sender described; then
    // silence (they are no longer mixed); never a tone.
    const auto levels = frameLevels(listener.heard);
    int noiseFrames = 0;
    for (std::size_t f = 52; f < 75; ++f) {
      noiseFrames += std::abs(levels[f] + 50.0) < 2.0 ? 1 : 0;
    }
    const auto pause = std::span<const int16_t>(listener.heard).subspan(52 * 160, 98 * 160);
    EXPECT_LT(test::toneDbov(pause, 1000.0, 8000), -50.0);
    EXPECT_LT(test::rmsDbov(pause.last(60 * 160)), -70.0);
    if (negotiated) {
      std::printf("CN at -50 dBov: %d frames of noise heard at -50 +- 2 dBov, %lu generated\n",
                  noiseFrames, static_cast<unsigned long>(stats.framesComfortNoise));
      EXPECT_GE(noiseFrames, 8);
      EXPECT_GE(stats.framesComfortNoise, 8U);
    } else {
      EXPECT_EQ(noiseFrames, 0);
    }
    EXPECT_TRUE(
        test::hasTone(std::span<const int16_t>(listener.heard).last(30 * 160), 1000.0, 8000, -1.0));
  }
}

}  // namespace
}  // namespace confab::mixer
