#include "api/Events.hpp"

#include <algorithm>
#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>
#include <chrono>

namespace confab::api {

std::string_view EventHub::eventType(conference::Change::Kind kind) {
  using Kind = conference::Change::Kind;
  switch (kind) {
    case Kind::kStarted:
      return "conference.started";
    case Kind::kJoined:
      return "participant.joined";
    case Kind::kUpdated:
      return "participant.updated";
    case Kind::kLeft:
      return "participant.left";
    case Kind::kRoom:
      return "conference.changed";
    case Kind::kEnded:
      return "conference.ended";
  }
  return "conference.changed";
}

namespace {

// Milliseconds since the Unix epoch: what a browser's Date takes.
int64_t epochMillis(std::chrono::system_clock::time_point at) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(at.time_since_epoch()).count();
}

}  // namespace

std::string EventHub::eventJson(const conference::Change& change, uint64_t seq) {
  const auto& c = change.conference;
  boost::json::object out{{"seq", seq},
                          {"type", eventType(change.kind)},
                          {"room", c.id},
                          {"time", epochMillis(std::chrono::system_clock::now())},
                          {"conference", boost::json::object{{"locked", c.locked},
                                                             {"allMuted", c.allMuted},
                                                             {"recording", !c.recording.empty()},
                                                             {"participants", c.activeCount()}}}};
  if (const auto* p = change.participant) {
    boost::json::object participant{{"callId", p->callId},
                                    {"entity", p->entity},
                                    {"displayName", p->displayName},
                                    {"role", conference::name(p->role)},
                                    {"status", conference::name(p->status)},
                                    {"joining", conference::name(p->joining)},
                                    {"muted", p->controls.muted},
                                    {"deaf", p->controls.deaf},
                                    {"gain", p->controls.gain},
                                    {"onHold", p->media.onHold},
                                    {"codec", p->media.codec}};
    if (p->disconnection) {
      participant["disconnection"] = conference::name(*p->disconnection);
      participant["reason"] = p->disconnectReason;
    }
    out["participant"] = std::move(participant);
  }
  return boost::json::serialize(out);
}

void EventHub::subscribe(EventSink& sink, const Principal& who, std::string room) {
  subscribers_.push_back(Subscriber{&sink, who, std::move(room)});
}

void EventHub::unsubscribe(EventSink& sink) {
  std::erase_if(subscribers_, [&](const Subscriber& s) { return s.sink == &sink; });
}

void EventHub::onChange(const conference::Change& change) {
  ++seq_;
  const auto& c = change.conference;
  if (change.kind == conference::Change::Kind::kStarted) {
    tenants_[c.id] = c.rules.tenantId;
  } else if (change.kind == conference::Change::Kind::kEnded) {
    if (auto found = tenants_.find(c.id); found != tenants_.end()) {
      tenants_.erase(found);
    }
  }
  if (!subscribers_.empty()) {
    publish(c.id, c.rules.tenantId, eventJson(change, seq_));
  }
}

void EventHub::onTalking(const room::Call& call, bool talking) {
  ++seq_;
  auto tenant = tenants_.find(call.roomId());
  if (subscribers_.empty() || tenant == tenants_.end()) {
    return;
  }
  boost::json::object out{{"seq", seq_},
                          {"type", "participant.talking"},
                          {"room", call.roomId()},
                          {"time", epochMillis(std::chrono::system_clock::now())},
                          {"participant", boost::json::object{{"callId", call.dialog().callId()}}},
                          {"talking", talking}};
  publish(call.roomId(), tenant->second, boost::json::serialize(out));
}

void EventHub::onKeyPressed(const room::Call& call, char key) {
  ++seq_;
  auto tenant = tenants_.find(call.roomId());
  if (subscribers_.empty() || tenant == tenants_.end()) {
    return;
  }
  publish(call.roomId(), tenant->second, keyJson(call, key, seq_));
}

std::string EventHub::keyJson(const room::Call& call, char key, uint64_t seq) {
  boost::json::object out{{"seq", seq},
                          {"type", "participant.key"},
                          {"room", call.roomId()},
                          {"time", epochMillis(std::chrono::system_clock::now())},
                          {"participant", boost::json::object{{"callId", call.dialog().callId()}}},
                          {"key", std::string(1, key)}};
  return boost::json::serialize(out);
}

void EventHub::publish(const std::string& room, int64_t tenant, const std::string& text) {
  // Built once, shared by every subscriber's queue.
  auto event = std::make_shared<const std::string>(text);
  // A sink may unsubscribe while hearing (it closes): walk a copy.
  const auto subscribers = subscribers_;
  for (const auto& s : subscribers) {
    // Ad-hoc conferences belong to no tenant (0): only the operator sees them.
    const bool visible = s.who.isOperator() || (tenant != 0 && s.who.sees(tenant));
    if (visible && (s.room.empty() || s.room == room)) {
      s.sink->push(event);
    }
  }
}

}  // namespace confab::api
