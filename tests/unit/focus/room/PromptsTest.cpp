// Voice prompts on disk: a language's own file, English when the language has none, the fallback
// tone (written on first use) when neither exists, and no way out of the sounds folder through a
// language name.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <random>

#include "focus/room/Prompts.hpp"
#include "mixer/media/WavFile.hpp"

namespace confab::room {
namespace {

namespace fs = std::filesystem;

class PromptsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("confab-prompts-" + std::to_string(std::random_device{}()));
    fs::create_directories(dir_ / "en");
    fs::create_directories(dir_ / "de");
  }
  void TearDown() override { fs::remove_all(dir_); }
  // A WAV of 'ms' milliseconds of silence at 16 kHz.
  void wav(const fs::path& path, int ms) {
    auto writer = mixer::WavWriter::create(path.string(), 16000);
    ASSERT_TRUE(writer);
    std::vector<int16_t> pcm(static_cast<std::size_t>(16 * ms), 0);
    ASSERT_TRUE(writer->write(pcm));
    ASSERT_TRUE(writer->finish());
  }
  fs::path dir_;
};

TEST_F(PromptsTest, ALanguagesOwnFileThenEnglishThenTheFallbackTone) {
  wav(dir_ / "en" / "enter-pin.wav", 1500);
  wav(dir_ / "de" / "enter-pin.wav", 2000);
  wav(dir_ / "en" / "wrong-pin.wav", 700);
  Prompts prompts(dir_.string());
  auto de = prompts.find("enter-pin", "de");
  ASSERT_TRUE(de);
  EXPECT_EQ(de->path, (dir_ / "de" / "enter-pin.wav").string());
  EXPECT_EQ(de->length.count(), 2000);
  auto english = prompts.find("wrong-pin", "de");
  ASSERT_TRUE(english);
  EXPECT_EQ(english->path, (dir_ / "en" / "wrong-pin.wav").string());
  EXPECT_EQ(english->length.count(), 700);
  EXPECT_FALSE(prompts.has("waiting-music", "de"));
  auto tone = prompts.find("waiting-music", "de");
  ASSERT_TRUE(tone) << "a missing prompt is a tone, not silence";
  EXPECT_EQ(tone->path, (dir_ / Prompts::kFallbackTone).string());
  EXPECT_EQ(tone->length.count(), 500);
  auto reader = mixer::WavReader::open(tone->path);
  ASSERT_TRUE(reader);
  std::vector<int16_t> pcm(4000);
  ASSERT_TRUE(reader->read(pcm));
  EXPECT_GT(*std::max_element(pcm.begin(), pcm.end()), 4000) << "the tone is audible";
}

TEST_F(PromptsTest, ALanguageNameCannotReachOutsideTheFolder) {
  fs::create_directories(dir_ / "secret");
  wav(dir_ / "secret" / "enter-pin.wav", 900);
  wav(dir_ / "en" / "enter-pin.wav", 1500);
  Prompts prompts((dir_ / "sub").string());
  fs::create_directories(dir_ / "sub" / "en");
  wav(dir_ / "sub" / "en" / "enter-pin.wav", 1200);
  for (const char* language : {"../secret", "..", "en/../../secret", ""}) {
    auto file = prompts.find("enter-pin", language);
    ASSERT_TRUE(file) << language;
    EXPECT_EQ(file->path, (dir_ / "sub" / "en" / "enter-pin.wav").string()) << language;
  }
}

}  // namespace
}  // namespace confab::room
