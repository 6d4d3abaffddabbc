// A room with a recording tap and a playback from a real file: phones send tones as real RTP,
// the checks are on what the recording got and what the phones decoded.
#include <gtest/gtest.h>

#include <map>
#include <vector>

#include "mixer/media/Playback.hpp"
#include "mixer/media/WavFile.hpp"
#include "mixer/room/Room.hpp"
#include "mixer/rtp/RtpPacket.hpp"
#include "tests/unit/mixer/AudioTestSupport.hpp"
#include "tests/unit/mixer/media/TempDir.hpp"

namespace confab::mixer {
namespace {

// One participant's device: sends a tone (or silence) and decodes what it receives.
class Phone {
 public:
  Phone(Codec codec, double toneHz, uint32_t ssrc)
      : codec_(codec),
        encoder_(codec),
        decoder_(codec),
        tone_(toneHz, toneHz > 0 ? 8000.0 : 0.0, pcmRate(codec)),
        ssrc_(ssrc) {}

  std::vector<uint8_t> nextPacket() {
    std::vector<int16_t> pcm(frameSamples(codec_));
    tone_.fill(pcm);
    std::vector<uint8_t> payload(kMaxEncodedBytes);
    payload.resize(encoder_.encode(pcm, payload));
    rtp::RtpHeader h;
    h.payloadType = payloadType();
    h.sequenceNumber = seq_++;
    h.timestamp = ts_;
    h.ssrc = ssrc_;
    ts_ += static_cast<uint32_t>(frameSamples(codec_));
    std::vector<uint8_t> packet(1500);
    packet.resize(rtp::writeRtpPacket(packet, h, payload));
    return packet;
  }
  void hear(std::span<const uint8_t> bytes) {
    std::vector<uint8_t> copy(bytes.begin(), bytes.end());
    auto packet = rtp::RtpPacket::parse(copy);
    ASSERT_TRUE(packet);
    std::vector<int16_t> pcm(frameSamples(codec_));
    ASSERT_TRUE(decoder_.decode(packet->payload(), pcm));
    heard.insert(heard.end(), pcm.begin(), pcm.end());
  }
  std::span<const int16_t> recent(std::size_t frames) const {
    const std::size_t n = std::min(heard.size(), frames * frameSamples(codec_));
    return std::span<const int16_t>(heard).last(n);
  }
  [[nodiscard]] uint8_t payloadType() const { return codec_ == Codec::kOpus ? 111 : 0; }
  [[nodiscard]] Codec codec() const { return codec_; }

  std::vector<int16_t> heard;

 private:
  Codec codec_;
  AudioEncoder encoder_;
  AudioDecoder decoder_;
  test::SineGenerator tone_;
  uint32_t ssrc_;
  uint16_t seq_ = 100;
  uint32_t ts_ = 5000;
};

class PhoneSink final : public Room::Sink {
 public:
  void onRtp(ParticipantId to, std::span<const uint8_t> packet) override {
    phones.at(to)->hear(packet);
  }
  void onDtmf(ParticipantId, char) override {}
  std::map<ParticipantId, Phone*> phones;
};

// What a recording would get: every frame, with its rate.
class TapRecorder final : public Room::RecordingTap {
 public:
  void onMix(std::span<const int16_t> mix, int rate) override {
    EXPECT_EQ(mix.size(), static_cast<std::size_t>(rate / 50));
    rates.push_back(rate);
    pcm.insert(pcm.end(), mix.begin(), mix.end());
  }
  std::span<const int16_t> recent(std::size_t frames) const {
    const std::size_t n =
        std::min(pcm.size(), frames * static_cast<std::size_t>(rates.back() / 50));
    return std::span<const int16_t>(pcm).last(n);
  }
  std::vector<int> rates;
  std::vector<int16_t> pcm;
};

ParticipantId join(Room& room, PhoneSink& sink, Phone& phone, uint32_t ssrc) {
  ParticipantSettings s;
  s.codec = phone.codec();
  s.payloadType = phone.payloadType();
  s.ssrc = ssrc;
  const ParticipantId id = room.add(s);
  sink.phones[id] = &phone;
  return id;
}

void run(Room& room, PhoneSink& sink, int ticks, PlaybackReader* reader = nullptr) {
  for (int i = 0; i < ticks; ++i) {
    for (auto& [id, phone] : sink.phones) {
      auto packet = phone->nextPacket();
      room.receive(id, packet);
    }
    if (reader != nullptr) {
      reader->pump();  // the media file thread's part, by hand
    }
    room.tick();
  }
}

TEST(MixerRoomFiles, RecordingHasEveryTalkerNotAnN1Mix) {
  PhoneSink sink;
  Room room(RoomSettings{}, sink);
  TapRecorder tap;
  room.setRecordingTap(&tap);
  run(room, sink, 5);  // nobody in the room: the recording still runs, silent
  ASSERT_EQ(tap.rates.size(), 5u);
  EXPECT_EQ(test::rms(tap.pcm), 0.0);
  Phone a(Codec::kPcmu, 1000, 0xA), b(Codec::kPcmu, 1500, 0xB), c(Codec::kPcmu, 0, 0xC);
  join(room, sink, a, 1);
  join(room, sink, b, 2);
  join(room, sink, c, 3);
  run(room, sink, 100);
  ASSERT_EQ(tap.rates.size(), 105u) << "one frame per tick";
  EXPECT_EQ(tap.rates.back(), 8000);
  EXPECT_TRUE(test::hasTone(tap.recent(50), 1000, 8000, -6));
  EXPECT_TRUE(test::hasTone(tap.recent(50), 1500, 8000, -6));
  // An Opus caller joins: the room (and the tap) go to 48 kHz.
  Phone d(Codec::kOpus, 0, 0xD);
  join(room, sink, d, 4);
  run(room, sink, 50);
  EXPECT_EQ(tap.rates.back(), 48000);
  EXPECT_TRUE(test::hasTone(tap.recent(25), 1000, 48000, -6));
  EXPECT_TRUE(test::hasTone(tap.recent(25), 1500, 48000, -6));
  room.setRecordingTap(nullptr);
  run(room, sink, 3);
  EXPECT_EQ(tap.rates.size(), 155u) << "detached";
}

TEST(MixerRoomFiles, EveryoneHearsThePlaybackTalkersToo) {
  test::TempDir dir;
  const std::string path = dir.file("a440.wav");
  {
    auto writer = WavWriter::create(path, 16000);
    ASSERT_TRUE(writer);
    ASSERT_TRUE(writer->write(test::sine(440, 8000, 16000, 5 * 16000)));  // 5 s
    ASSERT_TRUE(writer->finish());
  }
  PhoneSink sink;
  Room room(RoomSettings{}, sink);
  Phone talker(Codec::kOpus, 1000, 0xA), listener(Codec::kOpus, 0, 0xB),
      narrowband(Codec::kPcmu, 0, 0xC);
  const ParticipantId t = join(room, sink, talker, 1);
  join(room, sink, listener, 2);
  join(room, sink, narrowband, 3);
  TapRecorder tap;
  room.setRecordingTap(&tap);
  auto channel = std::make_shared<PlaybackChannel>();
  PlaybackFeed feed(channel);
  PlaybackReader reader(openForPlayback(path), channel);
  room.setPlaybackSource(&feed);
  run(room, sink, 150, &reader);
  ASSERT_TRUE(room.stats(t)->talking);
  EXPECT_TRUE(test::hasTone(talker.recent(50), 440, 48000, -3)) << "a talker hears it in N-1";
  EXPECT_LT(test::toneDbov(talker.recent(50), 1000, 48000), -45.0) << "but not itself";
  EXPECT_TRUE(test::hasTone(listener.recent(50), 440, 48000, -6));
  EXPECT_TRUE(test::hasTone(listener.recent(50), 1000, 48000, -6));
  EXPECT_TRUE(test::hasTone(narrowband.recent(50), 440, 8000, -6));
  EXPECT_TRUE(test::hasTone(tap.recent(50), 440, 48000, -6)) << "and the recording has it";
  EXPECT_TRUE(test::hasTone(tap.recent(50), 1000, 48000, -6));
  // It plays its 5 s (250 ticks) and then stops on its own.
  run(room, sink, 90, &reader);
  EXPECT_FALSE(feed.finished());
  run(room, sink, 30, &reader);
  EXPECT_TRUE(feed.finished());
  EXPECT_EQ(feed.end(), MediaFileEnd::kFinished);
  EXPECT_EQ(feed.underruns(), 0u);
  run(room, sink, 50, &reader);
  EXPECT_LT(test::toneDbov(listener.recent(40), 440, 48000), -45.0);
}

TEST(MixerRoomFiles, PlaybackInAnAllG711RoomIsAt8kHz) {
  test::TempDir dir;
  const std::string path = dir.file("a440.wav");
  {
    auto writer = WavWriter::create(path, 16000);
    ASSERT_TRUE(writer);
    ASSERT_TRUE(writer->write(test::sine(440, 8000, 16000, 3 * 16000)));
    ASSERT_TRUE(writer->finish());
  }
  PhoneSink sink;
  Room room(RoomSettings{}, sink);
  Phone a(Codec::kPcma, 0, 0xA);
  join(room, sink, a, 1);
  auto channel = std::make_shared<PlaybackChannel>();
  PlaybackFeed feed(channel);
  PlaybackReader reader(openForPlayback(path), channel);
  room.setPlaybackSource(&feed);
  run(room, sink, 100, &reader);
  EXPECT_EQ(room.mixRate(), 8000);
  EXPECT_TRUE(test::hasTone(a.recent(50), 440, 8000, -1));
}

}  // namespace
}  // namespace confab::mixer
