// RFC 9457 problem details: the one place where anything that goes wrong with an API request
// becomes an HTTP status and an application/problem+json body.
#pragma once

#include <boost/system/error_code.hpp>
#include <string>
#include <utility>
#include <vector>

#include "api/Http.hpp"

namespace confab::api {

// One request field that was refused, reported in the problem's "errors" member.
struct FieldError {
  std::string field;
  std::string detail;
};

struct Problem {
  http::status status = http::status::internal_server_error;
  // RFC 9457 §3.1.3: an explanation specific to this occurrence, for a person to read.
  std::string detail;
  std::vector<FieldError> errors;
  // For 405: the methods the resource does allow (RFC 9110 §15.5.6 requires Allow).
  std::string allow;
  // Other headers the status calls for: WWW-Authenticate on a 401 (RFC 9110 §15.5.2),
  // Retry-After on a 429 (RFC 6585 §4).
  std::vector<std::pair<http::field, std::string>> headers;
  // RFC 9457 §4.2.1: "about:blank" when the status says all there is to say.
  std::string type = "about:blank";
};

inline constexpr std::string_view kProblemContentType = "application/problem+json";

Problem badRequest(std::string detail, std::vector<FieldError> errors = {});
Problem notFound(std::string detail);
// Any other status: 409 (the room's state forbids it now), 415, 503...
Problem problemWith(http::status status, std::string detail, std::vector<FieldError> errors = {});
Problem methodNotAllowed(std::string allow);
// What to answer a request that could not be parsed (a Beast HTTP parse error).
Problem fromParseError(const boost::system::error_code& error);

// The problem as a response to a request of the given HTTP version.
Response toResponse(const Problem& problem, unsigned version, bool keepAlive);

}  // namespace confab::api
