// Building responses to requests (RFC 3261 §8.2.6) and the one place that turns an Error into
// the status and reason phrase a peer sees.
#pragma once

#include <string>
#include <string_view>

#include "focus/sip/Message.hpp"
#include "focus/sip/Result.hpp"

namespace confab::sip {

// The default reason phrase for a status code (RFC 3261 §21).
std::string_view defaultReason(int status);

// A response with Via (all, in order), From, To, Call-ID and CSeq copied from the request
// (RFC 3261 §8.2.6.2). 'toTag' is added to To when given and To has no tag yet.
Message makeResponse(const Message& request, int status, std::string_view reason = {},
                     std::string_view toTag = {});

// The response for a refused request: the status from the error, and its detail where RFC 3261
// puts it: in a 400's reason phrase ("Bad Request (malformed Via sent-by)", §21.4.1), in a
// Warning header otherwise ("488 Not Acceptable Here" with Warning: 305 confab "no common audio
// codec ...", §20.43). The headers RFC 3261 asks for with some codes (405 Allow, 415 Accept,
// 420 Unsupported) are added by the caller that knows them.
Message errorResponse(const Message& request, const Error& error, std::string_view toTag = {});

// A Warning header value: warn-code (300-399; anything else becomes 399), our warn-agent, and the
// text as a quoted-string.
std::string warning(int code, std::string_view text);

// A reason phrase safe to put on the wire: printable, no CR or LF, bounded.
std::string safeReason(std::string_view text);

}  // namespace confab::sip
