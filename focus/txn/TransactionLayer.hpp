// Matches requests and responses to transactions (RFC 3261 §17.1.3, §17.2.3), creates server
// transactions for new requests, answers CANCEL (§9.2), detects merged requests (§8.2.2.2) and
// hands everything else to the transaction user.
#pragma once

#include <compare>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>

#include "focus/sip/Message.hpp"
#include "focus/timer/Timers.hpp"
#include "focus/transport/Addressing.hpp"
#include "focus/txn/ClientTransaction.hpp"
#include "focus/txn/ServerTransaction.hpp"
#include "focus/txn/Settings.hpp"
#include "focus/txn/Wire.hpp"

namespace confab::txn {

class TransactionUser {
 public:
  // A new request other than ACK and CANCEL, in its own server transaction. The TU answers
  // through transaction.respond(), now or later, while the transaction lives.
  virtual void onRequest(ServerTransaction& transaction) = 0;
  // An ACK that no transaction absorbed: the ACK for a 2xx (RFC 3261 §13.3.1.4, §17.2.3).
  virtual void onAck(const sip::Message& ack, const transport::Source& source) = 0;
  // A CANCEL matched a pending INVITE; the layer already answered the CANCEL with 200.
  // The TU should answer the INVITE with 487 (RFC 3261 §9.2).
  virtual void onCancel(ServerTransaction& invite) = 0;
  // The transaction is about to be deleted.
  virtual void onServerTransactionEnded(ServerTransaction& transaction) = 0;
  // A final error response to an INVITE was never acknowledged (Timer H).
  virtual void onAckTimeout(ServerTransaction& /*transaction*/) {}
  // A response that matched no client transaction, e.g. a retransmitted 2xx to INVITE after the
  // transaction ended (the TU ACKs it again, RFC 3261 §13.2.2.4).
  virtual void onStrayResponse(const sip::Message& /*response*/) {}

 protected:
  ~TransactionUser() = default;
};

// Transactions ended (issue 13 item 6, for /metrics): by side (true: a server transaction, a
// request we answered), method and final status (0: none was sent or came). A method outside the
// ones we know counts as "other", so a peer inventing methods cannot grow the table.
struct TransactionEnd {
  bool server = false;
  std::string_view method;  // a static string
  int status = 0;
  auto operator<=>(const TransactionEnd&) const = default;
};
using TransactionCounts = std::map<TransactionEnd, uint64_t>;

class TransactionLayer final : private ServerTransaction::Listener,
                               private ClientTransaction::Owner {
 public:
  TransactionLayer(Wire& wire, timer::Timers& timers, Settings settings, TransactionUser& user);
  ~TransactionLayer();
  TransactionLayer(const TransactionLayer&) = delete;
  TransactionLayer& operator=(const TransactionLayer&) = delete;

  // Inbound, already parsed and validated by the transports.
  void receiveRequest(sip::Message&& request, const transport::Source& source);
  void receiveResponse(sip::Message&& response, const transport::Source& source);

  // Sends a request in a new client transaction. The layer puts our Via on top with a fresh
  // branch. The pointer stays valid until 'user' has had its final response or timeout.
  ClientTransaction* sendRequest(sip::Message request,
                                 const transport::Destination& to,
                                 ClientTransaction::User* user);
  // Cancels an INVITE we sent (RFC 3261 §9.1): a CANCEL with the INVITE's Via (so its branch),
  // Request-URI, Call-ID, From, To, Route and CSeq number, in a transaction of its own. Only
  // after a provisional response came (the caller's job to check).
  ClientTransaction* sendCancel(const ClientTransaction& invite, ClientTransaction::User* user);
  // The request of the client transaction (branch, method) could not be sent (no route, the
  // connection failed or closed first): RFC 3261 §8.1.3.1 and §18.4 treat it as a 503, which
  // the transaction gets now (its user fails over or gives up, RFC 3263 §4.3).
  void transportFailed(const std::string& branch, const std::string& method,
                       const std::string& reason);
  // Sends an ACK for a 2xx: its own transaction-less request with a fresh branch (§13.2.2.4).
  void sendAck(sip::Message ack, const transport::Destination& to);

  // A response outside any transaction: the UAS core's 2xx retransmissions (RFC 3261 §13.3.1.4).
  void resendResponse(const sip::Message& response, const transport::Source& to) {
    wire_.sendResponse(response, to);
  }

  void holdConnection(transport::ConnectionId connection, bool held) {
    wire_.holdConnection(connection, held);
  }
  [[nodiscard]] transport::SentBy sentBy(transport::Protocol protocol) const {
    return wire_.sentBy(protocol);
  }

  // A fresh branch with the RFC 3261 §8.1.1.7 magic cookie, also usable as a tag source.
  std::string newBranch();
  std::string randomToken(std::size_t length);

  [[nodiscard]] std::size_t serverTransactions() const { return servers_.size(); }
  [[nodiscard]] std::size_t clientTransactions() const { return clients_.size(); }
  // Requests sent that have neither a final response nor a timeout yet (the rest of the client
  // transactions only linger for retransmissions, Timers D and K).
  [[nodiscard]] std::size_t awaitingAnswers() const;
  [[nodiscard]] const Settings& settings() const { return settings_; }
  [[nodiscard]] const TransactionCounts& counts() const { return counts_; }

 private:
  void onServerTransactionTerminated(ServerTransaction& transaction) override;
  void onAckTimeout(ServerTransaction& transaction) override;
  void onClientTransactionTerminated(ClientTransaction& transaction) override;
  ServerTransaction::Listener& asListener() { return *this; }
  ClientTransaction::Owner& asOwner() { return *this; }
  void handleCancel(sip::Message&& cancel, const transport::Source& source);
  void addVia(sip::Message& request, transport::Protocol protocol);

  Wire& wire_;
  timer::Timers& timers_;
  Settings settings_;
  TransactionUser& user_;
  std::unordered_map<std::string, std::unique_ptr<ServerTransaction>> servers_;
  std::unordered_map<std::string, std::unique_ptr<ClientTransaction>> clients_;
  // RFC 3261 §8.2.2.2: From tag + Call-ID + CSeq of requests without a To tag -> server key.
  std::unordered_map<std::string, std::string> mergeKeys_;
  TransactionCounts counts_;
};

// The key a request matches its server transaction by (RFC 3261 §17.2.3): branch, sent-by and
// method, with ACK matching INVITE; an RFC 2543 request without a magic cookie falls back to
// Call-ID, From tag, CSeq number and sent-by.
std::string serverKey(const sip::Message& request);

}  // namespace confab::txn
