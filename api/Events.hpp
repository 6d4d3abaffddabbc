// Live events for the API (issue 13 item 3): every change of the conference model (the one owner
// of live room state, issue 12 item 1) as one JSON object, fanned out to the subscribers that may
// see its room: a tenant's key its own tenant's rooms, the operator's every room, optionally one
// room only. /v1/events streams them over a WebSocket (api/Server.cpp).
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "api/Auth.hpp"
#include "focus/conference/Model.hpp"
#include "focus/room/Uas.hpp"

namespace confab::api {

// Where one subscriber's events go. push() must not block: a sink that cannot keep up drops
// itself (the WebSocket closes with "too slow") rather than hold the others back.
class EventSink {
 public:
  virtual void push(std::shared_ptr<const std::string> event) = 0;

 protected:
  ~EventSink() = default;
};

class EventHub final : public conference::Listener, public room::ActivityListener {
 public:
  // 'room' empty: every room the principal may see; else that room's live key only.
  void subscribe(EventSink& sink, const Principal& who, std::string room);
  void unsubscribe(EventSink& sink);
  [[nodiscard]] std::size_t subscribers() const { return subscribers_.size(); }

  // conference::Listener
  void onChange(const conference::Change& change) override;
  // room::ActivityListener: participant.talking and participant.key events.
  void onTalking(const room::Call& call, bool talking) override;
  void onKeyPressed(const room::Call& call, char key) override;

  // The event for a change (what subscribers receive), numbered 'seq', and its "type".
  static std::string eventJson(const conference::Change& change, uint64_t seq);
  static std::string_view eventType(conference::Change::Kind kind);
  // The participant.key event for a key pressed in a conference.
  static std::string keyJson(const room::Call& call, char key, uint64_t seq);

 private:
  struct Subscriber {
    EventSink* sink;
    Principal who;
    std::string room;
  };
  void publish(const std::string& room, int64_t tenant, const std::string& event);

  std::vector<Subscriber> subscribers_;
  // The tenant of each running conference (from the model's changes), for activity events.
  std::map<std::string, int64_t, std::less<>> tenants_;
  uint64_t seq_ = 0;
};

// The focus tells one activity listener (room::Uas::listenActivity); this one tells several (the
// event stream, the webhooks' outbox), in the order they were added.
class ActivityListeners final : public room::ActivityListener {
 public:
  void add(room::ActivityListener& listener) { listeners_.push_back(&listener); }
  void onTalking(const room::Call& call, bool talking) override {
    for (auto* l : listeners_) {
      l->onTalking(call, talking);
    }
  }
  void onKeyPressed(const room::Call& call, char key) override {
    for (auto* l : listeners_) {
      l->onKeyPressed(call, key);
    }
  }

 private:
  std::vector<room::ActivityListener*> listeners_;
};

}  // namespace confab::api
