// A SIP request or response (RFC 3261 §7): start line, header fields in order, body bytes.
// Header names are stored in their canonical long form; comma-separated lists of the list-valued
// headers (Via, Contact, Route, Allow, ...) are stored one value per entry (RFC 3261 §7.3.1).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "focus/sip/Headers.hpp"
#include "focus/sip/Result.hpp"
#include "focus/sip/Uri.hpp"

namespace confab::sip {

struct Header {
  std::string name;   // canonical long form ("Via", "Call-ID", "Content-Type", ...)
  std::string value;  // folded lines joined, surrounding blanks removed
};

// Limits on what a peer may send us; a message over them is refused, never truncated.
struct Limits {
  std::size_t maxMessageBytes = 65535;
  std::size_t maxHeaderBytes = 32768;  // the start line and header section together
  std::size_t maxHeaders = 256;
};

class Message {
 public:
  static Message request(std::string method, Uri requestUri);
  static Message response(int status, std::string reason);

  [[nodiscard]] bool isRequest() const { return status == 0; }
  [[nodiscard]] bool isResponse() const { return status != 0; }

  // First value of a header (by canonical or compact name, case-insensitive), or nullptr.
  [[nodiscard]] const std::string* header(std::string_view name) const;
  // Every value of a header, in order.
  [[nodiscard]] std::vector<std::string_view> headers(std::string_view name) const;
  [[nodiscard]] bool hasHeader(std::string_view name) const { return header(name) != nullptr; }
  void add(std::string_view name, std::string value);
  // Replaces every value of a header with one value (adds it if absent).
  void set(std::string_view name, std::string value);
  void remove(std::string_view name);
  // True when a comma-separated list header (Supported, Require, Allow...) holds the token.
  [[nodiscard]] bool hasToken(std::string_view name, std::string_view token) const;

  // Typed accessors; the parser has checked that the mandatory ones parse (RFC 3261 §8.1.1).
  [[nodiscard]] Result<Via> topVia() const;
  [[nodiscard]] Result<NameAddr> from() const;
  [[nodiscard]] Result<NameAddr> to() const;
  [[nodiscard]] Result<CSeq> cseq() const;
  [[nodiscard]] std::string callId() const;
  [[nodiscard]] std::optional<std::string> contentType() const;  // media type, lower case

  // The wire form: start line, headers, Content-Length (always written, from the body).
  [[nodiscard]] std::string serialize() const;

  std::string method;          // request method; for a response, the CSeq method
  Uri requestUri;              // requests only
  int status = 0;              // responses only: 100..699
  std::string reason;          // responses only
  std::vector<Header> fields;  // every header field except Content-Length
  std::string body;
};

// Canonical long name for a header name or compact form ("v" -> "Via", "call-id" -> "Call-ID").
std::string canonicalHeaderName(std::string_view name);
// True for the headers whose values are comma-separated lists (RFC 3261 §7.3.1).
bool isListHeader(std::string_view canonicalName);
bool iequals(std::string_view a, std::string_view b);
// The methods RFC 3261 and its extensions define (INVITE ... UPDATE); others are "unknown"
// (RFC 3261 §8.2.1: 501 rather than 405).
bool isStandardMethod(std::string_view method);

}  // namespace confab::sip
