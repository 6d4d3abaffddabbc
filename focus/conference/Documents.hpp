// The documents the rooms' event packages carry: application/conference-info+xml (RFC 4575 §5),
// application/pidf+xml (RFC 3863) and application/dialog-info+xml (RFC 4235). Each is checked
// against its schema in docs/schema by the tests (xmllint); element order follows the schemas'
// sequences.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

#include "focus/conference/Model.hpp"

namespace confab::conference {

// What a watched room is, for the documents (its conference may not be running).
struct WatchedRoom {
  std::string key;  // policy::Room::key, the conference's id in the model
  std::string uri;  // its conf-uri, sip:ROOM@HOST
  std::string name;
  unsigned maxParticipants = 0;
};

// RFC 4575 §5: the whole state; 'running' is null when nobody is in the room.
[[nodiscard]] std::string conferenceInfo(const WatchedRoom& room,
                                         const Conference* running,
                                         uint32_t version);
// RFC 4575 §4.6: what one change altered (the participant's whole user element, the
// conference-state), with state="partial". Empty when the change shows nothing to watchers.
[[nodiscard]] std::string conferenceInfoPartial(const WatchedRoom& room,
                                                const Change& change,
                                                uint32_t version);
// RFC 3863: one tuple, open with the count while the room is in use, closed when it is empty.
[[nodiscard]] std::string roomPresence(const WatchedRoom& room, const Conference* running);
// RFC 4235: the room as one dialog, confirmed while it is in use; no dialog when it is empty.
[[nodiscard]] std::string roomDialogInfo(const WatchedRoom& room,
                                         const Conference* running,
                                         uint32_t version);

// XML character data and attribute values (also drops what XML 1.0 cannot carry).
[[nodiscard]] std::string xmlEscape(std::string_view text);
// xs:dateTime in UTC, as RFC 4575 'when' carries it.
[[nodiscard]] std::string xmlTime(std::chrono::system_clock::time_point when);

}  // namespace confab::conference
