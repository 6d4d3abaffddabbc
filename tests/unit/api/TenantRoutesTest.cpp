// The operator's routes over the router and a real policy store: tenants created, read, changed
// and deleted, keys issued and revoked, each change kept whole or not at all, and each refusal a
// problem naming the member.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <string>

#include "api/Router.hpp"
#include "tests/unit/api/ScratchKeys.hpp"

namespace confab::api {
namespace {

using ::testing::HasSubstr;

const auto kClient = boost::asio::ip::make_address("192.0.2.9");

class TenantRoutesTest : public ::testing::Test {
 protected:
  Response call(http::verb method,
                const std::string& target,
                const std::string& body = {},
                const std::string& key = {}) {
    return router_.route(apiRequest(method, target, key.empty() ? operator_ : key, body), kClient);
  }
  static boost::json::value json(const Response& response) { return jsonOf(response); }
  static std::vector<std::string> fields(const Response& response) {
    return problemFields(response);
  }

  ScratchKeys keys_;
  Auth auth_{keys_.store()};
  Router router_{keys_.store(), auth_};
  std::string operator_ = keys_.bearer();
};

TEST_F(TenantRoutesTest, AnOperatorCreatesReadsChangesAndDeletesATenant) {
  auto created = call(http::verb::post, "/v1/tenants",
                      R"({"name":"acme","domains":["Acme.example"],"maxParticipants":50,
                          "dialOut":{"user":"bridge","password":"s3cret"}})");
  ASSERT_EQ(created.result(), http::status::created) << created.body();
  const auto tenant = json(created).as_object();
  const auto id = tenant.at("id").as_int64();
  EXPECT_EQ(created[http::field::location], "/v1/tenants/" + std::to_string(id));
  EXPECT_EQ(tenant.at("domains"), boost::json::parse(R"(["acme.example"])"));
  EXPECT_EQ(tenant.at("dialOut"), boost::json::parse(R"({"user":"bridge","realm":""})"));
  EXPECT_THAT(created.body(), ::testing::Not(HasSubstr("s3cret"))) << "write-only";
  // Committed before the 201: another connection to the file sees it, with its password.
  {
    auto other = policy::Store::open(keys_.path());
    ASSERT_TRUE(std::holds_alternative<std::unique_ptr<policy::Store>>(other));
    EXPECT_EQ(std::get<std::unique_ptr<policy::Store>>(other)->dialOutAccount(id)->password,
              "s3cret");
  }

  auto got = call(http::verb::get, "/v1/tenants/" + std::to_string(id));
  EXPECT_EQ(got.result(), http::status::ok);
  EXPECT_EQ(json(got), json(created));
  auto list = json(call(http::verb::get, "/v1/tenants")).at("tenants").as_array();
  ASSERT_EQ(list.size(), 1U);

  // A merge: what the body names changes, the rest stays; null removes the account.
  auto changed = call(http::verb::patch, "/v1/tenants/" + std::to_string(id),
                      R"({"maxRooms":3,"dialOut":null})");
  ASSERT_EQ(changed.result(), http::status::ok) << changed.body();
  EXPECT_EQ(json(changed).at("maxRooms"), 3);
  EXPECT_EQ(json(changed).at("maxParticipants"), 50);
  EXPECT_TRUE(json(changed).at("dialOut").is_null());
  EXPECT_FALSE(keys_.store().dialOutAccount(id));

  auto removed = call(http::verb::delete_, "/v1/tenants/" + std::to_string(id));
  EXPECT_EQ(removed.result(), http::status::no_content);
  EXPECT_TRUE(removed.body().empty());
  EXPECT_EQ(call(http::verb::get, "/v1/tenants/" + std::to_string(id)).result(),
            http::status::not_found);
  EXPECT_EQ(call(http::verb::delete_, "/v1/tenants/" + std::to_string(id)).result(),
            http::status::not_found);
}

TEST_F(TenantRoutesTest, ATenantChangeFromAStaleReadIs412) {
  const auto id =
      json(call(http::verb::post, "/v1/tenants", R"({"name":"acme"})")).at("id").as_int64();
  const std::string target = "/v1/tenants/" + std::to_string(id);
  const std::string etag(call(http::verb::get, target)[http::field::etag]);
  ASSERT_EQ(call(http::verb::patch, target, R"({"maxRooms":5})").result(), http::status::ok);
  Request stale(http::verb::patch, target, 11);
  stale.set(http::field::host, "localhost");
  stale.set(http::field::authorization, operator_);
  stale.set(http::field::content_type, "application/json");
  stale.set(http::field::if_match, etag);
  stale.body() = R"({"maxRooms":9})";
  stale.prepare_payload();
  EXPECT_EQ(router_.route(stale, kClient).result(), http::status::precondition_failed);
  EXPECT_EQ(keys_.store().tenant(id)->maxRooms, 5U);
}

TEST_F(TenantRoutesTest, RefusalsNameTheMemberAndKeepNothing) {
  ASSERT_EQ(call(http::verb::post, "/v1/tenants", R"({"name":"acme"})").result(),
            http::status::created);
  auto duplicate = call(http::verb::post, "/v1/tenants", R"({"name":"acme"})");
  EXPECT_EQ(duplicate.result(), http::status::conflict);
  auto types = call(http::verb::post, "/v1/tenants",
                    R"({"name":7,"domains":"x","maxRooms":-1,"recordingAllowed":"yes"})");
  EXPECT_EQ(types.result(), http::status::bad_request);
  EXPECT_EQ(fields(types),
            (std::vector<std::string>{"name", "domains", "maxRooms", "recordingAllowed"}));
  auto unknown = call(http::verb::post, "/v1/tenants", R"({"name":"b","colour":"red"})");
  EXPECT_EQ(unknown.result(), http::status::bad_request);
  EXPECT_EQ(fields(unknown), std::vector<std::string>{"colour"});
  auto unnamed = call(http::verb::post, "/v1/tenants", R"({"domains":[]})");
  EXPECT_EQ(fields(unnamed), std::vector<std::string>{"name"});
  auto domain = call(http::verb::post, "/v1/tenants", R"({"name":"b","domains":["bad_name.x"]})");
  EXPECT_EQ(domain.result(), http::status::unprocessable_entity);
  EXPECT_EQ(fields(domain), std::vector<std::string>{"domains"});
  // A bad dial-out account refuses the whole tenant: nothing half-written.
  auto account = call(http::verb::post, "/v1/tenants",
                      R"({"name":"b","dialOut":{"user":"u","password":"p\r\nX: y"}})");
  EXPECT_EQ(account.result(), http::status::unprocessable_entity);
  EXPECT_EQ(fields(account), std::vector<std::string>{"dialOutPassword"});
  auto accountShape =
      call(http::verb::post, "/v1/tenants", R"({"name":"b","dialOut":{"user":"u","pass":"p"}})");
  EXPECT_EQ(accountShape.result(), http::status::bad_request);
  EXPECT_EQ(fields(accountShape), (std::vector<std::string>{"dialOut.pass", "dialOut.password"}));
  EXPECT_FALSE(keys_.store().tenantByName("b"));
  // Not JSON, or not an object.
  EXPECT_EQ(call(http::verb::post, "/v1/tenants", "{").result(), http::status::bad_request);
  EXPECT_EQ(call(http::verb::post, "/v1/tenants", "[]").result(), http::status::bad_request);
  EXPECT_EQ(call(http::verb::get, "/v1/tenants/abc").result(), http::status::not_found);
  EXPECT_EQ(call(http::verb::get, "/v1/tenants/0").result(), http::status::not_found);
  EXPECT_EQ(call(http::verb::get, "/v1/tenants/99999999999999999999999").result(),
            http::status::not_found);
  ASSERT_EQ(json(call(http::verb::get, "/v1/tenants")).at("tenants").as_array().size(), 1U);
}

TEST_F(TenantRoutesTest, KeysAreIssuedWithTheirTokenOnceAndRevoked) {
  const auto acme =
      json(call(http::verb::post, "/v1/tenants", R"({"name":"acme"})")).at("id").as_int64();
  auto issued = call(http::verb::post, "/v1/keys",
                     R"({"tenant":)" + std::to_string(acme) + R"(,"readOnly":true,"name":"wall"})");
  ASSERT_EQ(issued.result(), http::status::created) << issued.body();
  const auto key = json(issued).as_object();
  const std::string bearer = "Bearer " + std::string(key.at("token").as_string());
  EXPECT_EQ(key.at("tenant"), acme);
  EXPECT_EQ(issued[http::field::location], "/v1/keys/" + std::to_string(key.at("id").as_int64()));
  // The new key works, within its tenant and its access.
  EXPECT_EQ(call(http::verb::get, "/v1/tenants/" + std::to_string(acme), {}, bearer).result(),
            http::status::ok);
  EXPECT_EQ(call(http::verb::get, "/v1/tenants", {}, bearer).result(), http::status::forbidden);
  EXPECT_EQ(call(http::verb::post, "/v1/keys", "{}", bearer).result(), http::status::forbidden);
  // Listed without the token.
  const auto listed = call(http::verb::get, "/v1/keys");
  EXPECT_THAT(listed.body(), ::testing::Not(HasSubstr("confab_")));
  EXPECT_EQ(json(listed).at("keys").as_array().size(), 2U);
  // Revoked: gone at once.
  EXPECT_EQ(
      call(http::verb::delete_, "/v1/keys/" + std::to_string(key.at("id").as_int64())).result(),
      http::status::no_content);
  EXPECT_EQ(call(http::verb::get, "/v1/tenants/" + std::to_string(acme), {}, bearer).result(),
            http::status::unauthorized);
  // An operator key from an empty body; a key for a tenant that does not exist is refused.
  auto op = call(http::verb::post, "/v1/keys", "");
  EXPECT_EQ(op.result(), http::status::created);
  EXPECT_TRUE(json(op).at("tenant").is_null());
  auto ghost = call(http::verb::post, "/v1/keys", R"({"tenant":999})");
  EXPECT_EQ(ghost.result(), http::status::unprocessable_entity);
  EXPECT_EQ(fields(ghost), std::vector<std::string>{"tenant"});
  EXPECT_EQ(fields(call(http::verb::post, "/v1/keys", R"({"tenant":"acme","readOnly":1})")),
            (std::vector<std::string>{"readOnly", "tenant"}));
}

TEST_F(TenantRoutesTest, TenantKeysAndReadOnlyKeysCannotChangeTheBridge) {
  const auto acme =
      json(call(http::verb::post, "/v1/tenants", R"({"name":"acme"})")).at("id").as_int64();
  const auto globex =
      json(call(http::verb::post, "/v1/tenants", R"({"name":"globex"})")).at("id").as_int64();
  const std::string tenantKey = keys_.bearer(acme);
  const std::string reader = keys_.bearer(0, true);
  for (const auto& [method, target, body] :
       {std::tuple{http::verb::post, std::string("/v1/tenants"), std::string(R"({"name":"x"})")},
        std::tuple{http::verb::patch, "/v1/tenants/" + std::to_string(acme),
                   std::string(R"({"maxRooms":1})")},
        std::tuple{http::verb::delete_, "/v1/tenants/" + std::to_string(acme), std::string()},
        std::tuple{http::verb::delete_, std::string("/v1/keys/1"), std::string()}}) {
    EXPECT_EQ(call(method, target, body, tenantKey).result(), http::status::forbidden) << target;
    EXPECT_EQ(call(method, target, body, reader).result(), http::status::forbidden) << target;
  }
  // A tenant sees itself, and another tenant as if it did not exist.
  EXPECT_EQ(call(http::verb::get, "/v1/tenants/" + std::to_string(globex), {}, tenantKey).result(),
            http::status::not_found);
  EXPECT_EQ(json(call(http::verb::get, "/v1/tenants/" + std::to_string(globex), {}, tenantKey))
                .at("detail")
                .as_string(),
            "no tenant " + std::to_string(globex));
  EXPECT_EQ(json(call(http::verb::get, "/v1/tenants/424242", {}, tenantKey)).at("detail"),
            "no tenant 424242");
  EXPECT_EQ(call(http::verb::get, "/v1/tenants", {}, reader).result(), http::status::ok);
  EXPECT_TRUE(keys_.store().tenant(acme)) << "nothing was deleted";
}

}  // namespace
}  // namespace confab::api
