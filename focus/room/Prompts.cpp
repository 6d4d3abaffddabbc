#include "focus/room/Prompts.hpp"

#include <array>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <vector>

#include "mixer/media/PcmFile.hpp"
#include "mixer/media/WavFile.hpp"

namespace confab::room {

namespace {

std::optional<Prompts::File> measure(const std::string& path) {
  auto reader = mixer::openForPlayback(path);
  if (!reader || reader->rate() <= 0) {
    return std::nullopt;
  }
  std::array<int16_t, 4096> buffer{};
  std::size_t samples = 0;
  for (;;) {
    auto n = reader->read(buffer);
    if (!n) {
      return std::nullopt;
    }
    if (*n == 0) {
      break;
    }
    samples += *n;
  }
  return Prompts::File{
      path, std::chrono::milliseconds(samples * 1000 / static_cast<std::size_t>(reader->rate()))};
}

}  // namespace

std::optional<Prompts::File> Prompts::find(const std::string& name, const std::string& language) {
  if (auto file = exact(name, language)) {
    return file;
  }
  return fallback();
}

bool Prompts::has(const std::string& name, const std::string& language) {
  return exact(name, language).has_value();
}

std::optional<Prompts::File> Prompts::fallback() {
  if (fallback_) {
    return *fallback_;
  }
  fallback_.emplace();
  if (dir_.empty()) {
    return std::nullopt;
  }
  const auto path = std::filesystem::path(dir_) / kFallbackTone;
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) {
    // Two 150 ms beeps of 440 Hz at -12 dBFS with 100 ms between, at 8 kHz: written once.
    std::filesystem::create_directories(dir_, ec);
    constexpr int kRate = 8000;
    std::vector<int16_t> pcm;
    for (int beep = 0; beep < 2; ++beep) {
      for (int i = 0; i < kRate * 15 / 100; ++i) {
        const double t = static_cast<double>(i) / kRate;
        pcm.push_back(static_cast<int16_t>(8200.0 * std::sin(2.0 * 3.14159265358979 * 440.0 * t)));
      }
      pcm.insert(pcm.end(), kRate / 10, 0);
    }
    const std::string temporary = path.string() + ".tmp";
    auto writer = mixer::WavWriter::create(temporary, kRate);
    if (!writer || !writer->write(pcm) || !writer->finish()) {
      return std::nullopt;
    }
    writer.reset();
    std::filesystem::rename(temporary, path, ec);
  }
  *fallback_ = measure(path.string());
  return *fallback_;
}

std::optional<Prompts::File> Prompts::exact(const std::string& name, const std::string& language) {
  const std::string key = language + "/" + name;
  if (auto cached = cache_.find(key); cached != cache_.end()) {
    return cached->second;
  }
  // A language is a folder name: letters and '-' only, so no value can reach outside the folder.
  const bool plain =
      !language.empty() && language.size() <= 16 &&
      language.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ-") ==
          std::string::npos;
  std::optional<File> file;
  if (!dir_.empty()) {
    for (const std::string& lang : {plain ? language : std::string("en"), std::string("en")}) {
      const auto path = std::filesystem::path(dir_) / lang / (name + ".wav");
      std::error_code ec;
      if (std::filesystem::is_regular_file(path, ec)) {
        file = measure(path.string());
        if (file) {
          break;
        }
      }
    }
  }
  cache_.emplace(key, file);
  return file;
}

}  // namespace confab::room
