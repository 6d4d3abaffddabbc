// Keys pressed on a phone that sends DTMF in SIP INFO bodies (RFC 6086 INFO without an Info
// Package) rather than as RFC 4733 telephone-events: the focus reads the key from the body.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <variant>

namespace confab::room {

// Why a body was refused, for the 400's reason phrase or Warning text. A fixed phrase that never
// echoes the body, so it is safe to put in a header as it is.
struct DtmfInfoError {
  std::string reason;
};

// Larger bodies are refused unread: a key press needs about 30 bytes.
inline constexpr std::size_t kMaxDtmfInfoBody = 1024;

// The key ('0'-'9', '*', '#', 'A'-'D') an INFO body carries, by its Content-Type (the media type;
// case and parameters do not matter):
//  - "application/dtmf-relay": lines "Signal=5" and "Duration=160" as Cisco, Asterisk,
//    FreeSWITCH, Polycom and Yealink send them. Names are case-insensitive, blanks around '='
//    are allowed, lines end in CRLF or LF, other lines are ignored; Duration is optional but,
//    when present, a number.
//  - "application/dtmf": the body is the key alone, with optional surrounding whitespace.
// Neither type is registered with IANA nor specified by an RFC; both are what phones send.
// Keys a-d are returned upper case; "10" and "11" are '*' and '#' (the RFC 4733 §3.2 event
// codes some phones send instead). Never throws.
std::variant<char, DtmfInfoError> parseDtmfInfo(std::string_view contentType,
                                                std::string_view body);

// Whether a Content-Type (media type; case and parameters do not matter) is one of the two
// parseDtmfInfo reads, so the focus knows to accept the INFO.
bool isDtmfInfoType(std::string_view contentType);

}  // namespace confab::room
