// A caller on the way into a conference (issue 11): alone in a mix of their own, so the prompts
// reach only them and they hear nothing of any room yet. At the lobby they key in the meeting
// number, then (when the room has one) a PIN; keys come as RFC 4733 events or SIP INFO. A right
// PIN hands them to the listener with the role it gives; too many wrong answers end the call
// after a goodbye prompt.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "focus/room/Call.hpp"
#include "focus/room/Prompts.hpp"
#include "focus/timer/Timers.hpp"
#include "mixer/engine/Control.hpp"
#include "policy/Room.hpp"

namespace confab::room {

struct EntrySettings {
  // A question not answered (no key for this long after the prompt, or between keys) counts as a
  // wrong answer.
  std::chrono::milliseconds keyTimeout{std::chrono::seconds(10)};
  unsigned attempts = 3;                 // wrong answers before the goodbye
  std::chrono::milliseconds pause{300};  // between two prompts
};

class Entry {
 public:
  class Listener {
   public:
    [[nodiscard]] virtual std::optional<policy::Room> findRoom(std::string_view user,
                                                               std::string_view domain) = 0;
    // Checks a PIN, now or later (off the SIP thread: it is a slow hash on purpose); the answer
    // comes to entry.onPinChecked() unless the entry is gone by then.
    virtual void checkPin(Entry& entry, const policy::Room& room, std::string pin) = 0;
    // A wrong PIN for 'room' from this caller (for the lockout of guessers).
    virtual void onWrongPin(Entry& /*entry*/, const policy::Room& /*room*/) {}
    // False while the room's PIN entry is closed (too many wrong PINs for it from anywhere).
    virtual bool pinEntryOpen(const policy::Room& /*room*/) { return true; }
    // The caller is who they said they are: the listener takes them into the room (or refuses
    // them there with its own prompt, see sendAway). The entry is deleted after.
    virtual void admit(Entry& entry, const policy::Room& room, policy::Role role) = 0;

   protected:
    ~Listener() = default;
  };

  // 'room': the room dialled directly; none at the lobby (the caller keys in its number, looked
  // up within 'domain').
  Entry(Call& call,
        std::optional<policy::Room> room,
        std::string domain,
        mixer::Control& mixer,
        timer::Timers& timers,
        Prompts& prompts,
        const EntrySettings& settings,
        Listener& listener);
  ~Entry();
  Entry(const Entry&) = delete;
  Entry& operator=(const Entry&) = delete;

  // The caller's media is in their own mix: the first question.
  void start();
  void onKey(char key);
  // The answer to Listener::checkPin: the role the PIN gives, or nothing for a wrong PIN.
  void onPinChecked(std::optional<policy::Role> role);
  // Tells this entry from an earlier one of the same call's address (a late PIN answer).
  [[nodiscard]] uint64_t serial() const { return serial_; }
  // Plays prompts one after the other in the caller's own mix, then runs 'then' (if the entry is
  // still there). A key pressed meanwhile cuts the prompts short (they know what to do).
  void say(std::vector<std::string> prompts, std::function<void()> then = {});
  // While the caller waits for a moderator: the waiting music (LANG/waiting-music.wav) over and
  // over when there is one, else the waiting prompt again every so often.
  void holdMusic();
  // A goodbye prompt, then BYE.
  void sendAway(std::vector<std::string> prompts, std::string reason);

  [[nodiscard]] Call& call() { return call_; }
  [[nodiscard]] const std::string& language() const { return language_; }
  [[nodiscard]] bool started() const { return started_; }

 private:
  // kChecking: a PIN is being checked; keys wait for the answer.
  enum class Asking : uint8_t { kNothing, kMeetingNumber, kPin, kChecking };

  void ask(Asking what);
  void submit();
  // Hands the caller to the listener with 'role'; the entry may be gone after.
  void admitAs(policy::Role role);
  void wrong(const std::string& prompt);
  void playNext();
  void armKeyTimer();
  void stopSaying();

  Call& call_;
  std::optional<policy::Room> room_;
  std::string domain_;
  std::string language_ = "en";
  mixer::Control& mixer_;
  timer::Timers& timers_;
  Prompts& prompts_;
  const EntrySettings& settings_;
  Listener& listener_;
  uint64_t serial_;
  Asking asking_ = Asking::kNothing;
  std::string digits_;
  unsigned wrongAnswers_ = 0;
  bool started_ = false;
  bool leaving_ = false;
  std::vector<std::string> queue_;
  std::function<void()> then_;
  bool playing_ = false;
  // The mix the prompt plays in: the caller's own, even once the call has moved on (stopping
  // "the call's mix" then would cut the room's own playback, an entry tone or the organizer's).
  mixer::MixId playingOn_ = 0;
  timer::Timers::Id promptTimer_ = 0;
  timer::Timers::Id keyTimer_ = 0;
};

}  // namespace confab::room
