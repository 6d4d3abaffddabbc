// Webhooks (issue 13 item 3) end to end in one process: the conference model's events go through
// the outbox writer into a real policy store, and the sender POSTs them over loopback to a real
// HTTP receiver (Beast, 127.0.0.1, port 0) that checks their signature; retries after a 500 and
// after a refused connection; the backoff schedule with the clock injected (no sleeping); what
// survives a restart; the SSRF guard; and the routes: URL validation, the secret shown once,
// another tenant's webhooks as absent as missing ones.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <chrono>
#include <deque>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "api/Events.hpp"
#include "api/Router.hpp"
#include "api/Webhook.hpp"
#include "api/WebhookOutbox.hpp"
#include "api/WebhookSender.hpp"
#include "focus/conference/Model.hpp"
#include "focus/transport/TlsIdentity.hpp"
#include "tests/unit/api/ScratchKeys.hpp"
#include "tests/unit/focus/room/UasHarness.hpp"

namespace confab::api {
namespace {

namespace net = boost::asio;
namespace beast = boost::beast;
using tcp = net::ip::tcp;
using ::testing::HasSubstr;
using namespace std::chrono_literals;

const auto kClient = boost::asio::ip::make_address("192.0.2.40");

// An HTTP/1.1 receiver on loopback: records each request and answers the next status queued
// (200 once none is), one request per connection.
class Receiver {
 public:
  struct Got {
    std::string target;
    std::map<std::string, std::string> headers;  // by lower-case name
    std::string body;
  };

  explicit Receiver(net::io_context& io, uint16_t port = 0)
      : acceptor_(io, tcp::endpoint(net::ip::make_address("127.0.0.1"), port)) {
    accept();
  }
  [[nodiscard]] uint16_t port() const { return acceptor_.local_endpoint().port(); }
  [[nodiscard]] std::string url(const std::string& path = "/hook") const {
    return "http://127.0.0.1:" + std::to_string(port()) + path;
  }

  std::vector<Got> got;
  std::deque<http::status> answers;
  int open = 0;
  int mostOpen = 0;

 private:
  struct Session : std::enable_shared_from_this<Session> {
    Session(tcp::socket socket, Receiver& r) : stream(std::move(socket)), receiver(r) {}
    void start() {
      receiver.mostOpen = std::max(receiver.mostOpen, ++receiver.open);
      auto self = shared_from_this();
      http::async_read(
          stream, buffer, request, [self](const boost::system::error_code& ec, std::size_t) {
            if (ec) {
              --self->receiver.open;
              return;
            }
            Got g{std::string(self->request.target()), {}, self->request.body()};
            for (const auto& field : self->request) {
              std::string name(field.name_string());
              for (auto& c : name) {
                c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
              }
              g.headers[name] = std::string(field.value());
            }
            self->receiver.got.push_back(std::move(g));
            auto status = http::status::ok;
            if (!self->receiver.answers.empty()) {
              status = self->receiver.answers.front();
              self->receiver.answers.pop_front();
            }
            self->response = http::response<http::string_body>(status, 11);
            self->response.body() = "thanks";
            self->response.keep_alive(false);
            self->response.prepare_payload();
            http::async_write(self->stream, self->response,
                              [self](const boost::system::error_code&, std::size_t) {
                                boost::system::error_code ignored;
                                self->stream.socket().shutdown(tcp::socket::shutdown_both, ignored);
                                --self->receiver.open;
                              });
          });
    }
    beast::tcp_stream stream;
    Receiver& receiver;
    beast::flat_buffer buffer;
    http::request<http::string_body> request;
    http::response<http::string_body> response;
  };

  void accept() {
    acceptor_.async_accept([this](const boost::system::error_code& ec, tcp::socket socket) {
      if (ec) {
        return;
      }
      std::make_shared<Session>(std::move(socket), *this)->start();
      accept();
    });
  }

  tcp::acceptor acceptor_;
};

// An HTTPS receiver on loopback presenting a self-signed certificate: counts what reaches it.
class TlsReceiver {
 public:
  TlsReceiver(net::io_context& io, net::ssl::context& tls)
      : acceptor_(io, tcp::endpoint(net::ip::make_address("127.0.0.1"), 0)), tls_(tls) {
    accept();
  }
  [[nodiscard]] std::string url() const {
    return "https://127.0.0.1:" + std::to_string(acceptor_.local_endpoint().port()) + "/hook";
  }
  std::vector<Receiver::Got> got;

 private:
  struct Session : std::enable_shared_from_this<Session> {
    Session(tcp::socket socket, TlsReceiver& r)
        : stream(beast::tcp_stream(std::move(socket)), r.tls_), receiver(r) {}
    void start() {
      auto self = shared_from_this();
      stream.async_handshake(
          net::ssl::stream_base::server, [self](const boost::system::error_code& ec) {
            if (ec) {
              return;
            }
            http::async_read(
                self->stream, self->buffer, self->request,
                [self](const boost::system::error_code& r, std::size_t) {
                  if (r) {
                    return;
                  }
                  Receiver::Got g{std::string(self->request.target()), {}, self->request.body()};
                  for (const auto& field : self->request) {
                    std::string name(field.name_string());
                    for (auto& c : name) {
                      c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
                    }
                    g.headers[name] = std::string(field.value());
                  }
                  self->receiver.got.push_back(std::move(g));
                  self->response = http::response<http::string_body>(http::status::ok, 11);
                  self->response.keep_alive(false);
                  self->response.prepare_payload();
                  http::async_write(self->stream, self->response,
                                    [self](const boost::system::error_code&, std::size_t) {});
                });
          });
    }
    beast::ssl_stream<beast::tcp_stream> stream;
    TlsReceiver& receiver;
    beast::flat_buffer buffer;
    http::request<http::string_body> request;
    http::response<http::string_body> response;
  };

  void accept() {
    acceptor_.async_accept([this](const boost::system::error_code& ec, tcp::socket socket) {
      if (ec) {
        return;
      }
      std::make_shared<Session>(std::move(socket), *this)->start();
      accept();
    });
  }

  tcp::acceptor acceptor_;
  net::ssl::context& tls_;
};

// The signature as a receiver computes it, with OpenSSL directly rather than our code.
std::string expectedSignature(const std::string& secret,
                              const std::string& timestamp,
                              const std::string& body) {
  const std::string data = timestamp + "." + body;
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()),
       reinterpret_cast<const unsigned char*>(data.data()), data.size(), mac, &length);
  std::string hex;
  char digits[3];
  for (unsigned int i = 0; i < length; ++i) {
    std::snprintf(digits, sizeof digits, "%02x", mac[i]);
    hex += digits;
  }
  return "v1=" + hex;
}

class WebhooksTest : public ::testing::Test {
 protected:
  WebhooksTest() {
    acme_ = keys_.tenant("acme");
    globex_ = keys_.tenant("globex");
  }

  // A webhook straight in the store (the routes refuse loopback URLs without the option).
  policy::Webhook hook(int64_t tenant, const std::string& url) {
    policy::Webhook spec;
    spec.tenantId = tenant;
    spec.url = url;
    return std::get<policy::Webhook>(keys_.store().createWebhook(spec));
  }

  // A sender on io_, delivering to loopback, retrying after 'first' (not 1 s, to keep the test
  // short), with the clock and the jitter injected when given.
  std::unique_ptr<WebhookSender> sender(std::chrono::milliseconds first = 20ms,
                                        bool allowPrivate = true,
                                        WebhookSender::Clock clock = {}) {
    WebhookSenderSettings settings;
    settings.allowPrivate = allowPrivate;
    settings.backoff.first = first;
    settings.timeout = 2s;
    return std::make_unique<WebhookSender>(
        io_, keys_.store(), counters_, settings, [](const std::string&) {}, std::move(clock),
        [] { return 0.0; });
  }

  // Runs the io_context until 'done' holds, for at most 'limit'.
  bool runUntil(const std::function<bool()>& done, std::chrono::milliseconds limit = 5000ms) {
    const auto end = std::chrono::steady_clock::now() + limit;
    while (!done()) {
      if (std::chrono::steady_clock::now() > end) {
        return false;
      }
      io_.restart();
      io_.run_for(5ms);
    }
    return true;
  }

  // A conference of acme's starting: one event, through the outbox writer.
  void startConference(WebhookOutbox& outbox, const std::string& key = "4000@acme") {
    policy::Room rules("4000", "Sales");
    rules.key = key;
    rules.tenantId = acme_;
    model_.listen(outbox);
    model_.open(rules, "sip:4000@acme.example");
    model_.unlisten(outbox);
  }

  ScratchKeys keys_;
  int64_t acme_ = 0;
  int64_t globex_ = 0;
  net::io_context io_;
  WebhookCounters counters_;
  conference::Model model_;
};

TEST_F(WebhooksTest, AnEventReachesARealReceiverSignedAndIsThenGoneFromTheOutbox) {
  Receiver receiver(io_);
  const auto webhook = hook(acme_, receiver.url("/confab/events?x=1"));
  const auto others = hook(globex_, receiver.url("/globex"));
  auto delivery = sender();
  delivery->start();
  WebhookOutbox outbox(keys_.store(), counters_, delivery.get());
  startConference(outbox);

  ASSERT_TRUE(runUntil([&] { return counters_.delivered == 1; }));
  ASSERT_EQ(receiver.got.size(), 1U);
  const auto& got = receiver.got[0];
  EXPECT_EQ(got.target, "/confab/events?x=1");
  EXPECT_EQ(got.headers.at("content-type"), "application/json");
  EXPECT_EQ(got.headers.at("host"), "127.0.0.1:" + std::to_string(receiver.port()));
  const auto json = boost::json::parse(got.body).as_object();
  EXPECT_EQ(json.at("type"), "conference.started");
  EXPECT_EQ(json.at("room"), "4000@acme");
  // Signed over the timestamp and the body, with the secret shown when it was made.
  const std::string& timestamp = got.headers.at("confab-timestamp");
  const auto now = std::chrono::duration_cast<std::chrono::seconds>(
                       std::chrono::system_clock::now().time_since_epoch())
                       .count();
  EXPECT_LE(std::abs(std::stoll(timestamp) - now), 5);
  EXPECT_EQ(got.headers.at("confab-signature"),
            expectedSignature(webhook.secret, timestamp, got.body));
  EXPECT_NE(got.headers.at("confab-signature"),
            expectedSignature(others.secret, timestamp, got.body));
  EXPECT_FALSE(got.headers.at("confab-event-id").empty());

  const auto status = keys_.store().webhookStatus(webhook.id);
  EXPECT_EQ(status->pending, 0U);
  EXPECT_GT(status->lastSuccess, 0);
  EXPECT_EQ(keys_.store().webhookStatus(others.id)->pending, 0U) << "globex hears none of acme's";
  EXPECT_EQ(counters_.retried, 0U);
}

TEST_F(WebhooksTest, AfterARotationBothSecretsSignUntilTheOverlapEnds) {
  Receiver receiver(io_);
  const auto webhook = hook(acme_, receiver.url());
  auto rotated = std::get<policy::Webhook>(
      keys_.store().rotateWebhookSecret(webhook.id, std::chrono::seconds(3600)));
  auto delivery = sender();
  delivery->start();
  WebhookOutbox outbox(keys_.store(), counters_, delivery.get());
  startConference(outbox);
  ASSERT_TRUE(runUntil([&] { return counters_.delivered == 1; }));
  ASSERT_EQ(receiver.got.size(), 1U);
  const auto& got = receiver.got[0];
  const std::string& timestamp = got.headers.at("confab-timestamp");
  // The new one first, then the one the receiver may still hold.
  EXPECT_EQ(got.headers.at("confab-signature"),
            expectedSignature(rotated.secret, timestamp, got.body) + ", " +
                expectedSignature(webhook.secret, timestamp, got.body));

  // With no overlap left only the new secret signs.
  rotated = std::get<policy::Webhook>(
      keys_.store().rotateWebhookSecret(webhook.id, std::chrono::seconds(0)));
  startConference(outbox, "4001@acme");
  ASSERT_TRUE(runUntil([&] { return counters_.delivered == 2; }));
  ASSERT_EQ(receiver.got.size(), 2U);
  const auto& next = receiver.got[1];
  EXPECT_EQ(next.headers.at("confab-signature"),
            expectedSignature(rotated.secret, next.headers.at("confab-timestamp"), next.body));
}

TEST_F(WebhooksTest, A500IsRetriedWithTheSameEventIdUntilA2xx) {
  Receiver receiver(io_);
  receiver.answers = {http::status::internal_server_error, http::status::service_unavailable};
  const auto webhook = hook(acme_, receiver.url());
  auto delivery = sender();
  delivery->start();
  WebhookOutbox outbox(keys_.store(), counters_, delivery.get());
  startConference(outbox);

  ASSERT_TRUE(runUntil([&] { return counters_.delivered == 1; }));
  ASSERT_EQ(receiver.got.size(), 3U);
  EXPECT_EQ(counters_.retried, 2U);
  EXPECT_EQ(receiver.got[0].headers.at("confab-event-id"),
            receiver.got[2].headers.at("confab-event-id"));
  EXPECT_EQ(receiver.got[0].body, receiver.got[2].body);
  const auto status = keys_.store().webhookStatus(webhook.id);
  EXPECT_EQ(status->pending, 0U);
  EXPECT_EQ(status->lastError, "HTTP 503");
}

TEST_F(WebhooksTest, ARefusedConnectionIsRetriedUntilTheReceiverIsBack) {
  uint16_t port = 0;
  {
    Receiver gone(io_);
    port = gone.port();
  }
  const auto webhook = hook(acme_, "http://127.0.0.1:" + std::to_string(port) + "/hook");
  auto delivery = sender(50ms);
  delivery->start();
  WebhookOutbox outbox(keys_.store(), counters_, delivery.get());
  startConference(outbox);

  ASSERT_TRUE(runUntil([&] { return counters_.retried >= 2; }));
  EXPECT_THAT(keys_.store().webhookStatus(webhook.id)->lastError, HasSubstr("cannot connect"));
  EXPECT_EQ(keys_.store().webhookStatus(webhook.id)->pending, 1U);
  Receiver back(io_, port);
  ASSERT_TRUE(runUntil([&] { return counters_.delivered == 1; }, 10000ms));
  ASSERT_EQ(back.got.size(), 1U);
  EXPECT_EQ(keys_.store().webhookStatus(webhook.id)->pending, 0U);
}

TEST_F(WebhooksTest, EventsGoOneAtATimeAndInOrder) {
  Receiver receiver(io_);
  receiver.answers = {http::status::bad_gateway};  // the first is retried before the second goes
  hook(acme_, receiver.url());
  auto delivery = sender();
  WebhookOutbox outbox(keys_.store(), counters_, delivery.get());
  const int64_t now = std::chrono::duration_cast<std::chrono::milliseconds>(
                          std::chrono::system_clock::now().time_since_epoch())
                          .count();
  for (int i = 0; i < 5; ++i) {
    ASSERT_TRUE(std::holds_alternative<policy::Enqueued>(
        keys_.store().enqueueEvent(acme_, "participant.joined", std::to_string(i), now + i)));
  }
  delivery->start();
  ASSERT_TRUE(runUntil([&] { return counters_.delivered == 5; }));
  std::vector<std::string> bodies;
  for (const auto& g : receiver.got) {
    bodies.push_back(g.body);
  }
  EXPECT_EQ(bodies, (std::vector<std::string>{"0", "0", "1", "2", "3", "4"}));
  EXPECT_EQ(receiver.mostOpen, 1);
}

TEST_F(WebhooksTest, BackoffDoublesFromOneSecondToTenMinutesWithJitterAndGivesUpAfterADay) {
  Backoff b;
  std::vector<int64_t> seconds;
  for (unsigned attempts = 1; attempts <= 12; ++attempts) {
    seconds.push_back(
        std::chrono::duration_cast<std::chrono::seconds>(*b.next(attempts, 0ms, 0.0)).count());
  }
  EXPECT_EQ(seconds, (std::vector<int64_t>{1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 600, 600}));
  EXPECT_EQ(*b.next(1000, 0ms, 0.0), 600s) << "no overflow after many attempts";
  EXPECT_EQ(*b.next(3, 0ms, 0.5), 4200ms) << "up to a tenth more";
  EXPECT_EQ(*b.next(1, 24h - 1ms, 0.0), 1s);
  EXPECT_FALSE(b.next(1, 24h, 0.0));
}

TEST_F(WebhooksTest, TheSenderFollowsTheBackoffScheduleOnAnInjectedClock) {
  Receiver receiver(io_);
  for (int i = 0; i < 20; ++i) {
    receiver.answers.push_back(http::status::internal_server_error);
  }
  const auto webhook = hook(acme_, receiver.url());
  auto now = std::chrono::system_clock::time_point(std::chrono::seconds(1'800'000'000));
  const auto t0 = now;
  const auto ms = [](std::chrono::system_clock::time_point t) {
    return std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
  };
  // The real Backoff (1 s first), on a clock only the test moves.
  auto delivery = sender(1000ms, true, [&now] { return now; });
  WebhookOutbox outbox(keys_.store(), counters_, delivery.get(), {}, [&now] { return now; });
  delivery->start();
  startConference(outbox);

  for (int64_t expected : {1000, 2000, 4000, 8000}) {
    const auto tries = receiver.got.size();
    ASSERT_TRUE(
        runUntil([&] { return receiver.got.size() == tries + 1 && delivery->inFlight() == 0; }));
    auto next = keys_.store().nextDelivery(webhook.id);
    ASSERT_TRUE(next);
    EXPECT_EQ(next->nextAttempt - ms(now), expected);
    // Not a moment early: just before it is due, nothing goes.
    now += std::chrono::milliseconds(expected - 1);
    delivery->poke();
    io_.restart();
    io_.run_for(30ms);
    EXPECT_EQ(receiver.got.size(), tries + 1);
    now += 1ms;
    delivery->poke();
  }
  EXPECT_EQ(counters_.retried, 4U);
  // A day after the event, the next failure is the last: kept as failed, no longer pending.
  now = t0 + 24h;
  delivery->poke();
  ASSERT_TRUE(runUntil([&] { return counters_.failed == 1; }));
  const auto status = keys_.store().webhookStatus(webhook.id);
  EXPECT_EQ(status->pending, 0U);
  EXPECT_EQ(status->failed, 1U);
  EXPECT_EQ(status->lastError, "HTTP 500");
  EXPECT_FALSE(keys_.store().nextDelivery(webhook.id));
}

TEST_F(WebhooksTest, AClockSetBackDoesNotHoldAnEventForTheLengthOfTheJump) {
  Receiver receiver(io_);
  receiver.answers = {http::status::internal_server_error};
  const auto webhook = hook(acme_, receiver.url());
  auto now = std::chrono::system_clock::time_point(std::chrono::seconds(1'800'000'000));
  auto delivery = sender(1000ms, true, [&now] { return now; });
  WebhookOutbox outbox(keys_.store(), counters_, delivery.get(), {}, [&now] { return now; });
  delivery->start();
  startConference(outbox);
  ASSERT_TRUE(runUntil([&] { return counters_.retried == 1 && delivery->inFlight() == 0; }));
  // Retry due in 1 s; the clock is set back a day: the next look sends it rather than wait.
  now -= 24h;
  delivery->poke();
  ASSERT_TRUE(runUntil([&] { return counters_.delivered == 1; }));
  EXPECT_EQ(keys_.store().webhookStatus(webhook.id)->pending, 0U);
}

TEST_F(WebhooksTest, EventsQueuedBeforeARestartAreDeliveredByTheNextSender) {
  Receiver receiver(io_);
  const auto webhook = hook(acme_, receiver.url());
  {
    // The process that accepted the events dies before sending any: no sender runs.
    WebhookOutbox outbox(keys_.store(), counters_, nullptr);
    startConference(outbox);
  }
  // The next process: its own connection to the file, and a sender started on it.
  auto reopened = policy::Store::open(keys_.path());
  ASSERT_TRUE(std::holds_alternative<std::unique_ptr<policy::Store>>(reopened));
  auto& store = *std::get<std::unique_ptr<policy::Store>>(reopened);
  WebhookSenderSettings settings;
  settings.allowPrivate = true;
  WebhookSender next(io_, store, counters_, settings);
  next.start();
  ASSERT_TRUE(runUntil([&] { return counters_.delivered == 1; }));
  ASSERT_EQ(receiver.got.size(), 1U);
  EXPECT_EQ(boost::json::parse(receiver.got[0].body).at("type"), "conference.started");
  EXPECT_EQ(store.webhookStatus(webhook.id)->pending, 0U);
}

// Two nodes on one store (each its own connection and sender) share one outbox: every event
// reaches the receiver once, in order, one request at a time, whichever node sends it; and when
// one node stops, the other delivers what comes next without waiting for its lease to lapse.
TEST_F(WebhooksTest, TwoNodesOnOneStoreDeliverEachEventOnceAndInOrder) {
  Receiver receiver(io_);
  const auto webhook = hook(acme_, receiver.url());
  auto opened = policy::Store::open(keys_.path());
  ASSERT_TRUE(std::holds_alternative<std::unique_ptr<policy::Store>>(opened));
  auto& otherStore = *std::get<std::unique_ptr<policy::Store>>(opened);
  WebhookSenderSettings settings;
  settings.allowPrivate = true;
  settings.timeout = 2s;
  settings.leaseRetry = 20ms;
  WebhookCounters otherCounters;
  auto first = sender();
  auto second = std::make_unique<WebhookSender>(io_, otherStore, otherCounters, settings);
  const int64_t now = std::chrono::duration_cast<std::chrono::milliseconds>(
                          std::chrono::system_clock::now().time_since_epoch())
                          .count();
  for (int i = 0; i < 20; ++i) {
    // Events come in on both nodes, each telling its own sender.
    auto& store = i % 2 == 0 ? keys_.store() : otherStore;
    ASSERT_TRUE(std::holds_alternative<policy::Enqueued>(
        store.enqueueEvent(acme_, "participant.joined", std::to_string(i), now + i)));
  }
  first->start();
  second->start();
  const auto delivered = [&] { return counters_.delivered + otherCounters.delivered; };
  ASSERT_TRUE(runUntil([&] { return delivered() == 20; }));
  io_.restart();
  io_.run_for(100ms);  // a late duplicate would arrive now
  std::vector<std::string> bodies;
  std::vector<std::string> expected;
  for (const auto& g : receiver.got) {
    bodies.push_back(g.body);
  }
  for (int i = 0; i < 20; ++i) {
    expected.push_back(std::to_string(i));
  }
  EXPECT_EQ(bodies, expected);
  EXPECT_EQ(receiver.mostOpen, 1);
  // The first node stops while holding the lease: the second sends the next event at once.
  ASSERT_TRUE(std::holds_alternative<policy::Enqueued>(
      keys_.store().enqueueEvent(acme_, "participant.joined", "20", now + 20)));
  first->onQueued(webhook.id);  // sending it, when it stops
  first->stop();
  second->poke();
  ASSERT_TRUE(runUntil([&] { return delivered() == 21; }, 2000ms))
      << "the second node waited for a stopped node's lease";
  EXPECT_EQ(receiver.got.back().body, "20");
}

TEST_F(WebhooksTest, WithoutTheOptionAPrivateAddressIsNotContactedAtDelivery) {
  Receiver receiver(io_);
  // Accepted earlier (a name that resolved elsewhere then, say), loopback now.
  const auto webhook = hook(acme_, "http://localhost:" + std::to_string(receiver.port()) + "/");
  auto delivery = sender(20ms, false);
  delivery->start();
  WebhookOutbox outbox(keys_.store(), counters_, delivery.get());
  startConference(outbox);
  ASSERT_TRUE(runUntil([&] { return counters_.retried >= 1; }));
  EXPECT_TRUE(receiver.got.empty());
  EXPECT_THAT(keys_.store().webhookStatus(webhook.id)->lastError, HasSubstr("private address"));
}

// https: the receiver's certificate is verified for the URL's host, against the system's trust
// store and the operator's extra anchors (here, the receiver's own self-signed certificate).
class WebhooksTlsTest : public WebhooksTest {
 protected:
  std::string identity(const std::string& name) {
    const auto dir = keys_.folder();
    auto cert = (dir / (name + "-cert.pem")).string();
    const auto key = (dir / (name + "-key.pem")).string();
    transport::writeSelfSignedIdentity(name, cert, key);
    server_.emplace(transport::makeServerContext(transport::TlsIdentity{cert, key}));
    return cert;
  }
  std::unique_ptr<WebhookSender> tlsSender(const std::string& caFile) {
    WebhookSenderSettings settings;
    settings.allowPrivate = true;
    settings.backoff.first = 20ms;
    settings.timeout = 2s;
    settings.caFile = caFile;
    return std::make_unique<WebhookSender>(io_, keys_.store(), counters_, settings);
  }
  std::optional<net::ssl::context> server_;
};

TEST_F(WebhooksTlsTest, AnHttpsReceiverWithATrustedCertificateGetsTheEventSigned) {
  const auto cert = identity("127.0.0.1");
  TlsReceiver receiver(io_, *server_);
  const auto webhook = hook(acme_, receiver.url());
  auto delivery = tlsSender(cert);
  delivery->start();
  WebhookOutbox outbox(keys_.store(), counters_, delivery.get());
  startConference(outbox);
  ASSERT_TRUE(runUntil([&] { return counters_.delivered == 1; }))
      << keys_.store().webhookStatus(webhook.id)->lastError;
  ASSERT_EQ(receiver.got.size(), 1U);
  const auto& got = receiver.got[0];
  EXPECT_EQ(got.headers.at("confab-signature"),
            expectedSignature(webhook.secret, got.headers.at("confab-timestamp"), got.body));
  EXPECT_EQ(got.headers.at("host"), receiver.url().substr(8, receiver.url().size() - 8 - 5));
}

TEST_F(WebhooksTlsTest, AnUntrustedOrMisnamedCertificateIsRefused) {
  for (const bool trusted : {false, true}) {
    // Untrusted: self-signed and not added. Misnamed: trusted, but for another name.
    const auto cert = identity(trusted ? "hooks.example.com" : "127.0.0.1");
    TlsReceiver receiver(io_, *server_);
    const auto webhook = hook(acme_, receiver.url());
    auto delivery = tlsSender(trusted ? cert : std::string());
    delivery->start();
    const auto retried = counters_.retried;
    ASSERT_TRUE(std::holds_alternative<policy::Enqueued>(
        keys_.store().enqueueEvent(acme_, "participant.joined", "{}",
                                   std::chrono::duration_cast<std::chrono::milliseconds>(
                                       std::chrono::system_clock::now().time_since_epoch())
                                       .count())));
    delivery->onQueued(webhook.id);
    ASSERT_TRUE(runUntil([&] { return counters_.retried > retried; }));
    EXPECT_TRUE(receiver.got.empty());
    EXPECT_THAT(keys_.store().webhookStatus(webhook.id)->lastError,
                HasSubstr("TLS handshake failed"))
        << (trusted ? "misnamed" : "untrusted");
    delivery->stop();
    ASSERT_TRUE(std::get<bool>(keys_.store().deleteWebhook(webhook.id)));
  }
  EXPECT_EQ(counters_.delivered, 0U);
}

// From a real (socketless) focus: what the event stream sends goes to the outbox too, the same
// JSON with the same seq, keys pressed in the conference included, talking left out.
TEST(WebhookOutboxFromTheFocus, TheOutboxGetsTheEventStreamsEventsButTalking) {
  ScratchKeys keys;
  policy::Webhook spec;
  spec.url = "http://hooks.example.com/";
  const auto hook = std::get<policy::Webhook>(keys.store().createWebhook(spec));  // operator's
  WebhookCounters counters;
  WebhookOutbox outbox(keys.store(), counters);
  EventHub hub;
  struct Sink final : EventSink {
    void push(std::shared_ptr<const std::string> event) override { events.push_back(*event); }
    std::vector<std::string> events;
  } sink;
  hub.subscribe(sink, Principal{1, 0, false}, "");
  ActivityListeners activity;
  activity.add(hub);
  activity.add(outbox);
  test::UasHarness h;
  h.uas().conferences().listen(hub);
  h.uas().conferences().listen(outbox);
  h.uas().listenActivity(&activity);

  const std::string tag = test::callIn(h, "k1");
  h.receive(test::request("INFO", "k1", 2, "k2", tag, "Content-Type: application/dtmf-relay\r\n",
                          "Signal=5\r\nDuration=160\r\n"));
  const room::Call* call = h.uas().findCall("k1");
  ASSERT_NE(call, nullptr);
  activity.onTalking(*call, true);
  ASSERT_GE(sink.events.size(), 3U);
  EXPECT_EQ(boost::json::parse(sink.events.back()).at("type"), "participant.talking");

  // Each event the stream sent but talking is in the outbox, in order, with the same body but
  // for the time it was made.
  const auto withoutTime = [](const std::string& text) {
    auto o = boost::json::parse(text).as_object();
    o.erase("time");
    return o;
  };
  std::vector<std::string> types;
  std::size_t matched = 0;
  while (auto next = keys.store().nextDelivery(hook.id)) {
    types.emplace_back(boost::json::parse(next->event).at("type").as_string());
    for (const auto& sent : sink.events) {
      matched += withoutTime(sent) == withoutTime(next->event) ? std::size_t{1} : std::size_t{0};
    }
    ASSERT_TRUE(std::get<bool>(keys.store().markDelivered(next->id, 1)));
  }
  EXPECT_EQ(types.size() + 1, sink.events.size());
  EXPECT_EQ(matched, types.size()) << "each one as the stream sent it, seq included";
  ASSERT_FALSE(types.empty());
  EXPECT_EQ(types.front(), "conference.started");
  EXPECT_EQ(types.back(), "participant.key");
  EXPECT_THAT(types, ::testing::Contains("participant.joined"));
  EXPECT_THAT(types, ::testing::Not(::testing::Contains("participant.talking")));
}

TEST(WebhookRules, PrivateAddressesAreThoseOfTheLoopbackPrivateAndLinkLocalRanges) {
  for (const char* address :
       {"127.0.0.1", "127.8.9.10", "10.0.0.1", "172.16.0.1", "172.31.255.255", "192.168.1.1",
        "169.254.169.254", "0.0.0.0", "100.64.0.1", "224.0.0.1", "::1", "::", "fc00::1",
        "fd12:3456::1", "fe80::1", "febf::1", "::ffff:127.0.0.1", "::ffff:10.1.2.3", "ff02::1"}) {
    EXPECT_TRUE(isPrivateAddress(net::ip::make_address(address))) << address;
  }
  for (const char* address :
       {"93.184.216.34", "172.15.255.255", "172.32.0.1", "192.169.0.1", "169.253.0.1",
        "2001:db8::1", "2606:4700::1111", "fec0::1", "::ffff:93.184.216.34"}) {
    EXPECT_FALSE(isPrivateAddress(net::ip::make_address(address))) << address;
  }
}

TEST(WebhookRules, TheSignatureIsHmacSha256OverTimestampDotBody) {
  // RFC 4231 §4.3, test case 2.
  EXPECT_EQ(hmacSha256Hex("Jefe", "what do ya want for nothing?"),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
  EXPECT_EQ(webhookSignature("whsec_x", 1700000000, R"({"a":1})"),
            expectedSignature("whsec_x", "1700000000", R"({"a":1})"));
}

TEST(WebhookRules, UrlsAreSplitForTheRequest) {
  auto url = parseWebhookUrl("http://Hooks.Example.com:8080/a/b?c=d%20e");
  ASSERT_TRUE(url);
  EXPECT_EQ(url->port, 8080);
  EXPECT_EQ(url->target, "/a/b?c=d%20e");
  EXPECT_FALSE(url->tls);
  url = parseWebhookUrl("HTTPS://hooks.example.com/in");
  ASSERT_TRUE(url);
  EXPECT_TRUE(url->tls);
  EXPECT_EQ(url->port, 443);
  url = parseWebhookUrl("http://[2001:db8::5]");
  ASSERT_TRUE(url);
  EXPECT_EQ(url->host, "2001:db8::5");
  EXPECT_EQ(url->port, 80);
  EXPECT_EQ(url->target, "/");
}

class WebhookRoutesTest : public ::testing::Test {
 protected:
  Response call(http::verb method,
                const std::string& target,
                const std::string& body = {},
                const std::string& key = {}) {
    return router_.route(apiRequest(method, target, key.empty() ? operator_ : key, body), kClient);
  }

  ScratchKeys keys_;
  int64_t acme_ = keys_.tenant("acme");
  int64_t globex_ = keys_.tenant("globex");
  WebhookCounters counters_{3, 2, 1, 0};
  Auth auth_{keys_.store()};
  Router router_{keys_.store(), auth_, nullptr, WebhookOptions{false, &counters_}};
  std::string operator_ = keys_.bearer();
  std::string acmeKey_ = keys_.bearer(acme_);
  std::string globexKey_ = keys_.bearer(globex_);
};

TEST_F(WebhookRoutesTest, ATenantMakesAWebhookSeesItsSecretOnceAndDeletesIt) {
  auto made = call(http::verb::post, "/v1/webhooks",
                   R"({"url":"http://hooks.acme.example/confab","events":["participant.joined"]})",
                   acmeKey_);
  ASSERT_EQ(made.result(), http::status::created) << made.body();
  const auto json = jsonOf(made).as_object();
  const auto id = json.at("id").as_int64();
  EXPECT_EQ(made[http::field::location], "/v1/webhooks/" + std::to_string(id));
  EXPECT_EQ(json.at("tenant"), acme_);
  const std::string secret(json.at("secret").as_string());
  EXPECT_TRUE(secret.starts_with("whsec_"));
  EXPECT_EQ(secret.size(), 49U);
  EXPECT_EQ(json.at("events"), boost::json::parse(R"(["participant.joined"])"));

  auto got = call(http::verb::get, "/v1/webhooks/" + std::to_string(id), {}, acmeKey_);
  ASSERT_EQ(got.result(), http::status::ok);
  EXPECT_THAT(got.body(), ::testing::Not(HasSubstr(secret)));
  EXPECT_EQ(jsonOf(got).at("delivery"),
            boost::json::parse(R"({"pending":0,"failed":0,"dropped":0,"lastSuccess":null,
                                   "lastFailure":null,"lastError":null})"));
  auto list = call(http::verb::get, "/v1/webhooks", {}, acmeKey_);
  ASSERT_EQ(jsonOf(list).at("webhooks").as_array().size(), 1U);
  EXPECT_THAT(list.body(), ::testing::Not(HasSubstr(secret)));

  EXPECT_EQ(call(http::verb::delete_, "/v1/webhooks/" + std::to_string(id), {}, acmeKey_).result(),
            http::status::no_content);
  EXPECT_EQ(call(http::verb::get, "/v1/webhooks/" + std::to_string(id), {}, acmeKey_).result(),
            http::status::not_found);
}

TEST_F(WebhookRoutesTest, AnotherTenantsWebhooksAreNotFoundAndTheOperatorSeesAll) {
  auto made =
      call(http::verb::post, "/v1/webhooks", R"({"url":"http://hooks.acme.example/"})", acmeKey_);
  ASSERT_EQ(made.result(), http::status::created);
  const auto id = std::to_string(jsonOf(made).at("id").as_int64());
  auto mine = call(http::verb::post, "/v1/webhooks", R"({"url":"http://ops.example/"})");
  ASSERT_EQ(mine.result(), http::status::created);
  EXPECT_TRUE(jsonOf(mine).at("tenant").is_null());
  const auto opId = std::to_string(jsonOf(mine).at("id").as_int64());

  for (const auto& target : {id, opId, std::string("999")}) {
    EXPECT_EQ(call(http::verb::get, "/v1/webhooks/" + target, {}, globexKey_).result(),
              http::status::not_found)
        << target;
    EXPECT_EQ(call(http::verb::delete_, "/v1/webhooks/" + target, {}, globexKey_).result(),
              http::status::not_found)
        << target;
  }
  EXPECT_EQ(call(http::verb::get, "/v1/webhooks/" + opId, {}, acmeKey_).result(),
            http::status::not_found)
      << "the operator's webhook is no tenant's";
  EXPECT_EQ(jsonOf(call(http::verb::get, "/v1/webhooks", {}, globexKey_)),
            boost::json::parse(R"({"webhooks":[]})"));
  EXPECT_EQ(jsonOf(call(http::verb::get, "/v1/webhooks")).at("webhooks").as_array().size(), 2U);
  EXPECT_EQ(call(http::verb::get, "/v1/webhooks/" + id).result(), http::status::ok);
  EXPECT_TRUE(keys_.store().webhook(std::stoll(id)));

  // An operator may make one for a tenant; a tenant may not name one.
  auto forGlobex =
      call(http::verb::post, "/v1/webhooks",
           R"({"url":"http://hooks.globex.example/","tenant":)" + std::to_string(globex_) + "}");
  ASSERT_EQ(forGlobex.result(), http::status::created);
  EXPECT_EQ(jsonOf(forGlobex).at("tenant"), globex_);
  auto refused =
      call(http::verb::post, "/v1/webhooks",
           R"({"url":"http://x.example/","tenant":)" + std::to_string(globex_) + "}", acmeKey_);
  EXPECT_EQ(refused.result(), http::status::bad_request);
  EXPECT_EQ(problemFields(refused), (std::vector<std::string>{"tenant"}));
  auto unknown =
      call(http::verb::post, "/v1/webhooks", R"({"url":"http://x.example/","tenant":999})");
  EXPECT_EQ(unknown.result(), http::status::unprocessable_entity);
  EXPECT_EQ(problemFields(unknown), (std::vector<std::string>{"tenant"}));
  EXPECT_EQ(call(http::verb::post, "/v1/webhooks", R"({"url":"http://x.example/"})",
                 keys_.bearer(acme_, true))
                .result(),
            http::status::forbidden);

  // Deleting the tenant takes its webhooks.
  ASSERT_EQ(call(http::verb::delete_, "/v1/tenants/" + std::to_string(acme_)).result(),
            http::status::no_content);
  EXPECT_FALSE(keys_.store().webhook(std::stoll(id)));
}

TEST_F(WebhookRoutesTest, AWebhookIsChangedUnderItsETagAndKeepsItsSecret) {
  auto made =
      call(http::verb::post, "/v1/webhooks", R"({"url":"http://hooks.acme.example/a"})", acmeKey_);
  ASSERT_EQ(made.result(), http::status::created);
  const auto id = std::to_string(jsonOf(made).at("id").as_int64());
  const std::string secret(jsonOf(made).at("secret").as_string());
  const auto read = call(http::verb::get, "/v1/webhooks/" + id, {}, acmeKey_);
  const std::string etag(read[http::field::etag]);
  ASSERT_FALSE(etag.empty());

  auto request =
      apiRequest(http::verb::patch, "/v1/webhooks/" + id, acmeKey_,
                 R"({"url":"http://hooks.acme.example/b","events":["conference.ended"]})");
  request.set(http::field::if_match, etag);
  const auto changed = router_.route(request, kClient);
  ASSERT_EQ(changed.result(), http::status::ok) << changed.body();
  EXPECT_EQ(jsonOf(changed).at("url"), "http://hooks.acme.example/b");
  EXPECT_EQ(jsonOf(changed).at("events"), boost::json::parse(R"(["conference.ended"])"));
  EXPECT_FALSE(jsonOf(changed).as_object().contains("secret"));
  EXPECT_NE(changed[http::field::etag], etag);
  const auto stored = keys_.store().webhook(std::stoll(id));
  EXPECT_EQ(stored->url, "http://hooks.acme.example/b");
  EXPECT_EQ(stored->secret, secret);

  // The tag read before that change is stale now: 412, and nothing changes.
  request.body() = R"({"url":"http://hooks.acme.example/c"})";
  request.prepare_payload();
  EXPECT_EQ(router_.route(request, kClient).result(), http::status::precondition_failed);
  EXPECT_EQ(keys_.store().webhook(std::stoll(id))->url, "http://hooks.acme.example/b");

  // The same rules as at creation, each naming its field; an unknown member is refused.
  for (const auto& [body, field] : std::vector<std::pair<std::string, std::string>>{
           {R"({"url":"ftp://x.example/"})", "url"},
           {R"({"url":"http://127.0.0.1/"})", "url"},
           {R"({"events":["participant.talking"]})", "events"},
           {R"({"events":"participant.joined"})", "events"},
           {R"({"secret":"whsec_mine"})", "secret"}}) {
    const auto refused = call(http::verb::patch, "/v1/webhooks/" + id, body, acmeKey_);
    EXPECT_TRUE(refused.result() == http::status::bad_request ||
                refused.result() == http::status::unprocessable_entity)
        << body << ": " << refused.result_int();
    EXPECT_EQ(problemFields(refused), (std::vector<std::string>{field})) << body;
  }
  EXPECT_EQ(keys_.store().webhook(std::stoll(id))->url, "http://hooks.acme.example/b");
  // Another tenant's, or a read-only key: as for the other routes.
  EXPECT_EQ(
      call(http::verb::patch, "/v1/webhooks/" + id, R"({"url":"http://evil.example/"})", globexKey_)
          .result(),
      http::status::not_found);
  EXPECT_EQ(call(http::verb::post, "/v1/webhooks/" + id + "/secret", {}, globexKey_).result(),
            http::status::not_found);
  EXPECT_EQ(call(http::verb::patch, "/v1/webhooks/" + id, R"({"url":"http://x.example/"})",
                 keys_.bearer(acme_, true))
                .result(),
            http::status::forbidden);
}

TEST_F(WebhookRoutesTest, ARotatedSecretIsShownOnceAndTheOldOneSignsForTheOverlapOnly) {
  auto made =
      call(http::verb::post, "/v1/webhooks", R"({"url":"http://hooks.acme.example/"})", acmeKey_);
  ASSERT_EQ(made.result(), http::status::created);
  const auto id = jsonOf(made).at("id").as_int64();
  const std::string first(jsonOf(made).at("secret").as_string());
  const auto path = "/v1/webhooks/" + std::to_string(id) + "/secret";

  // Default: a day of overlap.
  const auto rotated = call(http::verb::post, path, {}, acmeKey_);
  ASSERT_EQ(rotated.result(), http::status::ok) << rotated.body();
  const std::string second(jsonOf(rotated).at("secret").as_string());
  EXPECT_TRUE(second.starts_with("whsec_"));
  EXPECT_NE(second, first);
  const auto now = std::chrono::duration_cast<std::chrono::seconds>(
                       std::chrono::system_clock::now().time_since_epoch())
                       .count();
  const auto until = jsonOf(rotated).at("oldSecretUntil").as_int64();
  EXPECT_NEAR(static_cast<double>(until - now), 86400.0, 5.0);
  auto stored = keys_.store().webhook(id);
  EXPECT_EQ(stored->secret, second);
  EXPECT_EQ(stored->oldSecret, first);
  const auto got = call(http::verb::get, "/v1/webhooks/" + std::to_string(id), {}, acmeKey_);
  EXPECT_THAT(got.body(), ::testing::Not(HasSubstr(second)));
  EXPECT_THAT(got.body(), ::testing::Not(HasSubstr(first)));

  // Rotating again replaces the secret receivers know now (the second), not the first.
  const auto third = call(http::verb::post, path, R"({"overlapSeconds":60})", acmeKey_);
  ASSERT_EQ(third.result(), http::status::ok);
  stored = keys_.store().webhook(id);
  EXPECT_EQ(stored->oldSecret, second);
  EXPECT_NEAR(static_cast<double>(stored->oldSecretUntil - now), 60.0, 5.0);

  // No overlap: only the new one signs from now on.
  ASSERT_EQ(call(http::verb::post, path, R"({"overlapSeconds":0})", acmeKey_).result(),
            http::status::ok);
  stored = keys_.store().webhook(id);
  EXPECT_TRUE(stored->oldSecret.empty());
  EXPECT_TRUE(jsonOf(call(http::verb::get, "/v1/webhooks/" + std::to_string(id), {}, acmeKey_))
                  .at("oldSecretUntil")
                  .is_null());

  for (const char* body : {R"({"overlapSeconds":-1})", R"({"overlapSeconds":604801})",
                           R"({"overlapSeconds":"1"})", R"({"overlap":5})"}) {
    const auto refused = call(http::verb::post, path, body, acmeKey_);
    EXPECT_EQ(refused.result(), http::status::bad_request) << body;
  }
}

TEST_F(WebhookRoutesTest, BadUrlsAreRefusedNamingTheField) {
  for (const std::string& url : std::vector<std::string>{
           "ftp://hooks.example.com/", "hooks.example.com/x", "http://", "http:///path",
           "http://user:secret@hooks.example.com/", "http://hooks.example.com:0/",
           "http://hooks.example.com/" + std::string(2000, 'a'), "http://exa mple.com/"}) {
    auto refused = call(http::verb::post, "/v1/webhooks",
                        boost::json::serialize(boost::json::object{{"url", url}}));
    EXPECT_EQ(refused.result(), http::status::unprocessable_entity) << url << refused.body();
    EXPECT_EQ(problemFields(refused), (std::vector<std::string>{"url"})) << url;
  }
  // Server-side request forgery: the bridge's own machine and networks, unless allowed.
  for (const char* url :
       {"http://127.0.0.1:8080/", "http://localhost/", "http://api.localhost/", "http://[::1]/",
        "http://10.1.2.3/", "http://192.168.0.10/", "http://172.20.0.1/",
        "http://169.254.169.254/latest/meta-data/", "http://[fe80::1]/", "http://[fd00::1]/",
        "http://[::ffff:127.0.0.1]/", "http://0.0.0.0/"}) {
    auto refused = call(http::verb::post, "/v1/webhooks",
                        boost::json::serialize(boost::json::object{{"url", url}}));
    EXPECT_EQ(refused.result(), http::status::unprocessable_entity) << url;
    EXPECT_EQ(problemFields(refused), (std::vector<std::string>{"url"})) << url;
    EXPECT_THAT(refused.body(), HasSubstr("--api-webhooks-private")) << url;
  }
  auto missing = call(http::verb::post, "/v1/webhooks", R"({"events":[]})");
  EXPECT_EQ(missing.result(), http::status::bad_request);
  EXPECT_EQ(problemFields(missing), (std::vector<std::string>{"url"}));
  auto wrongType = call(http::verb::post, "/v1/webhooks", R"({"url":7,"events":"all"})");
  EXPECT_EQ(wrongType.result(), http::status::bad_request);
  EXPECT_EQ(problemFields(wrongType), (std::vector<std::string>{"url", "events"}));
  auto unknownType = call(http::verb::post, "/v1/webhooks",
                          R"({"url":"http://a.example/","events":["participant.joind"]})");
  EXPECT_EQ(unknownType.result(), http::status::unprocessable_entity);
  EXPECT_EQ(problemFields(unknownType), (std::vector<std::string>{"events"}));
  auto talking = call(http::verb::post, "/v1/webhooks",
                      R"({"url":"http://a.example/","events":["participant.talking"]})");
  EXPECT_EQ(talking.result(), http::status::unprocessable_entity) << "never sent to webhooks";
  auto misspelt =
      call(http::verb::post, "/v1/webhooks", R"({"url":"http://a.example/","evnts":[]})");
  EXPECT_EQ(misspelt.result(), http::status::bad_request);
  EXPECT_TRUE(keys_.store().webhooks().empty()) << "nothing refused was kept";
}

TEST_F(WebhookRoutesTest, TheOperatorsOptionAllowsPrivateAddresses) {
  Router allowing{keys_.store(), auth_, nullptr, WebhookOptions{true, &counters_}};
  auto made = allowing.route(apiRequest(http::verb::post, "/v1/webhooks", operator_,
                                        R"({"url":"http://127.0.0.1:9/hook"})"),
                             kClient);
  EXPECT_EQ(made.result(), http::status::created) << made.body();
}

TEST_F(WebhookRoutesTest, MetricsCountDeliveriesByOutcome) {
  auto metrics = call(http::verb::get, "/metrics");
  ASSERT_EQ(metrics.result(), http::status::ok);
  EXPECT_THAT(metrics.body(),
              HasSubstr("confab_webhook_deliveries_total{outcome=\"delivered\"} 3\n"));
  EXPECT_THAT(metrics.body(),
              HasSubstr("confab_webhook_deliveries_total{outcome=\"retried\"} 2\n"));
  EXPECT_THAT(metrics.body(), HasSubstr("confab_webhook_deliveries_total{outcome=\"failed\"} 1\n"));
  EXPECT_THAT(metrics.body(),
              HasSubstr("confab_webhook_deliveries_total{outcome=\"dropped\"} 0\n"));
}

}  // namespace
}  // namespace confab::api
