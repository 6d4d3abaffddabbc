#include "focus/room/Entry.hpp"

#include <utility>

namespace confab::room {

namespace {
// Longer than any meeting number or PIN (policy::Store::validPin allows 16 digits): more keys
// than this are a wrong answer, not a growing buffer.
constexpr std::size_t kMaxDigits = 20;
uint64_t lastSerial = 0;  // the SIP thread's only
}  // namespace

Entry::Entry(Call& call,
             std::optional<policy::Room> room,
             std::string domain,
             mixer::Control& mixer,
             timer::Timers& timers,
             Prompts& prompts,
             const EntrySettings& settings,
             Listener& listener)
    : call_(call),
      room_(std::move(room)),
      domain_(std::move(domain)),
      mixer_(mixer),
      timers_(timers),
      prompts_(prompts),
      settings_(settings),
      listener_(listener),
      serial_(++lastSerial) {
  if (room_) {
    language_ = room_->language;
  }
}

Entry::~Entry() {
  timers_.cancel(promptTimer_);
  timers_.cancel(keyTimer_);
  if (playing_) {
    mixer_.stopPlaying(playingOn_);
  }
}

void Entry::start() {
  if (started_) {
    return;
  }
  started_ = true;
  if (!room_) {
    ask(Asking::kMeetingNumber);
  } else if (room_->asksPin()) {
    ask(Asking::kPin);
  } else {
    admitAs(policy::Role::kParticipant);  // may delete us
  }
}

void Entry::ask(Asking what) {
  if (what == Asking::kPin && room_ && !listener_.pinEntryOpen(*room_)) {
    sendAway({"too-many-attempts"}, "PIN entry closed: too many wrong PINs for this room");
    return;
  }
  asking_ = what;
  digits_.clear();
  say({what == Asking::kMeetingNumber ? "enter-meeting-number" : "enter-pin"},
      [this] { armKeyTimer(); });
}

void Entry::armKeyTimer() {
  timers_.cancel(keyTimer_);
  keyTimer_ = timers_.schedule(settings_.keyTimeout, [this] {
    keyTimer_ = 0;
    // Keys without '#' count as the answer once the caller stops; nothing at all is a wrong one.
    if (!digits_.empty()) {
      submit();
    } else {
      wrong(asking_ == Asking::kMeetingNumber ? "enter-meeting-number" : "enter-pin");
    }
  });
}

void Entry::onKey(char key) {
  if (asking_ == Asking::kNothing || asking_ == Asking::kChecking || leaving_) {
    return;
  }
  // A key cuts the prompt short: the caller knows what to do.
  if (playing_ || !queue_.empty()) {
    stopSaying();
  }
  if (key == '#') {
    submit();
    return;
  }
  if (key == '*') {
    digits_.clear();  // start again
  } else if (key >= '0' && key <= '9') {
    digits_ += key;
    if (digits_.size() > kMaxDigits) {
      submit();
      return;
    }
  }
  armKeyTimer();
}

void Entry::submit() {
  timers_.cancel(keyTimer_);
  keyTimer_ = 0;
  const std::string answer = std::exchange(digits_, {});
  if (asking_ == Asking::kMeetingNumber) {
    auto room = answer.empty() ? std::nullopt : listener_.findRoom(answer, domain_);
    if (!room) {
      wrong("wrong-meeting-number");
      return;
    }
    room_ = std::move(room);
    language_ = room_->language;
    if (room_->asksPin()) {
      ask(Asking::kPin);
      return;
    }
    admitAs(policy::Role::kParticipant);  // may delete us
    return;
  }
  if (asking_ != Asking::kPin || !room_) {
    return;
  }
  if (answer.empty()) {
    wrong("wrong-pin");
    return;
  }
  asking_ = Asking::kChecking;
  listener_.checkPin(*this, *room_, answer);  // the answer may come at once: nothing after this
}

void Entry::onPinChecked(std::optional<policy::Role> role) {
  if (asking_ != Asking::kChecking || !room_ || leaving_) {
    return;
  }
  if (!role) {
    listener_.onWrongPin(*this, *room_);
    asking_ = Asking::kPin;
    wrong("wrong-pin");
    return;
  }
  admitAs(*role);  // may delete us
}

void Entry::admitAs(policy::Role role) {
  // A copy: the listener may delete this entry, and the room with it, before it is done.
  const policy::Room admitted = *room_;
  asking_ = Asking::kNothing;
  listener_.admit(*this, admitted, role);
}

void Entry::wrong(const std::string& prompt) {
  ++wrongAnswers_;
  if (wrongAnswers_ >= settings_.attempts) {
    sendAway({prompt, "too-many-attempts"}, "too many wrong answers at entry");
    return;
  }
  const Asking again = asking_;
  asking_ = Asking::kNothing;  // keys during the "wrong" prompt are not half an answer
  say({prompt}, [this, again] { ask(again); });
}

void Entry::holdMusic() {
  if (prompts_.has("waiting-music", language_)) {
    say({"waiting-music"}, [this] { holdMusic(); });
    return;
  }
  // No music: the prompt again after a quiet while (a tone loop would be tiring).
  stopSaying();
  promptTimer_ = timers_.schedule(std::chrono::seconds(20), [this] {
    promptTimer_ = 0;
    say({"waiting-for-moderator"}, [this] { holdMusic(); });
  });
}

void Entry::sendAway(std::vector<std::string> prompts, std::string reason) {
  leaving_ = true;
  asking_ = Asking::kNothing;
  timers_.cancel(keyTimer_);
  keyTimer_ = 0;
  say(std::move(prompts), [this, reason = std::move(reason)] { call_.hangUp(reason); });
}

void Entry::say(std::vector<std::string> prompts, std::function<void()> then) {
  stopSaying();
  queue_ = std::move(prompts);
  then_ = std::move(then);
  playNext();
}

void Entry::stopSaying() {
  timers_.cancel(promptTimer_);
  promptTimer_ = 0;
  if (playing_) {
    mixer_.stopPlaying(playingOn_);
  }
  playing_ = false;
  queue_.clear();
  then_ = nullptr;
}

void Entry::playNext() {
  while (!queue_.empty()) {
    const std::string name = queue_.front();
    queue_.erase(queue_.begin());
    auto file = prompts_.find(name, language_);
    if (!file || !call_.mix() || !mixer_.play(call_.mix()->id(), file->path)) {
      continue;  // no such prompt here: on without it
    }
    playing_ = true;
    playingOn_ = call_.mix()->id();
    promptTimer_ = timers_.schedule(file->length + settings_.pause, [this] {
      promptTimer_ = 0;
      playing_ = false;
      playNext();
    });
    return;
  }
  // All said: what comes next runs from a timer of its own, never inside a caller's method.
  auto then = std::exchange(then_, nullptr);
  if (then) {
    promptTimer_ = timers_.schedule(std::chrono::milliseconds(0), [this, then = std::move(then)] {
      promptTimer_ = 0;
      then();
    });
  }
}

}  // namespace confab::room
