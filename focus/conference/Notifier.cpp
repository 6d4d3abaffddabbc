#include "focus/conference/Notifier.hpp"

#include <algorithm>
#include <utility>

#include "focus/sip/Grammar.hpp"
#include "focus/sip/Headers.hpp"
#include "focus/sip/Response.hpp"

namespace confab::conference {

std::optional<Package> packageNamed(std::string_view event) {
  // RFC 6665 §8.2.1: event-type = event-package *( "." event-template ); parameters follow ';'.
  const auto type = sip::grammar::trim(event.substr(0, event.find(';')));
  if (type == "conference") {
    return Package::kConference;
  }
  if (type == "presence") {
    return Package::kPresence;
  }
  if (type == "dialog") {
    return Package::kDialog;
  }
  return std::nullopt;
}

std::string_view name(Package package) {
  switch (package) {
    case Package::kConference:
      return "conference";
    case Package::kPresence:
      return "presence";
    case Package::kDialog:
      return "dialog";
  }
  return "conference";
}

std::string_view contentType(Package package) {
  switch (package) {
    case Package::kConference:
      return "application/conference-info+xml";
    case Package::kPresence:
      return "application/pidf+xml";
    case Package::kDialog:
      return "application/dialog-info+xml";
  }
  return "application/conference-info+xml";
}

namespace {

// The Event header's id parameter (RFC 6665 §8.2.1), echoed in every NOTIFY.
std::string eventId(const sip::Message& request) {
  const std::string* event = request.header("Event");
  if (event == nullptr) {
    return {};
  }
  std::string_view rest(*event);
  while (true) {
    const auto semi = rest.find(';');
    if (semi == std::string_view::npos) {
      return {};
    }
    rest.remove_prefix(semi + 1);
    const auto param = sip::grammar::trim(rest.substr(0, rest.find(';')));
    const auto eq = param.find('=');
    if (eq != std::string_view::npos && sip::iequals(sip::grammar::trim(param.substr(0, eq)), "id")) {
      return std::string(sip::grammar::trim(param.substr(eq + 1)));
    }
  }
}

// Whether the subscriber can read the package's documents (RFC 6665 §4.1.2: Accept, or none).
bool accepts(const sip::Message& request, Package package) {
  const auto values = request.headers("Accept");
  if (values.empty()) {
    return true;
  }
  const auto wanted = contentType(package);
  for (auto value : values) {
    const auto type = sip::grammar::trim(value.substr(0, value.find(';')));
    if (sip::iequals(type, wanted) || type == "*/*" || sip::iequals(type, "application/*")) {
      return true;
    }
  }
  return false;
}

}  // namespace

Notifier::Notifier(txn::TransactionLayer* layer,
                   timer::Timers& timers,
                   Model& model,
                   NotifierSettings settings)
    : layer_(layer), timers_(timers), model_(model), settings_(settings) {
  model_.listen(*this);
}

Notifier::~Notifier() {
  model_.unlisten(*this);
  for (auto& [key, s] : subscriptions_) {
    timers_.cancel(s->expiry);
    if (s->notify != nullptr) {
      s->notify->detach();
    }
  }
}

std::size_t Notifier::countFrom(std::string_view source) const {
  return static_cast<std::size_t>(std::count_if(
      subscriptions_.begin(), subscriptions_.end(),
      [&](const auto& entry) { return entry.second->source == source; }));
}

bool Notifier::owns(const std::string& dialogKey) const {
  return subscriptions_.count(dialogKey) != 0;
}

std::optional<std::chrono::seconds> Notifier::grant(txn::ServerTransaction& transaction,
                                                    std::string_view localTag) {
  const sip::Message& request = transaction.request();
  std::chrono::seconds expires = settings_.defaultExpires;
  if (const std::string* value = request.header("Expires")) {
    auto asked = sip::parseDecimal(sip::grammar::trim(*value), 0xFFFFFFFFULL);
    if (!asked) {
      transaction.respond(sip::makeResponse(request, 400, "Bad Expires", std::string(localTag)));
      return std::nullopt;
    }
    expires = std::chrono::seconds(*asked);
  }
  // RFC 6665 §4.2.1.1: 0 ends it; below our minimum is 423 with Min-Expires; above our
  // maximum is shortened.
  if (expires.count() != 0 && expires < settings_.minExpires) {
    sip::Message response = sip::makeResponse(request, 423, {}, std::string(localTag));
    response.add("Min-Expires", std::to_string(settings_.minExpires.count()));
    transaction.respond(std::move(response));
    return std::nullopt;
  }
  return std::min(expires, settings_.maxExpires);
}

void Notifier::subscribe(txn::ServerTransaction& transaction,
                         Package package,
                         WatchedRoom room,
                         std::string contact,
                         std::string source) {
  const sip::Message& request = transaction.request();
  const std::string tag = layer_->randomToken(12);
  if (!accepts(request, package)) {
    sip::Message response = sip::makeResponse(request, 406, {}, tag);
    response.add("Accept", std::string(contentType(package)));
    transaction.respond(std::move(response));
    return;
  }
  if (subscriptions_.size() >= settings_.maxSubscriptions ||
      countFrom(source) >= settings_.maxPerSource) {
    sip::Message response = sip::makeResponse(request, 503, "Too Many Subscriptions", tag);
    response.add("Retry-After", "60");
    response.add("Warning", sip::warning(399, "too many subscriptions from this address"));
    transaction.respond(std::move(response));
    return;
  }
  auto expires = grant(transaction, tag);
  if (!expires) {
    return;
  }
  auto dialog = dialog::Dialog::asUas(request, tag, transaction.source());
  if (!dialog) {
    transaction.respond(sip::errorResponse(request, dialog.error(), tag));
    return;
  }
  auto s = std::make_unique<Subscription>();
  s->key = dialog->key();
  s->package = package;
  s->room = std::move(room);
  s->dialog = std::move(*dialog);
  s->contact = std::move(contact);
  s->source = std::move(source);
  s->eventId = eventId(request);
  // RFC 6665 §4.2.1.1: 200 with the duration granted, then at once a NOTIFY with the state.
  sip::Message ok = sip::makeResponse(request, 200, "OK", tag);
  ok.add("Expires", std::to_string(expires->count()));
  ok.add("Contact", "<" + s->contact + ">");
  transaction.respond(std::move(ok));
  Subscription& added = *s;
  subscriptions_.emplace(added.key, std::move(s));
  if (expires->count() == 0) {
    // A fetch (RFC 6665 §4.4.3): one NOTIFY with the state, and the subscription is over.
    sendFull(added, "timeout");
    return;
  }
  arm(added, *expires);
  sendFull(added);
}

void Notifier::onRequest(const std::string& dialogKey, txn::ServerTransaction& transaction) {
  auto found = subscriptions_.find(dialogKey);
  const sip::Message& request = transaction.request();
  if (found == subscriptions_.end()) {
    transaction.respond(sip::makeResponse(request, 481, {}, {}));
    return;
  }
  Subscription& s = *found->second;
  const std::string& tag = s.dialog.localTag();
  if (auto order = s.dialog.acceptRemoteCSeq(request); !order) {
    transaction.respond(sip::errorResponse(request, order.error(), tag));
    return;
  }
  if (request.method != "SUBSCRIBE") {
    sip::Message response = sip::makeResponse(request, 405, {}, tag);
    response.add("Allow", "SUBSCRIBE");
    transaction.respond(std::move(response));
    return;
  }
  const std::string* event = request.header("Event");
  if (event == nullptr || packageNamed(*event) != s.package || eventId(request) != s.eventId) {
    // RFC 6665 §4.2.1.2: a SUBSCRIBE in this dialog for another event is not this subscription.
    transaction.respond(sip::makeResponse(request, 489, {}, tag));
    return;
  }
  if (s.terminated) {
    transaction.respond(sip::makeResponse(request, 481, {}, tag));
    return;
  }
  auto expires = grant(transaction, tag);
  if (!expires) {
    return;
  }
  s.dialog.refreshTarget(request);
  sip::Message ok = sip::makeResponse(request, 200, "OK", tag);
  ok.add("Expires", std::to_string(expires->count()));
  ok.add("Contact", "<" + s.contact + ">");
  transaction.respond(std::move(ok));
  if (expires->count() == 0) {
    // RFC 6665 §4.2.1.4: unsubscribing gets a last NOTIFY, terminated.
    timers_.cancel(s.expiry);
    s.expiry = 0;
    sendFull(s, "timeout");
    return;
  }
  arm(s, *expires);
  // RFC 6665 §4.2.1.2: a refresh gets a NOTIFY with the current state.
  sendFull(s);
}

void Notifier::arm(Subscription& s, std::chrono::seconds expires) {
  timers_.cancel(s.expiry);
  s.expiresAt = timers_.now() + expires;
  s.expiry = timers_.schedule(expires, [this, key = s.key] {
    auto found = subscriptions_.find(key);
    if (found != subscriptions_.end()) {
      found->second->expiry = 0;
      sendFull(*found->second, "timeout");
    }
  });
}

std::string Notifier::document(Subscription& s, const Change* partial) {
  const Conference* running = model_.find(s.room.key);
  switch (s.package) {
    case Package::kConference:
      if (partial != nullptr) {
        return conferenceInfoPartial(s.room, *partial, s.version + 1);
      }
      return conferenceInfo(s.room, running, s.version + 1);
    case Package::kPresence:
      return roomPresence(s.room, running);
    case Package::kDialog:
      return roomDialogInfo(s.room, running, s.version);
  }
  return {};
}

void Notifier::sendFull(Subscription& s, std::string_view reason) {
  std::string body = document(s, nullptr);
  send(s, std::move(body), reason);
}

void Notifier::send(Subscription& s, std::string body, std::string_view reason) {
  if (s.terminated) {
    return;
  }
  if (s.notify != nullptr) {
    // One NOTIFY at a time (RFC 6665 §4.2.2); the one after it carries the whole state.
    s.stale = true;
    if (!reason.empty()) {
      s.terminateReason = std::string(reason);
    }
    return;
  }
  sip::Message notify = s.dialog.makeRequest("NOTIFY");
  notify.add("Event", std::string(name(s.package)) + (s.eventId.empty() ? "" : ";id=" + s.eventId));
  if (reason.empty()) {
    const auto left = std::chrono::duration_cast<std::chrono::seconds>(s.expiresAt - timers_.now());
    notify.add("Subscription-State",
               "active;expires=" + std::to_string(std::max<int64_t>(left.count(), 0)));
  } else {
    notify.add("Subscription-State", "terminated;reason=" + std::string(reason));
    s.terminated = true;
    timers_.cancel(s.expiry);
    s.expiry = 0;
  }
  notify.add("Contact", "<" + s.contact + ">");
  notify.add("Content-Type", std::string(contentType(s.package)));
  notify.body = std::move(body);
  if (s.package != Package::kConference) {
    s.lastState = roomPresence(s.room, model_.find(s.room.key));
  }
  ++s.version;
  s.stale = false;
  s.notify = layer_->sendRequest(std::move(notify), s.dialog.destination(), this);
}

Notifier::Subscription* Notifier::byTransaction(const txn::ClientTransaction& transaction) {
  for (auto& [key, s] : subscriptions_) {
    if (s->notify == &transaction) {
      return s.get();
    }
  }
  return nullptr;
}

void Notifier::onResponse(txn::ClientTransaction& transaction, const sip::Message& response) {
  if (response.status < 200) {
    return;
  }
  Subscription* s = byTransaction(transaction);
  if (s == nullptr) {
    return;
  }
  s->notify = nullptr;
  if (response.status >= 300 || s->terminated) {
    // RFC 6665 §4.2.2: a NOTIFY refused (481: they forgot it; anything else: they do not want
    // it) ends the subscription; so does the answer to the last one.
    drop(s->key);
    return;
  }
  if (s->stale) {
    const std::string reason = std::exchange(s->terminateReason, {});
    sendFull(*s, reason);
  }
}

void Notifier::onTimeout(txn::ClientTransaction& transaction) {
  // RFC 6665 §4.2.2: no answer to a NOTIFY (408) ends the subscription.
  if (Subscription* s = byTransaction(transaction)) {
    s->notify = nullptr;
    drop(s->key);
  }
}

void Notifier::drop(const std::string& key) {
  auto found = subscriptions_.find(key);
  if (found == subscriptions_.end()) {
    return;
  }
  timers_.cancel(found->second->expiry);
  if (found->second->notify != nullptr) {
    found->second->notify->detach();
  }
  subscriptions_.erase(found);
}

void Notifier::onChange(const Change& change) {
  std::vector<Subscription*> watching;
  for (auto& [key, s] : subscriptions_) {
    if (s->room.key == change.conference.id && !s->terminated) {
      watching.push_back(s.get());
    }
  }
  for (Subscription* s : watching) {
    if (s->package == Package::kConference) {
      if (change.kind == Change::Kind::kEnded) {
        // RFC 6665 §4.2.2 (reason noresource): the conference is over, so is watching it.
        sendFull(*s, "noresource");
        continue;
      }
      // While a NOTIFY is out, send() marks the subscription stale: the next carries it all.
      if (std::string body = document(*s, &change); !body.empty()) {
        send(*s, std::move(body), {});
      }
      continue;
    }
    // Presence and dialog documents are small and whole: sent when they say something new
    // (the presence document stands for both: it has no version).
    if (roomPresence(s->room, model_.find(s->room.key)) != s->lastState) {
      send(*s, document(*s, nullptr), {});
    }
  }
}

void Notifier::terminateAll() {
  std::vector<Subscription*> all;
  for (auto& [key, s] : subscriptions_) {
    all.push_back(s.get());
  }
  for (Subscription* s : all) {
    sendFull(*s, "deactivated");
  }
}

}  // namespace confab::conference
