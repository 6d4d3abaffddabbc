// Delivers the webhooks' outbox (issue 13 item 3): for each webhook, its oldest pending event is
// POSTed (one in flight per webhook, so a receiver sees a webhook's events in order), signed, over
// HTTP/1.1 on the focus's io_context; a 2xx removes it, anything else (another status, no
// connection, no answer within the timeout) tries again later, backing off, until it is a day
// old. https receivers are verified (RFC 6125) against the system's trust store. Delivery is at
// least once: a receiver dedupes by Confab-Event-Id. At start every pending event is picked up,
// which is what makes an accepted event survive a restart.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>

#include "api/Webhook.hpp"
#include "api/WebhookOutbox.hpp"
#include "policy/Store.hpp"

namespace confab::api {

// How the sender delivers.
struct WebhookSenderSettings {
  // --api-webhooks-private; else the addresses a name resolves to are checked at each
  // delivery (DNS can change after the URL was accepted), and private ones are not contacted.
  bool allowPrivate = false;
  Backoff backoff{};
  // From resolving the name to the end of the response.
  std::chrono::milliseconds timeout{10000};
  std::size_t maxResponseBytes = 64 * 1024;
  // With several nodes on one store, a node delivers a webhook's events while it holds that
  // webhook's lease: this long from each attempt (well over 'timeout', so it cannot lapse during
  // one), taken over by another node after a crash. A node that finds another's lease looks
  // again after 'leaseRetry'.
  std::chrono::milliseconds lease{30000};
  // This node's name in the leases; the same after a restart, so that a node back from a crash
  // takes its own leases again at once (confab keeps it in DATA-DIR/node-id). Empty: a random one.
  std::string owner;
  std::chrono::milliseconds leaseRetry{2000};
  // https: receivers' certificates are verified against the system's trust store and, when
  // set, the certificates in this PEM file too (a private CA; the tests' own).
  std::string caFile;
};

class WebhookSender final : public WebhookOutbox::Listener {
 public:
  using Settings = WebhookSenderSettings;
  // Wall time: an event's next attempt is kept in the store across restarts.
  using Clock = std::function<std::chrono::system_clock::time_point()>;
  // A number in [0, 1) for each retry's jitter; OpenSSL's RAND_bytes when not given.
  using Jitter = std::function<double()>;
  using Log = std::function<void(const std::string& line)>;

  // The store is the focus thread's connection: the io_context runs on that thread.
  WebhookSender(boost::asio::io_context& io,
                policy::Store& store,
                WebhookCounters& counters,
                Settings settings = {},
                Log log = {},
                Clock clock = {},
                Jitter jitter = {});
  ~WebhookSender();
  WebhookSender(const WebhookSender&) = delete;
  WebhookSender& operator=(const WebhookSender&) = delete;

  // Starts on every webhook with pending events.
  void start();
  // Stops sending; what is in flight is abandoned (it stays in the outbox for the next start).
  void stop();

  // WebhookOutbox::Listener
  void onQueued(int64_t webhookId) override;
  // Looks at every webhook again now: for tests that moved the clock on.
  void poke();

  [[nodiscard]] std::size_t inFlight() const;

 private:
  class Post;
  struct Outcome {
    bool delivered = false;
    std::string error;
  };
  struct Lane {
    explicit Lane(boost::asio::io_context& io) : timer(io) {}
    boost::asio::steady_timer timer;
    std::shared_ptr<Post> post;  // the delivery in flight, if any
  };
  void run(int64_t webhookId);
  void finished(int64_t webhookId, const policy::OutboxEntry& entry, const Outcome& outcome);
  void wait(Lane& lane, int64_t webhookId, std::chrono::milliseconds delay);
  [[nodiscard]] int64_t nowMs() const;

  boost::asio::io_context& io_;
  policy::Store& store_;
  WebhookCounters& counters_;
  Settings settings_;
  Log log_;
  Clock clock_;
  Jitter jitter_;
  boost::asio::ssl::context tls_;  // for https receivers
  std::map<int64_t, std::unique_ptr<Lane>> lanes_;
  // Who this sender is in the webhooks' delivery leases (Store::claimDelivery): settings.owner
  // (the node's id), else random, so that nodes sharing one store never take each other for
  // themselves.
  std::string owner_;
  bool stopped_ = false;
  // Handlers still queued when this is gone see it expired and do nothing.
  std::shared_ptr<int> alive_ = std::make_shared<int>(0);
};

}  // namespace confab::api
