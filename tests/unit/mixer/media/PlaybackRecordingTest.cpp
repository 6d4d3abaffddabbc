// The two halves of a playback and of a recording driven by hand, without threads: what the
// reader puts in the ring, what the feed gives the room at each rate, how the end is told, and
// what the recorder makes of frames at changing rates.
#include <gtest/gtest.h>

#include <vector>

#include "mixer/media/OggOpus.hpp"
#include "mixer/media/Playback.hpp"
#include "mixer/media/Recording.hpp"
#include "mixer/media/WavFile.hpp"
#include "tests/unit/mixer/AudioTestSupport.hpp"
#include "tests/unit/mixer/media/TempDir.hpp"

namespace confab::mixer {
namespace {

void writeWav(const std::string& path, const std::vector<int16_t>& pcm, int rate) {
  auto writer = WavWriter::create(path, rate);
  ASSERT_TRUE(writer);
  ASSERT_TRUE(writer->write(pcm));
  ASSERT_TRUE(writer->finish());
}

// Pulls frames the way a room does until the feed says it is finished.
std::vector<int16_t> playOut(PlaybackReader& reader,
                             PlaybackFeed& feed,
                             int rate,
                             std::size_t* ticks = nullptr) {
  std::vector<int16_t> heard;
  std::vector<int16_t> frame(static_cast<std::size_t>(rate / 50));
  std::size_t n = 0;
  while (!feed.finished() && n < 100000) {
    reader.pump();
    std::fill(frame.begin(), frame.end(), int16_t{0});
    if (feed.fill(frame, rate)) {
      heard.insert(heard.end(), frame.begin(), frame.end());
    }
    ++n;
  }
  if (ticks != nullptr) {
    *ticks = n;
  }
  return heard;
}

TEST(MediaPlayback, WavAt16kHzPlaysAt48kAnd8kWithItsDuration) {
  test::TempDir dir;
  const std::string path = dir.file("a440.wav");
  writeWav(path, test::sine(440, 8000, 16000, 16000), 16000);  // 1 s
  for (const int rate : {48000, 8000}) {
    auto channel = std::make_shared<PlaybackChannel>();
    PlaybackFeed feed(channel);
    PlaybackReader reader(openForPlayback(path), channel);
    const auto heard = playOut(reader, feed, rate);
    // 50 frames of audio, give or take the last chunk's padding.
    EXPECT_GE(heard.size(), static_cast<std::size_t>(rate));
    EXPECT_LE(heard.size(), static_cast<std::size_t>(rate) * 52 / 50);
    const auto middle = std::span<const int16_t>(heard).subspan(static_cast<std::size_t>(rate / 4),
                                                                static_cast<std::size_t>(rate / 2));
    EXPECT_TRUE(test::hasTone(middle, 440, rate, -1)) << rate;
    EXPECT_NEAR(test::toneDbov(middle, 440, rate),
                test::toneDbov(test::sine(440, 8000, rate, 4800), 440, rate), 1.0);
    EXPECT_EQ(feed.end(), MediaFileEnd::kFinished);
    EXPECT_EQ(feed.underruns(), 0u);
  }
}

TEST(MediaPlayback, FeedWaitsForThePrefillAndCountsUnderruns) {
  test::TempDir dir;
  const std::string path = dir.file("tone.wav");
  writeWav(path, test::sine(1000, 8000, 48000, 3 * 48000), 48000);  // longer than the ring
  auto channel = std::make_shared<PlaybackChannel>();
  PlaybackFeed feed(channel);
  std::array<int16_t, 960> frame{};
  EXPECT_FALSE(feed.fill(frame, 48000)) << "nothing before the reader ran";
  EXPECT_EQ(feed.underruns(), 0u) << "waiting for the prefill is not an underrun";
  PlaybackReader reader(openForPlayback(path), channel);
  EXPECT_TRUE(reader.pump()) << "the ring is full before the file is all in";
  for (std::size_t i = 0; i < kPcmRingFrames; ++i) {
    EXPECT_TRUE(feed.fill(frame, 48000));
  }
  EXPECT_FALSE(feed.fill(frame, 48000)) << "dry: the reader has not caught up";
  EXPECT_EQ(feed.underruns(), 1u);
  EXPECT_FALSE(feed.finished());
  EXPECT_TRUE(reader.pump());
  EXPECT_TRUE(feed.fill(frame, 48000));
}

TEST(MediaPlayback, DroppingTheFeedStopsTheReader) {
  test::TempDir dir;
  const std::string path = dir.file("tone.wav");
  writeWav(path, test::sine(1000, 8000, 8000, 80000), 8000);
  auto channel = std::make_shared<PlaybackChannel>();
  auto feed = std::make_unique<PlaybackFeed>(channel);
  PlaybackReader reader(openForPlayback(path), channel);
  EXPECT_TRUE(reader.pump());
  feed.reset();
  EXPECT_FALSE(reader.pump());
}

// A file that reads well for a while, then fails (a disk error, a file truncated under us).
class BreakingReader final : public PcmFileReader {
 public:
  explicit BreakingReader(std::size_t goodSamples) : left_(goodSamples) {}
  [[nodiscard]] int rate() const override { return 8000; }
  std::optional<std::size_t> read(std::span<int16_t> mono) override {
    if (left_ == 0) {
      return std::nullopt;
    }
    const std::size_t n = std::min(left_, mono.size());
    test::SineGenerator(1000, 8000, 8000).fill(mono.first(n));
    left_ -= n;
    return n;
  }

 private:
  std::size_t left_;
};

TEST(MediaPlayback, AFileThatBreaksHalfWayEndsInError) {
  auto channel = std::make_shared<PlaybackChannel>();
  PlaybackFeed feed(channel);
  PlaybackReader reader(std::make_unique<BreakingReader>(8000), channel);
  const auto heard = playOut(reader, feed, 8000);
  EXPECT_EQ(heard.size(), 8000u) << "what could be read is played";
  EXPECT_TRUE(feed.finished());
  EXPECT_EQ(feed.end(), MediaFileEnd::kError);
}

TEST(MediaPlayback, OggOpusPlaysAtTheMixRate) {
  test::TempDir dir;
  const std::string path = dir.file("tone.opus");
  {
    auto writer = OggOpusWriter::create(path);
    ASSERT_TRUE(writer);
    ASSERT_TRUE(writer->write(test::sine(600, 8000, 48000, 48000)));
    ASSERT_TRUE(writer->finish());
  }
  auto channel = std::make_shared<PlaybackChannel>();
  PlaybackFeed feed(channel);
  PlaybackReader reader(openForPlayback(path), channel);
  const auto heard = playOut(reader, feed, 8000);
  EXPECT_EQ(heard.size(), 8000u);
  EXPECT_TRUE(test::hasTone(std::span<const int16_t>(heard).subspan(2000, 4000), 600, 8000, -1));
}

// The frames a room at 'rate' would hand its tap, carrying a tone.
void recordTone(RecordingFeed& feed, double hz, int rate, int frames) {
  test::SineGenerator tone(hz, 8000, rate);
  std::vector<int16_t> frame(static_cast<std::size_t>(rate / 50));
  for (int i = 0; i < frames; ++i) {
    tone.fill(frame);
    feed.onMix(frame, rate);
  }
}

std::vector<int16_t> readAll(const std::string& path, int* rate) {
  auto reader = openForPlayback(path);
  EXPECT_TRUE(reader);
  if (!reader) {
    return {};
  }
  *rate = reader->rate();
  std::vector<int16_t> all(static_cast<std::size_t>(reader->rate()) * 60);
  std::size_t at = 0;
  while (auto got = reader->read(std::span<int16_t>(all).subspan(at))) {
    if (*got == 0) {
      break;
    }
    at += *got;
  }
  all.resize(at);
  return all;
}

TEST(MediaRecording, WavKeepsTheFirstRateAndResamplesWhenTheRoomChanges) {
  test::TempDir dir;
  const std::string path = dir.file("room.wav");
  auto channel = std::make_shared<RecordingChannel>();
  auto feed = std::make_unique<RecordingFeed>(channel);
  Recorder recorder(7, 1, RecordingFormat::kWav, createRecordingFile(path), channel);
  recordTone(*feed, 1000, 8000, 25);  // 0.5 s of an all-G.711 room
  EXPECT_FALSE(recorder.drain());
  recordTone(*feed, 1500, 48000, 25);  // an Opus caller joined
  EXPECT_FALSE(recorder.drain());
  feed.reset();
  EXPECT_EQ(recorder.drain(), MediaFileEnd::kStopped);
  EXPECT_EQ(recorder.mix(), 7u);
  int rate = 0;
  const auto pcm = readAll(path, &rate);
  EXPECT_EQ(rate, 8000);
  ASSERT_EQ(pcm.size(), 8000u);
  EXPECT_TRUE(test::hasTone(std::span<const int16_t>(pcm).subspan(500, 3000), 1000, 8000, -1));
  EXPECT_TRUE(test::hasTone(std::span<const int16_t>(pcm).subspan(4500, 3000), 1500, 8000, -1));
}

TEST(MediaRecording, FramesDroppedOnAFullRingBecomeSilenceOfTheSameLength) {
  test::TempDir dir;
  const std::string path = dir.file("dropped.wav");
  auto channel = std::make_shared<RecordingChannel>();
  auto feed = std::make_unique<RecordingFeed>(channel);
  Recorder recorder(1, 1, RecordingFormat::kWav, createRecordingFile(path), channel);
  recordTone(*feed, 1000, 8000, static_cast<int>(kPcmRingFrames) + 10);  // the disk stalled
  EXPECT_EQ(channel->dropped.load(), 10u);
  EXPECT_EQ(feed->drops(), 10u) << "what the mix's stats show (MixStats::recordingDrops)";
  (void)recorder.drain();  // the file thread catches up: its count is taken...
  EXPECT_EQ(feed->drops(), 10u) << "...the feed's stays";
  feed.reset();
  EXPECT_EQ(recorder.drain(), MediaFileEnd::kStopped);
  EXPECT_EQ(recorder.framesWritten(), kPcmRingFrames + 10);
  int rate = 0;
  const auto pcm = readAll(path, &rate);
  EXPECT_EQ(pcm.size(), (kPcmRingFrames + 10) * 160);
  EXPECT_EQ(test::rms(std::span<const int16_t>(pcm).last(1600)), 0.0);
}

TEST(MediaRecording, OggOpusIs48kHzWhateverTheRoom) {
  test::TempDir dir;
  const std::string path = dir.file("room.opus");
  auto channel = std::make_shared<RecordingChannel>();
  auto feed = std::make_unique<RecordingFeed>(channel);
  Recorder recorder(1, 1, RecordingFormat::kOggOpus, createRecordingFile(path), channel);
  recordTone(*feed, 1000, 8000, 50);
  EXPECT_FALSE(recorder.drain());
  feed.reset();
  EXPECT_EQ(recorder.drain(), MediaFileEnd::kStopped);
  int rate = 0;
  const auto pcm = readAll(path, &rate);
  EXPECT_EQ(rate, 48000);
  EXPECT_EQ(pcm.size(), 48000u);
  EXPECT_TRUE(test::hasTone(std::span<const int16_t>(pcm).subspan(12000, 24000), 1000, 48000, -1));
}

TEST(MediaRecording, AFullDiskEndsInErrorAndTheFeedStopsCopying) {
  auto channel = std::make_shared<RecordingChannel>();
  auto feed = std::make_unique<RecordingFeed>(channel);
  Recorder recorder(1, 1, RecordingFormat::kWav, createRecordingFile("/dev/full"), channel);
  std::optional<MediaFileEnd> end;
  for (int i = 0; i < 20 && !end; ++i) {  // up to 10 s of audio: a flush comes every second
    recordTone(*feed, 1000, 8000, 25);
    end = recorder.drain();
  }
  ASSERT_TRUE(end);
  EXPECT_EQ(*end, MediaFileEnd::kError);
  EXPECT_TRUE(channel->failed.load());
  while (channel->ring.pop()) {
    // what was in the ring when the file failed
  }
  recordTone(*feed, 1000, 8000, 5);
  EXPECT_FALSE(channel->ring.pop()) << "nothing copied for a recording that failed";
  EXPECT_EQ(recorder.drain(), MediaFileEnd::kError) << "and it stays ended";
}

TEST(MediaRecording, NothingRecordedStillMakesAValidEmptyFile) {
  test::TempDir dir;
  const std::string path = dir.file("empty.wav");
  auto channel = std::make_shared<RecordingChannel>();
  auto feed = std::make_unique<RecordingFeed>(channel);
  Recorder recorder(1, 1, RecordingFormat::kWav, createRecordingFile(path), channel);
  feed.reset();
  EXPECT_EQ(recorder.drain(), MediaFileEnd::kStopped);
  auto reader = WavReader::open(path);
  ASSERT_TRUE(reader);
  EXPECT_EQ(reader->frames(), 0u);
}

}  // namespace
}  // namespace confab::mixer
