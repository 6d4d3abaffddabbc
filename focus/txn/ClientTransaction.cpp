#include "focus/txn/ClientTransaction.hpp"

#include <algorithm>

namespace confab::txn {

ClientTransaction::ClientTransaction(std::string key, sip::Message request,
                                     transport::Destination destination, Wire& wire,
                                     timer::Timers& timers, const Settings& settings, User* user,
                                     Owner& owner)
    : key_(std::move(key)),
      request_(std::move(request)),
      destination_(std::move(destination)),
      wire_(wire),
      timers_(timers),
      settings_(settings),
      user_(user),
      owner_(owner) {}

ClientTransaction::~ClientTransaction() {
  timers_.cancel(retransmitTimer_);
  timers_.cancel(timeoutTimer_);
  timers_.cancel(endTimer_);
}

void ClientTransaction::transmit() { wire_.sendRequest(request_, destination_); }

void ClientTransaction::terminateAfter(std::chrono::milliseconds delay) {
  timers_.cancel(retransmitTimer_);
  timers_.cancel(timeoutTimer_);
  retransmitTimer_ = timeoutTimer_ = 0;
  timers_.cancel(endTimer_);
  endTimer_ = timers_.schedule(delay, [this] {
    endTimer_ = 0;
    if (!terminated_) {
      terminated_ = true;
      owner_.onClientTransactionTerminated(*this);
    }
  });
}

void ClientTransaction::timeout() {
  timeoutTimer_ = 0;
  noteStatus(408);
  User* user = user_;
  terminateAfter(std::chrono::milliseconds(0));
  if (user != nullptr) {
    user->onTimeout(*this);
  }
}

void InviteClientTransaction::start() {
  transmit();
  if (!reliable()) {
    interval_ = settings_.t1;
    retransmitTimer_ = timers_.schedule(interval_, [this] { retransmit(); });
  }
  timeoutTimer_ = timers_.schedule(settings_.timeout(), [this] { timeout(); });  // Timer B
}

void InviteClientTransaction::retransmit() {
  retransmitTimer_ = 0;
  if (state_ != State::kCalling) {
    return;
  }
  transmit();
  interval_ *= 2;  // RFC 3261 §17.1.1.2: Timer A doubles, with no cap
  retransmitTimer_ = timers_.schedule(interval_, [this] { retransmit(); });
}

void InviteClientTransaction::sendAck(const sip::Message& response) {
  // RFC 3261 §17.1.1.3: the ACK for a non-2xx final response is part of the transaction.
  ack_ = sip::Message::request("ACK", request_.requestUri);
  for (const auto& h : request_.fields) {
    if (h.name == "Via") {
      ack_.fields.push_back(h);
      break;  // only the top Via
    }
  }
  for (const auto& h : request_.fields) {
    if (h.name == "From" || h.name == "Call-ID" || h.name == "Route" || h.name == "Max-Forwards") {
      ack_.fields.push_back(h);
    }
  }
  if (const std::string* to = response.header("To")) {
    ack_.add("To", *to);
  }
  if (auto cseq = request_.cseq()) {
    ack_.add("CSeq", std::to_string(cseq->number) + " ACK");
  }
  wire_.sendRequest(ack_, destination_);
}

void InviteClientTransaction::onResponse(const sip::Message& response) {
  const int status = response.status;
  noteStatus(status);
  switch (state_) {
    case State::kCalling:
    case State::kProceeding:
      if (status < 200) {
        state_ = State::kProceeding;
        timers_.cancel(retransmitTimer_);
        retransmitTimer_ = 0;
      } else if (status < 300) {
        // RFC 6026 §7.2: Accepted, Timer M; the TU sends the ACK for each 2xx.
        state_ = State::kAccepted;
        terminateAfter(settings_.timeout());
      } else {
        state_ = State::kCompleted;
        sendAck(response);
        terminateAfter(reliable() ? std::chrono::milliseconds(0)
                                  : std::chrono::milliseconds(32000));  // Timer D
      }
      if (user_ != nullptr) {
        user_->onResponse(*this, response);
      }
      return;
    case State::kCompleted:
      if (status >= 300) {
        wire_.sendRequest(ack_, destination_);  // a retransmitted final: ACK it again
      }
      return;
    case State::kAccepted:
      if (status >= 200 && status < 300 && user_ != nullptr) {
        user_->onResponse(*this, response);
      }
      return;
  }
}

void NonInviteClientTransaction::start() {
  transmit();
  if (!reliable()) {
    interval_ = settings_.t1;
    retransmitTimer_ = timers_.schedule(interval_, [this] { retransmit(); });
  }
  timeoutTimer_ = timers_.schedule(settings_.timeout(), [this] { timeout(); });  // Timer F
}

void NonInviteClientTransaction::retransmit() {
  retransmitTimer_ = 0;
  if (state_ == State::kCompleted) {
    return;
  }
  transmit();
  // RFC 3261 §17.1.2.2: Timer E doubles up to T2; in Proceeding it stays at T2.
  interval_ = state_ == State::kProceeding ? settings_.t2 : std::min(2 * interval_, settings_.t2);
  retransmitTimer_ = timers_.schedule(interval_, [this] { retransmit(); });
}

void NonInviteClientTransaction::onResponse(const sip::Message& response) {
  noteStatus(response.status);
  if (state_ == State::kCompleted) {
    return;  // retransmitted final response: absorbed
  }
  if (response.status < 200) {
    state_ = State::kProceeding;
  } else {
    state_ = State::kCompleted;
    // Timer K: absorb retransmitted responses for T4 over unreliable transports.
    terminateAfter(reliable() ? std::chrono::milliseconds(0) : settings_.t4);
  }
  if (user_ != nullptr) {
    user_->onResponse(*this, response);
  }
}

}  // namespace confab::txn
