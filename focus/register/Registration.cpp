#include "focus/register/Registration.hpp"

#include <openssl/rand.h>

#include <algorithm>
#include <utility>

#include "focus/sip/Grammar.hpp"
#include "focus/sip/Headers.hpp"

namespace confab::registration {

namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

// RFC 3261 §20.19: delta-seconds up to 2^32-1; we keep a binding at most a day between refreshes
// anyway, and a registrar offering more is capped to what we asked for.
constexpr std::uint64_t kMaxDelta = 0xFFFFFFFFull;

std::optional<seconds> deltaSeconds(std::string_view text) {
  auto n = sip::parseDecimal(sip::grammar::trim(text), kMaxDelta);
  if (!n) {
    return std::nullopt;
  }
  return seconds(static_cast<seconds::rep>(*n));
}

// RFC 3261 §19.1.4, enough for our own Contact: user, host (no case), port (absent: default).
bool sameAddress(const sip::Uri& a, const sip::Uri& b) {
  auto port = [](const sip::Uri& u) {
    return u.port.value_or(u.scheme == sip::Uri::Scheme::kSips ? 5061 : 5060);
  };
  return a.user == b.user && sip::iequals(a.host, b.host) && port(a) == port(b);
}

std::string secondsText(milliseconds d) {
  return std::to_string((d.count() + 999) / 1000) + " s";
}

}  // namespace

sip::Result<sip::Uri> parseAor(std::string_view text) {
  auto uri = sip::Uri::parse(text);
  if (!uri) {
    return sip::badRequest("not a SIP URI: " + uri.error().reason);
  }
  if (!uri->isSip()) {
    return sip::badRequest("an address of record is a sip: or sips: URI");
  }
  if (uri->user.empty() || uri->host.empty()) {
    return sip::badRequest("an address of record has a user and a host (sip:USER@HOST)");
  }
  return uri;
}

std::string_view stateName(Registration::State state) {
  switch (state) {
    case Registration::State::kRegistering:
      return "registering";
    case Registration::State::kRegistered:
      return "registered";
    case Registration::State::kFailed:
      return "failed";
    case Registration::State::kUnregistered:
      return "unregistered";
  }
  return "unknown";
}

Registration::Registration(Settings settings,
                           txn::TransactionLayer& layer,
                           timer::Timers& timers,
                           Listener* listener,
                           auth::Client::CnonceSource cnonce)
    : settings_(std::move(settings)),
      layer_(layer),
      timers_(timers),
      listener_(listener),
      client_(settings_.credentials, std::move(cnonce)),
      expires_(settings_.expires) {
  // RFC 3261 §10.2: the Request-URI names the registrar's domain, without user part.
  requestUri_.scheme = settings_.aor.scheme;
  requestUri_.schemeText = settings_.aor.schemeText;
  requestUri_.host = settings_.aor.host;
  requestUri_.port = settings_.aor.port;
  // RFC 3261 §10.2: one Call-ID for all our registrations with this registrar, and (§8.1.1.3)
  // a random From tag; both unguessable (§19.3).
  callId_ = layer_.randomToken(24);
  fromTag_ = layer_.randomToken(12);
}

Registration::~Registration() {
  timers_.cancel(timer_);
  if (pending_ != nullptr) {
    pending_->detach();
  }
}

void Registration::start() {
  if (started_ || stopping_) {
    return;
  }
  started_ = true;
  // Our Contact is the room's URI at our listening address (RFC 3261 §10.2.1), so a call the
  // registrar routes to it reaches that room.
  const auto sentBy = layer_.sentBy(settings_.registrar.protocol);
  contact_ =
      transport::contactScheme(settings_.registrar.protocol) + settings_.contactUser + "@" +
      (settings_.contactHost.empty() ? sentBy.hostPort()
                                     : settings_.contactHost + ":" + std::to_string(sentBy.port)) +
      transport::contactTransportParam(settings_.registrar.protocol);
  attempt();
}

void Registration::attempt() {
  timer_ = 0;
  nextAttempt_.reset();
  challenges_ = 0;
  tooBrief_ = 0;
  if (state_ == State::kFailed) {
    // A retry starts afresh: no credentials from before the failure, no memory of its nonces.
    client_.reset();
  }
  const bool first = state_ == State::kUnregistered;
  if (state_ != State::kRegistered) {
    state_ = State::kRegistering;
  }
  send(std::nullopt);
  if (first) {
    notify();
  }
}

void Registration::send(std::optional<auth::Credential> answer) {
  const seconds expires = stopping_ ? seconds(0) : expires_;
  sip::Message request = sip::Message::request("REGISTER", requestUri_);
  request.add("Max-Forwards", "70");
  // RFC 3261 §10.2: To and From both name the address of record.
  request.add("From", "<" + settings_.aor.str() + ">;tag=" + fromTag_);
  request.add("To", "<" + settings_.aor.str() + ">");
  request.add("Call-ID", callId_);
  request.add("CSeq", std::to_string(++cseq_) + " REGISTER");
  // RFC 3261 §10.2.1.1: the expiry both as the Contact's parameter and as Expires, for
  // registrars that read only one of them.
  request.add("Contact", "<" + contact_ + ">;expires=" + std::to_string(expires.count()));
  request.add("Expires", std::to_string(expires.count()));
  // RFC 3261 §22.3: credentials from earlier challenges go on later requests too.
  const std::string_view answered = answer ? std::string_view(answer->name) : std::string_view();
  auto reused = client_.authorize(request, answered);
  pendingPreemptive_ = !answer && !reused.empty();
  if (answer) {
    request.add(answer->name, std::move(answer->value));
  }
  for (auto& credential : reused) {
    request.add(credential.name, std::move(credential.value));
  }
  mayBeBound_ = !stopping_;
  pending_ = layer_.sendRequest(std::move(request), settings_.registrar, this);
}

void Registration::onResponse(txn::ClientTransaction& transaction, const sip::Message& response) {
  if (&transaction != pending_ || response.status < 200) {
    return;
  }
  pending_ = nullptr;
  const bool preemptive = pendingPreemptive_;
  const int status = response.status;
  if ((status == 401 || status == 407) && challenges_ < kMaxChallenges) {
    onChallenge(transaction.request(), response, preemptive);
  } else if (stopping_) {
    finishStop(status, status < 300 ? std::string() : response.reason);
  } else if (status >= 200 && status < 300) {
    onSuccess(response);
  } else if (status == 423) {
    onTooBrief(response);
  } else if (status == 401 || status == 407) {
    fail(status, response.reason + " (challenged again after " + std::to_string(challenges_) +
                     " answers)");
  } else {
    // RFC 3261 §20.33: a 503 (or 404, 480, 486, 600, 603) may say when to try again.
    std::optional<seconds> retryAfter;
    if (const auto* value = response.header("Retry-After")) {
      retryAfter = deltaSeconds(value->substr(0, value->find_first_of(";(")));
    }
    fail(status, response.reason, retryAfter);
  }
}

void Registration::onTimeout(txn::ClientTransaction& transaction) {
  if (&transaction != pending_) {
    return;
  }
  pending_ = nullptr;
  // RFC 3261 §8.1.3.1: as if 408 had come.
  if (stopping_) {
    finishStop(408, "no answer from the registrar");
  } else {
    fail(408, "no answer from the registrar");
  }
}

void Registration::onChallenge(const sip::Message& request,
                               const sip::Message& response,
                               bool preemptive) {
  // Credentials reused from an earlier challenge and refused: start afresh with this one, so
  // that a server that simply challenges every request is still answered.
  if (preemptive) {
    client_.reset();
  }
  auto answer = client_.respond(response, request);
  if (!answer) {
    if (stopping_) {
      finishStop(response.status, answer.error().reason);
    } else {
      fail(response.status, response.reason + ": " + answer.error().reason);
    }
    return;
  }
  // RFC 3261 §22.2: the retry is a new request (CSeq + 1) with the credentials.
  ++challenges_;
  send(std::move(answer.value()));
}

void Registration::onTooBrief(const sip::Message& response) {
  // RFC 3261 §10.2.8: ask again with at least Min-Expires, and keep that for later refreshes.
  const auto* value = response.header("Min-Expires");
  auto minimum = value != nullptr ? deltaSeconds(*value) : std::nullopt;
  if (!minimum || *minimum <= expires_ || tooBrief_ >= kMaxTooBrief) {
    fail(423, response.reason + (minimum ? " (Min-Expires " + std::to_string(minimum->count()) + ")"
                                         : std::string(" without a usable Min-Expires")));
    return;
  }
  ++tooBrief_;
  expires_ = *minimum;
  send(std::nullopt);
}

std::chrono::seconds Registration::grantedBy(const sip::Message& response) const {
  // RFC 3261 §10.2.4: the 200 lists every binding of the AOR with its expires; ours is the one
  // with our address. Otherwise the Expires header, otherwise what we asked for.
  auto ours = sip::Uri::parse(contact_);
  std::optional<seconds> single;
  std::size_t contacts = 0;
  for (std::string_view value : response.headers("Contact")) {
    auto contact = sip::NameAddr::parse(value);
    if (!contact) {
      continue;
    }
    ++contacts;
    std::optional<seconds> expires;
    if (const auto* param = contact->param("expires"); param != nullptr && param->value) {
      expires = deltaSeconds(*param->value);
    }
    if (ours && sameAddress(contact->uri, *ours) && expires) {
      return std::min(*expires, expires_);
    }
    single = expires;
  }
  // A registrar behind NAT handling may rewrite the address: with one Contact, it is ours.
  if (contacts == 1 && single) {
    return std::min(*single, expires_);
  }
  if (const auto* value = response.header("Expires")) {
    if (auto expires = deltaSeconds(*value)) {
      return std::min(*expires, expires_);
    }
  }
  return expires_;
}

void Registration::onSuccess(const sip::Message& response) {
  const seconds granted = grantedBy(response);
  if (granted <= seconds(0)) {
    fail(response.status, "the registrar granted our contact no time");
    return;
  }
  state_ = State::kRegistered;
  failures_ = 0;
  lastStatus_ = 0;
  lastError_.clear();
  granted_ = granted;
  expiresAt_ = timers_.now() + granted;
  // Refresh at half the time, or ten minutes early for long ones, never sooner than minRefresh:
  // time for a challenge round and retransmissions before the binding lapses.
  const seconds early = granted > seconds(1200) ? granted - seconds(600) : granted / 2;
  schedule(std::max(early, settings_.minRefresh));
  notify();
}

void Registration::fail(int status, std::string reason, std::optional<seconds> retryAfter) {
  ++failures_;
  state_ = State::kFailed;
  lastStatus_ = status;
  lastError_ = std::move(reason);
  milliseconds delay = backoff();
  if (retryAfter) {
    delay = std::clamp<milliseconds>(*retryAfter, settings_.minRefresh, settings_.retryMax);
  }
  schedule(delay);
  notify();
}

std::chrono::milliseconds Registration::backoff() const {
  // RFC 5626 §4.5: wait-time = min(max-time, base-time * 2^consecutive-failures), then a random
  // 50% to 100% of it, so that many clients failed by one outage do not return in step.
  milliseconds wait = settings_.retryMax;
  if (failures_ < 32) {
    const auto doubled = milliseconds(settings_.retryBase) * (std::int64_t{1} << failures_);
    wait = std::min<milliseconds>(doubled, settings_.retryMax);
  }
  std::uint32_t r = 0xFFFFFFFFu;
  // Jitter is not a secret: without entropy the full wait is still a valid choice.
  (void)RAND_bytes(reinterpret_cast<unsigned char*>(&r), sizeof r);
  const auto half = wait.count() / 2;
  const auto extra = static_cast<std::int64_t>(static_cast<double>(wait.count() - half) *
                                               (static_cast<double>(r) / 4294967295.0));
  return milliseconds(half + extra);
}

void Registration::schedule(milliseconds delay) {
  timers_.cancel(timer_);
  nextAttempt_ = timers_.now() + delay;
  timer_ = timers_.schedule(delay, [this] { attempt(); });
}

void Registration::stop() {
  if (stopping_) {
    return;
  }
  stopping_ = true;
  timers_.cancel(timer_);
  timer_ = 0;
  nextAttempt_.reset();
  if (pending_ != nullptr) {
    // Its answer no longer matters: the Expires: 0 below (CSeq + 1) overrides it.
    pending_->detach();
    pending_ = nullptr;
  }
  if (!mayBeBound_) {
    finishStop(0, {});
    return;
  }
  // RFC 3261 §10.2.2: remove our binding with Expires: 0 (credentials reused if any).
  challenges_ = 0;
  send(std::nullopt);
}

void Registration::finishStop(int status, std::string reason) {
  state_ = State::kUnregistered;
  mayBeBound_ = false;
  granted_ = seconds(0);
  expiresAt_.reset();
  lastStatus_ = status >= 300 ? status : 0;
  lastError_ = std::move(reason);
  notify();
}

void Registration::notify() {
  if (listener_ != nullptr) {
    listener_->onRegistrationChanged(*this);
  }
}

std::string Registration::describe() const {
  const auto now = timers_.now();
  switch (state_) {
    case State::kRegistering: {
      const auto& to = settings_.registrar;
      const auto port = to.port != 0 ? to.port : transport::defaultPort(to.protocol);
      const bool v6 = to.host.find(':') != std::string::npos && to.host.front() != '[';
      return "registering at " + (v6 ? "[" + to.host + "]" : to.host) + ":" + std::to_string(port) +
             " over " + std::string(transport::protocolName(to.protocol));
    }
    case State::kRegistered:
      return "registered for " + std::to_string(granted_.count()) + " s";
    case State::kFailed: {
      std::string out = "failed: " + std::to_string(lastStatus_) + " " + lastError_;
      if (nextAttempt_) {
        out += " (retry in " +
               secondsText(std::chrono::duration_cast<milliseconds>(*nextAttempt_ - now)) + ")";
      }
      return out;
    }
    case State::kUnregistered:
      return lastStatus_ != 0
                 ? "unregistered (" + std::to_string(lastStatus_) + " " + lastError_ + ")"
                 : "unregistered";
  }
  return {};
}

}  // namespace confab::registration
