// A room's recordings over the API (issue 13 item 2): listed (the room's own only, newest
// first), downloaded as a file the server streams (headers, HEAD, single byte ranges) and
// deleted; names that are paths, links out of the folder and other rooms' or tenants' files are
// never reached. The router in front of a real focus and in-process mixer (UasHarness) with calls
// in room 1000, and a real recordings folder. The bytes themselves over a socket: ServerTest.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <variant>

#include "api/ByteRange.hpp"
#include "api/Router.hpp"
#include "tests/unit/api/ScratchKeys.hpp"
#include "tests/unit/focus/room/UasHarness.hpp"

namespace confab::api {
namespace {

namespace fs = std::filesystem;
using test::callIn;
using test::UasHarness;

const auto kClient = boost::asio::ip::make_address("192.0.2.13");

class RecordingsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto main = keys_.tenant("default");
    keys_.room(main, "1000");
    keys_.room(main, "100");
    acme_ = keys_.tenant("acme");
    keys_.room(acme_, "4000");
    fs::create_directories(folder_);
  }

  void file(const std::string& name, std::size_t bytes) {
    std::ofstream out(folder_ / name, std::ios::binary);
    for (std::size_t i = 0; i < bytes; ++i) {
      out.put(static_cast<char>('a' + i % 26));
    }
  }

  Answer serve(http::verb method,
               const std::string& target,
               const std::string& key,
               const std::vector<std::pair<http::field, std::string>>& headers = {}) {
    auto request = apiRequest(method, target, key);
    for (const auto& [field, value] : headers) {
      request.set(field, value);
    }
    return router_.serve(request, kClient);
  }
  Response call(http::verb method, const std::string& target, const std::string& key = {}) {
    return router_.route(apiRequest(method, target, key.empty() ? operator_ : key), kClient);
  }
  std::vector<std::string> names(const std::string& room, const std::string& key = {}) {
    const auto response = call(http::verb::get, "/v1/rooms/" + room + "/recordings", key);
    EXPECT_EQ(response.result(), http::status::ok) << response.body();
    std::vector<std::string> out;
    if (response.result() == http::status::ok) {
      const auto list = jsonOf(response);
      for (const auto& r : list.at("recordings").as_array()) {
        out.emplace_back(r.at("name").as_string());
      }
    }
    return out;
  }

  UasHarness h_;
  ScratchKeys keys_;
  fs::path folder_ = keys_.folder() / "recordings";
  Live live_{h_.uas(), folder_, keys_.folder() / "media", nullptr};
  Auth auth_{keys_.store()};
  Router router_{keys_.store(), auth_, &live_};
  std::string operator_ = keys_.bearer();
  int64_t acme_ = 0;
};

TEST_F(RecordingsTest, AListShowsTheRoomsOwnRecordingsNewestFirst) {
  file("1000-20261125T063000Z.wav", 100);
  file("1000-20261126T063000Z.opus", 50);
  file("100-20261125T063000Z.wav", 10);        // room 100's: a prefix of 1000's name
  file("10000-20261125T063000Z.wav", 10);      // room 10000's
  file("4000@acme-20261125T063000Z.wav", 10);  // tenant acme's room 4000
  file("1000-2026112T063000Z.wav", 10);        // not a name we make
  file("1000-20261125T063000Z.wav.part", 10);  // nor this
  fs::create_directory(folder_ / "1000-20261127T063000Z.wav");  // a folder under such a name
  file("../outside.wav", 10);
  fs::create_symlink(folder_ / ".." / "outside.wav", folder_ / "1000-20261128T063000Z.wav");

  const auto response = call(http::verb::get, "/v1/rooms/1000/recordings");
  ASSERT_EQ(response.result(), http::status::ok) << response.body();
  EXPECT_EQ(jsonOf(response), boost::json::parse(R"({"recordings":[
      {"name":"1000-20261126T063000Z.opus","format":"ogg","bytes":50,
       "started":"2026-11-26T06:30:00Z","recording":false},
      {"name":"1000-20261125T063000Z.wav","format":"wav","bytes":100,
       "started":"2026-11-25T06:30:00Z","recording":false}]})"));
  EXPECT_THAT(names("100"), ::testing::ElementsAre("100-20261125T063000Z.wav"));
  EXPECT_THAT(names("4000@acme"), ::testing::ElementsAre("4000@acme-20261125T063000Z.wav"));
  // Acme's key: "4000" is its own room; "1000" would be acme's room 1000, which does not exist.
  const auto acme = keys_.bearer(acme_, true);
  EXPECT_THAT(names("4000", acme), ::testing::ElementsAre("4000@acme-20261125T063000Z.wav"));
  EXPECT_EQ(call(http::verb::get, "/v1/rooms/1000@default/recordings", acme).result(),
            http::status::not_found);
  EXPECT_EQ(
      call(http::verb::get, "/v1/rooms/1000@default/recordings/1000-20261125T063000Z.wav", acme)
          .result(),
      http::status::not_found);
}

TEST_F(RecordingsTest, AListComesInPagesThatFollowOnWithoutGapsOrRepeats) {
  // Seven recordings over seven days; two of them started in the same second (a .wav and .opus).
  for (int day = 20; day < 26; ++day) {
    file("1000-202611" + std::to_string(day) + "T063000Z.wav", 10);
  }
  file("1000-20261125T063000Z.opus", 10);
  std::vector<std::string> seen;
  std::string target = "/v1/rooms/1000/recordings?limit=3";
  int pages = 0;
  while (!target.empty() && pages < 10) {
    const auto response = call(http::verb::get, target);
    ASSERT_EQ(response.result(), http::status::ok) << target << ": " << response.body();
    const auto page = jsonOf(response).as_object();
    const auto& list = page.at("recordings").as_array();
    EXPECT_LE(list.size(), 3U);
    for (const auto& r : list) {
      seen.emplace_back(r.at("name").as_string());
    }
    target = page.contains("next") ? std::string(page.at("next").as_string()) : "";
    ++pages;
  }
  EXPECT_EQ(pages, 3);
  EXPECT_THAT(seen,
              ::testing::ElementsAre("1000-20261125T063000Z.wav", "1000-20261125T063000Z.opus",
                                     "1000-20261124T063000Z.wav", "1000-20261123T063000Z.wav",
                                     "1000-20261122T063000Z.wav", "1000-20261121T063000Z.wav",
                                     "1000-20261120T063000Z.wav"));

  // A page after a name that was deleted meanwhile still starts where it would have.
  const auto after =
      jsonOf(call(http::verb::get, "/v1/rooms/1000/recordings?after=1000-20261123T120000Z.wav"));
  ASSERT_EQ(after.at("recordings").as_array().size(), 4U);
  EXPECT_EQ(after.at("recordings").as_array()[0].at("name"), "1000-20261123T063000Z.wav");
  EXPECT_FALSE(after.as_object().contains("next"));

  // Bad paging is a 400 naming the parameter; another room's name is not a place to start.
  for (const auto& [query, field] :
       std::vector<std::pair<std::string, std::string>>{{"limit=0", "limit"},
                                                        {"limit=501", "limit"},
                                                        {"limit=x", "limit"},
                                                        {"after=100-20261125T063000Z.wav", "after"},
                                                        {"after=../etc", "after"}}) {
    const auto response = call(http::verb::get, "/v1/rooms/1000/recordings?" + query);
    EXPECT_EQ(response.result(), http::status::bad_request) << query;
    EXPECT_EQ(problemFields(response), (std::vector<std::string>{field})) << query;
  }
}

TEST_F(RecordingsTest, NoFolderYetIsAnEmptyList) {
  fs::remove_all(folder_);
  EXPECT_TRUE(names("1000").empty());
}

TEST_F(RecordingsTest, ADownloadIsTheFileAsAnAttachmentStreamedFromDisk) {
  file("1000-20261125T063000Z.wav", 1000);
  const std::string target = "/v1/rooms/1000/recordings/1000-20261125T063000Z.wav";
  auto answer = serve(http::verb::get, target, operator_);
  auto* streamed = std::get_if<FileResponse>(&answer);
  ASSERT_NE(streamed, nullptr) << "a file, not a body in memory";
  EXPECT_EQ(streamed->result(), http::status::ok);
  EXPECT_EQ((*streamed)[http::field::content_type], "audio/wav");
  EXPECT_EQ((*streamed)[http::field::content_length], "1000");
  EXPECT_EQ((*streamed)[http::field::content_disposition],
            "attachment; filename=\"1000-20261125T063000Z.wav\"");
  EXPECT_EQ((*streamed)[http::field::accept_ranges], "bytes");
  EXPECT_FALSE((*streamed)[http::field::etag].empty());
  EXPECT_EQ(streamed->body().offset, 0U);
  EXPECT_EQ(streamed->body().length, 1000U);
  // HEAD: the same header, no file.
  auto head = serve(http::verb::head, target, operator_);
  ASSERT_TRUE(std::holds_alternative<Response>(head));
  EXPECT_EQ(std::get<Response>(head).result(), http::status::ok);
  EXPECT_EQ(std::get<Response>(head)[http::field::content_length], "1000");
  EXPECT_TRUE(std::get<Response>(head).body().empty());
  // A read-only key may download; Ogg Opus is audio/ogg.
  file("1000-20261126T063000Z.opus", 10);
  auto ogg = call(http::verb::get, "/v1/rooms/1000/recordings/1000-20261126T063000Z.opus",
                  keys_.bearer(0, true));
  EXPECT_EQ(ogg.result(), http::status::ok);
  EXPECT_EQ(ogg[http::field::content_type], "audio/ogg");
}

TEST_F(RecordingsTest, OneByteRangeResumesADownload) {
  file("1000-20261125T063000Z.wav", 1000);
  const std::string target = "/v1/rooms/1000/recordings/1000-20261125T063000Z.wav";
  const auto ranged = [&](const std::string& range, const std::string& ifRange = {}) {
    std::vector<std::pair<http::field, std::string>> headers{{http::field::range, range}};
    if (!ifRange.empty()) {
      headers.emplace_back(http::field::if_range, ifRange);
    }
    return serve(http::verb::get, target, operator_, headers);
  };
  auto part = ranged("bytes=100-199");
  ASSERT_TRUE(std::holds_alternative<FileResponse>(part));
  auto& slice = std::get<FileResponse>(part);
  EXPECT_EQ(slice.result(), http::status::partial_content);
  EXPECT_EQ(slice[http::field::content_range], "bytes 100-199/1000");
  EXPECT_EQ(slice[http::field::content_length], "100");
  EXPECT_EQ(slice.body().offset, 100U);
  EXPECT_EQ(slice.body().length, 100U);
  EXPECT_EQ(std::get<FileResponse>(ranged("bytes=900-"))[http::field::content_range],
            "bytes 900-999/1000");
  EXPECT_EQ(std::get<FileResponse>(ranged("bytes=-10"))[http::field::content_range],
            "bytes 990-999/1000");
  // Past the end: 416 saying how large it is (RFC 9110 §15.5.17).
  auto past = ranged("bytes=1000-");
  ASSERT_TRUE(std::holds_alternative<Response>(past));
  EXPECT_EQ(std::get<Response>(past).result(), http::status::range_not_satisfiable);
  EXPECT_EQ(std::get<Response>(past)[http::field::content_range], "bytes */1000");
  // If-Range with the current ETag: the range; with another: the whole file (§13.1.5).
  const std::string etag(std::get<FileResponse>(ranged("bytes=0-0"))[http::field::etag]);
  EXPECT_EQ(std::get<FileResponse>(ranged("bytes=500-", etag)).result(),
            http::status::partial_content);
  EXPECT_EQ(std::get<FileResponse>(ranged("bytes=500-", "\"old\"")).result(), http::status::ok);
  // Several ranges: the whole (§14.2 lets a server ignore Range).
  EXPECT_EQ(std::get<FileResponse>(ranged("bytes=0-1,5-6")).result(), http::status::ok);
}

TEST_F(RecordingsTest, NamesThatArePathsOrLinksOutOfTheFolderReachNothing) {
  // A file beside the folder (the data directory), and a link to it under a valid name.
  file("../policy-secret.txt", 100);
  if (!fs::exists(keys_.folder() / "policy.db")) {
    file("../policy.db", 10);  // the store is on PostgreSQL: a file in its place
  }
  fs::create_symlink(folder_ / ".." / "policy-secret.txt", folder_ / "1000-20261125T063000Z.wav");
  file("1000-20261126T063000Z.wav", 10);
  for (const std::string name :
       {"..%2Fpolicy-secret.txt", "%2E%2E%2Fpolicy.db", "..", ".", "%2Fetc%2Fpasswd",
        "1000-20261126T063000Z.wav%00", "1000-20261126T063000Z.wav%2F..%2F..%2Fpolicy.db",
        "1000-20261125T063000Z.wav",  // the link: not followed
        "1000-..%2F..%2F20261126T063000Z.wav", "10000-20261126T063000Z.wav",
        "1000-20261126T063000Z.WAV", "%5C..%5Cx"}) {
    const std::string target = "/v1/rooms/1000/recordings/" + name;
    for (auto method : {http::verb::get, http::verb::head, http::verb::delete_}) {
      const auto response = call(method, target);
      EXPECT_THAT(response.result_int(), ::testing::AnyOf(400, 404))
          << http::to_string(method) << " " << target;
      EXPECT_EQ(response[http::field::content_disposition], "") << target;
    }
  }
  EXPECT_TRUE(fs::exists(folder_ / ".." / "policy-secret.txt"));
  EXPECT_TRUE(fs::is_symlink(folder_ / "1000-20261125T063000Z.wav")) << "a link is not deleted";
  EXPECT_TRUE(fs::exists(folder_ / "1000-20261126T063000Z.wav"));
  EXPECT_TRUE(fs::exists(keys_.folder() / "policy.db"));
}

TEST_F(RecordingsTest, DeleteRemovesARecordingButNotTheOneBeingWritten) {
  callIn(h_, "alice-call");
  auto started = router_.route(
      apiRequest(http::verb::post, "/v1/rooms/1000/recording", operator_, R"({"format":"wav"})"),
      kClient);
  ASSERT_EQ(started.result(), http::status::created) << started.body();
  const std::string now(jsonOf(started).at("file").as_string());
  file("1000-20200101T000000Z.wav", 10);
  const auto list = jsonOf(call(http::verb::get, "/v1/rooms/1000/recordings"));
  ASSERT_EQ(list.at("recordings").as_array().size(), 2U) << list;
  EXPECT_EQ(list.at("recordings").at(0).at("name"), now.c_str());
  EXPECT_EQ(list.at("recordings").at(0).at("recording"), true);
  EXPECT_EQ(list.at("recordings").at(1).at("recording"), false);

  EXPECT_EQ(call(http::verb::delete_, "/v1/rooms/1000/recordings/" + now).result(),
            http::status::conflict);
  EXPECT_EQ(call(http::verb::delete_, "/v1/rooms/1000/recordings/1000-20200101T000000Z.wav",
                 keys_.bearer(0, true))
                .result(),
            http::status::forbidden)
      << "a read-only key";
  EXPECT_EQ(
      call(http::verb::delete_, "/v1/rooms/1000/recordings/1000-20200101T000000Z.wav").result(),
      http::status::no_content);
  EXPECT_FALSE(fs::exists(folder_ / "1000-20200101T000000Z.wav"));
  EXPECT_EQ(
      call(http::verb::delete_, "/v1/rooms/1000/recordings/1000-20200101T000000Z.wav").result(),
      http::status::not_found);
  ASSERT_EQ(call(http::verb::delete_, "/v1/rooms/1000/recording").result(), http::status::ok);
  EXPECT_EQ(call(http::verb::delete_, "/v1/rooms/1000/recordings/" + now).result(),
            http::status::no_content)
      << "once stopped";
  EXPECT_TRUE(names("1000").empty());
}

TEST(ByteRange, TheGrammarOfRfc9110Section14) {
  const auto range = [](std::string_view header, uint64_t size) -> std::string {
    const auto answer = requestedRange(header, size);
    if (std::holds_alternative<WholeRepresentation>(answer)) {
      return "whole";
    }
    if (std::holds_alternative<Unsatisfiable>(answer)) {
      return "416";
    }
    const auto& r = std::get<ByteRange>(answer);
    return std::to_string(r.first) + "+" + std::to_string(r.length);
  };
  EXPECT_EQ(range("bytes=0-499", 1000), "0+500");
  EXPECT_EQ(range("bytes=500-999", 1000), "500+500");
  EXPECT_EQ(range("bytes=500-5000", 1000), "500+500") << "last-pos past the end is the end";
  EXPECT_EQ(range("bytes=999-", 1000), "999+1");
  EXPECT_EQ(range("bytes=-1", 1000), "999+1");
  EXPECT_EQ(range("bytes=-5000", 1000), "0+1000");
  EXPECT_EQ(range("Bytes = 1-2 ", 1000), "1+2") << "the unit is case-insensitive";
  EXPECT_EQ(range("bytes=1000-", 1000), "416");
  EXPECT_EQ(range("bytes=99999999999999999999999-", 1000), "416");
  EXPECT_EQ(range("bytes=-0", 1000), "416");
  EXPECT_EQ(range("bytes=0-", 0), "416");
  EXPECT_EQ(range("bytes=-5", 0), "416");
  for (const char* ignored : {"", "bytes", "bytes=", "bytes=-", "bytes=5-1", "bytes=a-b",
                              "bytes=1-2,4-5", "items=0-1", "bytes=0x1-2", "bytes=1--2"}) {
    EXPECT_EQ(range(ignored, 1000), "whole") << ignored;
  }
}

}  // namespace
}  // namespace confab::api
