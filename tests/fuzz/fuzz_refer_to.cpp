// libFuzzer target for the Refer-To of a REFER (RFC 3515 §2.1, RFC 4579 §5.5): whatever the
// header holds, parseReferTo either refuses it with a reason fit for a header, or gives a sip:
// or sips: target with a host, no embedded headers and no method parameter, whose text parses
// back to the same target; and a status line made from the input is one line.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "focus/room/Referral.hpp"
#include "focus/sip/Message.hpp"
#include "focus/sip/Uri.hpp"

namespace {

void check(bool condition) {
  if (!condition) {
    std::abort();
  }
}

}  // namespace

// NOLINTNEXTLINE(readability-identifier-naming): the name libFuzzer calls
extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace confab;
  const std::string_view value(reinterpret_cast<const char*>(data), size);
  auto referral = room::parseReferTo(value);
  if (!referral) {
    check(referral.error().status == 400);
    check(!referral.error().reason.empty());
  } else {
    const sip::Uri& target = referral->target;
    check(target.isSip());
    check(!target.host.empty());
    check(target.headers.empty());
    check(target.param("method") == nullptr);
    const std::string text = target.str();
    auto again = room::parseReferTo("<" + text + ">");
    check(static_cast<bool>(again));
    check(again->target.str() == text);
    check(again->method == room::Referral::Method::kInvite);
    // The address compared with participants' is the same user and host, nothing else.
    auto address = sip::Uri::parse(room::addressOf(target));
    check(static_cast<bool>(address));
    check(address->params.empty() && address->headers.empty());
    check(address->user == target.user && address->host == target.host);
  }
  const std::string line = room::sipfrag(500, value);
  check(line.size() >= 2 && line.substr(line.size() - 2) == "\r\n");
  check(line.find_first_of("\r\n") == line.size() - 2);
  return 0;
}
