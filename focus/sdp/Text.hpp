// Small text helpers shared by the SDP parsers (internal to focus/sdp).
#pragma once

#include <charconv>
#include <cstddef>
#include <optional>
#include <string_view>
#include <vector>

namespace confab::sdp::text {

inline bool isBlank(char c) {
  return c == ' ' || c == '\t';
}

inline std::string_view trim(std::string_view s) {
  while (!s.empty() && isBlank(s.front())) {
    s.remove_prefix(1);
  }
  while (!s.empty() && isBlank(s.back())) {
    s.remove_suffix(1);
  }
  return s;
}

inline char toLower(char c) {
  return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
}

inline bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) {
    return false;
  }
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (toLower(a[i]) != toLower(b[i])) {
      return false;
    }
  }
  return true;
}

// Every piece between separators, empty ones included ("a;;b" -> a, "", b).
inline std::vector<std::string_view> split(std::string_view s, char separator) {
  std::vector<std::string_view> out;
  std::size_t start = 0;
  while (true) {
    const auto end = s.find(separator, start);
    if (end == std::string_view::npos) {
      out.push_back(s.substr(start));
      return out;
    }
    out.push_back(s.substr(start, end - start));
    start = end + 1;
  }
}

// Words separated by runs of blanks; stops after 'limit' words so a hostile line costs little.
inline std::vector<std::string_view> splitWords(std::string_view s, std::size_t limit) {
  std::vector<std::string_view> out;
  std::size_t i = 0;
  while (i < s.size() && out.size() < limit) {
    while (i < s.size() && isBlank(s[i])) {
      ++i;
    }
    if (i == s.size()) {
      break;
    }
    const std::size_t start = i;
    while (i < s.size() && !isBlank(s[i])) {
      ++i;
    }
    out.push_back(s.substr(start, i - start));
  }
  return out;
}

// Decimal digits only (no sign, no blanks), within T's range.
template <class T>
std::optional<T> parseNumber(std::string_view s) {
  if (s.empty() || s.size() > 20 || s.find_first_not_of("0123456789") != std::string_view::npos) {
    return std::nullopt;
  }
  T value{};
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), value);
  if (ec != std::errc() || end != s.data() + s.size()) {
    return std::nullopt;
  }
  return value;
}

// An IPv4 dotted quad (or an IPv6 literal when 'ipv6'), or a host name (RFC 4566 §5.7 allows an
// FQDN as connection address).
bool isValidAddress(std::string_view address, bool ipv6);
bool isIpv4Literal(std::string_view address);
bool isIpv6Literal(std::string_view address);

}  // namespace confab::sdp::text
