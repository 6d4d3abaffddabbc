// SIP, SIPS and tel URIs (RFC 3261 §19.1, §25.1; RFC 3966), with any other scheme kept opaque
// (RFC 3261 §19.1.1 lets any absoluteURI stand in a Request-URI; the UAS answers 416).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "focus/sip/Result.hpp"

namespace confab::sip {

struct Param {
  std::string name;                  // as received (compare case-insensitively)
  std::optional<std::string> value;  // absent for a bare flag such as ";lr" or ";rport"
};

// Finds a parameter by case-insensitive name.
const Param* findParam(const std::vector<Param>& params, std::string_view name);

class Uri {
 public:
  enum class Scheme { kSip, kSips, kTel, kOther };

  static Result<Uri> parse(std::string_view text);

  [[nodiscard]] std::string str() const;
  [[nodiscard]] bool isSip() const { return scheme == Scheme::kSip || scheme == Scheme::kSips; }
  [[nodiscard]] const Param* param(std::string_view name) const { return findParam(params, name); }
  // The user part with %HH escapes decoded (RFC 3261 §19.1.2); may contain NUL bytes.
  [[nodiscard]] std::string unescapedUser() const;
  // host[:port] as it should appear in a Via sent-by or a Host-like field.
  [[nodiscard]] std::string hostPort() const;

  Scheme scheme = Scheme::kSip;
  std::string schemeText;       // lower-cased scheme name ("sip", "tel", "soap.beep", ...)
  std::string user;             // escaped form, as on the wire
  std::optional<std::string> password;
  std::string host;             // IPv6 references keep their brackets
  std::optional<uint16_t> port;
  std::vector<Param> params;    // uri-parameters
  std::vector<Param> headers;   // ?name=value&... (escaped form)
  std::string opaque;           // everything after "scheme:" for kOther; the number for kTel
};

// Parses host [ ":" port ] (RFC 3261 §25.1 hostport); the host comes back lower-cased.
Result<std::pair<std::string, std::optional<uint16_t>>> parseHostPort(std::string_view text);

// Decodes %HH escapes; leaves a '%' not followed by two hex digits as it is.
std::string unescape(std::string_view text);

}  // namespace confab::sip
