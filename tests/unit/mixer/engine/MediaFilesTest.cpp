// Recording and playback through the whole in-process mixer in real time: phones over loopback
// UDP, real files in a temporary directory, events through eventFd(). Time bounds are generous:
// the machine running the tests is busy.
#include <gtest/gtest.h>
#include <poll.h>
#include <sys/stat.h>

#include <chrono>
#include <fstream>
#include <functional>
#include <thread>
#include <vector>

#include "mixer/engine/InProcessMixer.hpp"
#include "mixer/media/PcmFile.hpp"
#include "mixer/media/WavFile.hpp"
#include "tests/unit/mixer/AudioTestSupport.hpp"
#include "tests/unit/mixer/engine/LoopbackPhone.hpp"
#include "tests/unit/mixer/media/TempDir.hpp"

namespace confab::mixer {
namespace {

using Clock = std::chrono::steady_clock;

using test::LoopbackPhone;
using test::RecordingEvents;

// A phone joined to the mix.
struct Joined {
  EndpointId id;
  std::unique_ptr<LoopbackPhone> phone;
};

Joined joinPhone(InProcessMixer& mixer, MixId mix, Codec codec, double toneHz, uint32_t ssrc) {
  auto reservation = mixer.reserve();
  EXPECT_TRUE(reservation);
  const uint8_t payloadType = codec == Codec::kOpus ? 111 : 0;
  auto phone = std::make_unique<LoopbackPhone>(codec, payloadType, toneHz, reservation->rtpPort);
  EXPECT_TRUE(
      mixer.join(reservation->id, mix, test::mediaParams(codec, payloadType, ssrc, std::nullopt)));
  return {reservation->id, std::move(phone)};
}

// Real time: each phone sends a frame every 20 ms and takes what came; events are delivered.
void runFor(InProcessMixer& mixer,
            RecordingEvents& events,
            std::vector<Joined*> phones,
            std::chrono::milliseconds duration,
            const std::function<bool()>& until = {}) {
  const auto end = Clock::now() + duration;
  auto next = Clock::now();
  while (Clock::now() < end) {
    for (auto* p : phones) {
      p->phone->sendFrame();
    }
    next += std::chrono::milliseconds(20);
    std::this_thread::sleep_until(next);
    for (auto* p : phones) {
      p->phone->receiveAll();
    }
    pollfd pfd{mixer.eventFd(), POLLIN, 0};
    if (::poll(&pfd, 1, 0) == 1) {
      mixer.deliverEvents(events);
    }
    if (until && until()) {
      return;
    }
  }
}

void writeWav(const std::string& path, double hz, int rate, double seconds) {
  auto writer = WavWriter::create(path, rate);
  ASSERT_TRUE(writer);
  ASSERT_TRUE(writer->write(test::sine(hz, 8000, rate, static_cast<std::size_t>(seconds * rate))));
  ASSERT_TRUE(writer->finish());
}

TEST(MixerEngineFiles, PlaybackIsHeardByTalkerAndListenerAndEndsAfterItsDuration) {
  test::TempDir dir;
  const std::string path = dir.file("a440.wav");
  writeWav(path, 440, 16000, 2.0);
  InProcessMixer mixer(test::loopbackMixer({48000, 48199}));
  RecordingEvents events;
  const MixId mix = mixer.createMix(RoomSettings{});
  Joined talker = joinPhone(mixer, mix, Codec::kOpus, 1000, 1);
  Joined listener = joinPhone(mixer, mix, Codec::kOpus, 0, 2);
  runFor(mixer, events, {&talker, &listener},
         std::chrono::milliseconds(600));  // VAD picks the talker
  const std::size_t talkerFrom = talker.phone->heard.size();
  const std::size_t listenerFrom = listener.phone->heard.size();
  const auto started = Clock::now();
  ASSERT_TRUE(mixer.play(mix, path));
  // The flag is the control side's: set at once, not a second later with the stats.
  EXPECT_TRUE(mixer.mixStats(mix)->playing);
  runFor(mixer, events, {&talker, &listener}, std::chrono::seconds(6),
         [&] { return !events.playbacks.empty(); });
  ASSERT_EQ(events.playbacks.size(), 1u);
  EXPECT_EQ(events.playbacks[0].mix, mix);
  EXPECT_EQ(events.playbacks[0].how, MediaFileEnd::kFinished);
  const auto took = events.playbacks[0].when - started;
  EXPECT_GT(took, std::chrono::milliseconds(1800));
  EXPECT_LT(took, std::chrono::milliseconds(4500));
  EXPECT_FALSE(mixer.mixStats(mix)->playing);
  // What they heard while it played (a second of it, after the prefill and jitter delay).
  auto during = [](const LoopbackPhone& phone, std::size_t from) {
    const std::size_t start =
        std::min(phone.heard.size(), from + static_cast<std::size_t>(phone.rate() / 2));
    const std::size_t n =
        std::min(phone.heard.size() - start, static_cast<std::size_t>(phone.rate()));
    return std::span<const int16_t>(phone.heard).subspan(start, n);
  };
  EXPECT_TRUE(test::hasTone(during(*talker.phone, talkerFrom), 440, 48000, -3));
  EXPECT_LT(test::toneDbov(during(*talker.phone, talkerFrom), 1000, 48000), -45.0);
  EXPECT_TRUE(test::hasTone(during(*listener.phone, listenerFrom), 440, 48000, -6));
  EXPECT_TRUE(test::hasTone(during(*listener.phone, listenerFrom), 1000, 48000, -6));
  mixer.destroyMix(mix);
}

// A file that cannot be read fast enough (here a pipe whose writer stalls for 2 s, as a slow or
// network disk would) leaves the room without its next frames: each 20 ms the room goes without
// is counted in the mix's stats, so an operator can see it.
TEST(MixerEngineFiles, APlaybackThatFallsBehindItsFileIsCounted) {
  test::TempDir dir;
  const std::string path = dir.file("slow.wav");
  ASSERT_EQ(::mkfifo(path.c_str(), 0600), 0);
  std::thread writer([&] {
    std::ofstream out(path, std::ios::binary);  // blocks until the mixer opens it
    auto le32 = [&](uint32_t v) {
      for (int i = 0; i < 4; ++i) {
        out.put(static_cast<char>((v >> (8 * i)) & 0xFF));
      }
    };
    auto le16 = [&](uint16_t v) {
      out.put(static_cast<char>(v & 0xFF));
      out.put(static_cast<char>(v >> 8));
    };
    const uint32_t dataBytes = 30 * 8000 * 2;  // announces 30 s of 8 kHz mono
    out.write("RIFF", 4);
    le32(36 + dataBytes);
    out.write("WAVEfmt ", 8);
    le32(16);
    le16(1);
    le16(1);
    le32(8000);
    le32(16000);
    le16(2);
    le16(16);
    out.write("data", 4);
    le32(dataBytes);
    const auto second = test::sine(440, 8000, 8000, 8000);
    out.write(reinterpret_cast<const char*>(second.data()),
              static_cast<std::streamsize>(second.size() * 2));
    out.flush();
    std::this_thread::sleep_for(std::chrono::seconds(3));  // the disk stalls
  });
  InProcessMixer mixer(test::loopbackMixer({48400, 48599}));
  RecordingEvents events;
  const MixId mix = mixer.createMix(RoomSettings{});
  Joined listener = joinPhone(mixer, mix, Codec::kPcmu, 0, 2);
  ASSERT_TRUE(mixer.play(mix, path));
  EXPECT_EQ(mixer.mixStats(mix)->playbackUnderruns, 0U);
  // A second of audio plays, then about two seconds go missing: about 100 frames.
  runFor(mixer, events, {&listener}, std::chrono::milliseconds(4500),
         [&] { return mixer.mixStats(mix)->playbackUnderruns >= 50; });
  writer.join();
  EXPECT_GE(mixer.mixStats(mix)->playbackUnderruns, 50U);
  EXPECT_EQ(mixer.mixStats(mix)->recordingDrops, 0U);
  mixer.destroyMix(mix);
}

TEST(MixerEngineFiles, PlayRefusesWhatItCannotPlay) {
  test::TempDir dir;
  InProcessMixer mixer(test::loopbackMixer({48200, 48399}));
  const MixId mix = mixer.createMix(RoomSettings{});
  EXPECT_FALSE(mixer.play(mix, dir.file("missing.wav")));
  std::ofstream(dir.file("notes.txt")) << "not audio";
  EXPECT_FALSE(mixer.play(mix, dir.file("notes.txt")));
  writeWav(dir.file("ok.wav"), 440, 8000, 0.5);
  EXPECT_FALSE(mixer.play(mix + 1, dir.file("ok.wav"))) << "unknown mix";
  EXPECT_FALSE(mixer.mixStats(mix)->playing);
}

TEST(MixerEngineFiles, StoppedAndReplacedPlaybacksEndStopped) {
  test::TempDir dir;
  writeWav(dir.file("long.wav"), 440, 8000, 30.0);
  InProcessMixer mixer(test::loopbackMixer({48400, 48599}));
  RecordingEvents events;
  const MixId mix = mixer.createMix(RoomSettings{});
  Joined listener = joinPhone(mixer, mix, Codec::kPcmu, 0, 1);
  ASSERT_TRUE(mixer.play(mix, dir.file("long.wav")));
  runFor(mixer, events, {&listener}, std::chrono::milliseconds(300));
  ASSERT_TRUE(mixer.play(mix, dir.file("long.wav")));  // replaces
  runFor(mixer, events, {&listener}, std::chrono::seconds(3),
         [&] { return !events.playbacks.empty(); });
  ASSERT_EQ(events.playbacks.size(), 1u);
  EXPECT_EQ(events.playbacks[0].how, MediaFileEnd::kStopped);
  EXPECT_TRUE(mixer.mixStats(mix)->playing) << "the replacement plays on";
  mixer.stopPlaying(mix);
  EXPECT_FALSE(mixer.mixStats(mix)->playing);
  runFor(mixer, events, {&listener}, std::chrono::seconds(3),
         [&] { return events.playbacks.size() == 2; });
  ASSERT_EQ(events.playbacks.size(), 2u);
  EXPECT_EQ(events.playbacks[1].how, MediaFileEnd::kStopped);
  EXPECT_FALSE(mixer.mixStats(mix)->playing);
  const std::size_t before = listener.phone->heard.size();
  runFor(mixer, events, {&listener}, std::chrono::milliseconds(600));
  EXPECT_LT(
      test::toneDbov(std::span<const int16_t>(listener.phone->heard).subspan(before), 440, 8000),
      -45.0)
      << "silence after the stop";
}

std::vector<int16_t> readAll(const std::string& path, int* rate) {
  auto reader = openForPlayback(path);
  EXPECT_TRUE(reader) << path;
  if (!reader) {
    return {};
  }
  *rate = reader->rate();
  std::vector<int16_t> all;
  std::vector<int16_t> chunk(4096);
  while (auto got = reader->read(chunk)) {
    if (*got == 0) {
      break;
    }
    all.insert(all.end(), chunk.begin(), chunk.begin() + static_cast<long>(*got));
  }
  return all;
}

void recordsForWallTime(RecordingFormat format, const std::string& name, PortRange ports) {
  test::TempDir dir;
  const std::string path = dir.file(name);
  InProcessMixer mixer(test::loopbackMixer(ports));
  RecordingEvents events;
  const MixId mix = mixer.createMix(RoomSettings{});
  Joined a = joinPhone(mixer, mix, Codec::kPcmu, 1000, 1);
  Joined b = joinPhone(mixer, mix, Codec::kPcmu, 1500, 2);
  const auto started = Clock::now();
  ASSERT_TRUE(mixer.startRecording(mix, path, format));
  EXPECT_TRUE(mixer.mixStats(mix)->recording);
  EXPECT_FALSE(mixer.startRecording(mix, dir.file("second"), format)) << "already recording";
  runFor(mixer, events, {&a, &b}, std::chrono::seconds(2));
  mixer.stopRecording(mix);
  const double wall = std::chrono::duration<double>(Clock::now() - started).count();
  EXPECT_FALSE(mixer.mixStats(mix)->recording);
  runFor(mixer, events, {&a, &b}, std::chrono::seconds(3),
         [&] { return !events.recordings.empty(); });
  ASSERT_EQ(events.recordings.size(), 1u);
  EXPECT_EQ(events.recordings[0].mix, mix);
  EXPECT_EQ(events.recordings[0].how, MediaFileEnd::kStopped);
  int rate = 0;
  const auto pcm = readAll(path, &rate);
  EXPECT_EQ(rate, format == RecordingFormat::kWav ? 8000 : 48000);
  ASSERT_GT(rate, 0);
  const double seconds = static_cast<double>(pcm.size()) / rate;
  EXPECT_NEAR(seconds, wall, 0.5) << "one frame per tick, talking or not";
  // Both talkers, in the second half (after jitter-buffer and VAD start-up).
  const auto late = std::span<const int16_t>(pcm).subspan(pcm.size() / 2, pcm.size() / 3);
  EXPECT_TRUE(test::hasTone(late, 1000, rate, -6));
  EXPECT_TRUE(test::hasTone(late, 1500, rate, -6));
}

TEST(MixerEngineFiles, WavRecordingLastsAsLongAsTheMeetingAndHasEveryone) {
  recordsForWallTime(RecordingFormat::kWav, "meeting.wav", {48600, 48799});
}

TEST(MixerEngineFiles, OggOpusRecordingLastsAsLongAsTheMeetingAndHasEveryone) {
  recordsForWallTime(RecordingFormat::kOggOpus, "meeting.opus", {48800, 48999});
}

TEST(MixerEngineFiles, RecordingRefusesABadPathAndAnUnknownMix) {
  test::TempDir dir;
  InProcessMixer mixer(test::loopbackMixer({49000, 49199}));
  const MixId mix = mixer.createMix(RoomSettings{});
  EXPECT_FALSE(mixer.startRecording(mix, dir.file("no/such/dir.wav"), RecordingFormat::kWav));
  EXPECT_FALSE(mixer.mixStats(mix)->recording);
  EXPECT_FALSE(mixer.startRecording(mix + 1, dir.file("x.wav"), RecordingFormat::kWav));
}

TEST(MixerEngineFiles, ARecordingThatCannotBeWrittenEndsInError) {
  InProcessMixer mixer(test::loopbackMixer({49600, 49799}));
  RecordingEvents events;
  const MixId mix = mixer.createMix(RoomSettings{});
  ASSERT_TRUE(mixer.startRecording(mix, "/dev/full", RecordingFormat::kWav));  // opens fine
  runFor(mixer, events, {}, std::chrono::seconds(5), [&] { return !events.recordings.empty(); });
  ASSERT_EQ(events.recordings.size(), 1u);
  EXPECT_EQ(events.recordings[0].how, MediaFileEnd::kError);
  EXPECT_FALSE(mixer.mixStats(mix)->recording);
}

TEST(MixerEngineFiles, AnEmptyRoomRecordsSilenceAndDestroyingTheMixCompletesTheFile) {
  test::TempDir dir;
  const std::string path = dir.file("empty-room.wav");
  InProcessMixer mixer(test::loopbackMixer({49200, 49399}));
  RecordingEvents events;
  const MixId mix = mixer.createMix(RoomSettings{});
  const auto started = Clock::now();
  ASSERT_TRUE(mixer.startRecording(mix, path, RecordingFormat::kWav));
  runFor(mixer, events, {}, std::chrono::seconds(1));
  mixer.destroyMix(mix);
  const double wall = std::chrono::duration<double>(Clock::now() - started).count();
  runFor(mixer, events, {}, std::chrono::seconds(3), [&] { return !events.recordings.empty(); });
  ASSERT_EQ(events.recordings.size(), 1u);
  EXPECT_EQ(events.recordings[0].how, MediaFileEnd::kStopped);
  int rate = 0;
  const auto pcm = readAll(path, &rate);
  EXPECT_NEAR(static_cast<double>(pcm.size()) / rate, wall, 0.5);
  EXPECT_EQ(test::rms(pcm), 0.0);
}

TEST(MixerEngineFiles, ShuttingTheMixerDownCompletesOpenRecordings) {
  test::TempDir dir;
  const std::string path = dir.file("shutdown.wav");
  {
    InProcessMixer mixer(test::loopbackMixer({49400, 49599}));
    RecordingEvents events;
    const MixId mix = mixer.createMix(RoomSettings{});
    ASSERT_TRUE(mixer.startRecording(mix, path, RecordingFormat::kWav));
    runFor(mixer, events, {}, std::chrono::milliseconds(500));
  }
  auto reader = WavReader::open(path);
  ASSERT_TRUE(reader);
  EXPECT_GT(reader->frames(), 8000u / 4) << "the header was fixed up on the way out";
}

}  // namespace
}  // namespace confab::mixer
