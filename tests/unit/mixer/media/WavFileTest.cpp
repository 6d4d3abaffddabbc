// WAV files written and read back for real, in a temporary directory: the bytes of the header,
// the samples, stereo downmixing, files cut short, and what is refused.
#include <gtest/gtest.h>

#include <array>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <vector>

#include "mixer/media/PcmFile.hpp"
#include "mixer/media/WavFile.hpp"
#include "tests/unit/mixer/AudioTestSupport.hpp"
#include "tests/unit/mixer/media/TempDir.hpp"

namespace confab::mixer {
namespace {

std::vector<uint8_t> bytesOf(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

uint32_t le32(const std::vector<uint8_t>& b, std::size_t at) {
  return static_cast<uint32_t>(b[at] | b[at + 1] << 8 | b[at + 2] << 16) |
         static_cast<uint32_t>(b[at + 3]) << 24;
}
uint16_t le16(const std::vector<uint8_t>& b, std::size_t at) {
  return static_cast<uint16_t>(b[at] | b[at + 1] << 8);
}

std::vector<int16_t> readAll(PcmFileReader& reader) {
  std::vector<int16_t> all;
  std::vector<int16_t> chunk(777);  // not a multiple of anything
  for (;;) {
    auto got = reader.read(chunk);
    EXPECT_TRUE(got);
    if (!got || *got == 0) {
      return all;
    }
    all.insert(all.end(), chunk.begin(), chunk.begin() + static_cast<long>(*got));
  }
}

TEST(WavFile, WrittenFileHasRightHeaderAndReadsBackSampleExact) {
  test::TempDir dir;
  ASSERT_TRUE(dir.ok());
  const std::string path = dir.file("tone.wav");
  const auto tone = test::sine(440, 8000, 16000, 16000);  // 1 s
  {
    auto writer = WavWriter::create(path, 16000);
    ASSERT_TRUE(writer);
    for (std::size_t at = 0; at < tone.size(); at += 320) {
      ASSERT_TRUE(writer->write(std::span<const int16_t>(tone).subspan(at, 320)));
    }
    ASSERT_TRUE(writer->finish());
  }
  const auto bytes = bytesOf(path);
  ASSERT_EQ(bytes.size(), 44u + 32000u);
  EXPECT_EQ(std::memcmp(bytes.data(), "RIFF", 4), 0);
  EXPECT_EQ(le32(bytes, 4), 36u + 32000u);
  EXPECT_EQ(std::memcmp(bytes.data() + 8, "WAVEfmt ", 8), 0);
  EXPECT_EQ(le32(bytes, 16), 16u);
  EXPECT_EQ(le16(bytes, 20), 1u);      // PCM
  EXPECT_EQ(le16(bytes, 22), 1u);      // mono
  EXPECT_EQ(le32(bytes, 24), 16000u);  // rate
  EXPECT_EQ(le32(bytes, 28), 32000u);  // bytes per second
  EXPECT_EQ(le16(bytes, 32), 2u);      // block align
  EXPECT_EQ(le16(bytes, 34), 16u);
  EXPECT_EQ(std::memcmp(bytes.data() + 36, "data", 4), 0);
  EXPECT_EQ(le32(bytes, 40), 32000u);

  auto reader = WavReader::open(path);
  ASSERT_TRUE(reader);
  EXPECT_EQ(reader->rate(), 16000);
  EXPECT_EQ(reader->channels(), 1);
  EXPECT_EQ(reader->frames(), 16000u);
  EXPECT_EQ(readAll(*reader), tone);
}

TEST(WavFile, FlushLeavesAPlayableFileBeforeTheEnd) {
  // What a crash leaves behind: the header says what was flushed, not 0.
  test::TempDir dir;
  const std::string path = dir.file("partial.wav");
  auto writer = WavWriter::create(path, 8000);
  ASSERT_TRUE(writer);
  const auto tone = test::sine(1000, 8000, 8000, 800);
  ASSERT_TRUE(writer->write(tone));
  ASSERT_TRUE(writer->flush());
  const auto bytes = bytesOf(path);
  ASSERT_EQ(bytes.size(), 44u + 1600u);
  EXPECT_EQ(le32(bytes, 4), 36u + 1600u);
  EXPECT_EQ(le32(bytes, 40), 1600u);
  auto reader = WavReader::open(path);
  ASSERT_TRUE(reader);
  EXPECT_EQ(readAll(*reader), tone);
  // Writing goes on after a flush, at the end.
  ASSERT_TRUE(writer->write(tone));
  ASSERT_TRUE(writer->finish());
  EXPECT_EQ(le32(bytesOf(path), 40), 3200u);
}

TEST(WavFile, HeaderNeverFixedUpReadsToTheEndOfTheFile) {
  test::TempDir dir;
  const std::string path = dir.file("crashed.wav");
  auto writer = WavWriter::create(path, 8000);
  ASSERT_TRUE(writer);
  ASSERT_TRUE(writer->write(test::sine(1000, 8000, 8000, 400)));
  ASSERT_TRUE(writer->flush());  // sizes say 800 bytes...
  std::ofstream(path, std::ios::binary | std::ios::app).write("\0\0\0\0", 4);
  auto bytes = bytesOf(path);
  std::memset(bytes.data() + 40, 0, 4);  // ...then 0, as if the writer died before its first fix
  std::ofstream(path, std::ios::binary)
      .write(reinterpret_cast<const char*>(bytes.data()), static_cast<long>(bytes.size()));
  auto reader = WavReader::open(path);
  ASSERT_TRUE(reader);
  EXPECT_EQ(readAll(*reader).size(), 402u);
}

// A stereo 44.1 kHz file as other tools write it, with an extra chunk before the samples.
void writeStereo(const std::string& path,
                 const std::vector<int16_t>& left,
                 const std::vector<int16_t>& right) {
  std::vector<uint8_t> b;
  auto put32 = [&](uint32_t v) {
    for (int i = 0; i < 4; ++i) {
      b.push_back(static_cast<uint8_t>(v >> (8 * i)));
    }
  };
  auto put16 = [&](uint16_t v) {
    b.push_back(static_cast<uint8_t>(v));
    b.push_back(static_cast<uint8_t>(v >> 8));
  };
  auto tag = [&](const char* t) { b.insert(b.end(), t, t + 4); };
  const auto data = static_cast<uint32_t>(left.size() * 4);
  // The whole file's size up front: GCC 12 at -O2 cannot see that the reallocating path of
  // vector::insert at end() moves zero trailing bytes and reports -Wstringop-overflow (a false
  // positive; the sanitizer build runs this test under ASan).
  b.reserve(12 + 24 + 14 + 8 + data);
  tag("RIFF");
  put32(4 + 24 + 14 + 8 + data);
  tag("WAVE");
  tag("fmt ");
  put32(16);
  put16(1);
  put16(2);
  put32(44100);
  put32(44100 * 4);
  put16(4);
  put16(16);
  tag("LIST");
  put32(5);  // odd: padded to 6
  b.insert(b.end(), {'I', 'N', 'F', 'O', 'x', 0});
  tag("data");
  put32(data);
  for (std::size_t i = 0; i < left.size(); ++i) {
    put16(static_cast<uint16_t>(left[i]));
    put16(static_cast<uint16_t>(right[i]));
  }
  std::ofstream(path, std::ios::binary)
      .write(reinterpret_cast<const char*>(b.data()), static_cast<long>(b.size()));
}

TEST(WavFile, StereoIsMixedDownToMono) {
  test::TempDir dir;
  const std::string path = dir.file("stereo.wav");
  const auto left = test::sine(500, 8000, 44100, 44100);
  const auto right = test::sine(2000, 8000, 44100, 44100);
  writeStereo(path, left, right);
  auto reader = openForPlayback(path);
  ASSERT_TRUE(reader);
  EXPECT_EQ(reader->rate(), 44100);
  const auto mono = readAll(*reader);
  ASSERT_EQ(mono.size(), 44100u);
  EXPECT_TRUE(test::hasTone(mono, 500, 44100, -4));
  EXPECT_TRUE(test::hasTone(mono, 2000, 44100, -4));
  EXPECT_EQ(mono[100], static_cast<int16_t>((left[100] + right[100]) / 2));
}

TEST(WavFile, RefusesWhatItCannotPlay) {
  test::TempDir dir;
  EXPECT_FALSE(openForPlayback(dir.file("missing.wav")));
  std::ofstream(dir.file("text.wav")) << "this is not a sound file at all";
  EXPECT_FALSE(openForPlayback(dir.file("text.wav")));
  std::ofstream(dir.file("empty.wav")).flush();
  EXPECT_FALSE(openForPlayback(dir.file("empty.wav")));
  // 8-bit PCM: a real WAV, but not one we play.
  auto bytes = std::vector<uint8_t>();
  {
    auto writer = WavWriter::create(dir.file("eight.wav"), 8000);
    ASSERT_TRUE(writer);
    ASSERT_TRUE(writer->write(test::sine(1000, 8000, 8000, 80)));
    ASSERT_TRUE(writer->finish());
  }
  bytes = bytesOf(dir.file("eight.wav"));
  bytes[34] = 8;
  std::ofstream(dir.file("eight.wav"), std::ios::binary)
      .write(reinterpret_cast<const char*>(bytes.data()), static_cast<long>(bytes.size()));
  EXPECT_FALSE(openForPlayback(dir.file("eight.wav")));
  // Truncated in the middle of the header.
  bytes.resize(30);
  std::ofstream(dir.file("cut.wav"), std::ios::binary)
      .write(reinterpret_cast<const char*>(bytes.data()), static_cast<long>(bytes.size()));
  EXPECT_FALSE(openForPlayback(dir.file("cut.wav")));
}

TEST(WavFile, WriterRefusesAPathItCannotCreate) {
  test::TempDir dir;
  EXPECT_FALSE(WavWriter::create(dir.file("no/such/dir.wav"), 8000));
  EXPECT_FALSE(createRecordingFile(dir.file("no/such/dir.wav")));
}

}  // namespace
}  // namespace confab::mixer
