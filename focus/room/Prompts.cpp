#include "focus/room/Prompts.hpp"

#include <array>
#include <cstdint>
#include <filesystem>

#include "mixer/media/PcmFile.hpp"

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
