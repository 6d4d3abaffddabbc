// The focus calling someone into a room (RFC 4579 §5.5, dial-out): the INVITE with our offer
// from a reserved mixer port, until it is answered or has failed. It follows redirects (3xx,
// RFC 3261 §8.1.3.4), answers digest challenges (401/407, through the owner's credentials),
// tries the next place a name resolves to when one does not answer (RFC 3263 §4.3), and can be
// cancelled while it rings (RFC 3261 §9.1). Once answered, the owner turns it into a Call.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "focus/dialog/Dialog.hpp"
#include "focus/sdp/OfferAnswer.hpp"
#include "focus/timer/Timers.hpp"
#include "focus/transport/Addressing.hpp"
#include "focus/txn/TransactionLayer.hpp"

namespace confab::room {

struct DialOutTarget {
  std::string roomKey;      // the conference it is for
  std::string roomUri;      // the conference URI: our From (RFC 4579 §5.5)
  std::string displayName;  // the room's name, on our From
  std::string contact;      // our Contact URI (the room's, at our address); isfocus is added
  sip::Uri target;          // who
  std::string referredBy;   // the REFER's sender, for Referred-By (RFC 3892); may be empty
};

class DialOut final : private txn::ClientTransaction::User {
 public:
  class Listener {
   public:
    // A provisional response from their side (180 Ringing, 183): it rings.
    virtual void onProgress(DialOut& call, int status, const std::string& reason) = 0;
    // A 2xx with a usable answer to our offer: the dialog is confirmed and ACKed; the owner
    // makes it a Call with this negotiated media, then deletes the DialOut (not from within
    // this callback: from a timer).
    virtual void onAnswered(DialOut& call, dialog::Dialog dialog, sdp::Negotiated media) = 0;
    // It did not work: the final status (487 when cancelled, 408 when nobody answered, 480 when
    // no place to send it to) and why. The owner deletes it, as above.
    virtual void onFailed(DialOut& call, int status, const std::string& reason) = 0;

   protected:
    ~Listener() = default;
  };
  // The places a URI's requests go to, in order (RFC 3263): an outbound proxy, the URI's own
  // address, or DNS. Calls back once, possibly later, with none and why.
  using Locate = std::function<void(
      const sip::Uri& uri,
      std::function<void(std::vector<transport::Destination>, std::string error)> done)>;
  // The header (name, value) that answers a 401/407 for this request, or nothing (no
  // credentials for its realm, or they were refused already).
  using Authorize = std::function<std::optional<std::pair<std::string, std::string>>(
      const sip::Message& challenge, const sip::Message& request)>;

  DialOut(DialOutTarget target,
          sdp::LocalMedia local,
          txn::TransactionLayer& layer,
          Locate locate,
          Authorize authorize,
          Listener& listener);
  ~DialOut();
  DialOut(const DialOut&) = delete;
  DialOut& operator=(const DialOut&) = delete;

  void start();
  // Gives up: CANCEL once it rings (a 487 follows), or stops before anything was sent.
  void cancel();

  [[nodiscard]] const DialOutTarget& target() const { return target_; }
  [[nodiscard]] const sdp::LocalMedia& local() const { return local_; }
  [[nodiscard]] const sdp::SessionDescription& offer() const { return offer_; }
  [[nodiscard]] const std::string& callId() const { return callId_; }
  [[nodiscard]] bool finished() const { return finished_; }

  static constexpr int kMaxRedirects = 3;
  static constexpr int kMaxChallenges = 2;

 private:
  void onResponse(txn::ClientTransaction& transaction, const sip::Message& response) override;
  void onTimeout(txn::ClientTransaction& transaction) override;

  // Sends the INVITE to the current destination (a new transaction, CSeq one higher).
  void send();
  void sendTo(const sip::Uri& requestUri);
  void nextDestination(int status, const std::string& reason);
  void fail(int status, std::string reason);
  // 'invite': the request the 2xx answers (our From tag, its CSeq).
  void answered(const sip::Message& invite, const sip::Message& ok);

  DialOutTarget target_;
  sdp::LocalMedia local_;
  sdp::SessionDescription offer_;
  txn::TransactionLayer& layer_;
  Locate locate_;
  Authorize authorize_;
  Listener& listener_;

  std::string callId_;
  std::string fromTag_;
  uint32_t cseq_ = 0;
  sip::Uri requestUri_;
  std::vector<transport::Destination> destinations_;
  std::size_t destination_ = 0;
  std::optional<std::pair<std::string, std::string>> credentials_;  // header for the next INVITE
  int redirects_ = 0;
  int challenges_ = 0;
  txn::ClientTransaction* invite_ = nullptr;
  bool ringing_ = false;    // a provisional came: a CANCEL may go
  bool cancelled_ = false;  // asked to stop
  bool finished_ = false;
  bool located_ = false;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);  // for the locate callback
};

}  // namespace confab::room
