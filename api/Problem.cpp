#include "api/Problem.hpp"

#include <boost/beast/http/error.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

#include "api/JsonText.hpp"

namespace confab::api {

namespace {
Problem make(http::status status, std::string detail) {
  Problem problem;
  problem.status = status;
  problem.detail = std::move(detail);
  return problem;
}
}  // namespace

Problem badRequest(std::string detail, std::vector<FieldError> errors) {
  Problem problem = make(http::status::bad_request, std::move(detail));
  problem.errors = std::move(errors);
  return problem;
}

Problem problemWith(http::status status, std::string detail, std::vector<FieldError> errors) {
  Problem problem = make(status, std::move(detail));
  problem.errors = std::move(errors);
  return problem;
}

Problem notFound(std::string detail) {
  return make(http::status::not_found, std::move(detail));
}

Problem methodNotAllowed(std::string allow) {
  Problem problem = make(http::status::method_not_allowed, "this resource allows " + allow);
  problem.allow = std::move(allow);
  return problem;
}

Problem fromParseError(const boost::system::error_code& error) {
  if (error == http::error::body_limit) {
    return make(http::status::payload_too_large, "the request body is too large");
  }
  if (error == http::error::header_limit) {
    return make(http::status::request_header_fields_too_large, "the request header is too large");
  }
  // Beast's messages name the defect ("bad method", "bad target") without echoing bytes.
  return badRequest("malformed HTTP request: " + error.message());
}

Response toResponse(const Problem& problem, unsigned version, bool keepAlive) {
  boost::json::object body;
  body["type"] = problem.type;
  body["title"] = std::string_view(http::obsolete_reason(problem.status));
  body["status"] = static_cast<unsigned>(problem.status);
  body["detail"] = problem.detail;
  if (!problem.errors.empty()) {
    boost::json::array errors;
    for (const auto& e : problem.errors) {
      errors.push_back(boost::json::object{{"field", e.field}, {"detail", e.detail}});
    }
    body["errors"] = std::move(errors);
  }
  Response response(problem.status, version);
  response.set(http::field::content_type, kProblemContentType);
  response.set(http::field::cache_control, "no-store");
  if (!problem.allow.empty()) {
    response.set(http::field::allow, problem.allow);
  }
  for (const auto& [field, value] : problem.headers) {
    response.set(field, value);
  }
  response.keep_alive(keepAlive);
  response.body() = jsonText(body);
  response.prepare_payload();
  return response;
}

}  // namespace confab::api
