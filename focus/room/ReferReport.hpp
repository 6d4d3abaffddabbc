// The implicit subscription a REFER makes (RFC 3515 §2.4.4): NOTIFYs with Event: refer carrying
// a message/sipfrag of how the referred request goes (100 Trying, 180 Ringing, then its final
// response), the last one terminating the subscription. One NOTIFY at a time (RFC 6665 §4.2.2):
// a provisional report that comes while one is out is replaced by the next; the final one is
// always sent.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <utility>

#include "focus/transport/Addressing.hpp"
#include "focus/txn/TransactionLayer.hpp"

namespace confab::room {

class ReferReport final : private txn::ClientTransaction::User {
 public:
  // The next NOTIFY in the REFER's dialog (its CSeq taken) and where it goes; nothing when the
  // dialog is gone.
  using NewRequest =
      std::function<std::optional<std::pair<sip::Message, transport::Destination>>()>;
  // 'eventId': the Event header's id (the REFER's CSeq number, RFC 3515 §2.4.6), empty for the
  // first REFER of a dialog; 'contact' our Contact header value.
  ReferReport(NewRequest newRequest, std::string eventId, std::string contact,
              txn::TransactionLayer& layer);
  ~ReferReport();
  ReferReport(const ReferReport&) = delete;
  ReferReport& operator=(const ReferReport&) = delete;

  // How it goes: a status of the referred request (>= 200 ends the subscription).
  void report(int status, const std::string& reason);
  // The final report has been sent and answered (or could not be sent): nothing more to do.
  [[nodiscard]] bool done() const { return done_; }

 private:
  void onResponse(txn::ClientTransaction& transaction, const sip::Message& response) override;
  void onTimeout(txn::ClientTransaction& transaction) override;
  void send(int status, const std::string& reason);
  void sent();

  NewRequest newRequest_;
  std::string eventId_;
  std::string contact_;
  txn::TransactionLayer& layer_;
  txn::ClientTransaction* pending_ = nullptr;
  std::optional<std::pair<int, std::string>> queued_;
  bool finalSent_ = false;
  bool done_ = false;
};

}  // namespace confab::room
