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

policy::Directory makeDirectory() {
  policy::Directory directory;
  directory.put({"1000", "Weekly sync", 0});
  directory.put({"lobby", "Lobby", 12});
  return directory;
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

  policy::Directory directory_ = makeDirectory();
  ScratchKeys keys_;
  Auth auth_{keys_.store()};
  Router router_{directory_, keys_.store(), auth_};
  std::string operator_ = keys_.bearer();
};

TEST_F(RouterTest, Health) {
  auto response = get("/health");
  EXPECT_EQ(response.result(), http::status::ok);
  EXPECT_EQ(response[http::field::content_type], "application/json");
  EXPECT_EQ(json(response), (boost::json::object{{"status", "ok"}}));
  EXPECT_TRUE(response.keep_alive());
}

TEST_F(RouterTest, ListsRoomsInIdOrder) {
  auto response = get("/v1/rooms");
  EXPECT_EQ(response.result(), http::status::ok);
  EXPECT_EQ(json(response), boost::json::parse(R"({"rooms":[
      {"id":"1000","name":"Weekly sync","maxParticipants":0},
      {"id":"lobby","name":"Lobby","maxParticipants":12}]})"));
}

TEST_F(RouterTest, EmptyDirectoryListsNoRooms) {
  policy::Directory empty;
  Router router(empty, keys_.store(), auth_);
  Request request(http::verb::get, "/v1/rooms", 11);
  request.set(http::field::host, "x");
  request.set(http::field::authorization, operator_);
  EXPECT_EQ(boost::json::parse(router.route(request, kClient).body()),
            boost::json::parse(R"({"rooms":[]})"));
}

TEST_F(RouterTest, OneRoom) {
  auto response = get("/v1/rooms/lobby");
  EXPECT_EQ(response.result(), http::status::ok);
  EXPECT_EQ(json(response),
            boost::json::parse(R"({"id":"lobby","name":"Lobby","maxParticipants":12})"));
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
  for (const char* target : {"/", "/nope", "/v1", "/v1/rooms/", "/v1/rooms/lobby/x", "/health/",
                             "/v2/rooms", "//health"}) {
    expectProblem(get(target), http::status::not_found);
  }
}

TEST_F(RouterTest, WrongMethodIs405WithAllow) {
  for (auto method : {http::verb::post, http::verb::put, http::verb::delete_, http::verb::patch,
                      http::verb::options}) {
    auto response = get("/v1/rooms/lobby", method);
    expectProblem(response, http::status::method_not_allowed);
    EXPECT_EQ(response[http::field::allow], "GET, HEAD");
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
  auto body = expectProblem(get("/v1/rooms?limit=5&x"), http::status::bad_request);
  const auto& errors = body.at("errors").as_array();
  ASSERT_EQ(errors.size(), 2U);
  EXPECT_EQ(errors[0].at("field"), "limit");
  EXPECT_EQ(errors[1].at("field"), "x");
}

TEST_F(RouterTest, AbsoluteFormTarget) {
  EXPECT_EQ(get("http://localhost:8080/health").result(), http::status::ok);
  expectProblem(get("http://localhost:8080"), http::status::not_found);
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
  auto body = expectProblem(get("/v1/rooms?li%6Dit=5&x"), http::status::bad_request);
  const auto& errors = body.at("errors").as_array();
  ASSERT_EQ(errors.size(), 2U);
  EXPECT_EQ(errors[0].at("field"), "limit");
  EXPECT_EQ(errors[1].at("field"), "x");
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
  // The directory-only router (tests, fuzzing) knows the live routes but has nothing to run them.
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
  auto directory = makeDirectory();
  ScratchKeys keys;
  Auth auth(keys.store());
  Router router(directory, keys.store(), auth);
  auto response = router.answer(
      "GET /v1/rooms/1000 HTTP/1.1\r\nHost: x\r\nAuthorization: " + keys.bearer() + "\r\n\r\n",
      Limits{}, kClient);
  EXPECT_EQ(response.result(), http::status::ok);
}

TEST(RouterAnswer, MalformedIs400Problem) {
  auto directory = makeDirectory();
  ScratchKeys keys;
  Auth auth(keys.store());
  Router router(directory, keys.store(), auth);
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
  auto directory = makeDirectory();
  ScratchKeys keys;
  Auth auth(keys.store());
  Router router(directory, keys.store(), auth);
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
