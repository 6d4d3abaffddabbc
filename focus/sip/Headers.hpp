// Typed views of the header fields the stack acts on: Via, name-addr fields (From, To, Contact,
// Route), CSeq. Each parses one field value (one element of a comma list).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "focus/sip/Result.hpp"
#include "focus/sip/Uri.hpp"

namespace confab::sip {

// RFC 3261 §20.42: via-parm = sent-protocol LWS sent-by *( SEMI via-params )
struct Via {
  static Result<Via> parse(std::string_view value);
  [[nodiscard]] std::string str() const;
  [[nodiscard]] const Param* param(std::string_view name) const { return findParam(params, name); }
  [[nodiscard]] std::string branch() const;
  void setParam(std::string_view name, std::optional<std::string> value);

  std::string protocol = "SIP/2.0";  // protocol-name "/" protocol-version
  std::string transport;             // upper case: UDP, TCP, TLS, SCTP, WS, or any token
  std::string host;                  // IPv6 references keep their brackets
  std::optional<uint16_t> port;
  std::vector<Param> params;
};

// RFC 3261 §20.10, §20.20, §20.39: ( name-addr / addr-spec ) *( SEMI param ). Parameters after an
// addr-spec without <> belong to the header, not the URI (RFC 3261 §20.10, RFC 4475 §3.3.12).
struct NameAddr {
  static Result<NameAddr> parse(std::string_view value);
  [[nodiscard]] std::string str() const;
  [[nodiscard]] const Param* param(std::string_view name) const { return findParam(params, name); }
  [[nodiscard]] std::string tag() const;
  void setParam(std::string_view name, std::optional<std::string> value);

  std::optional<std::string> displayName;  // unquoted, escapes resolved
  Uri uri;
  bool star = false;  // "Contact: *" (RFC 3261 §10.2.2)
  std::vector<Param> params;
};

// RFC 3261 §20.16: CSeq = 1*DIGIT LWS Method; the number is below 2^31 (§8.1.1.5) but a receiver
// accepts up to 2^32-1 (RFC 4475 §3.1.2.4).
struct CSeq {
  static Result<CSeq> parse(std::string_view value);
  [[nodiscard]] std::string str() const;

  uint32_t number = 0;
  std::string method;
};

// Parses a decimal number of at most 'max'; refuses signs, blanks and overflow.
std::optional<uint64_t> parseDecimal(std::string_view text, uint64_t max);

}  // namespace confab::sip
