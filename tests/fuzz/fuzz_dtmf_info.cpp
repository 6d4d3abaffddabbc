// libFuzzer target for DTMF keys in SIP INFO bodies. The first input byte picks the
// Content-Type (the two DTMF types, a spelling of one with case and parameters, or another type);
// the rest is the body. An accepted body must give one of the sixteen keys, which must read the
// same when written back in either form; a refusal must carry a reason fit for a header.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <variant>

#include "focus/room/DtmfInfo.hpp"

namespace {

void check(bool condition) {
  if (!condition) {
    std::abort();
  }
}

constexpr std::string_view kTypes[] = {
    "application/dtmf-relay",
    "application/dtmf",
    "Application/DTMF-Relay ; charset=us-ascii",
    "application/sdp",
};

bool isKey(char c) {
  return (c >= '0' && c <= '9') || c == '*' || c == '#' || (c >= 'A' && c <= 'D');
}

}  // namespace

// NOLINTNEXTLINE(readability-identifier-naming): the name libFuzzer calls
extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace confab::room;
  if (size == 0) {
    return 0;
  }
  const std::string_view type = kTypes[data[0] % std::size(kTypes)];
  const std::string body(reinterpret_cast<const char*>(data) + 1, size - 1);

  const auto result = parseDtmfInfo(type, body);
  const bool known = isDtmfInfoType(type);
  check(known == (data[0] % std::size(kTypes) != 3));

  if (const auto* error = std::get_if<DtmfInfoError>(&result)) {
    check(!error->reason.empty());
    check(error->reason.find_first_of("\r\n") == std::string::npos);
    return 0;
  }
  const char key = std::get<char>(result);
  check(known);
  check(body.size() <= kMaxDtmfInfoBody);
  check(isKey(key));

  // The key written back in either form reads as the same key.
  const std::string relay = "Signal=" + std::string(1, key) + "\r\nDuration=160\r\n";
  const auto again = parseDtmfInfo("application/dtmf-relay", relay);
  check(std::holds_alternative<char>(again) && std::get<char>(again) == key);
  const auto bare = parseDtmfInfo("application/dtmf", std::string_view(&key, 1));
  check(std::holds_alternative<char>(bare) && std::get<char>(bare) == key);
  return 0;
}
