// Ogg Opus written by our writer and checked by libopusfile directly (the duration it reports and
// the tone it decodes), then read back through our reader.
#include <gtest/gtest.h>
#include <opus/opusfile.h>

#include <fstream>
#include <vector>

#include "mixer/media/OggOpus.hpp"
#include "mixer/media/PcmFile.hpp"
#include "tests/unit/mixer/AudioTestSupport.hpp"
#include "tests/unit/mixer/media/TempDir.hpp"

namespace confab::mixer {
namespace {

TEST(OggOpus, WrittenFileDecodesToTheRightDurationAndTone) {
  test::TempDir dir;
  ASSERT_TRUE(dir.ok());
  const std::string path = dir.file("tone.opus");
  const auto tone = test::sine(1000, 8000, 48000, 2 * 48000);
  {
    auto writer = OggOpusWriter::create(path);
    ASSERT_TRUE(writer);
    EXPECT_EQ(writer->rate(), 48000);
    for (std::size_t at = 0; at < tone.size(); at += 960) {
      ASSERT_TRUE(writer->write(std::span<const int16_t>(tone).subspan(at, 960)));
    }
    ASSERT_TRUE(writer->finish());
  }
  int error = 0;
  OggOpusFile* file = op_open_file(path.c_str(), &error);
  ASSERT_NE(file, nullptr) << error;
  EXPECT_EQ(op_channel_count(file, -1), 1);
  // The end-trimmed length (RFC 7845 §4): exactly what went in.
  EXPECT_EQ(op_pcm_total(file, -1), 2 * 48000);
  std::vector<int16_t> decoded;
  std::vector<int16_t> buffer(5760);
  for (;;) {
    const int got = op_read(file, buffer.data(), static_cast<int>(buffer.size()), nullptr);
    ASSERT_GE(got, 0);
    if (got == 0) {
      break;
    }
    decoded.insert(decoded.end(), buffer.begin(), buffer.begin() + got);
  }
  op_free(file);
  ASSERT_EQ(decoded.size(), 96000u);
  const auto middle = std::span<const int16_t>(decoded).subspan(24000, 48000);
  EXPECT_TRUE(test::hasTone(middle, 1000, 48000, -1));
  EXPECT_NEAR(test::toneDbov(middle, 1000, 48000), test::toneDbov(tone, 1000, 48000), 1.5);

  // Our reader gives the same audio (mono 48 kHz).
  auto reader = openForPlayback(path);
  ASSERT_TRUE(reader);
  EXPECT_EQ(reader->rate(), 48000);
  std::vector<int16_t> again;
  std::vector<int16_t> chunk(1000);
  while (auto got = reader->read(chunk)) {
    if (*got == 0) {
      break;
    }
    again.insert(again.end(), chunk.begin(), chunk.begin() + static_cast<long>(*got));
  }
  EXPECT_EQ(again.size(), 96000u);
  EXPECT_TRUE(
      test::hasTone(std::span<const int16_t>(again).subspan(24000, 48000), 1000, 48000, -1));
}

TEST(OggOpus, AnOggFileThatIsNotOpusIsRefused) {
  test::TempDir dir;
  std::ofstream(dir.file("fake.ogg"), std::ios::binary) << "OggS but nothing that follows is Ogg";
  EXPECT_FALSE(openForPlayback(dir.file("fake.ogg")));
  EXPECT_FALSE(OggOpusReader::open(dir.file("missing.opus")));
}

TEST(OggOpus, WriterRefusesAPathItCannotCreate) {
  test::TempDir dir;
  EXPECT_FALSE(OggOpusWriter::create(dir.file("no/such/dir.opus")));
}

}  // namespace
}  // namespace confab::mixer
