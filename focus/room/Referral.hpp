// What a REFER asks of the conference (RFC 4579 §5.5, §5.6): its Refer-To names who to call into
// the room (dial-out), or, with method=BYE, who to remove. And the message/sipfrag bodies that
// report how it goes (RFC 3515 §2.4.5).
#pragma once

#include <string>
#include <string_view>

#include "focus/sip/Result.hpp"
#include "focus/sip/Uri.hpp"

namespace confab::room {

struct Referral {
  enum class Method : uint8_t { kInvite, kBye };
  Method method = Method::kInvite;
  // Who: a sip: or sips: URI, without the method parameter and without embedded headers (a
  // REFER does not get to write headers into our requests).
  sip::Uri target;
};

// RFC 3515 §2.1: Refer-To = ( name-addr / addr-spec ) *( SEMI generic-param ). Refused (400,
// with the reason): not a URI, not sip/sips (we call SIP phones only), a method other than
// INVITE or BYE, a target without a host.
[[nodiscard]] sip::Result<Referral> parseReferTo(std::string_view value);

// A message/sipfrag body of one status line (RFC 3420): "SIP/2.0 180 Ringing".
[[nodiscard]] std::string sipfrag(int status, std::string_view reason);

// The user's address a URI names, for comparing a Refer-To with a participant: scheme, user and
// host[:port], no parameters, lower-case host.
[[nodiscard]] std::string addressOf(const sip::Uri& uri);

}  // namespace confab::room
