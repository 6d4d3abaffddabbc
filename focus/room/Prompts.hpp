// The voice prompts callers hear: SOUNDS-DIR/LANG/NAME.wav (scripts/make-prompts.sh makes them
// from text; an operator may replace any with a recording), a language's missing file falling
// back to English. How long each lasts is read once from the file, so a sequence of prompts is
// timed on the focus's own timers, not on events from the mixer.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <unordered_map>

namespace confab::room {

class Prompts {
 public:
  explicit Prompts(std::string soundsDir) : dir_(std::move(soundsDir)) {}

  struct File {
    std::string path;
    std::chrono::milliseconds length{0};
  };
  // The file to play for prompt 'name' in 'language', else the fallback tone (so a caller still
  // hears that something is asked or has happened); nothing when not even that can be had.
  std::optional<File> find(const std::string& name, const std::string& language);
  // Whether the prompt itself exists (no fallback): optional prompts such as waiting music.
  [[nodiscard]] bool has(const std::string& name, const std::string& language);

  // The tone played for a missing prompt: SOUNDS-DIR/fallback-tone.wav, two short 440 Hz beeps,
  // written on first use when it is not there (an operator may replace it).
  static constexpr const char* kFallbackTone = "fallback-tone.wav";

 private:
  std::optional<File> exact(const std::string& name, const std::string& language);
  std::optional<File> fallback();

  std::string dir_;
  std::optional<std::optional<File>> fallback_;                 // looked for (and made) once
  std::unordered_map<std::string, std::optional<File>> cache_;  // by language/name
};

}  // namespace confab::room
