// api::Router without sockets: routes, problem+json for every error, and request parsing.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <boost/json/parse.hpp>
#include <string>

#include "api/Problem.hpp"
#include "api/Router.hpp"
#include "tests/unit/api/ScratchKeys.hpp"

namespace confab::api {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

// Tenant "default" with rooms 1000 and lobby, as confab seeds it from its command line.
void seed(ScratchKeys& keys) {
  const auto tenant = keys.tenant("default");
  keys.room(tenant, "1000", "Weekly sync");
  keys.room(tenant, "lobby", "Lobby", 12);
}

const boost::asio::ip::address kClient = boost::asio::ip::make_address("192.0.2.7");

class RouterTest : public ::testing::Test {
 protected:
  Response get(std::string target, http::verb method = http::verb::get, unsigned version = 11) {
    Request request(method, target, version);
    request.set(http::field::host, "localhost");
    request.set(http::field::authorization, operator_);
    return router_.route(request, kClient);
  }
  Response route(const Request& request) { return router_.route(request, kClient); }

  static boost::json::value json(const Response& response) {
    return boost::json::parse(response.body());
  }

  // Checks the RFC 9457 members and returns the body.
  static boost::json::object expectProblem(const Response& response, http::status status) {
    EXPECT_EQ(response.result(), status);
    EXPECT_EQ(response[http::field::content_type], kProblemContentType);
    auto body = json(response).as_object();
    EXPECT_EQ(body.at("type"), "about:blank");
    EXPECT_EQ(body.at("status").to_number<unsigned>(), static_cast<unsigned>(status));
    EXPECT_EQ(body.at("title"), http::obsolete_reason(status));
    EXPECT_TRUE(body.at("detail").is_string());
    return body;
  }

  void SetUp() override { seed(keys_); }

  // A room as the API shows it, with the defaults of a room made with only a name and a limit.
  static boost::json::value room(const std::string& user,
                                 const std::string& name,
                                 unsigned maxParticipants) {
    auto out = boost::json::parse(R"({"tenant":1,"muteOnEntry":false,"waitForModerator":false,
        "endWhenLastModeratorLeaves":false,"entryExitTones":true,"announceCount":false,
        "locked":false,"language":"en","publicRoster":false,"participantsInvite":false,
        "pins":{"participant":false,"moderator":false,"listener":false}})");
    out.as_object()["id"] = user;
    out.as_object()["user"] = user;
    out.as_object()["name"] = name;
    out.as_object()["maxParticipants"] = maxParticipants;
    return out;
  }

  ScratchKeys keys_;
  Auth auth_{keys_.store()};
  Router router_{keys_.store(), auth_};
  std::string operator_ = keys_.bearer();
};

TEST_F(RouterTest, Health) {
  auto response = get("/health");
  EXPECT_EQ(response.result(), http::status::ok);
  EXPECT_EQ(response[http::field::content_type], "application/json");
  EXPECT_EQ(json(response), (boost::json::object{{"status", "ok"}}));
  EXPECT_TRUE(response.keep_alive());
}

TEST_F(RouterTest, LivenessAndReadinessNeedNoKey) {
  Request request(http::verb::get, "/healthz", 11);
  request.set(http::field::host, "x");
  EXPECT_EQ(route(request).result(), http::status::ok);
  request.target("/readyz");
  const auto ready = route(request);
  EXPECT_EQ(ready.result(), http::status::ok);
  EXPECT_EQ(json(ready), (boost::json::object{{"status", "ready"}}));
}

TEST_F(RouterTest, ListsRoomsInIdOrder) {
  auto response = get("/v1/rooms");
  EXPECT_EQ(response.result(), http::status::ok);
  boost::json::array rooms{room("1000", "Weekly sync", 0), room("lobby", "Lobby", 12)};
  EXPECT_EQ(json(response), (boost::json::object{{"rooms", rooms}}));
}

TEST_F(RouterTest, AStoreWithoutRoomsListsNone) {
  ScratchKeys empty;
  Auth auth(empty.store());
  Router router(empty.store(), auth);
  Request request(http::verb::get, "/v1/rooms", 11);
  request.set(http::field::host, "x");
  request.set(http::field::authorization, empty.bearer());
  EXPECT_EQ(boost::json::parse(router.route(request, kClient).body()),
            boost::json::parse(R"({"rooms":[]})"));
}

TEST_F(RouterTest, OneRoom) {
  auto response = get("/v1/rooms/lobby");
  EXPECT_EQ(response.result(), http::status::ok);
  EXPECT_EQ(json(response), room("lobby", "Lobby", 12));
  // The default tenant's rooms answer to their plain number and to USER@default alike.
  EXPECT_EQ(get("/v1/rooms/lobby@default").result(), http::status::ok);
}

TEST_F(RouterTest, PercentEncodedRoomId) {
  EXPECT_EQ(get("/v1/rooms/%6Cobby").result(), http::status::ok);
}

TEST_F(RouterTest, UnknownRoomIs404Problem) {
  auto body = expectProblem(get("/v1/rooms/nope"), http::status::not_found);
  EXPECT_THAT(std::string(body.at("detail").as_string()), HasSubstr("nope"));
}

TEST_F(RouterTest, InvalidRoomIdIs400WithFieldError) {
  auto body = expectProblem(get("/v1/rooms/a%20b"), http::status::bad_request);
  ASSERT_TRUE(body.contains("errors"));
  const auto& errors = body.at("errors").as_array();
  ASSERT_EQ(errors.size(), 1U);
  EXPECT_EQ(errors[0].at("field"), "id");
  EXPECT_TRUE(errors[0].at("detail").is_string());
}

TEST_F(RouterTest, UnknownPathsAre404Problems) {
  for (const char* target : {"/nope", "/v1", "/v1/rooms/", "/v1/rooms/lobby/x", "/health/",
                             "/v2/rooms", "//health"}) {
    expectProblem(get(target), http::status::not_found);
  }
}

TEST_F(RouterTest, WrongMethodIs405WithAllow) {
  for (auto method : {http::verb::post, http::verb::put, http::verb::delete_, http::verb::patch,
                      http::verb::options}) {
    auto response = get("/v1/rooms/lobby/recording", method);
    if (method == http::verb::post || method == http::verb::delete_) {
      continue;  // those it takes
    }
    expectProblem(response, http::status::method_not_allowed);
    EXPECT_EQ(response[http::field::allow], "POST, DELETE");
  }
}

TEST_F(RouterTest, HeadHasNoBodyButTheLength) {
  auto full = get("/v1/rooms");
  auto head = get("/v1/rooms", http::verb::head);
  EXPECT_EQ(head.result(), http::status::ok);
  EXPECT_TRUE(head.body().empty());
  EXPECT_EQ(head[http::field::content_length], std::to_string(full.body().size()));
}

TEST_F(RouterTest, QueryParametersAreRefusedByName) {
  auto body = expectProblem(get("/v1/rooms/lobby?limit=5&x"), http::status::bad_request);
  const auto& errors = body.at("errors").as_array();
  ASSERT_EQ(errors.size(), 2U);
  EXPECT_EQ(errors[0].at("field"), "limit");
  EXPECT_EQ(errors[1].at("field"), "x");
  body = expectProblem(get("/v1/rooms?limit=5&colour=red"), http::status::bad_request);
  ASSERT_EQ(body.at("errors").as_array().size(), 1U);
  EXPECT_EQ(body.at("errors").as_array()[0].at("field"), "colour");
}

TEST_F(RouterTest, AbsoluteFormTarget) {
  EXPECT_EQ(get("http://localhost:8080/health").result(), http::status::ok);
  // An empty path is "/": the web console's page.
  EXPECT_EQ(get("http://localhost:8080").result(), http::status::ok);
}

TEST_F(RouterTest, BadTargetsAre400) {
  expectProblem(get("*", http::verb::options), http::status::bad_request);
  expectProblem(get("health"), http::status::bad_request);
  expectProblem(get("/v1/rooms/%zz"), http::status::bad_request);
  expectProblem(get("/v1/rooms/%4"), http::status::bad_request);
  expectProblem(get("/v1/rooms/a b"), http::status::bad_request);
  expectProblem(get("/v1/rooms/x#frag"), http::status::bad_request);
}

TEST_F(RouterTest, PathSegmentsArePercentDecodedAndQueriesNamedByTheirDecodedName) {
  // "%31000" is "1000": the room, found.
  EXPECT_EQ(get("/v1/rooms/%31000").result(), http::status::ok);
  // "%2F" is a '/' inside one segment, not a separator: no room has that id.
  expectProblem(get("/v1/rooms/40%2F00"), http::status::bad_request);
  auto body = expectProblem(get("/v1/rooms?li%6Dit=0&x"), http::status::bad_request);
  const auto& errors = body.at("errors").as_array();
  ASSERT_EQ(errors.size(), 1U);
  EXPECT_EQ(errors[0].at("field"), "x");
  body = expectProblem(get("/v1/rooms?li%6Dit=0"), http::status::bad_request);
  EXPECT_EQ(body.at("errors").as_array()[0].at("field"), "limit") << "decoded, then checked";
}

TEST_F(RouterTest, Http11NeedsOneHost) {
  Request request(http::verb::get, "/health", 11);
  expectProblem(route(request), http::status::bad_request);
  request.insert(http::field::host, "a");
  request.insert(http::field::host, "b");
  expectProblem(route(request), http::status::bad_request);

  Request old(http::verb::get, "/health", 10);
  EXPECT_EQ(route(old).result(), http::status::ok);
  EXPECT_FALSE(route(old).keep_alive());
}

TEST_F(RouterTest, ConnectionCloseIsHonoured) {
  Request request(http::verb::get, "/health", 11);
  request.set(http::field::host, "x");
  request.keep_alive(false);
  EXPECT_FALSE(route(request).keep_alive());
}

TEST_F(RouterTest, NonAsciiInTargetIsRefusedAndNotEchoed) {
  // RFC 3986 §2: a URI is ASCII; other octets travel percent-encoded. A raw one is a bad target.
  auto body = expectProblem(get("/caf\xc3\xa9"), http::status::bad_request);
  EXPECT_THAT(std::string(body.at("detail").as_string()), Not(HasSubstr("caf")));
  // Percent-encoded, it is a path like any other: no such resource, shown printable only.
  body = expectProblem(get("/caf%C3%A9"), http::status::not_found);
  EXPECT_THAT(std::string(body.at("detail").as_string()), HasSubstr("/caf%C3%A9"));
}

TEST_F(RouterTest, LiveRoutesWithoutABridgeAre503) {
  // A router without the live bridge (tests, fuzzing) knows the live routes but cannot run them.
  expectProblem(get("/v1/mixer"), http::status::service_unavailable);
  expectProblem(get("/v1/rooms/1000/recording", http::verb::post),
                http::status::service_unavailable);
  expectProblem(get("/v1/rooms/1000/playback", http::verb::delete_),
                http::status::service_unavailable);
  // The room is checked first: an unknown room is still a 404.
  expectProblem(get("/v1/rooms/nope/recording", http::verb::post), http::status::not_found);
}

TEST_F(RouterTest, RecordingAllowsPostAndDelete) {
  auto response = get("/v1/rooms/1000/recording");
  expectProblem(response, http::status::method_not_allowed);
  EXPECT_EQ(response[http::field::allow], "POST, DELETE");
}

TEST(RouterAnswer, ParsesAndRoutes) {
  ScratchKeys keys;
  seed(keys);
  Auth auth(keys.store());
  Router router(keys.store(), auth);
  auto response = router.answer(
      "GET /v1/rooms/1000 HTTP/1.1\r\nHost: x\r\nAuthorization: " + keys.bearer() + "\r\n\r\n",
      Limits{}, kClient);
  EXPECT_EQ(response.result(), http::status::ok);
}

TEST(RouterAnswer, MalformedIs400Problem) {
  ScratchKeys keys;
  Auth auth(keys.store());
  Router router(keys.store(), auth);
  for (const char* bytes :
       {"GARBAGE\r\n\r\n", "GET /health HTTP/9.9\r\n\r\n", "GET /health HTTP/1.1\r\nHost x\r\n\r\n",
        "GET /health HTTP/1.1\r\nHost: x\r\nContent-Length: z\r\n\r\n", "GET /health"}) {
    auto response = router.answer(bytes, Limits{}, kClient);
    EXPECT_EQ(response.result(), http::status::bad_request) << bytes;
    EXPECT_EQ(response[http::field::content_type], kProblemContentType);
    EXPECT_FALSE(response.keep_alive());
  }
}

TEST(RouterAnswer, LimitsGive413And431) {
  ScratchKeys keys;
  Auth auth(keys.store());
  Router router(keys.store(), auth);
  Limits limits;
  limits.bodyBytes = 10;
  limits.headerBytes = 100;
  EXPECT_EQ(
      router
          .answer("POST /health HTTP/1.1\r\nHost: x\r\nContent-Length: 11\r\n\r\n", limits, kClient)
          .result(),
      http::status::payload_too_large);
  EXPECT_EQ(
      router
          .answer("GET /health HTTP/1.1\r\nHost: x\r\nX: " + std::string(200, 'a') + "\r\n\r\n",
                  limits, kClient)
          .result(),
      http::status::request_header_fields_too_large);
}

TEST(Problem, FieldErrorsAndAllowAreSerialized) {
  Problem problem = badRequest("bad", {{"name", "too long"}});
  auto response = toResponse(problem, 11, true);
  EXPECT_EQ(boost::json::parse(response.body()), boost::json::parse(R"({
      "type":"about:blank","title":"Bad Request","status":400,"detail":"bad",
      "errors":[{"field":"name","detail":"too long"}]})"));
  EXPECT_EQ(response[http::field::cache_control], "no-store");
  auto allowed = toResponse(methodNotAllowed("GET, HEAD"), 11, true);
  EXPECT_EQ(allowed[http::field::allow], "GET, HEAD");
  EXPECT_FALSE(boost::json::parse(allowed.body()).as_object().contains("errors"));
}

}  // namespace
}  // namespace confab::api
