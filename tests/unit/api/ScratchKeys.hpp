// A real policy store for the API's tests (a SQLite file in a scratch folder, or a schema on the
// PostgreSQL server tests/postgres/run.sh names: ScratchStore), with keys issued on demand: the
// API authenticates every request against it as confab does.
#pragma once

#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <boost/json/parse.hpp>
#include <filesystem>
#include <memory>
#include <string>
#include <variant>
#include <vector>

#include "api/Http.hpp"
#include "policy/Store.hpp"
#include "tests/unit/policy/ScratchStore.hpp"

namespace confab::api {

class ScratchKeys {
 public:
  ScratchKeys() {
    auto opened = policy::Store::open(scratch_.location());
    if (auto* error = std::get_if<policy::StoreError>(&opened)) {
      ADD_FAILURE() << error->message;
      return;
    }
    store_ = std::move(std::get<std::unique_ptr<policy::Store>>(opened));
  }
  ~ScratchKeys() { store_.reset(); }
  ScratchKeys(const ScratchKeys&) = delete;
  ScratchKeys& operator=(const ScratchKeys&) = delete;

  policy::Store& store() { return *store_; }
  // Where the store is, for a second connection to it (Store::open).
  [[nodiscard]] std::string path() const { return scratch_.location(); }
  // A scratch folder of the test's own (recordings, media).
  [[nodiscard]] const std::filesystem::path& folder() const { return scratch_.dir(); }

  // A tenant owning nothing, for keys and rooms scoped to it.
  int64_t tenant(const std::string& name) {
    policy::Tenant t;
    t.name = name;
    auto created = store_->createTenant(t);
    if (auto* error = std::get_if<policy::StoreError>(&created)) {
      ADD_FAILURE() << error->message;
      return 0;
    }
    return std::get<policy::Tenant>(created).id;
  }

  // A room of a tenant, with its name and limit.
  void room(int64_t tenantId,
            const std::string& user,
            const std::string& name = {},
            unsigned maxParticipants = 0) {
    policy::RoomChange change;
    change.room.tenantId = tenantId;
    change.room.user = user;
    change.room.name = name.empty() ? user : name;
    change.room.maxParticipants = maxParticipants;
    auto created = store_->createRoom(change);
    if (auto* error = std::get_if<policy::StoreError>(&created)) {
      ADD_FAILURE() << error->message;
    }
  }

  // "Bearer TOKEN" for a new key: the operator's (tenant 0) or a tenant's.
  std::string bearer(int64_t tenantId = 0, bool readOnly = false) {
    policy::ApiKey spec;
    spec.tenantId = tenantId;
    spec.readOnly = readOnly;
    auto issued = store_->createApiKey(spec);
    if (auto* error = std::get_if<policy::StoreError>(&issued)) {
      ADD_FAILURE() << error->message;
      return {};
    }
    return "Bearer " + std::get<policy::IssuedApiKey>(issued).token;
  }

 private:
  test::ScratchStore scratch_;
  std::unique_ptr<policy::Store> store_;
};

// A request to the router as an API client makes it: Host, the key, a JSON body when given.
inline Request apiRequest(http::verb method,
                          const std::string& target,
                          const std::string& authorization,
                          const std::string& body = {}) {
  Request request(method, target, 11);
  request.set(http::field::host, "localhost");
  if (!authorization.empty()) {
    request.set(http::field::authorization, authorization);
  }
  if (!body.empty()) {
    request.set(http::field::content_type, "application/json");
    request.body() = body;
    request.prepare_payload();
  }
  return request;
}

inline boost::json::value jsonOf(const Response& response) {
  return boost::json::parse(response.body());
}

// The members a problem's "errors" name, in order.
inline std::vector<std::string> problemFields(const Response& response) {
  std::vector<std::string> out;
  const auto parsed = jsonOf(response);
  if (const auto* errors = parsed.as_object().if_contains("errors")) {
    for (const auto& e : errors->as_array()) {
      out.emplace_back(e.at("field").as_string());
    }
  }
  return out;
}

}  // namespace confab::api
