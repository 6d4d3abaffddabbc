// What the focus tells peers it can do (RFC 3261 §20.5 Allow, §20.1 Accept, §20.37 Supported),
// in one place so OPTIONS, 2xx to INVITE, 405 and 415 all say the same.
#pragma once

#include <string_view>

#include "focus/sip/Message.hpp"

namespace confab::room {

inline constexpr std::string_view kAllow =
    "INVITE, ACK, CANCEL, BYE, OPTIONS, UPDATE, INFO, SUBSCRIBE, MESSAGE";
// The event packages a room serves (RFC 6665 §8.2.2); conference::kAllowEvents says the same.
inline constexpr std::string_view kAllowEvents = "conference, presence, dialog";
inline constexpr std::string_view kAccept = "application/sdp";
inline constexpr std::string_view kSupported = "timer";
inline constexpr std::string_view kServer = "Confab/0.1";

// Option tags we understand in Require (RFC 3261 §8.2.2.3).
inline bool isSupportedOption(std::string_view tag) { return sip::iequals(tag, "timer"); }

inline void addCapabilities(sip::Message& message) {
  message.set("Allow", std::string(kAllow));
  message.set("Accept", std::string(kAccept));
  message.set("Supported", std::string(kSupported));
  message.set("Allow-Events", std::string(kAllowEvents));
}

}  // namespace confab::room
