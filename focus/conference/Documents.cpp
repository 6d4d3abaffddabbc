#include "focus/conference/Documents.hpp"

#include <ctime>

namespace confab::conference {

std::string xmlEscape(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    const auto u = static_cast<unsigned char>(c);
    switch (c) {
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '&':
        out += "&amp;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&apos;";
        break;
      default:
        // XML 1.0 §2.2: no control characters but tab, LF, CR. A display name from the wire
        // could carry any byte; a document that will not parse would end the subscription.
        if (u < 0x20 && c != '\t' && c != '\n' && c != '\r') {
          out += ' ';
        } else {
          out += c;
        }
    }
  }
  return out;
}

std::string xmlTime(std::chrono::system_clock::time_point when) {
  const std::time_t t = std::chrono::system_clock::to_time_t(when);
  std::tm utc{};
  gmtime_r(&t, &utc);
  char text[32];
  std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", &utc);
  return text;
}

namespace {

constexpr std::string_view kHeader = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";
constexpr std::string_view kAudioLabel = "1";

// The element's text, escaped, or nothing when empty (the schema's optional elements).
std::string element(std::string_view name, std::string_view text, std::string_view indent) {
  if (text.empty()) {
    return {};
  }
  return std::string(indent) + "<" + std::string(name) + ">" + xmlEscape(text) + "</" +
         std::string(name) + ">\n";
}

// What a watcher is told of the endpoint: muted by the focus, on hold, or its call state.
EndpointStatus shown(const Participant& p) {
  if (p.status == EndpointStatus::kConnected && p.controls.muted) {
    return EndpointStatus::kMutedViaFocus;
  }
  return p.status;
}

// RFC 4575 §5.7.1 media status, from the participant's side: what they send and receive.
std::string_view mediaStatus(const Participant& p) {
  if (p.media.onHold) {
    return "inactive";
  }
  const bool sends = !p.controls.muted;
  const bool receives = !p.controls.deaf;
  if (sends && receives) {
    return "sendrecv";
  }
  if (sends) {
    return "sendonly";
  }
  return receives ? "recvonly" : "inactive";
}

// RFC 4575 §5.6: one user with their one endpoint, all of it (state="full").
std::string user(const Participant& p) {
  std::string x = "    <user entity=\"" + xmlEscape(p.entity) + "\" state=\"full\">\n";
  x += element("display-text", p.displayName, "      ");
  x += "      <roles>\n        <entry>" + std::string(name(p.role)) + "</entry>\n      </roles>\n";
  x += "      <endpoint entity=\"" + xmlEscape(p.endpoint) + "\" state=\"full\">\n";
  x += element("display-text", p.displayName, "        ");
  x += "        <status>" + std::string(name(shown(p))) + "</status>\n";
  x += "        <joining-method>" + std::string(name(p.joining)) + "</joining-method>\n";
  x += "        <joining-info>\n          <when>" + xmlTime(p.joinedAt) + "</when>\n";
  x += element("by", p.joinedBy, "          ");
  x += "        </joining-info>\n";
  if (p.disconnection) {
    x += "        <disconnection-method>" + std::string(name(*p.disconnection)) +
         "</disconnection-method>\n";
    x += "        <disconnection-info>\n          <when>" + xmlTime(p.leftAt) + "</when>\n";
    x += element("reason", p.disconnectReason, "          ");
    x += "        </disconnection-info>\n";
  }
  if (inMix(p)) {
    x += "        <media id=\"1\">\n          <type>audio</type>\n          <label>" +
         std::string(kAudioLabel) + "</label>\n          <status>" +
         std::string(mediaStatus(p)) + "</status>\n        </media>\n";
  }
  x += "      </endpoint>\n    </user>\n";
  return x;
}

std::string conferenceState(const Conference* running) {
  const std::size_t count = running != nullptr ? running->activeCount() : 0;
  std::string x = "  <conference-state>\n";
  x += "    <user-count>" + std::to_string(count) + "</user-count>\n";
  x += std::string("    <active>") + (count > 0 ? "true" : "false") + "</active>\n";
  x += std::string("    <locked>") + (running != nullptr && running->locked ? "true" : "false") +
       "</locked>\n";
  x += "  </conference-state>\n";
  return x;
}

std::string open(const WatchedRoom& room, std::string_view state, uint32_t version) {
  return std::string(kHeader) +
         "<conference-info xmlns=\"urn:ietf:params:xml:ns:conference-info\" entity=\"" +
         xmlEscape(room.uri) + "\" state=\"" + std::string(state) + "\" version=\"" +
         std::to_string(version) + "\">\n";
}

}  // namespace

std::string conferenceInfo(const WatchedRoom& room, const Conference* running, uint32_t version) {
  std::string x = open(room, "full", version);
  x += "  <conference-description>\n";
  x += element("display-text", room.name.empty() ? room.key : room.name, "    ");
  x += "    <conf-uris>\n      <entry>\n        <uri>" + xmlEscape(room.uri) +
       "</uri>\n        <purpose>participation</purpose>\n      </entry>\n    </conf-uris>\n";
  if (room.maxParticipants != 0) {
    x += "    <maximum-user-count>" + std::to_string(room.maxParticipants) +
         "</maximum-user-count>\n";
  }
  x += "    <available-media>\n      <entry label=\"" + std::string(kAudioLabel) +
       "\">\n        <type>audio</type>\n        <status>sendrecv</status>\n      </entry>\n"
       "    </available-media>\n";
  x += "  </conference-description>\n";
  x += "  <host-info>\n    <display-text>Confab conference focus</display-text>\n  </host-info>\n";
  x += conferenceState(running);
  x += "  <users>\n";
  if (running != nullptr) {
    for (const auto& p : running->participants) {
      x += user(p);
    }
  }
  x += "  </users>\n</conference-info>\n";
  return x;
}

std::string conferenceInfoPartial(const WatchedRoom& room, const Change& change, uint32_t version) {
  std::string x = open(room, "partial", version);
  switch (change.kind) {
    case Change::Kind::kJoined:
    case Change::Kind::kUpdated:
    case Change::Kind::kLeft:
      if (change.participant == nullptr) {
        return {};
      }
      x += conferenceState(&change.conference);
      x += "  <users state=\"partial\">\n" + user(*change.participant) + "  </users>\n";
      break;
    case Change::Kind::kRoom:
      x += conferenceState(&change.conference);
      break;
    case Change::Kind::kStarted:  // nothing to see until someone joins, which says it
    case Change::Kind::kEnded:    // the subscription's end says it
      return {};
  }
  x += "</conference-info>\n";
  return x;
}

std::string roomPresence(const WatchedRoom& room, const Conference* running) {
  const std::size_t count = running != nullptr ? running->activeCount() : 0;
  std::string x(kHeader);
  x += "<presence xmlns=\"urn:ietf:params:xml:ns:pidf\" entity=\"" + xmlEscape(room.uri) + "\">\n";
  x += "  <tuple id=\"room\">\n    <status>\n      <basic>" +
       std::string(count > 0 ? "open" : "closed") + "</basic>\n    </status>\n";
  x += "    <contact>" + xmlEscape(room.uri) + "</contact>\n";
  x += "    <note>" +
       (count == 0   ? std::string("no one in the conference")
        : count == 1 ? std::string("1 participant")
                     : std::to_string(count) + " participants") +
       "</note>\n";
  x += "  </tuple>\n</presence>\n";
  return x;
}

std::string roomDialogInfo(const WatchedRoom& room, const Conference* running, uint32_t version) {
  const std::size_t count = running != nullptr ? running->activeCount() : 0;
  std::string x(kHeader);
  x += "<dialog-info xmlns=\"urn:ietf:params:xml:ns:dialog-info\" version=\"" +
       std::to_string(version) + "\" state=\"full\" entity=\"" + xmlEscape(room.uri) + "\">\n";
  if (count > 0) {
    // The conference as one call in progress, so a busy-lamp key lights.
    x += "  <dialog id=\"" + xmlEscape(room.key) + "\" direction=\"recipient\">\n";
    x += "    <state>confirmed</state>\n  </dialog>\n";
  }
  x += "</dialog-info>\n";
  return x;
}

}  // namespace confab::conference
