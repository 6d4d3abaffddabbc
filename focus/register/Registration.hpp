// One binding of a room address at a registrar or PBX (RFC 3261 §10.2): REGISTER with digest
// authentication, refreshed before it expires, retried with backoff after a failure (RFC 5626
// §4.5), removed with Expires: 0 on stop. The namespace is 'registration' because 'register' is
// a C++ keyword.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "focus/auth/Digest.hpp"
#include "focus/sip/Message.hpp"
#include "focus/sip/Result.hpp"
#include "focus/sip/Uri.hpp"
#include "focus/timer/Timers.hpp"
#include "focus/transport/Addressing.hpp"
#include "focus/txn/ClientTransaction.hpp"
#include "focus/txn/TransactionLayer.hpp"

namespace confab::registration {

struct Settings {
  sip::Uri aor;                      // the address of record, e.g. sip:1000@pbx.example.com
  transport::Destination registrar;  // where REGISTERs go (an IP literal or a name)
  auth::Credentials credentials;     // for 401/407; an empty username answers none
  std::string contactUser;           // the room calls to our Contact reach
  std::string contactHost;           // host in our Contact; empty: our sent-by's
  std::chrono::seconds expires{3600};  // asked for; a 423 raises it (RFC 3261 §10.2.8)
  // Never refresh sooner than this after a 200, whatever the registrar granted.
  std::chrono::seconds minRefresh{2};
  // RFC 5626 §4.5: after N failures in a row, wait a random 50-100% of
  // min(retryMax, retryBase * 2^N).
  std::chrono::seconds retryBase{30};
  std::chrono::seconds retryMax{900};
};

// The AOR of a registration: a sip or sips URI with a user and a host.
sip::Result<sip::Uri> parseAor(std::string_view text);

class Registration final : private txn::ClientTransaction::User {
 public:
  enum class State : std::uint8_t { kRegistering, kRegistered, kFailed, kUnregistered };

  class Listener {
   public:
    // The state changed, or a refresh succeeded (a new expiry).
    virtual void onRegistrationChanged(const Registration& registration) = 0;

   protected:
    ~Listener() = default;
  };

  Registration(Settings settings,
               txn::TransactionLayer& layer,
               timer::Timers& timers,
               Listener* listener = nullptr,
               auth::Client::CnonceSource cnonce = {});
  ~Registration();
  Registration(const Registration&) = delete;
  Registration& operator=(const Registration&) = delete;

  // Sends the first REGISTER; the transports must be bound (our Contact takes their port).
  void start();
  // Removes the binding (Expires: 0) if one may exist, then kUnregistered; no more retries.
  void stop();

  [[nodiscard]] State state() const { return state_; }
  [[nodiscard]] const Settings& settings() const { return settings_; }
  [[nodiscard]] const std::string& contact() const { return contact_; }
  // What the registrar granted in its last 200, and when that runs out.
  [[nodiscard]] std::chrono::seconds granted() const { return granted_; }
  [[nodiscard]] std::optional<timer::Clock::time_point> expiresAt() const { return expiresAt_; }
  // The last failure: its status (408 for no answer) and why; 0 and empty after a success.
  [[nodiscard]] int lastStatus() const { return lastStatus_; }
  [[nodiscard]] const std::string& lastError() const { return lastError_; }
  [[nodiscard]] unsigned failures() const { return failures_; }
  // When the next REGISTER goes (a refresh or a retry); nothing when none is planned.
  [[nodiscard]] std::optional<timer::Clock::time_point> nextAttempt() const {
    return nextAttempt_;
  }
  // One line for people: "registered for 3600 s", "failed: 403 ... (retry in 45 s)", ...
  [[nodiscard]] std::string describe() const;

  static constexpr unsigned kMaxChallenges = 3;  // per attempt: proxy, registrar, one stale
  static constexpr unsigned kMaxTooBrief = 2;    // 423s followed per attempt

 private:
  void onResponse(txn::ClientTransaction& transaction, const sip::Message& response) override;
  void onTimeout(txn::ClientTransaction& transaction) override;

  // A new attempt (first, refresh or retry): the challenge and 423 budgets start over.
  void attempt();
  void send(std::optional<auth::Credential> answer);
  void onSuccess(const sip::Message& response);
  void onChallenge(const sip::Message& request, const sip::Message& response, bool preemptive);
  void onTooBrief(const sip::Message& response);
  void fail(int status, std::string reason, std::optional<std::chrono::seconds> retryAfter = {});
  void finishStop(int status, std::string reason);
  void schedule(std::chrono::milliseconds delay);
  void notify();
  [[nodiscard]] std::chrono::seconds grantedBy(const sip::Message& response) const;
  [[nodiscard]] std::chrono::milliseconds backoff() const;

  Settings settings_;
  txn::TransactionLayer& layer_;
  timer::Timers& timers_;
  Listener* listener_;
  auth::Client client_;
  sip::Uri requestUri_;  // the registrar's domain: the AOR without its user (RFC 3261 §10.2)
  std::string callId_;   // RFC 3261 §10.2: one Call-ID for every REGISTER of this binding
  std::string fromTag_;
  std::uint32_t cseq_ = 0;
  std::chrono::seconds expires_;
  std::string contact_;

  State state_ = State::kUnregistered;
  bool started_ = false;
  bool stopping_ = false;
  bool mayBeBound_ = false;  // a REGISTER went out since the last unregistration
  txn::ClientTransaction* pending_ = nullptr;
  bool pendingPreemptive_ = false;  // it carried credentials from an earlier challenge
  timer::Timers::Id timer_ = 0;
  unsigned challenges_ = 0;
  unsigned tooBrief_ = 0;
  unsigned failures_ = 0;
  std::chrono::seconds granted_{0};
  std::optional<timer::Clock::time_point> expiresAt_;
  std::optional<timer::Clock::time_point> nextAttempt_;
  int lastStatus_ = 0;
  std::string lastError_;
};

std::string_view stateName(Registration::State state);

}  // namespace confab::registration
