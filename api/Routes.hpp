// What the router's handlers share (internal to confab_api): the reply types, the context a
// handler runs in, and the helpers that read a request. The route table is in api/Router.cpp;
// handlers live beside the resources they serve (api/Router.cpp for rooms and the live bridge,
// api/TenantRoutes.cpp for tenants and keys).
#pragma once

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>
#include <initializer_list>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "api/Auth.hpp"
#include "api/Http.hpp"
#include "api/Live.hpp"
#include "api/Problem.hpp"
#include "policy/Directory.hpp"
#include "policy/Store.hpp"

namespace confab::api::routes {

// Values captured by a route's {name} segments, in pattern order.
using Params = std::vector<std::pair<std::string_view, std::string>>;

struct Json {
  http::status status;
  boost::json::value body;
  // Location on a 201 (RFC 9110 §10.2.2), for one.
  std::vector<std::pair<http::field, std::string>> headers = {};
};
using Reply = std::variant<Json, Problem>;

struct Context {
  const policy::Directory& directory;
  policy::Store& store;  // tenants, keys (and, next, rooms): one transaction per change
  Live* live;
  Principal who;  // for open routes, nobody's
};

// Text from the request put into a detail: printable ASCII only, and not much of it, so that a
// problem body is valid UTF-8 and never echoes a large or hostile input back.
std::string printable(std::string_view text);

// The value captured for {name}; empty when the pattern has none.
const std::string& param(const Params& params, std::string_view name);

// A request body that must be a JSON object (RFC 8259) of the 'known' members only, or nothing
// at all when 'emptyIsOk'.
std::variant<boost::json::object, Problem> jsonBody(const Request& request,
                                                    bool emptyIsOk,
                                                    std::span<const std::string_view> known);
inline std::variant<boost::json::object, Problem> jsonBody(
    const Request& request, bool emptyIsOk, std::initializer_list<std::string_view> known) {
  return jsonBody(request, emptyIsOk,
                  std::span<const std::string_view>(known.begin(), known.size()));
}

// What the store refused, as the problem for it: 404, 409 on a conflict (a duplicate name), 422
// for a value that breaks a rule (naming the field the store named), 500 for the file.
Problem fromStore(const policy::StoreError& error);

// Tenants and API keys, the operator's (api/TenantRoutes.cpp).
Reply listTenants(const Context& context, const Request& request, const Params& params);
Reply createTenant(const Context& context, const Request& request, const Params& params);
Reply getTenant(const Context& context, const Request& request, const Params& params);
Reply changeTenant(const Context& context, const Request& request, const Params& params);
Reply deleteTenant(const Context& context, const Request& request, const Params& params);
Reply listKeys(const Context& context, const Request& request, const Params& params);
Reply createKey(const Context& context, const Request& request, const Params& params);
Reply deleteKey(const Context& context, const Request& request, const Params& params);

}  // namespace confab::api::routes
