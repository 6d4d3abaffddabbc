#include "focus/conference/Model.hpp"

#include <algorithm>

namespace confab::conference {

std::string_view name(EndpointStatus status) {
  switch (status) {
    case EndpointStatus::kPending:
      return "pending";
    case EndpointStatus::kDialingOut:
      return "dialing-out";
    case EndpointStatus::kDialingIn:
      return "dialing-in";
    case EndpointStatus::kAlerting:
      return "alerting";
    case EndpointStatus::kOnHold:
      return "on-hold";
    case EndpointStatus::kConnected:
      return "connected";
    case EndpointStatus::kMutedViaFocus:
      return "muted-via-focus";
    case EndpointStatus::kDisconnecting:
      return "disconnecting";
    case EndpointStatus::kDisconnected:
      return "disconnected";
  }
  return "pending";
}

std::string_view name(JoiningMethod method) {
  switch (method) {
    case JoiningMethod::kDialedIn:
      return "dialed-in";
    case JoiningMethod::kDialedOut:
      return "dialed-out";
    case JoiningMethod::kFocusOwner:
      return "focus-owner";
  }
  return "dialed-in";
}

std::string_view name(DisconnectionMethod method) {
  switch (method) {
    case DisconnectionMethod::kDeparted:
      return "departed";
    case DisconnectionMethod::kBooted:
      return "booted";
    case DisconnectionMethod::kFailed:
      return "failed";
    case DisconnectionMethod::kBusy:
      return "busy";
  }
  return "departed";
}

std::string_view name(policy::Role role) {
  switch (role) {
    case policy::Role::kModerator:
      return "moderator";
    case policy::Role::kListener:
      return "listener";
    case policy::Role::kParticipant:
      return "participant";
  }
  return "participant";
}

const Participant* Conference::find(std::string_view participantId) const {
  auto found = std::find_if(participants.begin(), participants.end(),
                            [&](const Participant& p) { return p.id == participantId; });
  return found == participants.end() ? nullptr : &*found;
}

bool inMix(const Participant& p) {
  return p.status == EndpointStatus::kConnected || p.status == EndpointStatus::kOnHold ||
         p.status == EndpointStatus::kMutedViaFocus;
}

std::size_t Conference::activeCount() const {
  return static_cast<std::size_t>(std::count_if(participants.begin(), participants.end(), inMix));
}

std::size_t Conference::moderatorCount() const {
  return static_cast<std::size_t>(
      std::count_if(participants.begin(), participants.end(), [](const Participant& p) {
        return p.role == policy::Role::kModerator && p.status == EndpointStatus::kConnected;
      }));
}

void Model::unlisten(Listener& listener) {
  listeners_.erase(std::remove(listeners_.begin(), listeners_.end(), &listener), listeners_.end());
}

void Model::emit(const Change& change) {
  // A copy: a listener may stop listening while hearing a change (a subscription that ends).
  const auto listeners = listeners_;
  for (Listener* listener : listeners) {
    listener->onChange(change);
  }
}

const Conference& Model::open(const policy::Room& rules, const std::string& uri, bool adHoc) {
  auto [it, created] = conferences_.try_emplace(rules.key);
  Conference& conference = it->second;
  if (created) {
    conference.id = rules.key;
    conference.uri = uri;
    conference.rules = rules;
    conference.locked = rules.locked;
    conference.adHoc = adHoc;
    conference.startedAt = now_();
    emit(Change{Change::Kind::kStarted, conference});
  }
  return conference;
}

const Conference* Model::find(std::string_view id) const {
  auto found = conferences_.find(id);
  return found == conferences_.end() ? nullptr : &found->second;
}

Participant* Model::findMutable(std::string_view participantId, Conference** in) {
  for (auto& [id, conference] : conferences_) {
    for (auto& p : conference.participants) {
      if (p.id == participantId) {
        if (in != nullptr) {
          *in = &conference;
        }
        return &p;
      }
    }
  }
  return nullptr;
}

const Participant* Model::participant(std::string_view id) const {
  return const_cast<Model*>(this)->findMutable(id);
}

const Conference* Model::conferenceOf(std::string_view participantId) const {
  Conference* in = nullptr;
  const_cast<Model*>(this)->findMutable(participantId, &in);
  return in;
}

bool Model::join(std::string_view id, Participant participant) {
  auto found = conferences_.find(id);
  if (found == conferences_.end() || findMutable(participant.id) != nullptr) {
    return false;
  }
  Conference& conference = found->second;
  if (participant.joinedAt == Clock::time_point{}) {
    participant.joinedAt = now_();
  }
  conference.participants.push_back(std::move(participant));
  emit(Change{Change::Kind::kJoined, conference, &conference.participants.back()});
  return true;
}

bool Model::setStatus(std::string_view participantId, EndpointStatus status) {
  Conference* in = nullptr;
  Participant* p = findMutable(participantId, &in);
  if (p == nullptr || p->status == status) {
    return false;
  }
  p->status = status;
  emit(Change{Change::Kind::kUpdated, *in, p});
  return true;
}

bool Model::setRole(std::string_view participantId, policy::Role role) {
  Conference* in = nullptr;
  Participant* p = findMutable(participantId, &in);
  if (p == nullptr || p->role == role) {
    return false;
  }
  p->role = role;
  // A listener cannot speak (their PIN's promise); a new moderator is not held by "all muted".
  bool controlsChanged = false;
  if (role == policy::Role::kListener && !p->controls.muted) {
    p->controls.muted = true;
    controlsChanged = true;
  }
  emit(Change{Change::Kind::kUpdated, *in, p, controlsChanged});
  return true;
}

bool Model::setControls(std::string_view participantId, const Controls& controls) {
  Conference* in = nullptr;
  Participant* p = findMutable(participantId, &in);
  if (p == nullptr || p->controls == controls) {
    return false;
  }
  p->controls = controls;
  emit(Change{Change::Kind::kUpdated, *in, p, true});
  return true;
}

bool Model::setMedia(std::string_view participantId, const Media& media) {
  Conference* in = nullptr;
  Participant* p = findMutable(participantId, &in);
  if (p == nullptr || p->media == media) {
    return false;
  }
  p->media = media;
  // RFC 4575 §5.7.1: on hold while their SDP puts us on hold; the same change, one event.
  if (media.onHold && p->status == EndpointStatus::kConnected) {
    p->status = EndpointStatus::kOnHold;
  } else if (!media.onHold && p->status == EndpointStatus::kOnHold) {
    p->status = EndpointStatus::kConnected;
  }
  emit(Change{Change::Kind::kUpdated, *in, p});
  return true;
}

bool Model::rekey(std::string_view participantId, std::string newId) {
  Participant* p = findMutable(participantId);
  if (p == nullptr || findMutable(newId) != nullptr) {
    return false;
  }
  p->id = std::move(newId);
  return true;
}

bool Model::leave(std::string_view participantId,
                  DisconnectionMethod how,
                  std::string reason,
                  std::optional<policy::CallQuality> quality) {
  Conference* in = nullptr;
  Participant* p = findMutable(participantId, &in);
  if (p == nullptr) {
    return false;
  }
  p->status = EndpointStatus::kDisconnected;
  p->disconnection = how;
  p->disconnectReason = std::move(reason);
  p->leftAt = now_();
  p->quality = std::move(quality);
  emit(Change{Change::Kind::kLeft, *in, p});
  // Listeners may have changed the participants meanwhile: find them again.
  auto& list = in->participants;
  list.erase(std::remove_if(list.begin(), list.end(),
                            [&](const Participant& x) { return x.id == participantId; }),
             list.end());
  return true;
}

bool Model::setLocked(std::string_view id, bool locked) {
  auto found = conferences_.find(id);
  if (found == conferences_.end() || found->second.locked == locked) {
    return false;
  }
  found->second.locked = locked;
  emit(Change{Change::Kind::kRoom, found->second});
  return true;
}

bool Model::setRecording(std::string_view id, std::string file) {
  auto found = conferences_.find(id);
  if (found == conferences_.end() || found->second.recording == file) {
    return false;
  }
  found->second.recording = std::move(file);
  emit(Change{Change::Kind::kRoom, found->second});
  return true;
}

bool Model::setAllMuted(std::string_view id, bool muted) {
  auto found = conferences_.find(id);
  if (found == conferences_.end()) {
    return false;
  }
  Conference& conference = found->second;
  conference.allMuted = muted;
  emit(Change{Change::Kind::kRoom, conference});
  for (auto& p : conference.participants) {
    if (p.role == policy::Role::kModerator) {
      continue;
    }
    Controls controls = p.controls;
    controls.muted = muted || p.role == policy::Role::kListener;
    if (controls != p.controls) {
      p.controls = controls;
      emit(Change{Change::Kind::kUpdated, conference, &p, true});
    }
  }
  return true;
}

bool Model::end(std::string_view id) {
  auto found = conferences_.find(id);
  if (found == conferences_.end()) {
    return false;
  }
  // Taken out first: a listener hearing the end may not find it running any more.
  auto node = conferences_.extract(found);
  emit(Change{Change::Kind::kEnded, node.mapped()});
  return true;
}

}  // namespace confab::conference
