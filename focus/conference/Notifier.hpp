// The notifier of the rooms' event packages (RFC 6665): the conference package (RFC 4575) with
// its full and partial documents, room presence (RFC 3863 PIDF) and the dialog package (RFC 4235)
// for phones whose busy-lamp keys speak only that. It follows the conference model: every change
// is a NOTIFY to the room's subscribers. The focus decides who may subscribe (Uas); this class
// keeps the subscriptions' dialogs, expiry, versions and NOTIFY transactions.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "focus/conference/Documents.hpp"
#include "focus/conference/Model.hpp"
#include "focus/dialog/Dialog.hpp"
#include "focus/timer/Timers.hpp"
#include "focus/txn/TransactionLayer.hpp"

namespace confab::conference {

enum class Package : uint8_t { kConference, kPresence, kDialog };

// The Event header's package, lower-cased as compared (RFC 6665 §8.2.1: tokens compare
// case-sensitively, but the registered names are lower case); nothing for one we do not serve.
[[nodiscard]] std::optional<Package> packageNamed(std::string_view event);
[[nodiscard]] std::string_view name(Package package);
[[nodiscard]] std::string_view contentType(Package package);
// For Allow-Events (RFC 6665 §8.2.2) and 489 responses.
inline constexpr std::string_view kAllowEvents = "conference, presence, dialog";

struct NotifierSettings {
  // RFC 6665 §4.2.1.1: the duration granted, within these bounds; shorter asks get 423.
  std::chrono::seconds defaultExpires{3600};
  std::chrono::seconds minExpires{60};
  std::chrono::seconds maxExpires{3600};
  std::size_t maxSubscriptions = 10000;  // in all
  std::size_t maxPerSource = 32;         // from one address
};

class Notifier final : private Listener, private txn::ClientTransaction::User {
 public:
  Notifier(txn::TransactionLayer* layer,
           timer::Timers& timers,
           Model& model,
           NotifierSettings settings = {});
  ~Notifier();
  Notifier(const Notifier&) = delete;
  Notifier& operator=(const Notifier&) = delete;
  void attach(txn::TransactionLayer& layer) { layer_ = &layer; }

  // A new SUBSCRIBE the focus has allowed: answers it (200 with Expires, 423, 406, 503), and
  // sends the first NOTIFY with the whole state. 'contact' is our Contact for the dialog;
  // 'source' names the subscriber's address for the per-source limit.
  void subscribe(txn::ServerTransaction& transaction,
                 Package package,
                 WatchedRoom room,
                 std::string contact,
                 std::string source);
  // Whether a dialog key is one of our subscriptions, and a request within it (SUBSCRIBE to
  // refresh or end it; anything else gets 405).
  [[nodiscard]] bool owns(const std::string& dialogKey) const;
  void onRequest(const std::string& dialogKey, txn::ServerTransaction& transaction);
  // Shutdown: a terminating NOTIFY to everyone (RFC 6665 §4.2.2, reason deactivated).
  void terminateAll();

  [[nodiscard]] std::size_t count() const { return subscriptions_.size(); }
  [[nodiscard]] std::size_t countFrom(std::string_view source) const;

 private:
  struct Subscription {
    std::string key;
    Package package = Package::kConference;
    WatchedRoom room;
    dialog::Dialog dialog;
    std::string contact;
    std::string source;
    std::string eventId;                // the Event header's id parameter, echoed
    uint32_t version = 0;               // of the last document sent (RFC 4575 §5.1, RFC 4235)
    timer::Clock::time_point expiresAt;
    timer::Timers::Id expiry = 0;
    txn::ClientTransaction* notify = nullptr;  // outstanding: one at a time (RFC 6665 §4.2.2)
    bool stale = false;         // changes came while a NOTIFY was out: the next is full state
    bool terminated = false;    // the last NOTIFY said terminated; gone when it is answered
    std::string lastState;      // presence and dialog: sent only when it changes
    std::string terminateReason;
  };

  void onChange(const Change& change) override;
  void onResponse(txn::ClientTransaction& transaction, const sip::Message& response) override;
  void onTimeout(txn::ClientTransaction& transaction) override;

  // Sends the whole current state ('reason' non-empty: and ends the subscription with it).
  void sendFull(Subscription& s, std::string_view reason = {});
  void send(Subscription& s, std::string body, std::string_view reason);
  void arm(Subscription& s, std::chrono::seconds expires);
  void drop(const std::string& key);
  // The granted duration for a SUBSCRIBE; nothing when refused (the response is sent).
  std::optional<std::chrono::seconds> grant(txn::ServerTransaction& transaction,
                                            std::string_view localTag);
  [[nodiscard]] std::string document(Subscription& s, const Change* partial);
  Subscription* byTransaction(const txn::ClientTransaction& transaction);

  txn::TransactionLayer* layer_;
  timer::Timers& timers_;
  Model& model_;
  NotifierSettings settings_;
  std::unordered_map<std::string, std::unique_ptr<Subscription>> subscriptions_;  // by dialog
};

}  // namespace confab::conference
