// Rooms over REST against a real policy store: created by a tenant or for one by the operator,
// listed in pages and searched, read, changed with PINs that are never shown, deleted; every
// refusal a problem naming the member, and nothing of a refused change kept.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <boost/json/parse.hpp>
#include <string>

#include "api/Router.hpp"
#include "tests/unit/api/ScratchKeys.hpp"

namespace confab::api {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

const auto kClient = boost::asio::ip::make_address("192.0.2.10");

class RoomRoutesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    acme_ = keys_.tenant("acme");
    globex_ = keys_.tenant("globex");
    acmeKey_ = keys_.bearer(acme_);
  }
  Response call(http::verb method,
                const std::string& target,
                const std::string& body = {},
                const std::string& key = {}) {
    return router_.route(apiRequest(method, target, key.empty() ? acmeKey_ : key, body), kClient);
  }
  static boost::json::value json(const Response& response) { return jsonOf(response); }
  static std::vector<std::string> fields(const Response& response) {
    return problemFields(response);
  }

  ScratchKeys keys_;
  Auth auth_{keys_.store()};
  Router router_{keys_.store(), auth_};
  int64_t acme_ = 0;
  int64_t globex_ = 0;
  std::string acmeKey_;
};

TEST_F(RoomRoutesTest, ATenantCreatesReadsChangesAndDeletesARoomWithWriteOnlyPins) {
  auto created = call(http::verb::post, "/v1/rooms",
                      R"({"user":"4000","name":"Board","participantPin":"2468",
                          "moderatorPin":"97531","muteOnEntry":true})");
  ASSERT_EQ(created.result(), http::status::created) << created.body();
  EXPECT_EQ(created[http::field::location], "/v1/rooms/4000@acme");
  const auto room = json(created).as_object();
  EXPECT_EQ(room.at("id"), "4000@acme");
  EXPECT_EQ(room.at("tenant"), acme_);
  EXPECT_EQ(room.at("muteOnEntry"), true);
  EXPECT_EQ(room.at("pins"),
            boost::json::parse(R"({"participant":true,"moderator":true,"listener":false})"));
  EXPECT_THAT(created.body(), Not(HasSubstr("2468")));
  EXPECT_THAT(created.body(), Not(HasSubstr("97531")));
  // The PINs work where they are used: the store's check, as a caller's would.
  const auto stored = keys_.store().findRoom(acme_, "4000");
  ASSERT_TRUE(stored);
  EXPECT_EQ(keys_.store().checkPin(stored->id, "97531"), policy::Role::kModerator);

  EXPECT_EQ(json(call(http::verb::get, "/v1/rooms/4000")), json(created));
  // A merge: the name changes, the participant PIN goes, the rest stays.
  auto changed = call(http::verb::patch, "/v1/rooms/4000",
                      R"({"name":"Board room","participantPin":null,"listenerPin":"5555"})");
  ASSERT_EQ(changed.result(), http::status::ok) << changed.body();
  EXPECT_EQ(json(changed).at("name"), "Board room");
  EXPECT_EQ(json(changed).at("muteOnEntry"), true);
  EXPECT_EQ(json(changed).at("pins"),
            boost::json::parse(R"({"participant":false,"moderator":true,"listener":true})"));
  EXPECT_EQ(keys_.store().checkPin(stored->id, "5555"), policy::Role::kListener);

  EXPECT_EQ(call(http::verb::delete_, "/v1/rooms/4000").result(), http::status::no_content);
  EXPECT_EQ(call(http::verb::get, "/v1/rooms/4000").result(), http::status::not_found);
  EXPECT_FALSE(keys_.store().findRoom(acme_, "4000"));
}

TEST_F(RoomRoutesTest, TheOperatorNamesTheTenantAndATenantOnlyItsOwn) {
  const std::string op = keys_.bearer();
  auto missing = call(http::verb::post, "/v1/rooms", R"({"user":"1"})", op);
  EXPECT_EQ(missing.result(), http::status::bad_request);
  EXPECT_EQ(fields(missing), std::vector<std::string>{"tenant"});
  auto made = call(http::verb::post, "/v1/rooms",
                   R"({"tenant":)" + std::to_string(globex_) + R"(,"user":"77"})", op);
  ASSERT_EQ(made.result(), http::status::created) << made.body();
  EXPECT_EQ(json(made).at("id"), "77@globex");
  // acme naming globex is as if globex did not exist.
  auto foreign = call(http::verb::post, "/v1/rooms",
                      R"({"tenant":)" + std::to_string(globex_) + R"(,"user":"78"})");
  EXPECT_EQ(foreign.result(), http::status::unprocessable_entity);
  EXPECT_EQ(fields(foreign), std::vector<std::string>{"tenant"});
  EXPECT_EQ(json(foreign).at("detail").as_string(), "no tenant " + std::to_string(globex_));
  EXPECT_EQ(json(call(http::verb::post, "/v1/rooms", R"({"tenant":999,"user":"78"})"))
                .at("detail")
                .as_string(),
            "no tenant 999");
  EXPECT_FALSE(keys_.store().findRoom(globex_, "78"));
  // Nor can acme touch globex's room by its full name.
  EXPECT_EQ(call(http::verb::patch, "/v1/rooms/77@globex", R"({"name":"x"})").result(),
            http::status::not_found);
  EXPECT_EQ(call(http::verb::delete_, "/v1/rooms/77@globex").result(), http::status::not_found);
  EXPECT_TRUE(keys_.store().findRoom(globex_, "77"));
  // A read-only key reads and changes nothing.
  const std::string reader = keys_.bearer(acme_, true);
  EXPECT_EQ(call(http::verb::post, "/v1/rooms", R"({"user":"5"})", reader).result(),
            http::status::forbidden);
}

TEST_F(RoomRoutesTest, RefusalsNameTheMemberAndKeepNothing) {
  ASSERT_EQ(call(http::verb::post, "/v1/rooms", R"({"user":"4000"})").result(),
            http::status::created);
  EXPECT_EQ(call(http::verb::post, "/v1/rooms", R"({"user":"4000"})").result(),
            http::status::conflict);
  auto bad = call(http::verb::post, "/v1/rooms", R"({"user":"a b"})");
  EXPECT_EQ(bad.result(), http::status::unprocessable_entity);
  EXPECT_EQ(fields(bad), std::vector<std::string>{"user"});
  auto types = call(http::verb::post, "/v1/rooms",
                    R"({"user":"9","muteOnEntry":"yes","maxParticipants":-2,"moderatorPin":1234})");
  EXPECT_EQ(types.result(), http::status::bad_request);
  EXPECT_EQ(fields(types),
            (std::vector<std::string>{"maxParticipants", "muteOnEntry", "moderatorPin"}));
  auto pin = call(http::verb::post, "/v1/rooms", R"({"user":"9","participantPin":"12a4"})");
  EXPECT_EQ(pin.result(), http::status::unprocessable_entity);
  EXPECT_EQ(fields(pin), std::vector<std::string>{"participantPin"});
  EXPECT_THAT(pin.body(), Not(HasSubstr("12a4"))) << "a PIN, even a wrong one, is not echoed";
  auto fixed = call(http::verb::patch, "/v1/rooms/4000", R"({"user":"4001","name":"x"})");
  EXPECT_EQ(fixed.result(), http::status::bad_request);
  EXPECT_EQ(fields(fixed), std::vector<std::string>{"user"});
  EXPECT_EQ(json(call(http::verb::get, "/v1/rooms/4000")).at("name"), "4000") << "unchanged";
  EXPECT_EQ(fields(call(http::verb::post, "/v1/rooms", R"({"user":"9","x":1})")),
            std::vector<std::string>{"x"});
  EXPECT_FALSE(keys_.store().findRoom(acme_, "9"));
}

TEST_F(RoomRoutesTest, AChangeMadeFromAStaleReadIsRefusedWith412) {
  ASSERT_EQ(call(http::verb::post, "/v1/rooms", R"({"user":"4000"})").result(),
            http::status::created);
  const auto read = call(http::verb::get, "/v1/rooms/4000");
  const std::string etag(read[http::field::etag]);
  ASSERT_FALSE(etag.empty());
  EXPECT_EQ(etag.front(), '"') << "a strong tag (RFC 9110 §8.8.3)";
  // Another organizer changes it first.
  const auto first = call(http::verb::patch, "/v1/rooms/4000", R"({"name":"Theirs"})");
  ASSERT_EQ(first.result(), http::status::ok);
  EXPECT_NE(std::string(first[http::field::etag]), etag);
  // Ours, made from the old read, is refused and changes nothing.
  Request stale(http::verb::patch, "/v1/rooms/4000", 11);
  stale.set(http::field::host, "localhost");
  stale.set(http::field::authorization, acmeKey_);
  stale.set(http::field::content_type, "application/json");
  stale.set(http::field::if_match, etag);
  stale.body() = R"({"name":"Ours"})";
  stale.prepare_payload();
  const auto refused = router_.route(stale, kClient);
  EXPECT_EQ(refused.result(), http::status::precondition_failed);
  EXPECT_EQ(json(call(http::verb::get, "/v1/rooms/4000")).at("name"), "Theirs");
  // With the current tag (in a list, or a weak form that never matches beside it), it goes.
  stale.set(http::field::if_match, "W/" + std::string(first[http::field::etag]) + ", " +
                                       std::string(first[http::field::etag]));
  EXPECT_EQ(router_.route(stale, kClient).result(), http::status::ok);
  stale.set(http::field::if_match,
            "W/" + std::string(call(http::verb::get, "/v1/rooms/4000")[http::field::etag]));
  EXPECT_EQ(router_.route(stale, kClient).result(), http::status::precondition_failed)
      << "a weak tag alone does not match (strong comparison)";
  stale.set(http::field::if_match, "*");
  EXPECT_EQ(router_.route(stale, kClient).result(), http::status::ok);
}

TEST_F(RoomRoutesTest, ARepeatedCreateWithTheSameIdempotencyKeyCreatesOnce) {
  auto post = [&](const std::string& idempotency, const std::string& body) {
    auto request = apiRequest(http::verb::post, "/v1/rooms", acmeKey_, body);
    request.set("Idempotency-Key", idempotency);
    return router_.route(request, kClient);
  };
  const auto first = post("7c1e-01", R"({"user":"4000","name":"Board"})");
  ASSERT_EQ(first.result(), http::status::created);
  // The client did not see the answer and sends it again: the same answer, no second room.
  const auto again = post("7c1e-01", R"({"user":"4000","name":"Board"})");
  EXPECT_EQ(again.result(), http::status::created);
  EXPECT_EQ(again.body(), first.body());
  EXPECT_EQ(again[http::field::location], "/v1/rooms/4000@acme");
  // The answer survives a restart: another connection to the file knows it.
  {
    auto other = policy::Store::open(keys_.path());
    auto& store = *std::get<std::unique_ptr<policy::Store>>(other);
    Auth auth(store);
    Router router(store, auth);
    auto request =
        apiRequest(http::verb::post, "/v1/rooms", acmeKey_, R"({"user":"4000","name":"Board"})");
    request.set("Idempotency-Key", "7c1e-01");
    EXPECT_EQ(router.route(request, kClient).result(), http::status::created);
  }
  // The same key for another request is refused; a new key is a new creation (here a clash).
  const auto misuse = post("7c1e-01", R"({"user":"4001"})");
  EXPECT_EQ(misuse.result(), http::status::unprocessable_entity);
  EXPECT_EQ(fields(misuse), std::vector<std::string>{"Idempotency-Key"});
  EXPECT_FALSE(keys_.store().findRoom(acme_, "4001"));
  EXPECT_EQ(post("7c1e-02", R"({"user":"4000"})").result(), http::status::conflict);
  // Another key's requests are its own: the same Idempotency-Key creates for them.
  auto theirs =
      apiRequest(http::verb::post, "/v1/rooms", keys_.bearer(acme_), R"({"user":"4002"})");
  theirs.set("Idempotency-Key", "7c1e-01");
  EXPECT_EQ(router_.route(theirs, kClient).result(), http::status::created);
  // A failure is not kept: a retry after fixing nothing gets the failure again, not a replay.
  EXPECT_EQ(post("7c1e-03", R"({"user":"a b"})").result(), http::status::unprocessable_entity);
  EXPECT_EQ(post("7c1e-03", R"({"user":"a b"})").result(), http::status::unprocessable_entity);
  EXPECT_EQ(post("", R"({"user":"5"})").result(), http::status::bad_request);
  EXPECT_EQ(post(std::string(300, 'k'), R"({"user":"5"})").result(), http::status::bad_request);
  EXPECT_EQ(keys_.store().rooms(acme_).size(), 2U) << "4000 and 4002, each once";
}

TEST_F(RoomRoutesTest, ListsComeInPagesAndCanBeSearched) {
  for (int i = 0; i < 7; ++i) {
    keys_.room(acme_, "10" + std::to_string(i), i % 2 == 0 ? "Even room" : "Odd room");
  }
  keys_.room(globex_, "200", "Even globex");
  auto first = json(call(http::verb::get, "/v1/rooms?limit=3")).as_object();
  ASSERT_EQ(first.at("rooms").as_array().size(), 3U);
  EXPECT_EQ(first.at("rooms").as_array()[0].at("user"), "100");
  ASSERT_TRUE(first.contains("next"));
  const std::string next(first.at("next").as_string());
  auto second = json(call(http::verb::get, next)).as_object();
  EXPECT_EQ(second.at("rooms").as_array()[0].at("user"), "103");
  auto last = json(call(http::verb::get, std::string(second.at("next").as_string()))).as_object();
  EXPECT_EQ(last.at("rooms").as_array().size(), 1U);
  EXPECT_FALSE(last.contains("next")) << "the end";
  // Search by name or number, case-insensitive; a tenant never sees another's rooms.
  EXPECT_EQ(json(call(http::verb::get, "/v1/rooms?q=EVEN")).at("rooms").as_array().size(), 4U);
  EXPECT_EQ(json(call(http::verb::get, "/v1/rooms?q=106")).at("rooms").as_array().size(), 1U);
  EXPECT_EQ(json(call(http::verb::get, "/v1/rooms?q=%25")).at("rooms").as_array().size(), 0U)
      << "no wildcards";
  // The operator sees all, or one tenant's.
  const std::string op = keys_.bearer();
  EXPECT_EQ(json(call(http::verb::get, "/v1/rooms?q=even", {}, op)).at("rooms").as_array().size(),
            5U);
  EXPECT_EQ(json(call(http::verb::get, "/v1/rooms?tenant=" + std::to_string(globex_), {}, op))
                .at("rooms")
                .as_array()
                .size(),
            1U);
  for (const char* query : {"limit=0", "limit=501", "limit=x", "after=-1", "tenant=0"}) {
    auto refused = call(http::verb::get, std::string("/v1/rooms?") + query);
    EXPECT_EQ(refused.result(), http::status::bad_request) << query;
  }
}

}  // namespace
}  // namespace confab::api
