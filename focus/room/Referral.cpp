#include "focus/room/Referral.hpp"

#include "focus/sip/Grammar.hpp"
#include "focus/sip/Message.hpp"
#include "focus/sip/Headers.hpp"

namespace confab::room {

sip::Result<Referral> parseReferTo(std::string_view value) {
  auto named = sip::NameAddr::parse(value);
  if (!named) {
    return sip::badRequest("malformed Refer-To: " + named.error().reason);
  }
  if (named->star) {
    return sip::badRequest("Refer-To cannot be *");
  }
  Referral referral;
  referral.target = named->uri;
  if (!referral.target.isSip()) {
    return sip::badRequest("Refer-To must be a sip: or sips: URI");
  }
  if (referral.target.host.empty()) {
    return sip::badRequest("Refer-To has no host");
  }
  // RFC 3261 §19.1.1: the method parameter says what request the URI is for; INVITE by default.
  if (const auto* method = referral.target.param("method")) {
    const std::string name = method->value.value_or("");
    if (sip::iequals(name, "BYE")) {
      referral.method = Referral::Method::kBye;
    } else if (!sip::iequals(name, "INVITE")) {
      return sip::badRequest("Refer-To method must be INVITE or BYE");
    }
  }
  std::erase_if(referral.target.params,
                [](const sip::Param& p) { return sip::iequals(p.name, "method"); });
  referral.target.headers.clear();
  return referral;
}

std::string sipfrag(int status, std::string_view reason) {
  // One line, CRLF-terminated (RFC 3420 §2: a start line alone is a valid fragment).
  std::string line = "SIP/2.0 " + std::to_string(status) + " ";
  for (char c : reason) {
    line += (c == '\r' || c == '\n') ? ' ' : c;
  }
  return line + "\r\n";
}

std::string addressOf(const sip::Uri& uri) {
  sip::Uri bare;
  bare.scheme = uri.scheme;
  bare.schemeText = uri.schemeText;
  bare.user = uri.user;
  bare.host = uri.host;
  bare.port = uri.port;
  std::string text = bare.str();
  return text;
}

}  // namespace confab::room
