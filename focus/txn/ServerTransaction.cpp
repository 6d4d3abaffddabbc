#include "focus/txn/ServerTransaction.hpp"

#include <algorithm>

namespace confab::txn {

ServerTransaction::ServerTransaction(std::string key, sip::Message request,
                                     transport::Source source, Wire& wire, timer::Timers& timers,
                                     const Settings& settings, Listener& listener)
    : key_(std::move(key)),
      request_(std::move(request)),
      source_(std::move(source)),
      wire_(wire),
      timers_(timers),
      settings_(settings),
      listener_(listener) {}

ServerTransaction::~ServerTransaction() { timers_.cancel(endTimer_); }

void ServerTransaction::send(sip::Message response) {
  lastStatus_ = response.status;
  wire_.sendResponse(response, source_);
  lastMessage_ = std::move(response);
}

void ServerTransaction::resendLast() {
  if (lastStatus_ != 0) {
    wire_.sendResponse(lastMessage_, source_);
  }
}

void ServerTransaction::terminateAfter(std::chrono::milliseconds delay) {
  timers_.cancel(endTimer_);
  endTimer_ = timers_.schedule(delay, [this] {
    endTimer_ = 0;
    terminate();
  });
}

void ServerTransaction::terminate() {
  if (terminated_) {
    return;
  }
  terminated_ = true;
  listener_.onServerTransactionTerminated(*this);  // the owner may delete us: touch nothing after
}

InviteServerTransaction::~InviteServerTransaction() {
  timers_.cancel(gTimer_);
  timers_.cancel(hTimer_);
}

void InviteServerTransaction::respond(sip::Message response) {
  if (state_ != State::kProceeding) {
    return;
  }
  const int status = response.status;
  send(std::move(response));
  if (status < 200) {
    return;
  }
  if (status < 300) {
    // RFC 6026 §7.1: stay to absorb INVITE retransmissions; the TU retransmits the 2xx.
    state_ = State::kAccepted;
    terminateAfter(settings_.timeout());  // Timer L
    return;
  }
  state_ = State::kCompleted;
  if (!reliable()) {
    gInterval_ = settings_.t1;
    gTimer_ = timers_.schedule(gInterval_, [this] { retransmitFinal(); });
  }
  hTimer_ = timers_.schedule(settings_.timeout(), [this] {
    hTimer_ = 0;
    timers_.cancel(gTimer_);
    gTimer_ = 0;
    listener_.onAckTimeout(*this);
    terminate();
  });
}

void InviteServerTransaction::retransmitFinal() {
  gTimer_ = 0;
  if (state_ != State::kCompleted) {
    return;
  }
  resendLast();
  // RFC 3261 §17.2.1: Timer G doubles up to T2.
  gInterval_ = std::min(2 * gInterval_, settings_.t2);
  gTimer_ = timers_.schedule(gInterval_, [this] { retransmitFinal(); });
}

void InviteServerTransaction::onRetransmission() {
  // RFC 3261 §17.2.1: Proceeding and Completed resend the last response; RFC 6026 §7.1:
  // Accepted absorbs the retransmission (the TU is already retransmitting its 2xx).
  if (state_ == State::kProceeding || state_ == State::kCompleted) {
    resendLast();
  }
}

void InviteServerTransaction::onAck() {
  if (state_ != State::kCompleted) {
    return;
  }
  state_ = State::kConfirmed;
  timers_.cancel(gTimer_);
  timers_.cancel(hTimer_);
  gTimer_ = hTimer_ = 0;
  // Timer I: absorb further ACKs for T4 over unreliable transports.
  terminateAfter(reliable() ? std::chrono::milliseconds(0) : settings_.t4);
}

void NonInviteServerTransaction::respond(sip::Message response) {
  if (finalSent()) {
    return;
  }
  const int status = response.status;
  send(std::move(response));
  if (status >= 200) {
    // Timer J: keep answering retransmissions for 64*T1 over unreliable transports.
    terminateAfter(reliable() ? std::chrono::milliseconds(0) : settings_.timeout());
  }
}

void NonInviteServerTransaction::onRetransmission() { resendLast(); }

}  // namespace confab::txn
