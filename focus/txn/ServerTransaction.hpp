// Server transactions (RFC 3261 §17.2): absorb retransmitted requests, retransmit responses
// over unreliable transports, and tell the owner when they end. INVITE follows RFC 6026
// (Accepted state after a 2xx).
#pragma once

#include <memory>
#include <string>

#include "focus/sip/Message.hpp"
#include "focus/timer/Timers.hpp"
#include "focus/transport/Addressing.hpp"
#include "focus/txn/Settings.hpp"
#include "focus/txn/Wire.hpp"

namespace confab::txn {

class ServerTransaction {
 public:
  class Listener {
   public:
    virtual void onServerTransactionTerminated(ServerTransaction& transaction) = 0;
    // Timer H fired: the peer never acknowledged our final error response (RFC 3261 §17.2.1).
    virtual void onAckTimeout(ServerTransaction& transaction) = 0;

   protected:
    ~Listener() = default;
  };

  ServerTransaction(std::string key, sip::Message request, transport::Source source, Wire& wire,
                    timer::Timers& timers, const Settings& settings, Listener& listener);
  virtual ~ServerTransaction();
  ServerTransaction(const ServerTransaction&) = delete;
  ServerTransaction& operator=(const ServerTransaction&) = delete;

  // Sends a response (the TU's call); ignored once a final response has been sent.
  virtual void respond(sip::Message response) = 0;
  // The same request arrived again.
  virtual void onRetransmission() = 0;
  // An ACK matched this transaction (INVITE only).
  virtual void onAck() {}

  [[nodiscard]] const std::string& key() const { return key_; }
  [[nodiscard]] const sip::Message& request() const { return request_; }
  [[nodiscard]] const transport::Source& source() const { return source_; }
  [[nodiscard]] bool finalSent() const { return lastStatus_ >= 200; }
  [[nodiscard]] int lastStatus() const { return lastStatus_; }
  [[nodiscard]] bool reliable() const { return transport::isReliable(source_.protocol); }

 protected:
  void send(sip::Message response);
  void resendLast();
  void terminateAfter(std::chrono::milliseconds delay);
  void terminate();

  std::string key_;
  sip::Message request_;
  transport::Source source_;
  Wire& wire_;
  timer::Timers& timers_;
  const Settings& settings_;
  Listener& listener_;
  std::string lastResponse_;  // serialized, for retransmission
  sip::Message lastMessage_;
  int lastStatus_ = 0;
  timer::Timers::Id endTimer_ = 0;
  bool terminated_ = false;
};

// RFC 3261 §17.2.1 with RFC 6026 §7.1: Proceeding -> Completed -> Confirmed, or Accepted on 2xx.
class InviteServerTransaction final : public ServerTransaction {
 public:
  using ServerTransaction::ServerTransaction;
  ~InviteServerTransaction() override;
  void respond(sip::Message response) override;
  void onRetransmission() override;
  void onAck() override;

 private:
  void retransmitFinal();  // Timer G
  enum class State { kProceeding, kCompleted, kConfirmed, kAccepted };
  State state_ = State::kProceeding;
  std::chrono::milliseconds gInterval_{0};
  timer::Timers::Id gTimer_ = 0;
  timer::Timers::Id hTimer_ = 0;
};

// RFC 3261 §17.2.2: Trying -> Proceeding -> Completed.
class NonInviteServerTransaction final : public ServerTransaction {
 public:
  using ServerTransaction::ServerTransaction;
  void respond(sip::Message response) override;
  void onRetransmission() override;
};

}  // namespace confab::txn
