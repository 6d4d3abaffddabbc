// Client transactions (RFC 3261 §17.1): retransmit requests over unreliable transports, time
// out, pass responses up once each, and ACK non-2xx final responses to INVITE.
#pragma once

#include <string>

#include "focus/sip/Message.hpp"
#include "focus/timer/Timers.hpp"
#include "focus/transport/Addressing.hpp"
#include "focus/txn/Settings.hpp"
#include "focus/txn/Wire.hpp"

namespace confab::txn {

class ClientTransaction {
 public:
  // The TU's side: responses and timeouts for one request.
  class User {
   public:
    virtual void onResponse(ClientTransaction& transaction, const sip::Message& response) = 0;
    // No final response within 64*T1 (Timer B or F): act as if 408 arrived (RFC 3261 §8.1.3.1).
    virtual void onTimeout(ClientTransaction& transaction) = 0;

   protected:
    ~User() = default;
  };
  // The layer's side: the transaction is over and may be deleted.
  class Owner {
   public:
    virtual void onClientTransactionTerminated(ClientTransaction& transaction) = 0;

   protected:
    ~Owner() = default;
  };

  ClientTransaction(std::string key, sip::Message request, transport::Destination destination,
                    Wire& wire, timer::Timers& timers, const Settings& settings, User* user,
                    Owner& owner);
  virtual ~ClientTransaction();
  ClientTransaction(const ClientTransaction&) = delete;
  ClientTransaction& operator=(const ClientTransaction&) = delete;

  virtual void start() = 0;
  virtual void onResponse(const sip::Message& response) = 0;

  // The TU goes away before the transaction ends: no more callbacks.
  void detach() { user_ = nullptr; }
  [[nodiscard]] const std::string& key() const { return key_; }
  [[nodiscard]] const sip::Message& request() const { return request_; }
  [[nodiscard]] const transport::Destination& destination() const { return destination_; }
  [[nodiscard]] bool reliable() const { return transport::isReliable(destination_.protocol); }
  // The first final response's status; 408 after a timeout (RFC 3261 §8.1.3.1), 0 before either.
  [[nodiscard]] int finalStatus() const { return finalStatus_; }

 protected:
  void transmit();
  void terminateAfter(std::chrono::milliseconds delay);
  void timeout();
  void noteStatus(int status) {
    if (status >= 200 && finalStatus_ == 0) {
      finalStatus_ = status;
    }
  }

  std::string key_;
  sip::Message request_;
  std::string wireForm_;
  transport::Destination destination_;
  Wire& wire_;
  timer::Timers& timers_;
  const Settings& settings_;
  User* user_;
  Owner& owner_;
  std::chrono::milliseconds interval_{0};
  timer::Timers::Id retransmitTimer_ = 0;  // A or E
  timer::Timers::Id timeoutTimer_ = 0;     // B or F
  timer::Timers::Id endTimer_ = 0;         // D, K or M
  bool terminated_ = false;
  int finalStatus_ = 0;
};

// RFC 3261 §17.1.1 with RFC 6026 §7.2 (Accepted state passes 2xx retransmissions up).
class InviteClientTransaction final : public ClientTransaction {
 public:
  using ClientTransaction::ClientTransaction;
  void start() override;
  void onResponse(const sip::Message& response) override;

 private:
  void retransmit();
  void sendAck(const sip::Message& response);
  enum class State { kCalling, kProceeding, kCompleted, kAccepted };
  State state_ = State::kCalling;
  sip::Message ack_;
};

// RFC 3261 §17.1.2.
class NonInviteClientTransaction final : public ClientTransaction {
 public:
  using ClientTransaction::ClientTransaction;
  void start() override;
  void onResponse(const sip::Message& response) override;

 private:
  void retransmit();
  enum class State { kTrying, kProceeding, kCompleted };
  State state_ = State::kTrying;
};

}  // namespace confab::txn
