#include "api/Routes.hpp"

#include <algorithm>
#include <boost/beast/core/string.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/url/encode.hpp>
#include <boost/url/rfc/unreserved_chars.hpp>
#include <cctype>

namespace confab::api::routes {

// Text from the request put into a detail: printable ASCII only, and not much of it, so that a
// problem body is valid UTF-8 and never echoes a large or hostile input back.
std::string printable(std::string_view text) {
  constexpr std::size_t kMax = 100;
  std::string out;
  for (char c : text.substr(0, kMax)) {
    out += (c >= 0x20 && c < 0x7f) ? c : '?';
  }
  if (text.size() > kMax) {
    out += "...";
  }
  return out;
}

std::string urlPart(std::string_view text) {
  return boost::urls::encode(text, boost::urls::unreserved_chars);
}

const std::string& param(const Params& params, std::string_view name) {
  for (const auto& [key, value] : params) {
    if (key == name) {
      return value;
    }
  }
  static const std::string kNone;
  return kNone;
}

namespace {

// Members the resource does not know are refused, so that a misspelt "mutd" is not silently
// ignored.
std::optional<Problem> onlyMembers(const boost::json::object& body,
                                   std::span<const std::string_view> known) {
  std::vector<FieldError> errors;
  for (const auto& member : body) {
    if (std::find(known.begin(), known.end(), member.key()) == known.end()) {
      errors.push_back({printable(member.key()), "unknown member"});
    }
  }
  if (errors.empty()) {
    return std::nullopt;
  }
  return badRequest("the body has members this resource does not take", std::move(errors));
}

}  // namespace

// A request body that must be a JSON object (RFC 8259) of the 'known' members only, or nothing
// at all when 'emptyIsOk'.
std::variant<boost::json::object, Problem> jsonBody(const Request& request,
                                                    bool emptyIsOk,
                                                    std::span<const std::string_view> known) {
  if (request.body().empty() && emptyIsOk) {
    return boost::json::object{};
  }
  auto type = request[http::field::content_type];
  auto semicolon = type.find(';');
  auto mediaType = type.substr(0, semicolon);
  while (!mediaType.empty() && mediaType.back() == ' ') {
    mediaType.remove_suffix(1);
  }
  if (!boost::beast::iequals(mediaType, "application/json")) {
    return problemWith(http::status::unsupported_media_type, "the body must be application/json",
                       {{"Content-Type", "expected application/json"}});
  }
  boost::system::error_code ec;
  auto value = boost::json::parse(request.body(), ec);
  if (ec) {
    return badRequest("the body is not valid JSON: " + ec.message());
  }
  if (!value.is_object()) {
    return badRequest("the body must be a JSON object");
  }
  if (auto problem = onlyMembers(value.as_object(), known)) {
    return std::move(*problem);
  }
  return std::move(value.as_object());
}

std::string entityTag(const boost::json::value& stored) {
  uint64_t hash = 14695981039346656037ULL;
  for (char c : boost::json::serialize(stored)) {
    hash ^= static_cast<unsigned char>(c);
    hash *= 1099511628211ULL;
  }
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out = "\"";
  for (int shift = 60; shift >= 0; shift -= 4) {
    out += kDigits[(hash >> shift) & 0xf];
  }
  return out + "\"";
}

std::optional<Problem> checkIfMatch(const Request& request, const std::string& current) {
  if (request.count(http::field::if_match) == 0) {
    return std::nullopt;
  }
  for (auto tag : listElements(request, http::field::if_match)) {
    // Strong comparison: a weak tag (W/"...") never matches here.
    if (tag == "*" || tag == current) {
      return std::nullopt;
    }
  }
  return problemWith(http::status::precondition_failed,
                     "the resource changed since it was read (If-Match): read it again",
                     {{"If-Match", "current is " + current}});
}

std::variant<int64_t, Problem> idParam(const Params& params, std::string_view what) {
  const std::string& text = param(params, "id");
  int64_t id = 0;
  if (text.empty() || text.size() > 18 ||
      text.find_first_not_of("0123456789") != std::string::npos || text.front() == '0') {
    return notFound("no " + std::string(what) + " " + printable(text));
  }
  for (char c : text) {
    id = id * 10 + (c - '0');
  }
  return id;
}

Problem fromStore(const policy::StoreError& error) {
  using Kind = policy::StoreError::Kind;
  switch (error.kind) {
    case Kind::kNotFound:
      return notFound(error.message);
    case Kind::kConflict:
      return problemWith(http::status::conflict, error.message);
    case Kind::kInvalid: {
      // The store's messages start with the field they are about: "name: ...", "language:
      // ...", or `domain "x": ...` for one of the domains.
      std::size_t end = 0;
      while (end < error.message.size() &&
             std::isalpha(static_cast<unsigned char>(error.message[end])) != 0) {
        ++end;
      }
      std::string field = error.message.substr(0, end);
      if (field == "domain") {
        field = "domains";
      }
      std::vector<FieldError> errors;
      if (!field.empty()) {
        errors.push_back({field, error.message});
      }
      return problemWith(http::status::unprocessable_entity, error.message, std::move(errors));
    }
    case Kind::kIo:
      break;
  }
  return problemWith(http::status::internal_server_error,
                     "the policy store could not complete the change; nothing of it was kept");
}

}  // namespace confab::api::routes
