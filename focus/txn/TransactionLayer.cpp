#include "focus/txn/TransactionLayer.hpp"

#include <openssl/rand.h>

#include <algorithm>
#include <array>
#include <stdexcept>

#include "focus/sip/Response.hpp"

namespace confab::txn {

namespace {

constexpr std::string_view kMagicCookie = "z9hG4bK";

std::string clientKey(std::string_view branch, std::string_view method) {
  std::string key(branch);
  key += '|';
  key += method == "ACK" ? "INVITE" : method;
  return key;
}

std::string mergeKey(const sip::Message& request) {
  auto from = request.from();
  auto cseq = request.cseq();
  if (!from || !cseq) {
    return {};
  }
  return from->tag() + '|' + request.callId() + '|' + cseq->str();
}

bool hasToTag(const sip::Message& m) {
  auto to = m.to();
  return to && !to->tag().empty();
}

}  // namespace

std::string serverKey(const sip::Message& request) {
  auto via = request.topVia();
  if (!via) {
    return {};
  }
  std::string method = request.method == "ACK" ? "INVITE" : request.method;
  std::string sentBy = via->host + ':' + std::to_string(via->port.value_or(0));
  const std::string branch = via->branch();
  if (branch.compare(0, kMagicCookie.size(), kMagicCookie) == 0) {
    return branch + '|' + sentBy + '|' + method;
  }
  // RFC 3261 §17.2.3 fallback for RFC 2543 peers.
  auto from = request.from();
  auto cseq = request.cseq();
  return "2543|" + request.callId() + '|' + (from ? from->tag() : std::string()) + '|' +
         std::to_string(cseq ? cseq->number : 0) + '|' + sentBy + '|' + method;
}

TransactionLayer::TransactionLayer(Wire& wire,
                                   timer::Timers& timers,
                                   Settings settings,
                                   TransactionUser& user)
    : wire_(wire), timers_(timers), settings_(settings), user_(user) {}

TransactionLayer::~TransactionLayer() = default;

// Tags, branches and Call-IDs from OpenSSL's CSPRNG. RFC 3261 §19.3 asks for cryptographically
// random tags: whoever can predict a dialog's tags (and the Call-ID) can forge its BYE or
// re-INVITE off-path. A general-purpose engine (the Mersenne Twister) gives its state away after a
// few hundred outputs. Bytes of 252 and above are skipped so that each of the 36 characters is
// equally likely (252 = 7 * 36).
std::string TransactionLayer::randomToken(std::size_t length) {
  static constexpr char kAlphabet[] = "abcdefghijklmnopqrstuvwxyz0123456789";
  static constexpr unsigned kSize = sizeof(kAlphabet) - 1;
  static constexpr unsigned kLimit = 256 / kSize * kSize;
  std::string out;
  out.reserve(length);
  std::array<unsigned char, 32> bytes{};
  while (out.size() < length) {
    if (RAND_bytes(bytes.data(), static_cast<int>(bytes.size())) != 1) {
      // No entropy is no reason to fall back to a guessable tag.
      throw std::runtime_error("RAND_bytes failed: no cryptographically random tag");
    }
    for (unsigned char b : bytes) {
      if (b < kLimit && out.size() < length) {
        out.push_back(kAlphabet[b % kSize]);
      }
    }
  }
  return out;
}

std::string TransactionLayer::newBranch() { return std::string(kMagicCookie) + randomToken(16); }

void TransactionLayer::receiveRequest(sip::Message&& request, const transport::Source& source) {
  const std::string key = serverKey(request);
  if (request.method == "CANCEL") {
    handleCancel(std::move(request), source);
    return;
  }
  auto found = servers_.find(key);
  if (request.method == "ACK") {
    if (found != servers_.end() && found->second->lastStatus() >= 300) {
      found->second->onAck();  // ACK for our error response: part of the INVITE transaction
    } else {
      user_.onAck(request, source);
    }
    return;
  }
  if (found != servers_.end()) {
    found->second->onRetransmission();
    return;
  }
  // RFC 3261 §8.2.2.2: the same request reaching us twice by different paths.
  std::string merge;
  if (!hasToTag(request)) {
    merge = mergeKey(request);
    if (auto other = mergeKeys_.find(merge); other != mergeKeys_.end() && other->second != key) {
      wire_.sendResponse(sip::makeResponse(request, 482, "Loop Detected"), source);
      return;
    }
  }
  std::unique_ptr<ServerTransaction> transaction;
  if (request.method == "INVITE") {
    transaction = std::make_unique<InviteServerTransaction>(key, std::move(request), source, wire_,
                                                            timers_, settings_, asListener());
  } else {
    transaction = std::make_unique<NonInviteServerTransaction>(key, std::move(request), source,
                                                               wire_, timers_, settings_, asListener());
  }
  if (!merge.empty()) {
    mergeKeys_.emplace(merge, key);
  }
  ServerTransaction& ref = *transaction;
  servers_.emplace(key, std::move(transaction));
  user_.onRequest(ref);
}

void TransactionLayer::handleCancel(sip::Message&& cancel, const transport::Source& source) {
  // The CANCEL is a transaction of its own; retransmissions of it hit that transaction.
  const std::string key = serverKey(cancel);
  if (auto found = servers_.find(key); found != servers_.end()) {
    found->second->onRetransmission();
    return;
  }
  std::string inviteKey = key;
  inviteKey.replace(inviteKey.size() - 6, 6, "INVITE");  // key ends in "CANCEL"
  auto transaction = std::make_unique<NonInviteServerTransaction>(key, std::move(cancel), source,
                                                                  wire_, timers_, settings_, asListener());
  ServerTransaction& ref = *transaction;
  servers_.emplace(key, std::move(transaction));
  auto invite = servers_.find(inviteKey);
  if (invite == servers_.end()) {
    ref.respond(sip::makeResponse(ref.request(), 481, "Call/Transaction Does Not Exist"));
    return;
  }
  ref.respond(sip::makeResponse(ref.request(), 200, "OK"));
  if (!invite->second->finalSent()) {
    user_.onCancel(*invite->second);
  }
}

void TransactionLayer::receiveResponse(sip::Message&& response, const transport::Source&) {
  auto via = response.topVia();
  if (!via) {
    return;
  }
  auto found = clients_.find(clientKey(via->branch(), response.method));
  if (found == clients_.end()) {
    user_.onStrayResponse(response);
    return;
  }
  found->second->onResponse(response);
}

void TransactionLayer::addVia(sip::Message& request, transport::Protocol protocol) {
  const transport::SentBy sentBy = wire_.sentBy(protocol);
  sip::Via via;
  via.transport = sentBy.transport;
  auto hostPort = sip::parseHostPort(sentBy.hostPort());
  if (hostPort) {
    via.host = hostPort->first;
    via.port = hostPort->second;
  } else {
    via.host = sentBy.host;
    via.port = sentBy.port;
  }
  via.setParam("branch", newBranch());
  via.setParam("rport", std::nullopt);  // RFC 3581 §3: ask for the source port back
  request.fields.insert(request.fields.begin(), sip::Header{"Via", via.str()});
}

ClientTransaction* TransactionLayer::sendRequest(sip::Message request,
                                                 const transport::Destination& to,
                                                 ClientTransaction::User* user) {
  addVia(request, to.protocol);
  const std::string key = clientKey(request.topVia()->branch(), request.method);
  std::unique_ptr<ClientTransaction> transaction;
  if (request.method == "INVITE") {
    transaction = std::make_unique<InviteClientTransaction>(key, std::move(request), to, wire_,
                                                            timers_, settings_, user, asOwner());
  } else {
    transaction = std::make_unique<NonInviteClientTransaction>(key, std::move(request), to, wire_,
                                                               timers_, settings_, user, asOwner());
  }
  ClientTransaction* ref = transaction.get();
  clients_.emplace(key, std::move(transaction));
  ref->start();
  return ref;
}

void TransactionLayer::transportFailed(const std::string& branch, const std::string& method,
                                       const std::string& reason) {
  auto found = clients_.find(clientKey(branch, method));
  if (found == clients_.end()) {
    return;  // over already, or a request outside transactions (an ACK)
  }
  sip::Message failed =
      sip::makeResponse(found->second->request(), 503, "Service Unavailable", {});
  failed.add("Warning", sip::warning(399, "transport error: " + reason));
  found->second->onResponse(failed);
}

ClientTransaction* TransactionLayer::sendCancel(const ClientTransaction& invite,
                                                ClientTransaction::User* user) {
  const sip::Message& original = invite.request();
  sip::Message cancel = sip::Message::request("CANCEL", original.requestUri);
  // RFC 3261 §9.1: the same top Via (branch), and the headers that identify the INVITE.
  for (const auto& field : original.fields) {
    if (field.name == "Via") {
      if (!cancel.hasHeader("Via")) {
        cancel.fields.push_back(field);
      }
    } else if (field.name == "From" || field.name == "To" || field.name == "Call-ID" ||
               field.name == "Route" || field.name == "Max-Forwards") {
      cancel.fields.push_back(field);
    }
  }
  auto cseq = original.cseq();
  cancel.add("CSeq", std::to_string(cseq ? cseq->number : 1) + " CANCEL");
  const std::string key = clientKey(cancel.topVia()->branch(), "CANCEL");
  auto transaction = std::make_unique<NonInviteClientTransaction>(
      key, std::move(cancel), invite.destination(), wire_, timers_, settings_, user, asOwner());
  ClientTransaction* ref = transaction.get();
  clients_.emplace(key, std::move(transaction));
  ref->start();
  return ref;
}

void TransactionLayer::sendAck(sip::Message ack, const transport::Destination& to) {
  addVia(ack, to.protocol);
  wire_.sendRequest(ack, to);
}

namespace {

// The method as a label: one of a fixed set, so the counts stay bounded whatever peers send.
std::string_view countedMethod(std::string_view method) {
  static constexpr std::array<std::string_view, 14> kKnown{
      "INVITE", "ACK",     "BYE",    "CANCEL", "OPTIONS", "REGISTER", "SUBSCRIBE",
      "NOTIFY", "REFER",   "MESSAGE", "INFO",  "UPDATE",  "PRACK",    "PUBLISH"};
  for (std::string_view known : kKnown) {
    if (known == method) {
      return known;
    }
  }
  return "other";
}

}  // namespace

void TransactionLayer::onServerTransactionTerminated(ServerTransaction& transaction) {
  ++counts_[{true, countedMethod(transaction.request().method), transaction.lastStatus()}];
  user_.onServerTransactionEnded(transaction);
  const sip::Message& request = transaction.request();
  if (!hasToTag(request)) {
    auto merge = mergeKeys_.find(mergeKey(request));
    if (merge != mergeKeys_.end() && merge->second == transaction.key()) {
      mergeKeys_.erase(merge);
    }
  }
  servers_.erase(transaction.key());
}

void TransactionLayer::onAckTimeout(ServerTransaction& transaction) {
  user_.onAckTimeout(transaction);
}

std::size_t TransactionLayer::awaitingAnswers() const {
  const auto awaiting = [](const auto& client) { return client.second->finalStatus() == 0; };
  return static_cast<std::size_t>(std::count_if(clients_.begin(), clients_.end(), awaiting));
}

void TransactionLayer::onClientTransactionTerminated(ClientTransaction& transaction) {
  ++counts_[{false, countedMethod(transaction.request().method), transaction.finalStatus()}];
  clients_.erase(transaction.key());
}

}  // namespace confab::txn
