// The OpenAPI document (docs/openapi.json) and the router held to each other: every route the
// server answers is in the document with its method and path parameters, and the reverse; every
// request example is one the server accepts (no 400, 415 or 422), sent to a live focus with real
// calls; and the document served at /v1/openapi.json is the repository's.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <string>

#include "api/OpenApi.hpp"
#include "api/Router.hpp"
#include "tests/unit/api/ScratchKeys.hpp"
#include "tests/unit/focus/room/UasHarness.hpp"

namespace confab::api {
namespace {

const auto kClient = boost::asio::ip::make_address("192.0.2.12");

std::string lower(std::string_view text) {
  std::string out(text);
  for (auto& c : out) {
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  return out;
}

boost::json::object document() {
  return boost::json::parse(openApiDocument()).as_object();
}

constexpr std::array<std::string_view, 5> kMethods = {"get", "post", "put", "patch", "delete"};

// A documented path with its parameters filled in: {id} as 'id', {callId} as 'callId', {name}
// as a recording's name.
std::string filled(std::string path, const std::string& id, const std::string& callId) {
  for (const auto& [param, value] :
       {std::pair{std::string("{id}"), id}, std::pair{std::string("{callId}"), callId},
        std::pair{std::string("{name}"), id + "-20261125T063000Z.wav"}}) {
    if (auto at = path.find(param); at != std::string::npos) {
      path.replace(at, param.size(), value);
    }
  }
  return path;
}

http::verb verbOf(std::string_view documented) {
  std::string verb(documented);
  for (auto& c : verb) {
    c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  }
  return http::string_to_verb(verb);
}

TEST(OpenApi, TheBuiltInDocumentIsTheRepositorysAnd31) {
  std::ifstream in(std::string(CONFAB_SOURCE_DIR) + "/docs/openapi.json");
  std::stringstream text;
  text << in.rdbuf();
  EXPECT_EQ(text.str(), openApiDocument());
  EXPECT_EQ(document().at("openapi"), "3.1.0");
}

TEST(OpenApi, EveryRouteIsDocumentedAndEveryDocumentedOperationIsARoute) {
  std::set<std::pair<std::string, std::string>> routes;
  for (const auto& [pattern, method] : Router::routes()) {
    routes.emplace(std::string(pattern), lower(std::string(http::to_string(method))));
  }
  std::set<std::pair<std::string, std::string>> documented;
  const auto doc = document();
  for (const auto& [path, item] : doc.at("paths").as_object()) {
    for (const auto& [key, operation] : item.as_object()) {
      if (std::find(kMethods.begin(), kMethods.end(), key) != kMethods.end()) {
        documented.emplace(std::string(path), std::string(key));
        // Each operation answers something, and says so.
        EXPECT_FALSE(operation.at("responses").as_object().empty()) << path << " " << key;
      }
    }
  }
  for (const auto& route : routes) {
    EXPECT_TRUE(documented.count(route))
        << route.second << " " << route.first << " is undocumented";
  }
  for (const auto& operation : documented) {
    EXPECT_TRUE(routes.count(operation))
        << operation.second << " " << operation.first << " is documented but not served";
  }
}

TEST(OpenApi, EveryPathParameterIsDeclared) {
  const auto doc = document();
  const auto& components = doc.at("components").at("parameters").as_object();
  for (const auto& [path, item] : doc.at("paths").as_object()) {
    std::set<std::string> declared;
    for (const auto* scope : {item.as_object().if_contains("parameters")}) {
      if (scope == nullptr) {
        continue;
      }
      for (const auto& p : scope->as_array()) {
        const auto* named = &p.as_object();
        if (const auto* r = named->if_contains("$ref")) {
          const std::string name(r->as_string().subview().substr(r->as_string().rfind('/') + 1));
          named = &components.at(name).as_object();
        }
        if (named->at("in") == "path") {
          declared.emplace(named->at("name").as_string());
        }
      }
    }
    const std::string p(path);
    for (auto open = p.find('{'); open != std::string::npos; open = p.find('{', open + 1)) {
      const auto name = p.substr(open + 1, p.find('}', open) - open - 1);
      EXPECT_TRUE(declared.count(name)) << path << ": {" << name << "} is not declared";
    }
  }
}

// The request examples against the real server: a focus without sockets with two calls in room
// 1000 (tenant default), tenant 1 "acme" with room 4000.
class OpenApiExamples : public ::testing::Test {
 protected:
  void SetUp() override {
    // A real file to play (8 kHz mono 16-bit silence, 0.1 s) and a folder to record into.
    std::filesystem::create_directories(media_);
    std::ofstream wav(media_ / "tone440.wav", std::ios::binary);
    const auto le = [&wav](uint32_t v, int bytes) {
      for (int i = 0; i < bytes; ++i) {
        wav.put(static_cast<char>((v >> (8 * i)) & 0xff));
      }
    };
    const uint32_t samples = 800;
    wav << "RIFF";
    le(36 + samples * 2, 4);
    wav << "WAVEfmt ";
    le(16, 4);
    le(1, 2);
    le(1, 2);
    le(8000, 4);
    le(16000, 4);
    le(2, 2);
    le(16, 2);
    wav << "data";
    le(samples * 2, 4);
    for (uint32_t i = 0; i < samples; ++i) {
      le(0, 2);
    }
    wav.close();
    acme_ = keys_.tenant("acme");
    keys_.room(acme_, "4000");
    // Webhook 1 is acme's: the walk with another tenant's key below must not find it.
    policy::Webhook hook;
    hook.tenantId = acme_;
    hook.url = "http://hooks.example.com/acme";
    ASSERT_EQ(std::get<policy::Webhook>(keys_.store().createWebhook(hook)).id, 1);
    keys_.room(keys_.tenant("default"), "1000");
    test::callIn(h_, "alice-call");
    test::callIn(h_, "bob-call");
  }
  test::UasHarness h_;
  ScratchKeys keys_;
  std::filesystem::path media_ = keys_.folder() / "media";
  Live live_{h_.uas(), keys_.folder() / "recordings", media_, nullptr};
  Auth auth_{keys_.store()};
  Router router_{keys_.store(), auth_, &live_};
  int64_t acme_ = 0;
};

TEST_F(OpenApiExamples, EveryRequestExampleIsOneTheServerAccepts) {
  const std::string key = keys_.bearer();
  int checked = 0;
  const auto doc = document();
  for (const auto& [path, item] : doc.at("paths").as_object()) {
    for (const auto& [method, operation] : item.as_object()) {
      const auto* body =
          operation.is_object() ? operation.as_object().if_contains("requestBody") : nullptr;
      if (body == nullptr) {
        continue;
      }
      const auto& content = body->at("content").at("application/json").as_object();
      ASSERT_TRUE(content.contains("example")) << method << " " << path << " has no example";
      const std::string target =
          filled(std::string(path), path.starts_with("/v1/rooms") ? "1000" : "1", "alice-call");
      const auto request =
          apiRequest(verbOf(method), target, key, boost::json::serialize(content.at("example")));
      const auto response = router_.route(request, kClient);
      const auto status = response.result();
      EXPECT_TRUE(status != http::status::bad_request &&
                  status != http::status::unsupported_media_type &&
                  status != http::status::unprocessable_entity)
          << method << " " << target << " refused its own example: " << response.body();
      ++checked;
    }
  }
  EXPECT_GE(checked, 10);
}

TEST_F(OpenApiExamples, TheDocumentIsServedWithoutAKey) {
  Request request(http::verb::get, "/v1/openapi.json", 11);
  request.set(http::field::host, "localhost");
  const auto response = router_.route(request, kClient);
  EXPECT_EQ(response.result(), http::status::ok);
  EXPECT_EQ(boost::json::parse(response.body()), boost::json::parse(openApiDocument()));
}

}  // namespace
}  // namespace confab::api

namespace confab::api {
namespace {

// Issue 13 item 4: every route of the document, walked with another tenant's key against acme's
// resources, finds nothing: 404 for each (403 where the route is the operator's alone), and never
// a 2xx or a body that names acme's things.
TEST_F(OpenApiExamples, AnotherTenantsKeyFindsNoneOfAcmesResources) {
  const auto globex = keys_.tenant("globex");
  const std::string foreign = keys_.bearer(globex);
  const auto doc = document();
  int walked = 0;
  for (const auto& [path, item] : doc.at("paths").as_object()) {
    const std::string p(path);
    if (p.find('{') == std::string::npos || !p.starts_with("/v1/")) {
      continue;  // a collection (checked below), or the console's files, which are nobody's
    }
    for (const auto& [method, operation] : item.as_object()) {
      if (std::find(kMethods.begin(), kMethods.end(), method) == kMethods.end()) {
        continue;
      }
      const std::string target = filled(p,
                                        p.starts_with("/v1/rooms")     ? std::string("4000@acme")
                                        : p.starts_with("/v1/tenants") ? std::to_string(acme_)
                                                                       : std::string("1"),
                                        "alice-call");
      std::string body;
      if (const auto* b = operation.as_object().if_contains("requestBody")) {
        body = boost::json::serialize(b->at("content").at("application/json").at("example"));
      }
      const auto request = apiRequest(verbOf(method), target, foreign, body);
      const auto status = router_.route(request, kClient).result();
      const bool operatorsOnly =
          p.starts_with("/v1/keys") || (p.starts_with("/v1/tenants") && method != "get");
      EXPECT_EQ(status, operatorsOnly ? http::status::forbidden : http::status::not_found)
          << method << " " << target;
      ++walked;
    }
  }
  EXPECT_GE(walked, 15);
  // The collections show none of acme's.
  Request rooms(http::verb::get, "/v1/rooms?tenant=" + std::to_string(acme_), 11);
  rooms.set(http::field::host, "localhost");
  rooms.set(http::field::authorization, foreign);
  EXPECT_EQ(boost::json::parse(router_.route(rooms, kClient).body()),
            boost::json::parse(R"({"rooms":[]})"));
  EXPECT_TRUE(keys_.store().findRoom(acme_, "4000")) << "nothing of acme's was touched";
  EXPECT_TRUE(keys_.store().tenant(acme_));
  EXPECT_TRUE(keys_.store().webhook(1));
  Request hooks(http::verb::get, "/v1/webhooks", 11);
  hooks.set(http::field::host, "localhost");
  hooks.set(http::field::authorization, foreign);
  EXPECT_EQ(boost::json::parse(router_.route(hooks, kClient).body()),
            boost::json::parse(R"({"webhooks":[]})"));
}

}  // namespace
}  // namespace confab::api
