#include "focus/sdp/Text.hpp"

#include <arpa/inet.h>

#include <string>

namespace confab::sdp::text {
namespace {

bool isHostName(std::string_view name) {
  // RFC 1123 §2.1 host names: letters, digits, '-' and '.', with at least one letter so a broken
  // dotted quad is not taken for a name.
  if (name.empty() || name.size() > 253) {
    return false;
  }
  bool letter = false;
  for (const char c : name) {
    const bool alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
    const bool digit = c >= '0' && c <= '9';
    if (!alpha && !digit && c != '-' && c != '.') {
      return false;
    }
    letter = letter || alpha;
  }
  return letter && name.front() != '.' && name.front() != '-';
}

}  // namespace

bool isIpv4Literal(std::string_view address) {
  if (address.empty() || address.size() > 15) {
    return false;
  }
  const std::string copy(address);
  in_addr out{};
  return inet_pton(AF_INET, copy.c_str(), &out) == 1;
}

bool isIpv6Literal(std::string_view address) {
  if (address.empty() || address.size() > 45) {
    return false;
  }
  const std::string copy(address);
  in6_addr out{};
  return inet_pton(AF_INET6, copy.c_str(), &out) == 1;
}

bool isValidAddress(std::string_view address, bool ipv6) {
  if (ipv6) {
    return isIpv6Literal(address) || isHostName(address);
  }
  return isIpv4Literal(address) || isHostName(address);
}

}  // namespace confab::sdp::text
