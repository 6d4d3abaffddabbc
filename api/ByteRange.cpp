#include "api/ByteRange.hpp"

#include <algorithm>
#include <boost/beast/core/string.hpp>
#include <limits>
#include <optional>

namespace confab::api {

namespace {

constexpr uint64_t kHuge = std::numeric_limits<uint64_t>::max();

// 1*DIGIT; a value past 64 bits saturates (it is past any file's end either way).
std::optional<uint64_t> digits(std::string_view text) {
  if (text.empty()) {
    return std::nullopt;
  }
  uint64_t value = 0;
  for (char c : text) {
    if (c < '0' || c > '9') {
      return std::nullopt;
    }
    const auto digit = static_cast<uint64_t>(c - '0');
    value = value > (kHuge - digit) / 10 ? kHuge : value * 10 + digit;
  }
  return value;
}

std::string_view trimmed(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) {
    text.remove_prefix(1);
  }
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) {
    text.remove_suffix(1);
  }
  return text;
}

}  // namespace

RangeAnswer requestedRange(std::string_view header, uint64_t size) {
  // RFC 9110 §14.1.1: ranges-specifier = range-unit "=" range-set; the unit is case-insensitive.
  header = trimmed(header);
  const auto equals = header.find('=');
  if (equals == std::string_view::npos ||
      !boost::beast::iequals(trimmed(header.substr(0, equals)), "bytes")) {
    return WholeRepresentation{};
  }
  const std::string_view spec = trimmed(header.substr(equals + 1));
  if (spec.find(',') != std::string_view::npos) {
    return WholeRepresentation{};
  }
  const auto dash = spec.find('-');
  if (dash == std::string_view::npos) {
    return WholeRepresentation{};
  }
  const std::string_view firstText = spec.substr(0, dash);
  const std::string_view lastText = spec.substr(dash + 1);
  if (firstText.empty()) {
    // suffix-range = "-" suffix-length: the last N bytes, all of them when it is shorter.
    const auto suffix = digits(lastText);
    if (!suffix) {
      return WholeRepresentation{};
    }
    // §14.1.3: satisfiable only with a non-zero suffix-length, and never for an empty file.
    if (*suffix == 0 || size == 0) {
      return Unsatisfiable{};
    }
    const uint64_t length = std::min(*suffix, size);
    return ByteRange{size - length, length};
  }
  const auto first = digits(firstText);
  if (!first) {
    return WholeRepresentation{};
  }
  uint64_t last = kHuge;
  if (!lastText.empty()) {
    const auto parsed = digits(lastText);
    // §14.1.2: a last-pos below the first-pos makes the range invalid (ignored, not refused).
    if (!parsed || *parsed < *first) {
      return WholeRepresentation{};
    }
    last = *parsed;
  }
  // §14.1.3: satisfiable when the first-pos is within the representation.
  if (*first >= size) {
    return Unsatisfiable{};
  }
  last = std::min(last, size - 1);
  return ByteRange{*first, last - *first + 1};
}

}  // namespace confab::api
