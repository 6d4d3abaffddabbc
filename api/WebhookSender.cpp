#include "api/WebhookSender.hpp"

#include <openssl/rand.h>

#include <array>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl/host_name_verification.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>
#include <vector>

#include "focus/transport/TlsIdentity.hpp"

namespace confab::api {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = boost::beast::http;
using tcp = net::ip::tcp;

// One POST of one event: resolve, check the addresses, connect, (for https) the TLS handshake with
// the certificate verified for the URL's host, write, read the status line and a bounded body,
// all within one deadline; then 'done' once with what came of it.
class WebhookSender::Post final : public std::enable_shared_from_this<WebhookSender::Post> {
 public:
  using Done = std::function<void(const Outcome&)>;

  Post(net::io_context& io,
       net::ssl::context& tls,
       const Settings& settings,
       WebhookUrl url,
       http::request<http::string_body> request,
       Done done)
      : resolver_(io),
        stream_(io),
        tls_(url.tls ? std::make_unique<beast::ssl_stream<beast::tcp_stream>>(io, tls) : nullptr),
        deadline_(io),
        allowPrivate_(settings.allowPrivate),
        url_(std::move(url)),
        request_(std::move(request)),
        done_(std::move(done)) {
    parser_.body_limit(settings.maxResponseBytes);
    deadline_.expires_after(settings.timeout);
  }

  void start() {
    auto self = shared_from_this();
    deadline_.async_wait([self](const boost::system::error_code& ec) {
      if (!ec) {
        self->timedOut_ = true;
        self->resolver_.cancel();
        self->tcp().cancel();
      }
    });
    resolver_.async_resolve(
        url_.host, std::to_string(url_.port),
        [self](const boost::system::error_code& ec, const tcp::resolver::results_type& results) {
          self->onResolved(ec, results);
        });
  }

  // Abandons it: 'done' is not called.
  void cancel() {
    done_ = nullptr;
    deadline_.cancel();
    resolver_.cancel();
    tcp().cancel();
  }

 private:
  beast::tcp_stream& tcp() { return tls_ ? tls_->next_layer() : stream_; }

  void onResolved(const boost::system::error_code& ec, const tcp::resolver::results_type& results) {
    if (ec) {
      return finish(false, "cannot resolve " + url_.host + ": " + reason(ec));
    }
    std::vector<tcp::endpoint> allowed;
    std::string refused;
    for (const auto& entry : results) {
      if (!allowPrivate_ && isPrivateAddress(entry.endpoint().address())) {
        refused = entry.endpoint().address().to_string();
      } else {
        allowed.push_back(entry.endpoint());
      }
    }
    if (allowed.empty()) {
      return finish(false, refused.empty() ? "no address for " + url_.host
                                           : "refused: " + url_.host + " is " + refused +
                                                 ", a private address (--api-webhooks-private)");
    }
    auto self = shared_from_this();
    tcp().async_connect(allowed, [self](const boost::system::error_code& e, const tcp::endpoint&) {
      if (e) {
        return self->finish(false, "cannot connect: " + self->reason(e));
      }
      if (!self->tls_) {
        return self->exchange(self->stream_);
      }
      // RFC 6066 §3: SNI names the host (never an IP literal); RFC 6125: the certificate must
      // name it (a DNS name, or the IP address in an iPAddress subjectAltName).
      const std::string& host = self->url_.host;
      boost::system::error_code notAnAddress;
      (void)net::ip::make_address(host, notAnAddress);
      if (notAnAddress) {
        SSL_set_tlsext_host_name(self->tls_->native_handle(), host.c_str());
      }
      self->tls_->set_verify_mode(net::ssl::verify_peer);
      self->tls_->set_verify_callback(net::ssl::host_name_verification(host));
      self->tls_->async_handshake(
          net::ssl::stream_base::client, [self](const boost::system::error_code& h) {
            if (h) {
              return self->finish(false, "TLS handshake failed: " + self->reason(h));
            }
            self->exchange(*self->tls_);
          });
    });
  }

  // The request out and the response in, on the plain or the TLS stream.
  template <class Stream>
  void exchange(Stream& stream) {
    auto self = shared_from_this();
    http::async_write(
        stream, request_, [self, &stream](const boost::system::error_code& w, std::size_t) {
          if (w) {
            return self->finish(false, "cannot send: " + self->reason(w));
          }
          http::async_read(
              stream, self->buffer_, self->parser_,
              [self](const boost::system::error_code& r, std::size_t) { self->onRead(r); });
        });
  }

  void onRead(const boost::system::error_code& ec) {
    // A 2xx whose body was too long, or cut short, still says it was received.
    if (parser_.is_header_done()) {
      const unsigned status = parser_.get().result_int();
      if (status / 100 == 2) {
        return finish(true, {});
      }
      return finish(false, "HTTP " + std::to_string(status));
    }
    return finish(false, "no response: " + reason(ec));
  }

  std::string reason(const boost::system::error_code& ec) const {
    return timedOut_ ? std::string("timed out") : ec.message();
  }

  void finish(bool delivered, std::string error) {
    deadline_.cancel();
    // No TLS close_notify: the request said Connection: close and the response is complete (or
    // abandoned), so nothing can be truncated that we would act on.
    boost::system::error_code ignored;
    tcp().socket().shutdown(tcp::socket::shutdown_both, ignored);
    tcp().socket().close(ignored);
    if (auto done = std::move(done_)) {
      done_ = nullptr;
      done(Outcome{delivered, std::move(error)});
    }
  }

  tcp::resolver resolver_;
  beast::tcp_stream stream_;                                   // http
  std::unique_ptr<beast::ssl_stream<beast::tcp_stream>> tls_;  // https
  net::steady_timer deadline_;
  bool allowPrivate_;
  bool timedOut_ = false;
  WebhookUrl url_;
  http::request<http::string_body> request_;
  http::response_parser<http::string_body> parser_;
  beast::flat_buffer buffer_;
  Done done_;
};

namespace {

double randomFraction() {
  uint32_t bits = 0;
  if (RAND_bytes(reinterpret_cast<unsigned char*>(&bits), sizeof bits) != 1) {
    return 0.5;
  }
  return static_cast<double>(bits) / 4294967296.0;
}

// The Host header (RFC 9112 §3.2): the URL's authority, an IPv6 literal in brackets, the port
// left out when it is the scheme's.
std::string hostHeader(const WebhookUrl& url) {
  std::string host = url.host.find(':') != std::string::npos ? "[" + url.host + "]" : url.host;
  return url.port == (url.tls ? 443 : 80) ? host : host + ":" + std::to_string(url.port);
}

}  // namespace

WebhookSender::WebhookSender(net::io_context& io,
                             policy::Store& store,
                             WebhookCounters& counters,
                             Settings settings,
                             Log log,
                             Clock clock,
                             Jitter jitter)
    : io_(io),
      store_(store),
      counters_(counters),
      settings_(std::move(settings)),
      log_(std::move(log)),
      clock_(clock ? std::move(clock) : Clock([] { return std::chrono::system_clock::now(); })),
      jitter_(jitter ? std::move(jitter) : Jitter(&randomFraction)),
      tls_(transport::makeClientContext(true)) {
  owner_ = settings_.owner;
  std::array<unsigned char, 12> bytes{};
  if (owner_.empty() && RAND_bytes(bytes.data(), static_cast<int>(bytes.size())) == 1) {
    for (unsigned char b : bytes) {
      owner_ += "0123456789abcdef"[b >> 4];
      owner_ += "0123456789abcdef"[b & 0x0F];
    }
  }
  if (!settings_.caFile.empty()) {
    boost::system::error_code ec;
    tls_.load_verify_file(settings_.caFile, ec);
    if (ec && log_) {
      log_("webhooks: cannot read the trust anchors in " + settings_.caFile + ": " + ec.message());
    }
  }
}

WebhookSender::~WebhookSender() {
  try {
    stop();
  } catch (...) {
    // Cancelling timers and sockets does not throw in practice; a destructor must not anyway.
  }
}

void WebhookSender::start() {
  stopped_ = false;
  for (int64_t id : store_.webhooksWithPending()) {
    run(id);
  }
}

void WebhookSender::stop() {
  stopped_ = true;
  for (auto& [id, lane] : lanes_) {
    lane->timer.cancel();
    if (lane->post) {
      lane->post->cancel();
      lane->post.reset();
    }
    // Another node sharing the store may take these webhooks over now, not when the lease lapses.
    (void)store_.releaseDelivery(id, owner_);
  }
}

void WebhookSender::onQueued(int64_t webhookId) {
  run(webhookId);
}

void WebhookSender::poke() {
  for (int64_t id : store_.webhooksWithPending()) {
    run(id);
  }
}

std::size_t WebhookSender::inFlight() const {
  std::size_t n = 0;
  for (const auto& [id, lane] : lanes_) {
    n += lane->post ? std::size_t{1} : std::size_t{0};
  }
  return n;
}

int64_t WebhookSender::nowMs() const {
  return std::chrono::duration_cast<std::chrono::milliseconds>(clock_().time_since_epoch()).count();
}

void WebhookSender::wait(Lane& lane, int64_t webhookId, std::chrono::milliseconds delay) {
  lane.timer.expires_after(delay);
  lane.timer.async_wait(
      [this, alive = std::weak_ptr<int>(alive_), webhookId](const boost::system::error_code& ec) {
        if (!ec && !alive.expired()) {
          run(webhookId);
        }
      });
}

void WebhookSender::run(int64_t webhookId) {
  if (stopped_) {
    return;
  }
  auto& slot = lanes_[webhookId];
  if (!slot) {
    slot = std::make_unique<Lane>(io_);
  }
  Lane& lane = *slot;
  if (lane.post) {
    return;  // one at a time: the next goes when this one is done
  }
  auto entry = store_.nextDelivery(webhookId);
  auto hook = entry ? store_.webhook(webhookId) : std::nullopt;
  if (!entry || !hook) {
    // Nothing to send (or the webhook is gone): the lane goes until an event comes, and another
    // node may deliver meanwhile. Safe from the lane's own timer handler, which Asio has moved
    // out of the timer before calling it.
    (void)store_.releaseDelivery(webhookId, owner_);
    lanes_.erase(webhookId);
    return;
  }
  const int64_t now = nowMs();
  // A next attempt further away than any backoff gives means the wall clock went back (it is
  // wall time so that it survives a restart): then it is due now, not in however long the jump.
  const auto longest = settings_.backoff.cap + settings_.backoff.cap / 10 + std::chrono::seconds(1);
  if (entry->nextAttempt > now && entry->nextAttempt - now <= longest.count()) {
    wait(lane, webhookId, std::chrono::milliseconds(entry->nextAttempt - now));
    return;
  }
  // Another node on the same store may be delivering this webhook's events (its own and ours:
  // they share the outbox): send only while holding the lease, else look again shortly.
  auto claimed = store_.claimDelivery(webhookId, owner_, now, now + settings_.lease.count());
  if (!std::holds_alternative<bool>(claimed) || !std::get<bool>(claimed) || owner_.empty()) {
    wait(lane, webhookId, settings_.leaseRetry);
    return;
  }
  auto url = parseWebhookUrl(hook->url);
  if (!url) {
    finished(webhookId, *entry, Outcome{false, "not a URL confab delivers to"});
    return;
  }
  // Confab-Timestamp is the time of this attempt, so a receiver can refuse old replays while a
  // retry after hours is still accepted.
  const int64_t timestamp = now / 1000;
  http::request<http::string_body> request(http::verb::post, url->target, 11);
  request.set(http::field::host, hostHeader(*url));
  request.set(http::field::user_agent, "confab");
  request.set(http::field::content_type, "application/json");
  request.set("Confab-Event-Id", std::to_string(entry->id));
  request.set("Confab-Timestamp", std::to_string(timestamp));
  // After a rotation the old secret signs too, until its overlap ends: a receiver that has not
  // taken the new one yet still finds a signature it can check (the header is a list).
  std::string signature = webhookSignature(hook->secret, timestamp, entry->event);
  if (!hook->oldSecret.empty() && hook->oldSecretUntil > timestamp) {
    signature += ", " + webhookSignature(hook->oldSecret, timestamp, entry->event);
  }
  request.set("Confab-Signature", signature);
  request.keep_alive(false);
  request.body() = entry->event;
  request.prepare_payload();
  lane.post = std::make_shared<Post>(
      io_, tls_, settings_, std::move(*url), std::move(request),
      [this, alive = std::weak_ptr<int>(alive_), webhookId, e = *entry](const Outcome& outcome) {
        if (!alive.expired()) {
          finished(webhookId, e, outcome);
        }
      });
  lane.post->start();
}

void WebhookSender::finished(int64_t webhookId,
                             const policy::OutboxEntry& entry,
                             const Outcome& outcome) {
  auto& lane = lanes_[webhookId];
  if (!lane) {
    lane = std::make_unique<Lane>(io_);
  }
  // Run from the Post's own handler: it stays alive until that handler returns.
  lane->post.reset();
  const int64_t now = nowMs();
  policy::StoreResult<bool> marked = true;
  if (outcome.delivered) {
    ++counters_.delivered;
    marked = store_.markDelivered(entry.id, now);
  } else {
    const auto age = std::chrono::milliseconds(now - entry.created);
    const auto delay = settings_.backoff.next(entry.attempts + 1, age, jitter_());
    if (delay) {
      ++counters_.retried;
      marked = store_.markFailed(entry.id, outcome.error, now, now + delay->count());
    } else {
      ++counters_.failed;
      marked = store_.markFailed(entry.id, outcome.error, now, std::nullopt);
      if (log_) {
        log_("webhook " + std::to_string(webhookId) + ": gave up on event " +
             std::to_string(entry.id) + " after " + std::to_string(entry.attempts + 1) +
             " attempts: " + outcome.error);
      }
    }
  }
  if (auto* error = std::get_if<policy::StoreError>(&marked)) {
    // Not recorded: look again after a while rather than resend at once in a loop.
    if (log_) {
      log_("webhook " + std::to_string(webhookId) +
           ": cannot record a delivery: " + error->message);
    }
    wait(*lane, webhookId, settings_.backoff.first);
    return;
  }
  if (stopped_) {
    return;
  }
  // The next event, on a fresh stack: a receiver answering at once does not recurse.
  net::post(io_, [this, alive = std::weak_ptr<int>(alive_), webhookId] {
    if (!alive.expired()) {
      run(webhookId);
    }
  });
}

}  // namespace confab::api
