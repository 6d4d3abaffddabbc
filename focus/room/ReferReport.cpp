#include "focus/room/ReferReport.hpp"

#include "focus/room/Referral.hpp"

namespace confab::room {

ReferReport::ReferReport(NewRequest newRequest, std::string eventId, std::string contact,
                         txn::TransactionLayer& layer)
    : newRequest_(std::move(newRequest)),
      eventId_(std::move(eventId)),
      contact_(std::move(contact)),
      layer_(layer) {}

ReferReport::~ReferReport() {
  if (pending_ != nullptr) {
    pending_->detach();
  }
}

void ReferReport::report(int status, const std::string& reason) {
  if (finalSent_ || done_) {
    return;
  }
  if (pending_ != nullptr) {
    // The final report must go; a provisional one may be overtaken by a later one.
    queued_ = std::make_pair(status, reason);
    return;
  }
  send(status, reason);
}

void ReferReport::send(int status, const std::string& reason) {
  auto next = newRequest_();
  if (!next) {
    done_ = true;  // the dialog is gone: nobody to tell
    return;
  }
  auto& [notify, to] = *next;
  const bool final = status >= 200;
  notify.add("Event", "refer" + (eventId_.empty() ? std::string() : ";id=" + eventId_));
  // RFC 3515 §2.4.7: terminated with the final response; noresource, the referred request is
  // over.
  notify.add("Subscription-State", final ? "terminated;reason=noresource" : "active;expires=60");
  notify.add("Contact", contact_);
  notify.add("Content-Type", "message/sipfrag;version=2.0");
  notify.body = sipfrag(status, reason);
  finalSent_ = final;
  pending_ = layer_.sendRequest(std::move(notify), to, this);
}

void ReferReport::sent() {
  pending_ = nullptr;
  if (queued_) {
    auto [status, reason] = std::move(*queued_);
    queued_.reset();
    send(status, reason);
    return;
  }
  if (finalSent_) {
    done_ = true;
  }
}

void ReferReport::onResponse(txn::ClientTransaction& transaction, const sip::Message& response) {
  if (&transaction != pending_ || response.status < 200) {
    return;
  }
  if (response.status >= 300) {
    // RFC 6665 §4.2.2: a refused NOTIFY ends the subscription; nothing more is sent.
    pending_ = nullptr;
    queued_.reset();
    done_ = true;
    return;
  }
  sent();
}

void ReferReport::onTimeout(txn::ClientTransaction& transaction) {
  if (&transaction == pending_) {
    pending_ = nullptr;
    queued_.reset();
    done_ = true;
  }
}

}  // namespace confab::room
