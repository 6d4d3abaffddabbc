// api::Server over real loopback sockets with a Beast client on the same io_context; every wait
// is bounded by run_one_for so that a broken server fails a test instead of hanging it.
#include <gtest/gtest.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/buffers_to_string.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/json/parse.hpp>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <memory>
#include <optional>
#include <string>
#include <type_traits>
#include <vector>

#include "api/Problem.hpp"
#include "api/Server.hpp"
#include "focus/transport/TlsIdentity.hpp"
#include "tests/unit/api/ScratchKeys.hpp"
#include "tests/unit/focus/room/UasHarness.hpp"

namespace confab::api {
namespace {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace websocket = boost::beast::websocket;
using tcp = net::ip::tcp;
using namespace std::chrono_literals;

constexpr auto kWaitLimit = 5s;

// Runs the io_context until done is set or the wait limit passes; returns done.
bool runUntil(net::io_context& io, const bool& done) {
  auto deadline = std::chrono::steady_clock::now() + kWaitLimit;
  while (!done && std::chrono::steady_clock::now() < deadline) {
    if (io.stopped()) {
      io.restart();
    }
    io.run_one_for(20ms);
  }
  return done;
}

using TlsStream = beast::ssl_stream<beast::tcp_stream>;

// A client connection driven by the test thread, over TCP or TLS.
template <class Stream>
class BasicClient {
 public:
  BasicClient(net::io_context& io,
              const tcp::endpoint& endpoint) requires(!std::is_same_v<Stream, TlsStream>)
      : io_(io), stream_(io) {
    connect(endpoint);
  }
  // Over TLS: the handshake's error is connectError().
  BasicClient(net::io_context& io,
              const tcp::endpoint& endpoint,
              net::ssl::context& tls) requires std::is_same_v<Stream, TlsStream>
      : io_(io), stream_(io, tls) {
    connect(endpoint);
    if (connectError_) {
      return;
    }
    bool done = false;
    stream_.async_handshake(net::ssl::stream_base::client, [&](beast::error_code ec) {
      connectError_ = ec;
      done = true;
    });
    EXPECT_TRUE(runUntil(io_, done));
  }

  void connect(const tcp::endpoint& endpoint) {
    bool done = false;
    beast::get_lowest_layer(stream_).async_connect(endpoint, [&](beast::error_code ec) {
      connectError_ = ec;
      done = true;
    });
    EXPECT_TRUE(runUntil(io_, done));
  }

  [[nodiscard]] beast::error_code connectError() const { return connectError_; }

  void sendRaw(const std::string& bytes) {
    bool done = false;
    net::async_write(stream_, net::buffer(bytes), [&](beast::error_code ec, std::size_t) {
      EXPECT_FALSE(ec) << ec.message();
      done = true;
    });
    EXPECT_TRUE(runUntil(io_, done));
  }

  void send(Request request) {
    bool done = false;
    request.prepare_payload();
    http::async_write(stream_, request, [&](beast::error_code ec, std::size_t) {
      EXPECT_FALSE(ec) << ec.message();
      done = true;
    });
    EXPECT_TRUE(runUntil(io_, done));
  }

  // One response, or the error that ended the read.
  std::optional<Response> receive(beast::error_code* error = nullptr, bool head = false) {
    bool done = false;
    beast::error_code readError;
    http::response_parser<http::string_body> parser;
    parser.skip(head);
    http::async_read(stream_, buffer_, parser, [&](beast::error_code ec, std::size_t) {
      readError = ec;
      done = true;
    });
    EXPECT_TRUE(runUntil(io_, done)) << "no response in time";
    if (error != nullptr) {
      *error = readError;
    }
    if (readError) {
      return std::nullopt;
    }
    return parser.release();
  }

  Response get(const std::string& target,
               http::verb method = http::verb::get,
               const std::string& authorization = {}) {
    Request request(method, target, 11);
    request.set(http::field::host, "127.0.0.1");
    if (!authorization.empty()) {
      request.set(http::field::authorization, authorization);
    }
    send(request);
    auto response = receive(nullptr, method == http::verb::head);
    EXPECT_TRUE(response.has_value());
    return response.value_or(Response{});
  }

  // True when the server closed the connection (the next read ends without a response).
  bool closedByServer() {
    beast::error_code ec;
    auto response = receive(&ec);
    return !response &&
           (ec == http::error::end_of_stream || ec == net::error::eof ||
            ec == net::error::connection_reset || ec == net::ssl::error::stream_truncated);
  }

 private:
  net::io_context& io_;
  Stream stream_;
  beast::flat_buffer buffer_;
  beast::error_code connectError_;
};
using Client = BasicClient<beast::tcp_stream>;
using TlsClient = BasicClient<TlsStream>;

class ServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto tenant = keys_.tenant("default");
    keys_.room(tenant, "1000", "Weekly sync");
    keys_.room(tenant, "lobby", "Lobby", 12);
  }

  void startServer(Limits limits = {}, Live* live = nullptr, net::ssl::context* tls = nullptr) {
    server_.emplace(io_, tcp::endpoint(net::ip::make_address("127.0.0.1"), 0), keys_.store(),
                    limits, live, &events_, tls);
    auto ec = server_->start();
    ASSERT_FALSE(ec) << ec.message();
    ASSERT_NE(server_->localEndpoint().port(), 0);
  }

  conference::Model model_;
  EventHub events_;
  net::io_context io_;
  ScratchKeys keys_;
  std::string operator_ = keys_.bearer();
  std::optional<Server> server_;
};

TEST_F(ServerTest, HealthOverLoopback) {
  startServer();
  Client client(io_, server_->localEndpoint());
  auto response = client.get("/health");
  EXPECT_EQ(response.result(), http::status::ok);
  EXPECT_EQ(response[http::field::content_type], "application/json");
  EXPECT_EQ(boost::json::parse(response.body()), boost::json::parse(R"({"status":"ok"})"));
}

TEST_F(ServerTest, RoomsAndKeepAlive) {
  startServer();
  Client client(io_, server_->localEndpoint());
  auto list = client.get("/v1/rooms", http::verb::get, operator_);
  EXPECT_EQ(list.result(), http::status::ok);
  EXPECT_EQ(boost::json::parse(list.body()).at("rooms").as_array().size(), 2U);
  // Same connection, next requests.
  auto room = client.get("/v1/rooms/lobby", http::verb::get, operator_);
  EXPECT_EQ(room.result(), http::status::ok);
  EXPECT_EQ(boost::json::parse(room.body()).at("name"), "Lobby");
  // Without the key: 401 with the scheme to use (RFC 6750 §3), on the same connection.
  auto anonymous = client.get("/v1/rooms/lobby");
  EXPECT_EQ(anonymous.result(), http::status::unauthorized);
  EXPECT_EQ(anonymous[http::field::www_authenticate], "Bearer realm=\"confab\"");
  auto missing = client.get("/v1/rooms/nope", http::verb::get, operator_);
  EXPECT_EQ(missing.result(), http::status::not_found);
  EXPECT_EQ(missing[http::field::content_type], kProblemContentType);
  auto head = client.get("/health", http::verb::head);
  EXPECT_EQ(head.result(), http::status::ok);
  EXPECT_TRUE(head.body().empty());
  auto method = client.get("/health", http::verb::post);
  EXPECT_EQ(method.result(), http::status::method_not_allowed);
  EXPECT_EQ(method[http::field::allow], "GET, HEAD");
  EXPECT_EQ(client.get("/health").result(), http::status::ok);
}

TEST_F(ServerTest, ConnectionCloseEndsTheConnection) {
  startServer();
  Client client(io_, server_->localEndpoint());
  Request request(http::verb::get, "/health", 11);
  request.set(http::field::host, "x");
  request.keep_alive(false);
  client.send(request);
  auto response = client.receive();
  ASSERT_TRUE(response.has_value());
  EXPECT_FALSE(response->keep_alive());
  EXPECT_TRUE(client.closedByServer());
}

TEST_F(ServerTest, MalformedRequestGets400ProblemAndClose) {
  startServer();
  Client client(io_, server_->localEndpoint());
  client.sendRaw("GARBAGE\r\n\r\n");
  auto response = client.receive();
  ASSERT_TRUE(response.has_value());
  EXPECT_EQ(response->result(), http::status::bad_request);
  EXPECT_EQ((*response)[http::field::content_type], kProblemContentType);
  EXPECT_EQ(boost::json::parse(response->body()).at("status"), 400);
  EXPECT_TRUE(client.closedByServer());
}

TEST_F(ServerTest, OversizedBodyGets413) {
  startServer();
  Client client(io_, server_->localEndpoint());
  client.sendRaw("POST /health HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n");
  auto response = client.receive();
  ASSERT_TRUE(response.has_value());
  EXPECT_EQ(response->result(), http::status::payload_too_large);
  EXPECT_TRUE(client.closedByServer());
}

TEST_F(ServerTest, AHeaderSentSlowlyTimesOutLongBeforeTheRequestTimeout) {
  Limits limits;
  limits.headerTimeout = 200ms;
  limits.requestTimeout = 60s;
  startServer(limits);
  Client client(io_, server_->localEndpoint());
  client.sendRaw("GET /health HTTP/1.1\r\nHost: x\r\n");
  auto started = std::chrono::steady_clock::now();
  beast::error_code ec;
  EXPECT_FALSE(client.receive(&ec).has_value());
  EXPECT_TRUE(ec);
  EXPECT_LT(std::chrono::steady_clock::now() - started, kWaitLimit);
}

TEST_F(ServerTest, ABodySentSlowlyTimesOut) {
  Limits limits;
  limits.requestTimeout = 200ms;
  startServer(limits);
  Client client(io_, server_->localEndpoint());
  client.sendRaw("POST /health HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\n12345");
  beast::error_code ec;
  EXPECT_FALSE(client.receive(&ec).has_value());
  EXPECT_TRUE(ec);
}

TEST_F(ServerTest, IdleKeptAliveConnectionTimesOut) {
  Limits limits;
  limits.headerTimeout = 200ms;
  startServer(limits);
  Client client(io_, server_->localEndpoint());
  EXPECT_EQ(client.get("/health").result(), http::status::ok);
  beast::error_code ec;
  EXPECT_FALSE(client.receive(&ec).has_value());
  EXPECT_TRUE(ec);
}

TEST_F(ServerTest, ANewConnectionReplacesTheOneWaitingLongestWhenAllAreTaken) {
  Limits limits;
  limits.maxConnections = 2;
  startServer(limits);
  // Two clients hold every connection, idle or sending nothing.
  Client idle(io_, server_->localEndpoint());
  EXPECT_EQ(idle.get("/health").result(), http::status::ok);
  Client silent(io_, server_->localEndpoint());
  // Someone else still gets an answer: the idle one (waiting longest) gives way.
  Client third(io_, server_->localEndpoint());
  EXPECT_EQ(third.get("/health").result(), http::status::ok);
  EXPECT_TRUE(idle.closedByServer());
}

TEST_F(ServerTest, ANewConnectionIsClosedWhenNoneWaitsForAHeader) {
  Limits limits;
  limits.maxConnections = 1;
  startServer(limits);
  // The only connection is in the middle of a request (its body half sent): it is not idle.
  Client busy(io_, server_->localEndpoint());
  busy.sendRaw("POST /health HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\n\r\n12");
  // Let the server read the header before the next connection comes.
  io_.run_for(50ms);
  Client second(io_, server_->localEndpoint());
  second.sendRaw("GET /health HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_TRUE(second.closedByServer());
  // The busy one finishes and is answered.
  busy.sendRaw("34");
  auto response = busy.receive();
  ASSERT_TRUE(response.has_value());
  EXPECT_EQ(response->result(), http::status::method_not_allowed);
}

TEST_F(ServerTest, OneAddressGetsOnlyItsShareOfConnections) {
  Limits limits;
  limits.maxConnectionsPerAddress = 2;
  startServer(limits);
  // Two connections from 127.0.0.1 in the middle of requests (bodies half sent): its share.
  Client a(io_, server_->localEndpoint());
  Client b(io_, server_->localEndpoint());
  a.sendRaw("POST /health HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\n\r\n12");
  b.sendRaw("POST /health HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\n\r\n12");
  io_.run_for(50ms);
  Client c(io_, server_->localEndpoint());
  c.sendRaw("GET /health HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_TRUE(c.closedByServer()) << "a third from 127.0.0.1 while both are busy";
  a.sendRaw("34");
  ASSERT_TRUE(a.receive().has_value()) << "the first two go on";
}

TEST_F(ServerTest, SlowClientsFromOneAddressGiveWayToAProbeFromIt) {
  Limits limits;
  limits.maxConnectionsPerAddress = 8;
  startServer(limits);
  // Eight clients sending their header a byte at a time (the classic slow attack).
  std::vector<std::unique_ptr<Client>> slow;
  for (int i = 0; i < 8; ++i) {
    slow.push_back(std::make_unique<Client>(io_, server_->localEndpoint()));
    slow.back()->sendRaw("G");
  }
  io_.run_for(50ms);
  // A health check from the same address still gets its answer at once.
  Client probe(io_, server_->localEndpoint());
  const auto started = std::chrono::steady_clock::now();
  EXPECT_EQ(probe.get("/health").result(), http::status::ok);
  EXPECT_LT(std::chrono::steady_clock::now() - started, limits.headerTimeout)
      << "it did not wait for a slow one's header to time out";
  EXPECT_TRUE(slow.front()->closedByServer()) << "the one waiting longest gave way";
}

// A WebSocket client of /v1/events driven by the test thread.
template <class Stream>
class BasicEventClient {
 public:
  BasicEventClient(net::io_context& io,
                   const tcp::endpoint& endpoint) requires(!std::is_same_v<Stream, TlsStream>)
      : io_(io), ws_(io) {
    connect(endpoint);
  }
  BasicEventClient(net::io_context& io,
                   const tcp::endpoint& endpoint,
                   net::ssl::context& tls) requires std::is_same_v<Stream, TlsStream>
      : io_(io), ws_(io, tls) {
    connect(endpoint);
    bool done = false;
    ws_.next_layer().async_handshake(net::ssl::stream_base::client, [&](beast::error_code ec) {
      EXPECT_FALSE(ec) << ec.message();
      done = true;
    });
    EXPECT_TRUE(runUntil(io_, done));
  }
  void connect(const tcp::endpoint& endpoint) {
    bool done = false;
    beast::get_lowest_layer(ws_).async_connect(endpoint, [&](beast::error_code ec) {
      EXPECT_FALSE(ec) << ec.message();
      done = true;
    });
    EXPECT_TRUE(runUntil(io_, done));
  }
  // The handshake's error, if any (a refused key fails it).
  // 'protocols': a Sec-WebSocket-Protocol line to offer, as a browser's WebSocket does.
  beast::error_code handshake(const std::string& target,
                              const std::string& authorization,
                              const std::string& protocols = "") {
    ws_.set_option(
        websocket::stream_base::decorator([authorization, protocols](websocket::request_type& r) {
          if (!authorization.empty()) {
            r.set(http::field::authorization, authorization);
          }
          if (!protocols.empty()) {
            r.set(http::field::sec_websocket_protocol, protocols);
          }
        }));
    bool done = false;
    beast::error_code result;
    ws_.async_handshake(response_, "127.0.0.1", target, [&](beast::error_code ec) {
      result = ec;
      done = true;
    });
    EXPECT_TRUE(runUntil(io_, done));
    return result;
  }
  [[nodiscard]] unsigned handshakeStatus() const { return response_.result_int(); }
  // The server's Close frame, once next() has seen the stream end.
  [[nodiscard]] const websocket::close_reason& closeReason() const { return ws_.reason(); }
  [[nodiscard]] const websocket::response_type& handshakeResponse() const { return response_; }
  // The next event, or nothing when the stream ended (or nothing came in time).
  std::optional<boost::json::object> next() {
    bool done = false;
    beast::error_code error;
    buffer_.clear();
    ws_.async_read(buffer_, [&](beast::error_code ec, std::size_t) {
      error = ec;
      done = true;
    });
    if (!runUntil(io_, done) || error) {
      return std::nullopt;
    }
    return boost::json::parse(beast::buffers_to_string(buffer_.data())).as_object();
  }

 private:
  net::io_context& io_;
  websocket::stream<Stream> ws_;
  websocket::response_type response_;
  beast::flat_buffer buffer_;
};

using EventClient = BasicEventClient<beast::tcp_stream>;
using TlsEventClient = BasicEventClient<TlsStream>;

policy::Room liveRoom(const std::string& key) {
  policy::Room r{key, key, 0};
  r.key = key;
  return r;
}

TEST_F(ServerTest, EventsStreamOverAWebSocketToAKeyThatMaySeeThem) {
  model_.listen(events_);
  startServer();
  EventClient client(io_, server_->localEndpoint());
  ASSERT_FALSE(client.handshake("/v1/events?room=1000", operator_));
  // Let the server finish its side and subscribe.
  for (int i = 0; i < 10 && events_.subscribers() == 0; ++i) {
    io_.run_for(10ms);
  }
  ASSERT_EQ(events_.subscribers(), 1U);
  model_.open(liveRoom("1001"), "sip:1001@x");  // another room: filtered out
  model_.open(liveRoom("1000"), "sip:1000@x");
  auto event = client.next();
  ASSERT_TRUE(event);
  EXPECT_EQ(event->at("type"), "conference.started");
  EXPECT_EQ(event->at("room"), "1000");
  server_->stop();
  EXPECT_FALSE(client.next()) << "the stream ends when the server stops";
}

// One key holds at most 16 of the 128 event streams: the 17th is 429, another key still gets one.
TEST_F(ServerTest, OneKeyCannotHoldEveryEventStream) {
  startServer();
  std::vector<std::unique_ptr<EventClient>> held;
  for (int i = 0; i < 16; ++i) {
    held.push_back(std::make_unique<EventClient>(io_, server_->localEndpoint()));
    ASSERT_FALSE(held.back()->handshake("/v1/events", operator_)) << i;
  }
  EventClient extra(io_, server_->localEndpoint());
  EXPECT_TRUE(extra.handshake("/v1/events", operator_));
  EXPECT_EQ(extra.handshakeStatus(), 429U);
  EventClient other(io_, server_->localEndpoint());
  EXPECT_FALSE(other.handshake("/v1/events", keys_.bearer()));
  held.pop_back();  // closing one frees its place
  for (int i = 0; i < 20; ++i) {
    io_.run_for(10ms);
  }
  EventClient again(io_, server_->localEndpoint());
  EXPECT_FALSE(again.handshake("/v1/events", operator_));
}

// A browser cannot send Authorization on a WebSocket: the console offers its key as a
// subprotocol beside "confab.events", and the server answers with "confab.events" alone.
TEST_F(ServerTest, EventsTakeABrowsersKeyOfferedAsASubprotocolAndNeverEchoIt) {
  model_.listen(events_);
  startServer();
  const std::string token = operator_.substr(std::string("Bearer ").size());
  EventClient browser(io_, server_->localEndpoint());
  ASSERT_FALSE(browser.handshake("/v1/events?room=1000", "", "confab.events, bearer." + token));
  EXPECT_EQ(browser.handshakeResponse()[http::field::sec_websocket_protocol], "confab.events");
  for (int i = 0; i < 10 && events_.subscribers() == 0; ++i) {
    io_.run_for(10ms);
  }
  model_.open(liveRoom("1000"), "sip:1000@x");
  auto event = browser.next();
  ASSERT_TRUE(event);
  EXPECT_EQ(event->at("type"), "conference.started");

  EventClient wrong(io_, server_->localEndpoint());
  EXPECT_TRUE(wrong.handshake("/v1/events", "", "confab.events, bearer.confab_" +
                                                    std::string(43, 'x')));
  EXPECT_EQ(wrong.handshakeStatus(), 401U);
  // A key alone, without the events protocol, is not taken (the browser would fail the
  // handshake anyway: the server could answer none of its protocols).
  EventClient bare(io_, server_->localEndpoint());
  EXPECT_TRUE(bare.handshake("/v1/events", "", "bearer." + token));
  EXPECT_EQ(bare.handshakeStatus(), 401U);
}

// A stream outlives the upgrade that checked its key: revoking the key closes it (1008, "key
// revoked") within keyRecheck, while another key's stream goes on.
TEST_F(ServerTest, RevokingAKeyClosesItsEventStreams) {
  model_.listen(events_);
  Limits limits;
  limits.keyRecheck = 50ms;
  startServer(limits);
  const std::string revoked = keys_.bearer();
  EventClient first(io_, server_->localEndpoint());
  ASSERT_FALSE(first.handshake("/v1/events", revoked));
  EventClient second(io_, server_->localEndpoint());  // the same key twice: both go
  ASSERT_FALSE(second.handshake("/v1/events", revoked));
  EventClient other(io_, server_->localEndpoint());
  ASSERT_FALSE(other.handshake("/v1/events", operator_));
  for (int i = 0; i < 20 && events_.subscribers() < 3; ++i) {
    io_.run_for(10ms);
  }
  ASSERT_EQ(events_.subscribers(), 3U);
  // Still issued: a few rechecks change nothing.
  io_.run_for(200ms);
  ASSERT_EQ(events_.subscribers(), 3U);

  const auto key = keys_.store().apiKeyForToken(revoked.substr(std::string("Bearer ").size()));
  ASSERT_TRUE(key);
  ASSERT_TRUE(std::holds_alternative<bool>(keys_.store().deleteApiKey(key->id)));
  const auto revokedAt = std::chrono::steady_clock::now();
  EXPECT_FALSE(first.next()) << "a revoked key's stream must end";
  EXPECT_LT(std::chrono::steady_clock::now() - revokedAt, 2s);
  EXPECT_EQ(first.closeReason().code, websocket::close_code::policy_error);
  EXPECT_EQ(first.closeReason().reason, "key revoked");
  EXPECT_FALSE(second.next());
  EXPECT_EQ(second.closeReason().reason, "key revoked");

  model_.open(liveRoom("1000"), "sip:1000@x");
  auto event = other.next();
  ASSERT_TRUE(event) << "another key's stream goes on";
  EXPECT_EQ(event->at("type"), "conference.started");
  EventClient again(io_, server_->localEndpoint());
  EXPECT_TRUE(again.handshake("/v1/events", revoked));
  EXPECT_EQ(again.handshakeStatus(), 401U);
}

TEST_F(ServerTest, EventsNeedAKeyAndAWebSocket) {
  startServer();
  EventClient anonymous(io_, server_->localEndpoint());
  EXPECT_TRUE(anonymous.handshake("/v1/events", ""));
  EXPECT_EQ(anonymous.handshakeStatus(), 401U);
  EXPECT_EQ(events_.subscribers(), 0U);
  Client plain(io_, server_->localEndpoint());
  const auto response = plain.get("/v1/events", http::verb::get, operator_);
  EXPECT_EQ(response.result(), http::status::upgrade_required);
  EXPECT_EQ(response[http::field::upgrade], "websocket");
}

// A recording download is streamed from the file: one far larger than any body the server
// reads (and than one piece it sends) arrives whole and byte for byte; HEAD sends the header
// alone (the connection stays usable after it); a byte range resumes it.
TEST_F(ServerTest, ARecordingIsStreamedWholeAndByRange) {
  test::UasHarness focus;
  const auto folder = keys_.folder() / "recordings";
  std::filesystem::create_directories(folder);
  std::string bytes(3 * 1024 * 1024 + 12345, '\0');
  uint32_t x = 12345;
  for (auto& c : bytes) {
    x = x * 1664525U + 1013904223U;  // any pattern that a shifted or repeated piece would break
    c = static_cast<char>(x >> 24U);
  }
  const std::string name = "1000-20261125T063000Z.wav";
  {
    std::ofstream out(folder / name, std::ios::binary);
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  }
  Live live{focus.uas(), folder, folder.parent_path() / "media", nullptr};
  Limits limits;
  ASSERT_GT(bytes.size(), 16 * limits.bodyBytes);
  startServer(limits, &live);
  Client client(io_, server_->localEndpoint());
  const std::string target = "/v1/rooms/1000/recordings/" + name;

  auto whole = client.get(target, http::verb::get, operator_);
  EXPECT_EQ(whole.result(), http::status::ok);
  EXPECT_EQ(whole[http::field::content_type], "audio/wav");
  EXPECT_EQ(whole[http::field::content_disposition], "attachment; filename=\"" + name + "\"");
  EXPECT_EQ(whole.body().size(), bytes.size());
  EXPECT_TRUE(whole.body() == bytes) << "not byte-identical";

  auto head = client.get(target, http::verb::head, operator_);
  EXPECT_EQ(head.result(), http::status::ok);
  EXPECT_EQ(head[http::field::content_length], std::to_string(bytes.size()));
  EXPECT_TRUE(head.body().empty());
  EXPECT_EQ(client.get("/health").result(), http::status::ok) << "no body followed the HEAD";

  Request ranged(http::verb::get, target, 11);
  ranged.set(http::field::host, "127.0.0.1");
  ranged.set(http::field::authorization, operator_);
  ranged.set(http::field::range, "bytes=1000000-");
  client.send(ranged);
  auto rest = client.receive();
  ASSERT_TRUE(rest.has_value());
  EXPECT_EQ(rest->result(), http::status::partial_content);
  EXPECT_EQ(
      (*rest)[http::field::content_range],
      "bytes 1000000-" + std::to_string(bytes.size() - 1) + "/" + std::to_string(bytes.size()));
  EXPECT_TRUE(rest->body() == bytes.substr(1000000));
  ranged.set(http::field::range, "bytes=" + std::to_string(bytes.size()) + "-");
  client.send(ranged);
  auto past = client.receive();
  ASSERT_TRUE(past.has_value());
  EXPECT_EQ(past->result(), http::status::range_not_satisfiable);
  EXPECT_EQ((*past)[http::field::content_range], "bytes */" + std::to_string(bytes.size()));
  EXPECT_EQ(client.get(target, http::verb::get, operator_).body().size(), bytes.size())
      << "and again on the same connection";
  server_.reset();  // before the focus it reads goes
}

TEST_F(ServerTest, ADownloadTheClientStopsReadingIsClosedAndFreesItsPlace) {
  test::UasHarness focus;
  const auto folder = keys_.folder() / "recordings";
  std::filesystem::create_directories(folder);
  const std::string name = "1000-20261125T063000Z.wav";
  // Far more than loopback's socket buffers hold, so the server's writes must wait on the reader.
  constexpr std::size_t kBytes = 48U * 1024U * 1024U;
  {
    std::ofstream out(folder / name, std::ios::binary);
    const std::string block(1024 * 1024, 'r');
    for (std::size_t written = 0; written < kBytes; written += block.size()) {
      out.write(block.data(), static_cast<std::streamsize>(block.size()));
    }
  }
  Live live{focus.uas(), folder, folder.parent_path() / "media", nullptr};
  Limits limits;
  limits.requestTimeout = 300ms;
  limits.maxConnections = 1;  // the stalled download holds the only place while it lasts
  startServer(limits, &live);
  Client stalled(io_, server_->localEndpoint());
  Request request(http::verb::get, "/v1/rooms/1000/recordings/" + name, 11);
  request.set(http::field::host, "127.0.0.1");
  request.set(http::field::authorization, operator_);
  stalled.send(request);
  // The client reads nothing for a while; the server goes on with everything else meanwhile.
  const auto until = std::chrono::steady_clock::now() + 1500ms;
  while (std::chrono::steady_clock::now() < until) {
    io_.restart();
    io_.run_for(20ms);
  }
  // Its place was given up: a new client is served.
  Client next(io_, server_->localEndpoint());
  EXPECT_EQ(next.get("/health").result(), http::status::ok);
  // And the stalled one finds its download cut short, not complete.
  beast::error_code ec;
  const auto response = stalled.receive(&ec);
  EXPECT_FALSE(response.has_value());
  EXPECT_TRUE(ec);
  server_.reset();  // before the focus it reads goes
}

// HTTPS (issue 13 item 1) with a throwaway self-signed certificate made as confab makes its own;
// the client trusts exactly that certificate.
class TlsServerTest : public ServerTest {
 protected:
  void SetUp() override {
    ServerTest::SetUp();
    const auto dir = keys_.folder();
    identity_ = {(dir / "api-cert.pem").string(), (dir / "api-key.pem").string()};
    transport::writeSelfSignedIdentity("localhost", identity_.certificateFile,
                                       identity_.privateKeyFile);
    serverTls_.emplace(transport::makeHttpsContext(identity_));
    clientTls_.load_verify_file(identity_.certificateFile);
    clientTls_.set_verify_mode(net::ssl::verify_peer);
  }
  void startTls(Limits limits = {}) { startServer(limits, nullptr, &*serverTls_); }

  transport::TlsIdentity identity_;
  std::optional<net::ssl::context> serverTls_;
  net::ssl::context clientTls_{net::ssl::context::tls_client};
};

TEST_F(TlsServerTest, RequestsOverTls) {
  startTls();
  TlsClient client(io_, server_->localEndpoint(), clientTls_);
  ASSERT_FALSE(client.connectError()) << client.connectError().message();
  EXPECT_EQ(client.get("/health").result(), http::status::ok);
  auto rooms = client.get("/v1/rooms", http::verb::get, operator_);
  EXPECT_EQ(rooms.result(), http::status::ok);
  EXPECT_EQ(boost::json::parse(rooms.body()).at("rooms").as_array().size(), 2U);
  EXPECT_EQ(client.get("/v1/rooms").result(), http::status::unauthorized);
  Request last(http::verb::get, "/health", 11);
  last.set(http::field::host, "x");
  last.keep_alive(false);
  client.send(last);
  ASSERT_TRUE(client.receive().has_value());
  EXPECT_TRUE(client.closedByServer());
}

TEST_F(TlsServerTest, OnlyTls12AndLaterIsSpoken) {
  startTls();
  net::ssl::context old(net::ssl::context::tls_client);
  // A client that would speak TLS 1.1 (its own security level allows it): the server must not.
  SSL_CTX_set_security_level(old.native_handle(), 0);
  SSL_CTX_set_min_proto_version(old.native_handle(), TLS1_VERSION);
  SSL_CTX_set_max_proto_version(old.native_handle(), TLS1_1_VERSION);
  TlsClient client(io_, server_->localEndpoint(), old);
  EXPECT_TRUE(client.connectError()) << "a TLS 1.1 client got through";
}

TEST_F(TlsServerTest, APlainHttpClientGetsNoAnswer) {
  startTls();
  Client plain(io_, server_->localEndpoint());
  plain.sendRaw("GET /health HTTP/1.1\r\nHost: x\r\n\r\n");
  beast::error_code ec;
  EXPECT_FALSE(plain.receive(&ec).has_value()) << "an HTTP answer came on the TLS port";
  EXPECT_TRUE(ec);
}

TEST_F(TlsServerTest, AClientThatNeverSaysHelloIsClosedAtTheHeaderDeadline) {
  Limits limits;
  limits.headerTimeout = 200ms;
  limits.requestTimeout = 60s;
  startTls(limits);
  Client silent(io_, server_->localEndpoint());  // TCP only: no ClientHello
  const auto started = std::chrono::steady_clock::now();
  EXPECT_TRUE(silent.closedByServer());
  EXPECT_LT(std::chrono::steady_clock::now() - started, 2s);
}

TEST_F(TlsServerTest, SilentConnectionsCountForTheirAddressAndGiveWay) {
  Limits limits;
  limits.maxConnectionsPerAddress = 2;
  startTls(limits);
  Client first(io_, server_->localEndpoint());
  Client second(io_, server_->localEndpoint());
  io_.run_for(50ms);
  // The address's share is taken by two that never said hello: a real client takes the place of
  // the one waiting longest.
  TlsClient client(io_, server_->localEndpoint(), clientTls_);
  ASSERT_FALSE(client.connectError()) << client.connectError().message();
  EXPECT_EQ(client.get("/health").result(), http::status::ok);
  EXPECT_TRUE(first.closedByServer());
}

TEST_F(TlsServerTest, ARecordingIsStreamedOverTls) {
  test::UasHarness focus;
  const auto folder = keys_.folder() / "recordings";
  std::filesystem::create_directories(folder);
  std::string bytes(1024 * 1024 + 7, '\0');
  for (std::size_t i = 0; i < bytes.size(); ++i) {
    bytes[i] = static_cast<char>((i * 7919U) >> 3U);
  }
  std::ofstream(folder / "1000-20261125T063000Z.opus", std::ios::binary) << bytes;
  Live live{focus.uas(), folder, folder.parent_path() / "media", nullptr};
  startServer({}, &live, &*serverTls_);
  TlsClient client(io_, server_->localEndpoint(), clientTls_);
  ASSERT_FALSE(client.connectError()) << client.connectError().message();
  auto whole = client.get("/v1/rooms/1000/recordings/1000-20261125T063000Z.opus", http::verb::get,
                          operator_);
  EXPECT_EQ(whole.result(), http::status::ok);
  EXPECT_EQ(whole[http::field::content_type], "audio/ogg");
  EXPECT_TRUE(whole.body() == bytes) << "not byte-identical";
  EXPECT_EQ(client.get("/health").result(), http::status::ok);
  server_.reset();
}

TEST_F(TlsServerTest, EventsStreamOverWss) {
  model_.listen(events_);
  startTls();
  TlsEventClient client(io_, server_->localEndpoint(), clientTls_);
  ASSERT_FALSE(client.handshake("/v1/events", operator_));
  for (int i = 0; i < 10 && events_.subscribers() == 0; ++i) {
    io_.run_for(10ms);
  }
  ASSERT_EQ(events_.subscribers(), 1U);
  model_.open(liveRoom("1000"), "sip:1000@x");
  auto event = client.next();
  ASSERT_TRUE(event);
  EXPECT_EQ(event->at("type"), "conference.started");
  server_->stop();
  EXPECT_FALSE(client.next()) << "the stream ends when the server stops";
}

TEST_F(ServerTest, StopClosesOpenConnections) {
  startServer();
  Client client(io_, server_->localEndpoint());
  EXPECT_EQ(client.get("/health").result(), http::status::ok);
  server_->stop();
  EXPECT_TRUE(client.closedByServer());
  server_->stop();  // idempotent
}

TEST_F(ServerTest, BusyPortIsAnErrorNotAnException) {
  startServer();
  Server other(io_, server_->localEndpoint(), keys_.store());
  EXPECT_TRUE(other.start());
}

TEST_F(ServerTest, StartTwiceIsAnError) {
  startServer();
  EXPECT_TRUE(server_->start());
}

}  // namespace
}  // namespace confab::api
