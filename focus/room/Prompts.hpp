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
  // The file to play for prompt 'name' in 'language'; nothing when there is none (the caller
  // goes on without it).
  std::optional<File> find(const std::string& name, const std::string& language);

 private:
  std::string dir_;
  std::unordered_map<std::string, std::optional<File>> cache_;  // by language/name
};

}  // namespace confab::room
