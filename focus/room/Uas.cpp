#include "focus/room/Uas.hpp"

#include <openssl/rand.h>

#include <algorithm>
#include <random>
#include <utility>

#include "focus/room/Capabilities.hpp"
#include "focus/sip/Grammar.hpp"
#include "focus/sip/Response.hpp"

namespace confab::room {

namespace {

bool acceptsSdp(const sip::Message& request) {
  // RFC 3261 §20.1: no Accept means application/sdp is acceptable.
  const auto accepts = request.headers("Accept");
  if (accepts.empty()) {
    return true;
  }
  for (auto value : accepts) {
    std::string type(sip::grammar::trim(value.substr(0, value.find(';'))));
    if (sip::iequals(type, "application/sdp") || sip::iequals(type, "application/*") ||
        sip::iequals(type, "*/*") || type.empty()) {
      return true;
    }
  }
  return false;
}

}  // namespace

Uas::Uas(txn::TransactionLayer* layer,
         timer::Timers& timers,
         const policy::RoomSource& rooms,
         mixer::Control& mixer,
         UasSettings settings)
    : layer_(layer),
      timers_(timers),
      rooms_(rooms),
      mixer_(mixer),
      notifier_(layer, timers, model_),
      settings_(std::move(settings)),
      prompts_(settings_.soundsDir),
      abuse_(settings_.abuse) {
  model_.listen(*this);
}

Uas::~Uas() {
  for (auto& [key, out] : outgoing_) {
    mixer_.release(out.media.id);
  }
  outgoing_.clear();
  entries_.clear();  // before the calls they point at
  for (auto& [txn, ringing] : ringing_) {
    timers_.cancel(ringing.timer);
  }
}

namespace {

// The address the peer used to reach us. On a wildcard socket we do not know which local address
// a datagram came to; the Request-URI the peer sent says which one it used, when it is a literal.
std::optional<boost::asio::ip::address> addressPeerUsed(const sip::Message& request,
                                                        const transport::Source& source) {
  if (!source.local.address.is_unspecified()) {
    return source.local.address;
  }
  if (auto literal = transport::parseIpLiteral(request.requestUri.host);
      literal && !literal->is_unspecified()) {
    return *literal;
  }
  return std::nullopt;
}

}  // namespace

std::string Uas::mediaAddressFor(const sip::Message& request,
                                 const transport::Source& source) const {
  if (!settings_.mediaAddress.empty()) {
    return settings_.mediaAddress;
  }
  if (auto used = addressPeerUsed(request, source)) {
    return used->to_string();
  }
  // A name in the Request-URI and a wildcard socket: the sent-by host is the best we know.
  const auto sentBy = layer_->sentBy(source.protocol);
  if (auto literal = transport::parseIpLiteral(sentBy.host)) {
    return literal->to_string();
  }
  return source.local.address.is_v6() ? "::1" : "127.0.0.1";
}

std::string Uas::contactFor(const std::string& roomId,
                            const sip::Message& request,
                            const transport::Source& source) const {
  std::string uri = transport::contactScheme(source.protocol) + roomId + "@";
  if (!settings_.call.contactHost.empty()) {
    uri += settings_.call.contactHost + ":" + std::to_string(layer_->sentBy(source.protocol).port);
  } else if (auto used = addressPeerUsed(request, source)) {
    uri += transport::Endpoint{*used, source.local.port}.str();
  } else {
    uri += layer_->sentBy(source.protocol).hostPort();
  }
  return uri + transport::contactTransportParam(source.protocol);
}

void Uas::onRequest(txn::ServerTransaction& transaction) {
  const sip::Message& request = transaction.request();
  auto respond = [&](int status, std::string_view reason = {}) {
    sip::Message response = sip::makeResponse(request, status, reason, layer_->randomToken(10));
    if (status == 405 || status == 501) {
      response.add("Allow", std::string(kAllow));  // RFC 3261 §21.4.6
    }
    transaction.respond(std::move(response));
  };
  // RFC 3261 §8.2.1: method inspection.
  const std::string& method = request.method;
  if (!sip::isStandardMethod(method)) {
    respond(501);
    return;
  }
  // RFC 3261 §8.2.2.1: a Request-URI scheme we do not serve gets 416.
  if (!request.requestUri.isSip()) {
    respond(416);
    return;
  }
  // RFC 3261 §8.2.2.3: option tags in Require that we do not know get 420 with Unsupported.
  std::string unsupported;
  for (auto tag : request.headers("Require")) {
    if (!isSupportedOption(tag)) {
      unsupported += unsupported.empty() ? "" : ", ";
      unsupported += tag;
    }
  }
  if (!unsupported.empty() && method != "CANCEL") {
    sip::Message response = sip::makeResponse(request, 420, {}, layer_->randomToken(10));
    response.add("Unsupported", unsupported);
    transaction.respond(std::move(response));
    return;
  }
  auto to = request.to();
  auto from = request.from();
  if (!to->tag().empty()) {
    const std::string key = dialog::Dialog::key(request.callId(), to->tag(), from->tag());
    if (notifier_.owns(key)) {
      notifier_.onRequest(key, transaction);
      return;
    }
    auto call = calls_.find(key);
    if (call == calls_.end()) {
      respond(481);  // RFC 3261 §12.2.2
      return;
    }
    call->second->onRequest(transaction);
    return;
  }
  if (method == "INVITE") {
    handleNewInvite(transaction);
    return;
  }
  handleOutOfDialog(transaction);
}

void Uas::handleOutOfDialog(txn::ServerTransaction& transaction) {
  const sip::Message& request = transaction.request();
  const std::string& method = request.method;
  if (method == "OPTIONS") {
    // RFC 3261 §11.2: capabilities; a room that does not exist is 404 like an INVITE to it.
    const std::string user = request.requestUri.unescapedUser();
    const bool known = user.empty() || user == settings_.lobbyUser ||
                       findRoom(user, request.requestUri.host).has_value();
    sip::Message response =
        sip::makeResponse(request, known ? 200 : 404, {}, layer_->randomToken(10));
    addCapabilities(response);
    response.add("Accept-Encoding", "identity");
    response.add("Accept-Language", "en");
    response.add("Server", std::string(kServer));
    transaction.respond(std::move(response));
    return;
  }
  if (method == "SUBSCRIBE") {
    handleSubscribe(transaction);
    return;
  }
  if (method == "MESSAGE") {
    relayMessage(nullptr, transaction);
    return;
  }
  if (method == "REFER") {
    handleRefer(nullptr, transaction);
    return;
  }
  if (method == "BYE" || method == "UPDATE" || method == "INFO" || method == "PRACK") {
    transaction.respond(sip::makeResponse(request, 481, {}, layer_->randomToken(10)));
    return;
  }
  // REGISTER, SUBSCRIBE, NOTIFY, PUBLISH, MESSAGE, REFER: known methods we do not serve (yet).
  sip::Message response = sip::makeResponse(request, 405, {}, layer_->randomToken(10));
  response.add("Allow", std::string(kAllow));
  transaction.respond(std::move(response));
}

namespace {

// One spelling per address for the per-source limits: an IPv4 client on a dual-stack socket
// (::ffff:a.b.c.d) is the same client as a.b.c.d.
std::string sourceIp(const transport::Source& source) {
  const auto& address = source.remote.address;
  if (address.is_v6() && address.to_v6().is_v4_mapped()) {
    return boost::asio::ip::make_address_v4(boost::asio::ip::v4_mapped, address.to_v6())
        .to_string();
  }
  return address.to_string();
}

}  // namespace

bool Uas::overRate(txn::ServerTransaction& transaction,
                   std::string_view event,
                   const std::string& tag) {
  // A SUBSCRIBE, MESSAGE or REFER makes state or work here like an INVITE: the same
  // per-address rate, and over it the same 503 with Retry-After (RFC 3261 §20.33).
  const std::string ip = sourceIp(transaction.source());
  const auto now = timers_.now();
  if (trustedSource(ip) || abuse_.allowInvite(ip, now)) {
    return false;
  }
  limit(event, transaction.source());
  sip::Message response = sip::makeResponse(transaction.request(), 503, "Too Many Requests", tag);
  response.add("Retry-After", std::to_string(abuse_.retryAfter(ip, now).count()));
  response.add("Warning", sip::warning(399, "too many requests from this address"));
  transaction.respond(std::move(response));
  return true;
}

bool Uas::trustedSource(const std::string& ip) const {
  return std::find(settings_.trustedSources.begin(), settings_.trustedSources.end(), ip) !=
         settings_.trustedSources.end();
}

Call* Uas::participantSending(const std::string& roomKey,
                              const sip::Message& request,
                              const transport::Source& source) {
  const auto* running = model_.find(roomKey);
  auto from = request.from();
  if (running == nullptr || !from) {
    return nullptr;
  }
  // The same spelling as the participants' entities (participantFor).
  const std::string entity = addressOf(from->uri);
  const std::string ip = sourceIp(source);
  for (const auto& p : running->participants) {
    Call* call = p.entity == entity ? callOf(p.id) : nullptr;
    if (call == nullptr) {
      continue;
    }
    auto src = sourceOf_.find(call);
    if (src != sourceOf_.end() && src->second.ip == ip) {
      return call;
    }
  }
  return nullptr;
}

bool Uas::mayWatch(const policy::Room& room,
                   const sip::Message& request,
                   const transport::Source& source) {
  return !room.asksPin() || room.publicRoster ||
         participantSending(room.key, request, source) != nullptr;
}

void Uas::onDialogRequest(Call& call, txn::ServerTransaction& transaction) {
  if (transaction.request().method == "MESSAGE") {
    relayMessage(&call, transaction);
    return;
  }
  if (transaction.request().method == "REFER") {
    handleRefer(&call, transaction);
    return;
  }
  sip::Message refused =
      sip::makeResponse(transaction.request(), 405, {}, call.dialog().localTag());
  refused.add("Allow", std::string(kAllow));
  transaction.respond(std::move(refused));
}

void Uas::relayMessage(Call* sender, txn::ServerTransaction& transaction) {
  const sip::Message& request = transaction.request();
  const std::string tag = sender != nullptr ? sender->dialog().localTag() : layer_->randomToken(12);
  auto refuse = [&](int status, std::string_view reason, std::string_view why) {
    sip::Message response = sip::makeResponse(request, status, reason, tag);
    if (!why.empty()) {
      response.add("Warning", sip::warning(399, why));
    }
    if (status == 415) {
      response.add("Accept", "text/plain");  // RFC 3261 §21.4.13
    }
    transaction.respond(std::move(response));
  };
  const auto type = request.contentType();
  if (!type || *type != "text/plain") {
    refuse(415, {}, "the room relays text/plain only");
    return;
  }
  // RFC 3428 §7: a page is short (1300 bytes in all over UDP); longer is a session's job.
  if (request.body.size() > kMaxMessageBytes) {
    refuse(413, "Message Too Large", "at most 1000 bytes of text");
    return;
  }
  if (request.body.empty()) {
    refuse(400, "Empty Message", {});
    return;
  }
  if (overRate(transaction, "message-rate", tag)) {
    return;
  }
  if (sender == nullptr) {
    auto room = findRoom(request.requestUri.unescapedUser(), request.requestUri.host);
    if (!room) {
      refuse(404, "Room Not Found", {});
      return;
    }
    sender = participantSending(room->key, request, transaction.source());
  }
  const auto* from = sender != nullptr ? model_.participant(sender->dialog().key()) : nullptr;
  const auto* conference =
      sender != nullptr ? model_.conferenceOf(sender->dialog().key()) : nullptr;
  if (from == nullptr || conference == nullptr) {
    refuse(403, {}, "only the conference's participants may send it messages");
    return;
  }
  if (from->role == policy::Role::kListener) {
    refuse(403, {}, "listeners may not send messages to the conference");
    return;
  }
  // RFC 3428 §7: accepted for delivery to others.
  transaction.respond(sip::makeResponse(request, 202, "Accepted", tag));
  // Who said it, then what: the others see one text per message. The name is a display name
  // from the wire: one line of it.
  std::string who = from->displayName.empty() ? from->entity : from->displayName;
  std::replace_if(
      who.begin(), who.end(), [](char c) { return c == '\r' || c == '\n'; }, ' ');
  const std::string text = who + ": " + request.body;
  for (const auto& p : conference->participants) {
    if (p.id == from->id || p.status == conference::EndpointStatus::kDisconnecting) {
      continue;
    }
    if (Call* to = callOf(p.id); to != nullptr && !to->ended()) {
      to->sendMessage("text/plain;charset=UTF-8", text);
    }
  }
}

void Uas::handleSubscribe(txn::ServerTransaction& transaction) {
  const sip::Message& request = transaction.request();
  const std::string tag = layer_->randomToken(12);
  const std::string* event = request.header("Event");
  if (event == nullptr) {
    transaction.respond(sip::makeResponse(request, 400, "Missing Event Header", tag));
    return;
  }
  const auto package = conference::packageNamed(*event);
  if (!package) {
    // RFC 6665 §8.3.2 (489 Bad Event), with the packages we do serve.
    sip::Message response = sip::makeResponse(request, 489, {}, tag);
    response.add("Allow-Events", std::string(kAllowEvents));
    transaction.respond(std::move(response));
    return;
  }
  if (overRate(transaction, "subscribe-rate", tag)) {
    return;
  }
  const std::string ip = sourceIp(transaction.source());
  const std::string user = request.requestUri.unescapedUser();
  auto room = findRoom(user, request.requestUri.host);
  if (!room) {
    transaction.respond(sip::makeResponse(request, 404, "Room Not Found", tag));
    return;
  }
  // The roster is the room's business; whether it is in use (presence, dialog) is not.
  if (*package == conference::Package::kConference &&
      !mayWatch(*room, request, transaction.source())) {
    sip::Message response = sip::makeResponse(request, 403, {}, tag);
    response.add("Warning", sip::warning(399, "only the room's participants may watch it"));
    transaction.respond(std::move(response));
    return;
  }
  conference::WatchedRoom watched{room->key, conferenceUri(user, request.requestUri.hostPort()),
                                  room->name, room->maxParticipants};
  if (const auto* running = model_.find(room->key)) {
    watched.uri = running->uri;
  }
  // RFC 4579 §5: the focus's Contact is the conference URI with isfocus.
  notifier_.subscribe(transaction, *package, std::move(watched),
                      contactFor(user, request, transaction.source()) + ";isfocus", ip);
}

void Uas::limit(std::string_view event, const transport::Source& from) {
  if (observer_ != nullptr) {
    observer_->onLimit(event, from.remote.str());
  }
}

void Uas::handleNewInvite(txn::ServerTransaction& transaction) {
  const sip::Message& request = transaction.request();
  const std::string tag = layer_->randomToken(12);
  auto refuse = [&](int status, std::string_view reason = {}) {
    transaction.respond(sip::makeResponse(request, status, reason, tag));
  };
  // Abuse controls first (issue 11 item 5), before any lookup or port is spent on the request.
  const std::string ip = sourceIp(transaction.source());
  const auto now = timers_.now();
  // A trusted proxy speaks for many callers: its address is not one caller's (the rooms' own
  // PIN-entry lock still holds behind it).
  const bool trusted = trustedSource(ip);
  // A limit's refusal: logged as a security event, the reason in a Warning (RFC 3261 §20.43),
  // and for 503 when to try again (§20.33).
  auto refuseOverLimit = [&](std::string_view event, int status, std::string_view reason,
                             std::string_view why, std::optional<std::chrono::seconds> retry) {
    limit(event, transaction.source());
    sip::Message response = sip::makeResponse(request, status, reason, tag);
    if (retry) {
      response.add("Retry-After", std::to_string(retry->count()));
    }
    response.add("Warning", sip::warning(399, why));
    transaction.respond(std::move(response));
  };
  if (!trusted && abuse_.lockedOut(ip, now)) {
    refuseOverLimit("pin-guessing-lockout", 403, {}, "too many wrong PINs from this address", {});
    return;
  }
  if (!trusted && !abuse_.allowInvite(ip, now)) {
    refuseOverLimit("invite-rate", 503, "Too Many Calls", "too many INVITEs from this address",
                    abuse_.retryAfter(ip, now));
    return;
  }
  std::string user = request.requestUri.unescapedUser();
  const bool lobby = !settings_.lobbyUser.empty() && user == settings_.lobbyUser;
  // RFC 4579 §5.3: an INVITE to the conference factory makes a new (ad-hoc) conference; its
  // caller is its moderator, and our Contact names it.
  const bool factory = !settings_.factoryUser.empty() && user == settings_.factoryUser;
  std::optional<policy::Room> room;
  if (factory) {
    if (adHoc_.size() >= settings_.maxAdHocRooms) {
      refuseOverLimit("ad-hoc-rooms", 503, "Too Many Conferences", "no more ad-hoc conferences now",
                      std::chrono::seconds(60));
      return;
    }
    policy::Room made;
    made.id = "adhoc-" + layer_->randomToken(10);
    made.key = made.id;
    made.name = "Ad-hoc conference";
    room = made;
    user = made.id;
  } else if (!lobby) {
    room = findRoom(user, request.requestUri.host);
  }
  if (!room && !lobby) {
    refuse(404, "Room Not Found");  // RFC 3261 §8.2.2.1
    return;
  }
  // Callers with something to say or hear first (a PIN, a count, a lock, a wait) go into a mix
  // of their own; the others straight into the conference.
  const bool entering = lobby || room->asksPin() || room->locked || room->announceCount ||
                        room->waitForModerator || locked(room->key);
  const std::string roomId = room ? room->key : std::string();
  // RFC 3261 §8.2.3: a body we cannot read gets 415 with Accept.
  if (!request.body.empty() && request.contentType() != "application/sdp") {
    sip::Message response = sip::makeResponse(request, 415, {}, tag);
    response.add("Accept", std::string(kAccept));
    transaction.respond(std::move(response));
    return;
  }
  // RFC 3261 §21.4.7, RFC 4475 §3.3.15: we can only answer in SDP.
  if (!acceptsSdp(request)) {
    sip::Message response = sip::makeResponse(request, 406, {}, tag);
    response.add("Warning", sip::warning(399, "only application/sdp can be sent"));
    transaction.respond(std::move(response));
    return;
  }
  if (room && room->tenantMaxParticipants != 0 &&
      callsOfTenant(room->tenantId) >= room->tenantMaxParticipants) {
    refuseOverLimit("tenant-full", 486, "Busy Here",
                    "the organization's participant limit is reached", {});
    return;
  }
  if (room && room->maxParticipants != 0 && callsInRoom(roomId) >= room->maxParticipants) {
    if (observer_ != nullptr) {
      observer_->onLimit("room-full", transaction.source().remote.str());
    }
    refuse(486, "Room Full");
    return;
  }
  auto dialog = dialog::Dialog::asUas(request, tag, transaction.source());
  if (!dialog) {
    transaction.respond(sip::errorResponse(request, dialog.error(), tag));
    return;
  }
  if (!trusted && !abuse_.allowCall(ip)) {
    refuseOverLimit("calls-per-source", 503, "Too Many Calls", "too many calls from this address",
                    std::chrono::seconds(30));
    return;
  }
  // The call's mix first, then its ports on the mixer that runs it (several mixers: the media
  // and its room must be in one process).
  std::shared_ptr<RoomMix> roomMix;
  if (!entering) {
    roomMix = mixFor(roomId);
  } else {
    // The lobby beside the room's conference when it runs: the caller moves into it next.
    const auto running = mixes_.find(roomId);
    const auto conferenceMix = running != mixes_.end() ? running->second.lock() : nullptr;
    roomMix = std::make_shared<RoomMix>(mixer_, conferenceMix
                                                    ? mixer_.createMixBeside({}, conferenceMix->id())
                                                    : mixer_.createMix({}));
  }
  auto media = mixer_.reserveFor(roomMix->id());
  if (!media) {
    if (observer_ != nullptr) {
      observer_->onLimit("rtp-ports-exhausted", transaction.source().remote.str());
    }
    sip::Message response = sip::makeResponse(request, 503, "No Media Ports Free", tag);
    response.add("Retry-After", "30");
    transaction.respond(std::move(response));
    return;
  }
  sdp::LocalMedia local;
  // A remote mixer on another machine knows where its ports are reachable; ours are ours.
  local.address =
      !media->address.empty() ? media->address : mediaAddressFor(request, transaction.source());
  local.rtpPort = media->rtpPort;
  // The room's policy decides whether plain RTP is acceptable (RFC 4568 SDES otherwise).
  const bool requireSrtp = room && room->requireSrtp;
  local.requireSrtp = requireSrtp;
  local.allowPlainRtp = !requireSrtp;
  local.sessionId = std::random_device{}();
  local.sessionVersion = 0;
  // One SRTP master key per call, kept across re-INVITEs (RFC 4568 §7.1.4 allows either).
  local.srtpKeyMaterial.resize(30);
  if (RAND_bytes(local.srtpKeyMaterial.data(), static_cast<int>(local.srtpKeyMaterial.size())) !=
      1) {
    local.srtpKeyMaterial.clear();
  }
  auto call = std::make_unique<Call>(
      entering ? std::string() : roomId, contactFor(user, request, transaction.source()),
      std::move(*dialog), mixer_, *media, std::move(roomMix), std::move(local),
      *layer_, timers_, settings_.call, *this,
      entering ? Call::Stage::kEntering : Call::Stage::kIn);
  if (!trusted) {
    abuse_.callStarted(ip);
  }
  sourceOf_[call.get()] = Source{ip, !trusted, 0, request.requestUri.hostPort()};
  if (factory) {
    adHoc_.emplace(room->id, *room);
    call->setRole(policy::Role::kModerator);
  }
  if (!entering) {
    // Straight in: the room's rules for someone without a PIN (a participant). The conference
    // starts now: a place is held while the call rings.
    const auto& conference = model_.open(*room, conferenceUri(user, request.requestUri.hostPort()));
    if (room->muteOnEntry || conference.allMuted) {
      Call::Controls controls = call->controls();
      controls.muted = true;
      call->setControls(controls);
    }
  } else {
    entries_[call.get()] = std::make_unique<Entry>(*call, room, request.requestUri.host, mixer_,
                                                   timers_, prompts_, settings_.entry, *this);
  }
  if (settings_.answerDelay.count() > 0) {
    // Ring first; a CANCEL in the meantime gets the INVITE a 487 (RFC 3261 §9.2).
    transaction.respond(sip::makeResponse(request, 180, "Ringing", tag));
    Ringing& ringing = ringing_[&transaction];
    ringing.call = std::move(call);
    ringing.timer = timers_.schedule(settings_.answerDelay, [this, &transaction] {
      auto found = ringing_.find(&transaction);
      if (found == ringing_.end()) {
        return;
      }
      auto pending = std::move(found->second.call);
      ringing_.erase(found);
      if (pending->answerInvite(transaction)) {
        admit(std::move(pending), transaction.source());
      } else {
        const std::string pendingRoom = pending->roomId();
        forget(pending.get());
        pending.reset();
        endIfEmpty(pendingRoom);
      }
    });
    return;
  }
  if (call->answerInvite(transaction)) {
    admit(std::move(call), transaction.source());
  } else {
    forget(call.get());
    call.reset();
    endIfEmpty(roomId);
  }
}

void Uas::forget(const Call* call) {
  entries_.erase(call);
  if (auto source = sourceOf_.find(call); source != sourceOf_.end()) {
    if (source->second.counted) {
      abuse_.callEnded(source->second.ip);
    }
    if (source->second.connection != 0) {
      layer_->holdConnection(source->second.connection, false);
    }
    sourceOf_.erase(source);
  }
}

void Uas::onAck(const sip::Message& ack, const transport::Source&) {
  auto to = ack.to();
  auto from = ack.from();
  if (!to || !from) {
    return;
  }
  auto call = calls_.find(dialog::Dialog::key(ack.callId(), to->tag(), from->tag()));
  if (call != calls_.end()) {
    call->second->onAck(ack);
  }
}

void Uas::onCancel(txn::ServerTransaction& invite) {
  auto found = ringing_.find(&invite);
  if (found == ringing_.end()) {
    return;
  }
  timers_.cancel(found->second.timer);
  const std::string tag = found->second.call->dialog().localTag();
  const std::string roomId = found->second.call->roomId();
  forget(found->second.call.get());
  ringing_.erase(found);
  invite.respond(sip::makeResponse(invite.request(), 487, {}, tag));
  endIfEmpty(roomId);
}

void Uas::onServerTransactionEnded(txn::ServerTransaction& transaction) {
  // An INVITE transaction cannot end while ringing (no final sent), but be safe on shutdown.
  if (auto found = ringing_.find(&transaction); found != ringing_.end()) {
    timers_.cancel(found->second.timer);
    forget(found->second.call.get());
    ringing_.erase(found);
  }
}

void Uas::onStrayResponse(const sip::Message& response) {
  // A 2xx retransmitted after its INVITE transaction ended: ACK it again (RFC 3261 §13.2.2.4).
  if (response.method != "INVITE" || response.status < 200 || response.status >= 300) {
    return;
  }
  auto to = response.to();
  auto from = response.from();
  auto cseq = response.cseq();
  if (!to || !from || !cseq) {
    return;
  }
  auto call = calls_.find(dialog::Dialog::key(response.callId(), from->tag(), to->tag()));
  if (call != calls_.end()) {
    layer_->sendAck(call->second->dialog().makeAck(cseq->number),
                    call->second->dialog().destination());
  }
}

void Uas::reconfigure(const UasSettings& next) {
  settings_.abuse = next.abuse;
  abuse_.reconfigure(next.abuse);
  settings_.entry = next.entry;  // entries hold a reference: questions under way take it too
  settings_.answerDelay = next.answerDelay;
  settings_.trustedSources = next.trustedSources;
}

void Uas::hangUpAll() {
  notifier_.terminateAll();
  for (auto& [key, out] : outgoing_) {
    out.call->cancel();
  }
  for (auto& [key, call] : calls_) {
    call->hangUp("the focus is shutting down");
  }
}

std::size_t Uas::callsInRoom(const std::string& roomId) const {
  // Calls still ringing count too: they hold a place, so a burst of INVITEs cannot all pass the
  // limit before any of them is answered.
  const auto inRoom = [&](const Call& call) { return call.roomId() == roomId && !call.ended(); };
  const auto answered =
      std::count_if(calls_.begin(), calls_.end(), [&](const auto& c) { return inRoom(*c.second); });
  const auto ringing = std::count_if(ringing_.begin(), ringing_.end(), [&](const auto& r) {
    return r.second.call != nullptr && inRoom(*r.second.call);
  });
  return static_cast<std::size_t>(answered + ringing);
}

Call* Uas::findCall(const std::string& callId) {
  return const_cast<Call*>(std::as_const(*this).findCall(callId));
}

std::vector<const Call*> Uas::callsIn(const std::string& roomId) const {
  std::vector<const Call*> out;
  for (const auto& [key, call] : calls_) {
    if (call->roomId() == roomId && !call->ended() && call->stage() == Call::Stage::kIn) {
      out.push_back(call.get());
    }
  }
  return out;
}

std::size_t Uas::callsOfTenant(int64_t tenant) const {
  // The tenant's conferences' calls, in them or waiting or ringing (they hold a place).
  const auto ofTenant = [&](const Call& call) {
    if (call.ended() || call.roomId().empty()) {
      return false;
    }
    const auto* conference = model_.find(call.roomId());
    return conference != nullptr && conference->rules.tenantId == tenant;
  };
  std::size_t n = 0;
  for (const auto& [key, call] : calls_) {
    n += ofTenant(*call) ? 1U : 0U;
  }
  for (const auto& [txn, ringing] : ringing_) {
    n += ringing.call != nullptr && ofTenant(*ringing.call) ? 1U : 0U;
  }
  return n;
}

bool Uas::locked(const std::string& roomId) const {
  const auto* conference = model_.find(roomId);
  return conference != nullptr && conference->locked;
}

std::size_t Uas::moderatorsIn(const std::string& roomId) const {
  const auto in = callsIn(roomId);
  return static_cast<std::size_t>(
      std::count_if(in.begin(), in.end(), [](const Call* c) { return c->moderator(); }));
}

std::optional<policy::Room> Uas::findRoom(std::string_view user, std::string_view domain) {
  if (auto adHoc = adHoc_.find(std::string(user)); adHoc != adHoc_.end()) {
    return adHoc->second;
  }
  return rooms_.find(user, domain);
}

void Uas::checkPin(Entry& entry, const policy::Room& room, std::string pin) {
  if (pinChecker_ == nullptr) {
    entry.onPinChecked(rooms_.checkPin(room, pin));
    return;
  }
  const Call* call = &entry.call();
  const uint64_t serial = entry.serial();
  const bool queued = pinChecker_->check(
      room, std::move(pin), [this, call, serial](std::optional<policy::Role> role) {
        // The caller may have hung up meanwhile: only the entry that asked gets the answer.
        auto found = entries_.find(call);
        if (found != entries_.end() && found->second->serial() == serial) {
          found->second->onPinChecked(role);
        }
      });
  if (!queued) {
    // More PINs waiting to be checked than the checker takes: a flood of guesses. This one
    // counts as wrong rather than waiting without bound.
    if (auto source = sourceOf_.find(call); source != sourceOf_.end() && observer_ != nullptr) {
      observer_->onLimit("pin-checks-queue-full", source->second.ip);
    }
    entry.onPinChecked(std::nullopt);
  }
}

void Uas::onWrongPin(Entry& entry, const policy::Room& room) {
  if (auto source = sourceOf_.find(&entry.call()); source != sourceOf_.end()) {
    abuse_.wrongPin(source->second.ip, room.key, timers_.now());
  }
}

bool Uas::pinEntryOpen(const policy::Room& room) {
  return !abuse_.roomLocked(room.key, timers_.now());
}

void Uas::onConfirmed(Call& call) {
  auto entry = entries_.find(&call);
  if (entry == entries_.end()) {
    // Came straight in: the others hear the entry tone once.
    if (call.stage() == Call::Stage::kIn && greeted_.insert(&call).second) {
      model_.setStatus(call.dialog().key(), conference::EndpointStatus::kConnected);
      const auto* conference = model_.find(call.roomId());
      if (conference != nullptr && conference->rules.tones && callsIn(call.roomId()).size() > 1) {
        announce(call.roomId(), "entry-tone");
      }
    }
    return;
  }
  if (entry->second->started()) {
    return;
  }
  // The first prompt a moment after the ACK: the phone has only just opened its audio path.
  timers_.schedule(settings_.promptDelay, [this, which = &call] {
    if (auto found = entries_.find(which); found != entries_.end()) {
      found->second->start();
    }
  });
}

void Uas::dropEntry(Call& call) {
  // Not now: the entry may be the one calling us.
  auto found = entries_.find(&call);
  if (found == entries_.end()) {
    return;
  }
  std::shared_ptr<Entry> dropped(std::move(found->second));
  entries_.erase(found);
  timers_.schedule(std::chrono::milliseconds(0), [dropped] {});
}

void Uas::admit(Entry& entry, const policy::Room& room, policy::Role role) {
  Call& call = entry.call();
  const bool moderator = role == policy::Role::kModerator;
  call.setRole(role);
  const auto* running = model_.find(room.key);
  const bool isLocked = running != nullptr ? running->locked : room.locked;
  // A moderator may always enter: they are who unlocks it.
  if (isLocked && !moderator) {
    entry.sendAway({"locked"}, "the conference is locked");
    return;
  }
  // Everyone admitted holds a place, also while still hearing the count or waiting.
  if ((room.maxParticipants != 0 && callsInRoom(room.key) >= room.maxParticipants) ||
      (room.tenantMaxParticipants != 0 &&
       callsOfTenant(room.tenantId) >= room.tenantMaxParticipants)) {
    if (observer_ != nullptr) {
      const auto to = call.dialog().destination();
      observer_->onLimit("room-full", to.host + ":" + std::to_string(to.port));
    }
    entry.sendAway({"full"}, "the conference is full");
    return;
  }
  const std::size_t already = callsIn(room.key).size();
  // From now on the caller counts in the room (its limits), though still in a mix of their own,
  // and is in the conference as "pending" (RFC 4575 §5.7.1) until they join the mix.
  call.moveTo(room.key, call.mix(), Call::Stage::kEntering);
  model_.open(room, conferenceUri(room.id, dialledHost(call)));
  model_.join(room.key, participantFor(call, conference::EndpointStatus::kPending));
  // "There are N participants", the caller counted: the conference as they will find it.
  std::vector<std::string> told =
      room.announceCount ? countPrompts(already + 1) : std::vector<std::string>{};
  const bool wait = room.waitForModerator && !moderator && moderatorsIn(room.key) == 0;
  if (wait) {
    // In their own mix still, hearing the wait prompt; they join when a moderator does.
    call.moveTo(room.key, call.mix(), Call::Stage::kWaiting);
    told.emplace_back("waiting-for-moderator");
    entry.say(std::move(told), [&entry] { entry.holdMusic(); });
    return;
  }
  if (told.empty()) {
    dropEntry(call);
    join(call, room);
    return;
  }
  entry.say(std::move(told), [this, &call, room] {
    dropEntry(call);
    join(call, room);
  });
}

void Uas::join(Call& call, const policy::Room& room) {
  const auto& conference = model_.open(room, conferenceUri(room.id, dialledHost(call)));
  const std::string id = call.dialog().key();
  if (conference.find(id) == nullptr) {
    model_.join(room.key, participantFor(call, conference::EndpointStatus::kPending));
  }
  conference::Controls controls = call.controls();
  if (call.listener() || (!call.moderator() && (room.muteOnEntry || conference.allMuted))) {
    controls.muted = true;
  }
  model_.setControls(id, controls);
  const bool others = !callsIn(room.key).empty();
  greeted_.insert(&call);
  call.moveTo(room.key, mixFor(room.key, call.mix()), Call::Stage::kIn);
  model_.setStatus(id, conference::EndpointStatus::kConnected);
  if (room.tones && others) {
    announce(room.key, "entry-tone");
  }
  if (call.moderator()) {
    releaseWaiting(room.key);
  }
}

void Uas::releaseWaiting(const std::string& roomId) {
  const auto* conference = model_.find(roomId);
  if (conference == nullptr) {
    return;
  }
  const policy::Room rules = conference->rules;
  std::vector<Call*> waiting;
  for (auto& [key, call] : calls_) {
    if (call->stage() == Call::Stage::kWaiting && call->roomId() == roomId && !call->ended()) {
      waiting.push_back(call.get());
    }
  }
  for (Call* call : waiting) {
    dropEntry(*call);
    join(*call, rules);
  }
}

void Uas::announce(const std::string& roomId, const std::string& prompt) {
  auto mix = mixOf(roomId);
  const auto* conference = model_.find(roomId);
  if (!mix || conference == nullptr) {
    return;
  }
  if (auto file = prompts_.find(prompt, conference->rules.language)) {
    mixer_.play(*mix, file->path);
  }
}

std::vector<std::string> Uas::countPrompts(std::size_t total) {
  if (total <= 1) {
    return {"only-participant"};
  }
  // The prompts have words for 0 to 20; a larger conference is "twenty" and more.
  return {"there-are",
          total < 10 ? "digit-" + std::to_string(total)
                     : "number-" + std::to_string(std::min<std::size_t>(total, 20)),
          "participants"};
}

void Uas::tellCount(Call& call, const policy::Room& rules) {
  // Only the caller who asked hears it: their media steps out into a mix of their own for the
  // prompt (the room does not hear them meanwhile) and comes back.
  std::vector<std::string> told = countPrompts(callsIn(call.roomId()).size());
  const std::string roomId = call.roomId();
  call.moveTo(roomId,
              std::make_shared<RoomMix>(mixer_, mixer_.createMixBeside({}, call.mix()->id())),
              Call::Stage::kIn);
  auto entry = std::make_unique<Entry>(call, rules, std::string(), mixer_, timers_, prompts_,
                                       settings_.entry, *this);
  Entry& teller = *entry;
  entries_[&call] = std::move(entry);
  teller.say(std::move(told), [this, &call, roomId] {
    dropEntry(call);
    call.moveTo(roomId, mixFor(roomId, call.mix()), Call::Stage::kIn);
  });
}

void Uas::keypad(Call& call, char key) {
  // Two-key commands: '*' then a digit (README, "Keypad").
  bool& star = starPressed_[&call];
  if (key == '*') {
    star = true;
    return;
  }
  const std::string roomId = call.roomId();
  const auto* conference = model_.find(roomId);
  const auto* self = model_.participant(call.dialog().key());
  if (conference == nullptr || self == nullptr) {
    return;
  }
  if (key == '#' && !star) {
    tellCount(call, conference->rules);
    return;
  }
  if (!star) {
    return;
  }
  star = false;
  if (key == '6') {
    // Mute or unmute oneself; everyone muted by a moderator (*9) stays so until they unmute.
    // Listeners stay muted: that is what their PIN gave them.
    if (self->role == policy::Role::kListener) {
      return;
    }
    conference::Controls controls = self->controls;
    controls.muted = !controls.muted;
    model_.setControls(self->id, controls);
    return;
  }
  if (self->role != policy::Role::kModerator) {
    return;
  }
  if (key == '1') {
    setLocked(roomId, !conference->locked);
  } else if (key == '9') {
    setAllMuted(roomId, !conference->allMuted);
  }
}

bool Uas::setLocked(const std::string& roomKey, bool locked) {
  const auto* conference = model_.find(roomKey);
  if (conference == nullptr) {
    return false;
  }
  if (conference->locked != locked) {
    model_.setLocked(roomKey, locked);
    announce(roomKey, locked ? "conference-locked" : "conference-unlocked");
  }
  return true;
}

bool Uas::setAllMuted(const std::string& roomKey, bool muted) {
  const auto* conference = model_.find(roomKey);
  if (conference == nullptr) {
    return false;
  }
  if (conference->allMuted != muted) {
    model_.setAllMuted(roomKey, muted);
    announce(roomKey, muted ? "all-muted" : "all-unmuted");
  }
  return true;
}

std::size_t Uas::endConference(const std::string& roomKey, const std::string& reason) {
  const auto* conference = model_.find(roomKey);
  if (conference == nullptr) {
    return 0;
  }
  // kick() changes the model: take the ids first.
  std::vector<std::string> ids;
  for (const auto& p : conference->participants) {
    ids.push_back(p.id);
  }
  std::size_t removed = 0;
  for (const auto& id : ids) {
    removed += kick(id, reason) ? 1U : 0U;
  }
  return removed;
}

std::optional<mixer::MixId> Uas::mixOf(const std::string& roomId) const {
  auto found = mixes_.find(roomId);
  if (found == mixes_.end()) {
    return std::nullopt;
  }
  auto mix = found->second.lock();
  return mix ? std::optional<mixer::MixId>(mix->id()) : std::nullopt;
}

const Call* Uas::findCall(const std::string& callId) const {
  for (const auto& [key, call] : calls_) {
    if (call->dialog().callId() == callId) {
      return call.get();
    }
  }
  return nullptr;
}

void Uas::admit(std::unique_ptr<Call> call, const transport::Source& from) {
  if (from.connection != 0) {
    // A call over TCP or TLS keeps its connection open, keep-alives or not (RFC 5626 §4.4).
    if (auto source = sourceOf_.find(call.get()); source != sourceOf_.end()) {
      source->second.connection = from.connection;
      layer_->holdConnection(from.connection, true);
    }
  }
  const std::string key = call->dialog().key();
  auto [it, inserted] = calls_.emplace(key, std::move(call));
  if (!inserted) {
    return;
  }
  Call& added = *it->second;
  if (added.stage() == Call::Stage::kIn) {
    // Straight in: a participant now, connected once the ACK comes (RFC 4575 §5.7.1).
    model_.join(added.roomId(), participantFor(added, conference::EndpointStatus::kDialingIn));
  }
  if (observer_ != nullptr) {
    observer_->onCallStarted(added, from);
  }
}

std::shared_ptr<RoomMix> Uas::mixFor(const std::string& roomId,
                                     const std::shared_ptr<RoomMix>& beside) {
  if (auto existing = mixes_[roomId].lock()) {
    return existing;
  }
  mixer::RoomSettings settings;
  auto mix = std::make_shared<RoomMix>(mixer_, beside ? mixer_.createMixBeside(settings, beside->id())
                                                      : mixer_.createMix(settings));
  mixes_[roomId] = mix;
  return mix;
}

Call* Uas::findByEndpoint(mixer::EndpointId endpoint) {
  for (auto& [key, call] : calls_) {
    if (call->mediaEndpoint() == endpoint) {
      return call.get();
    }
  }
  return nullptr;
}

void Uas::onDtmf(mixer::EndpointId endpoint, char digit) {
  if (Call* call = findByEndpoint(endpoint)) {
    onKey(*call, digit);
  }
}

void Uas::onKey(Call& call, char key) {
  if (observer_ != nullptr) {
    observer_->onDtmf(call, key);
  }
  if (auto entry = entries_.find(&call); entry != entries_.end()) {
    entry->second->onKey(key);
    return;
  }
  if (call.stage() == Call::Stage::kIn) {
    // In the conference only: keys pressed at PIN entry returned above and are never told.
    if (activity_ != nullptr) {
      activity_->onKeyPressed(call, key);
    }
    keypad(call, key);
  }
}

void Uas::onTalking(mixer::EndpointId endpoint, bool talking) {
  if (Call* call = findByEndpoint(endpoint);
      call != nullptr && activity_ != nullptr && call->stage() == Call::Stage::kIn) {
    activity_->onTalking(*call, talking);
  }
}

void Uas::onMediaSource(mixer::EndpointId endpoint, const mixer::MediaSourceEvent& event) {
  if (Call* call = findByEndpoint(endpoint); call != nullptr && observer_ != nullptr) {
    observer_->onMediaSource(*call, event);
  }
}

void Uas::onMixerFault(mixer::EndpointId endpoint, mixer::MixId /*mix*/, const std::string& what) {
  if (observer_ != nullptr) {
    observer_->onMixerFault(endpoint != 0 ? findByEndpoint(endpoint) : nullptr, what);
  }
}

void Uas::onRtpTimeout(mixer::EndpointId endpoint) {
  if (Call* call = findByEndpoint(endpoint)) {
    call->hangUp("no media from the caller");
  }
}

void Uas::onEndpointFailed(mixer::EndpointId endpoint) {
  // A remote mixer refused the media or went away: the call cannot carry audio any more.
  if (Call* call = findByEndpoint(endpoint)) {
    call->hangUp("the mixer lost the media");
  }
}

void Uas::onEndpointRelocated(mixer::EndpointId endpoint, const mixer::Reservation& where) {
  // The mixer went away and the room now runs on another: the call follows with a re-INVITE.
  if (Call* call = findByEndpoint(endpoint)) {
    call->relocateMedia(where);
  }
}

void Uas::onMediaChange(Call& call, const std::string& change) {
  noteMedia(call);
  if (observer_ != nullptr) {
    observer_->onMediaChange(call, change);
  }
}

void Uas::onCallEnded(Call& call) {
  forget(&call);
  starPressed_.erase(&call);
  greeted_.erase(&call);
  const std::string roomId = call.roomId();
  const std::string id = call.dialog().key();
  const bool wasIn = call.stage() == Call::Stage::kIn && !roomId.empty();
  const bool wasModerator = call.moderator();
  if (observer_ != nullptr) {
    if (call.inMix()) {
      observer_->onMediaChange(call, "left room " + call.roomId() + ": " + call.endReason());
    }
    observer_->onCallEnded(call);
  }
  // RFC 4575 §5.7.4: how they left.
  const auto how = call.endedByPeer() ? conference::DisconnectionMethod::kDeparted
                   : call.failed()    ? conference::DisconnectionMethod::kFailed
                                      : conference::DisconnectionMethod::kBooted;
  model_.leave(id, how, call.endReason(), qualityOf(call));
  calls_.erase(id);
  afterLeaving(roomId, wasIn, wasModerator);
}

void Uas::afterLeaving(const std::string& roomId, bool wasIn, bool wasModerator) {
  const auto* conference = model_.find(roomId);
  if (conference == nullptr) {
    return;
  }
  if (!wasIn || callsIn(roomId).empty()) {
    endIfEmpty(roomId);
    return;
  }
  const policy::Room rules = conference->rules;
  if (wasModerator && rules.endWithLastModerator && moderatorsIn(roomId) == 0) {
    // The last moderator left: the conference ends for everyone, the waiting ones too, after the
    // prompt that says so.
    announce(roomId, "ended");
    const auto length = prompts_.find("ended", rules.language);
    timers_.schedule(
        length ? length->length + std::chrono::milliseconds(300) : std::chrono::milliseconds(0),
        [this, roomId] {
          std::vector<std::string> ids;
          for (auto& [key, other] : calls_) {
            if (other->roomId() == roomId && !other->ended()) {
              ids.push_back(key);
            }
          }
          for (const auto& other : ids) {
            kick(other, "the last moderator left");
          }
        });
    for (auto& [key, other] : calls_) {
      if (other->stage() == Call::Stage::kWaiting && other->roomId() == roomId) {
        if (auto entry = entries_.find(other.get()); entry != entries_.end()) {
          entry->second->sendAway({"ended"}, "the last moderator left");
        }
      }
    }
    return;
  }
  if (rules.tones) {
    announce(roomId, "exit-tone");
  }
}

void Uas::endIfEmpty(const std::string& roomId) {
  const auto* conference = model_.find(roomId);
  if (conference == nullptr || !conference->participants.empty()) {
    return;
  }
  // Someone still on the way to it (ringing, hearing the count) keeps it.
  const auto heading = [&](const Call* call) {
    return call != nullptr && call->roomId() == roomId && !call->ended();
  };
  for (const auto& [key, call] : calls_) {
    if (heading(call.get())) {
      return;
    }
  }
  for (const auto& [txn, ringing] : ringing_) {
    if (heading(ringing.call.get())) {
      return;
    }
  }
  model_.end(roomId);
}

void Uas::onChange(const conference::Change& change) {
  if (change.kind == conference::Change::Kind::kEnded) {
    adHoc_.erase(change.conference.id);  // an ad-hoc conference lives as long as it runs
    return;
  }
  // The mixer follows the model: a participant's controls go to their call's media.
  if (change.kind != conference::Change::Kind::kUpdated || !change.controlsChanged ||
      change.participant == nullptr) {
    return;
  }
  if (Call* call = callOf(change.participant->id)) {
    call->setControls(change.participant->controls);
  }
}

std::optional<mixer::MixStats> Uas::roomMedia(const std::string& roomId) const {
  auto mix = mixOf(roomId);
  return mix ? mixer_.mixStats(*mix) : std::nullopt;
}

std::optional<mixer::MediaStats> Uas::participantMedia(const Call& call) const {
  return mixer_.endpointStats(call.mediaEndpoint());
}

std::optional<policy::CallQuality> Uas::qualityOf(const Call& call) const {
  const auto stats = participantMedia(call);
  if (!stats || !call.media()) {
    return std::nullopt;
  }
  policy::CallQuality q;
  q.packetsReceived = static_cast<int64_t>(stats->packetsReceived);
  q.packetsDropped = static_cast<int64_t>(stats->packetsDropped);
  q.framesConcealed = static_cast<int64_t>(stats->framesConcealed);
  q.fractionLost = stats->quality.ourFractionLost / 256.0;
  const uint32_t rate = call.media()->codec.clockRate;
  q.jitterMs = rate != 0 ? stats->quality.ourJitter * 1000.0 / static_cast<double>(rate) : 0.0;
  q.roundTripMs = stats->quality.roundTripMicros / 1000.0;
  q.remoteLost = stats->quality.theirCumulativeLost;
  return q;
}

std::vector<mixer::EngineThreadStats> Uas::mixerThreads() const {
  return mixer_.engineStats();
}

bool Uas::startRecording(const std::string& roomId,
                         const std::string& path,
                         mixer::RecordingFormat format,
                         const std::string& name) {
  auto mix = mixOf(roomId);
  if (!mix || !mixer_.startRecording(*mix, path, format)) {
    return false;
  }
  model_.setRecording(roomId, name);
  return true;
}

void Uas::stopRecording(const std::string& roomId) {
  if (auto mix = mixOf(roomId)) {
    mixer_.stopRecording(*mix);
  }
  model_.setRecording(roomId, {});
}

bool Uas::play(const std::string& roomId, const std::string& path) {
  auto mix = mixOf(roomId);
  return mix && mixer_.play(*mix, path);
}

void Uas::stopPlaying(const std::string& roomId) {
  if (auto mix = mixOf(roomId)) {
    mixer_.stopPlaying(*mix);
  }
}

Call* Uas::callOf(std::string_view participantId) {
  auto found = calls_.find(std::string(participantId));
  return found == calls_.end() ? nullptr : found->second.get();
}

bool Uas::kick(std::string_view participantId, std::string reason) {
  for (auto& [key, out] : outgoing_) {
    if (out.participant == participantId && !out.call->finished()) {
      model_.setStatus(participantId, conference::EndpointStatus::kDisconnecting);
      out.call->cancel();
      return true;
    }
  }
  Call* call = callOf(participantId);
  if (call == nullptr || call->ended()) {
    return false;
  }
  model_.setStatus(participantId, conference::EndpointStatus::kDisconnecting);
  call->hangUp(std::move(reason));
  return true;
}

namespace {

conference::Media mediaOf(const Call& call) {
  conference::Media media;
  if (const auto& negotiated = call.media()) {
    media.codec = negotiated->codec.name + "/" + std::to_string(negotiated->codec.clockRate);
    media.srtp = negotiated->srtp.has_value();
  }
  media.onHold = call.onHold();
  media.ssrc = call.ssrc();
  return media;
}

}  // namespace

conference::Participant Uas::participantFor(const Call& call,
                                            conference::EndpointStatus status) const {
  conference::Participant p;
  p.id = call.dialog().key();
  p.callId = call.dialog().callId();
  if (auto from = sip::NameAddr::parse(call.dialog().remoteUri())) {
    p.displayName = from->displayName.value_or("");
    p.entity = addressOf(from->uri);
  }
  p.endpoint = call.dialog().remoteTarget().str();
  p.role = call.role();
  p.status = status;
  p.controls = call.controls();
  p.media = mediaOf(call);
  return p;
}

void Uas::noteMedia(const Call& call) {
  model_.setMedia(call.dialog().key(), mediaOf(call));
}

std::string Uas::conferenceUri(const std::string& user, const std::string& hostPort) {
  return "sip:" + user + "@" + hostPort;
}

std::string Uas::dialledHost(const Call& call) const {
  if (auto source = sourceOf_.find(&call); source != sourceOf_.end()) {
    return source->second.dialled;
  }
  return layer_->sentBy(transport::Protocol::kUdp).hostPort();
}

void Uas::handleRefer(Call* from, txn::ServerTransaction& transaction) {
  const sip::Message& request = transaction.request();
  const std::string tag = from != nullptr ? from->dialog().localTag() : layer_->randomToken(12);
  auto refuse = [&](int status, std::string_view reason, std::string_view why) {
    sip::Message response = sip::makeResponse(request, status, reason, tag);
    if (!why.empty()) {
      response.add("Warning", sip::warning(399, why));
    }
    transaction.respond(std::move(response));
  };
  // RFC 3515 §2.4.1: exactly one Refer-To.
  const auto referTo = request.headers("Refer-To");
  if (referTo.size() != 1) {
    refuse(400, referTo.empty() ? "Missing Refer-To" : "More Than One Refer-To", {});
    return;
  }
  auto referral = parseReferTo(referTo.front());
  if (!referral) {
    refuse(400, "Bad Refer-To", referral.error().reason);
    return;
  }
  if (overRate(transaction, "refer-rate", tag)) {
    return;
  }
  std::string roomKey;
  if (from != nullptr) {
    roomKey = from->roomId();
  } else {
    auto room = findRoom(request.requestUri.unescapedUser(), request.requestUri.host);
    if (!room) {
      refuse(404, "Room Not Found", {});
      return;
    }
    roomKey = room->key;
    from = participantSending(roomKey, request, transaction.source());
  }
  const auto* conference = model_.find(roomKey);
  const auto* referrer = from != nullptr ? model_.participant(from->dialog().key()) : nullptr;
  if (conference == nullptr || referrer == nullptr) {
    refuse(403, {}, "only the conference's moderators may add or remove people");
    return;
  }
  // RFC 4579 §5.5: who may is the room's policy: moderators, or every participant (not
  // listeners) when the room says so.
  const bool allowed =
      referrer->role == policy::Role::kModerator ||
      (conference->rules.participantsInvite && referrer->role == policy::Role::kParticipant);
  if (!allowed) {
    refuse(403, {}, "only the conference's moderators may add or remove people");
    return;
  }
  // RFC 4488: no reports when the referrer says so.
  const std::string* referSub = request.header("Refer-Sub");
  const bool reports = referSub == nullptr || !sip::iequals(*referSub, "false");
  const std::string target = addressOf(referral->target);
  const conference::Participant* removed = nullptr;
  if (referral->method == Referral::Method::kBye) {
    // RFC 4579 §5.6: remove the participant the URI names (their user or their device).
    for (const auto& p : conference->participants) {
      auto endpoint = sip::Uri::parse(p.endpoint);
      if (p.entity == target || (endpoint && addressOf(*endpoint) == target)) {
        removed = &p;
        break;
      }
    }
    if (removed == nullptr) {
      refuse(404, "No Such Participant", "nobody in the conference has that address");
      return;
    }
  }
  sip::Message accepted = sip::makeResponse(request, 202, "Accepted", tag);
  if (!reports) {
    accepted.add("Refer-Sub", "false");
  }
  transaction.respond(std::move(accepted));
  std::shared_ptr<ReferReport> report;
  if (reports) {
    // The NOTIFYs go in the referrer's call (RFC 3515 §2.4.4), while it lasts.
    report = std::make_shared<ReferReport>(
        [this, callKey = from->dialog().key()]()
            -> std::optional<std::pair<sip::Message, transport::Destination>> {
          Call* in = callOf(callKey);
          if (in == nullptr || in->ended()) {
            return std::nullopt;
          }
          return std::make_pair(in->newRequest("NOTIFY"), in->dialog().destination());
        },
        request.cseq() ? std::to_string(request.cseq()->number) : std::string(),
        from->contactHeader(), *layer_);
  }
  if (removed != nullptr) {
    kick(std::string(removed->id), "removed by " + referrer->entity);
    if (report) {
      // The removal is under way; its BYE's own answer is the phone's business.
      report->report(200, "OK");
      keepReport(std::move(report));
    }
    return;
  }
  if (report) {
    // RFC 3515 §2.4.4: the first NOTIFY says it has begun.
    report->report(100, "Trying");
  }
  if (auto refused = dialOut(roomKey, referral->target, referrer->entity, report)) {
    if (report) {
      report->report(refused->first, refused->second);
      keepReport(std::move(report));
    }
  }
}

std::string Uas::roomContact(const std::string& user, transport::Protocol protocol) const {
  std::string uri = transport::contactScheme(protocol) + user + "@";
  if (!settings_.call.contactHost.empty()) {
    uri += settings_.call.contactHost + ":" + std::to_string(layer_->sentBy(protocol).port);
  } else {
    uri += layer_->sentBy(protocol).hostPort();
  }
  return uri + transport::contactTransportParam(protocol);
}

std::optional<std::pair<int, std::string>> Uas::dialOut(const std::string& roomKey,
                                                        const sip::Uri& target,
                                                        std::string referredBy,
                                                        std::shared_ptr<ReferReport> report) {
  const auto* conference = model_.find(roomKey);
  if (conference == nullptr) {
    return std::make_pair(404, std::string("the conference is not running"));
  }
  const policy::Room rules = conference->rules;
  // Someone called in takes a place like someone calling in: the room's and the tenant's
  // limits hold (a moderator cannot REFER past them).
  if ((rules.maxParticipants != 0 && conference->participants.size() >= rules.maxParticipants) ||
      (rules.tenantMaxParticipants != 0 &&
       callsOfTenant(rules.tenantId) + outgoingOfTenant(rules.tenantId) >=
           rules.tenantMaxParticipants)) {
    return std::make_pair(486, std::string("the conference is full"));
  }
  // Its ports where the conference's mix runs (several mixers).
  const auto running = mixes_.find(rules.key);
  const auto mix = running != mixes_.end() ? running->second.lock() : nullptr;
  auto media = mix ? mixer_.reserveFor(mix->id()) : mixer_.reserve();
  if (!media) {
    return std::make_pair(503, std::string("no media ports free"));
  }
  const transport::Protocol protocol =
      target.scheme == sip::Uri::Scheme::kSips ? transport::Protocol::kTls
      : target.param("transport") != nullptr &&
              sip::iequals(target.param("transport")->value.value_or(""), "tcp")
          ? transport::Protocol::kTcp
      : target.param("transport") != nullptr &&
              sip::iequals(target.param("transport")->value.value_or(""), "tls")
          ? transport::Protocol::kTls
          : transport::Protocol::kUdp;
  sdp::LocalMedia local;
  if (!media->address.empty()) {
    local.address = media->address;
  } else if (!settings_.mediaAddress.empty()) {
    local.address = settings_.mediaAddress;
  } else if (auto literal = transport::parseIpLiteral(layer_->sentBy(protocol).host)) {
    local.address = literal->to_string();
  } else {
    local.address = "127.0.0.1";
  }
  local.rtpPort = media->rtpPort;
  local.requireSrtp = rules.requireSrtp;
  local.allowPlainRtp = !rules.requireSrtp;
  local.sessionId = std::random_device{}();
  local.srtpKeyMaterial.resize(30);
  if (RAND_bytes(local.srtpKeyMaterial.data(), static_cast<int>(local.srtpKeyMaterial.size())) !=
      1) {
    local.srtpKeyMaterial.clear();
  }
  // Each dial-out answers its own challenges: nonce counts and refused nonces are per call
  // (RFC 7616 §3.4), and a tenant's PBX sees that tenant's user.
  DialOut::Authorize authorize;
  if (auto account = accounts_ ? accounts_(rules) : std::nullopt) {
    authorize =
        [client = std::make_shared<auth::Client>(std::move(*account))](
            const sip::Message& challenge,
            const sip::Message& request) -> std::optional<std::pair<std::string, std::string>> {
      auto answer = client->respond(challenge, request);
      if (!answer) {
        return std::nullopt;
      }
      return std::make_pair(answer->name, answer->value);
    };
  }
  const std::string user = conference->uri.substr(4, conference->uri.find('@') - 4);
  DialOutTarget where{roomKey, conference->uri, rules.name, roomContact(user, protocol),
                      target,  referredBy};
  auto call = std::make_unique<DialOut>(
      std::move(where), std::move(local), *layer_,
      [this](const sip::Uri& uri,
             std::function<void(std::vector<transport::Destination>, std::string)> done) {
        locate(uri, std::move(done));
      },
      std::move(authorize), static_cast<DialOut::Listener&>(*this));
  conference::Participant p;
  p.id = "dial-out:" + call->callId();
  p.callId = call->callId();
  p.entity = addressOf(target);
  p.endpoint = target.str();
  p.status = conference::EndpointStatus::kDialingOut;
  p.joining = conference::JoiningMethod::kDialedOut;
  p.joinedBy = std::move(referredBy);
  p.controls.muted = rules.muteOnEntry || conference->allMuted;
  const std::string participant = p.id;
  model_.join(roomKey, std::move(p));
  DialOut& started = *call;
  const DialOut* key = call.get();  // before the move below
  outgoing_.emplace(key, Outgoing{std::move(call), *media, std::move(report), participant});
  started.start();
  return std::nullopt;
}

std::size_t Uas::outgoingOfTenant(int64_t tenant) const {
  std::size_t n = 0;
  for (const auto& [key, out] : outgoing_) {
    const auto* conference = model_.find(out.call->target().roomKey);
    n += conference != nullptr && conference->rules.tenantId == tenant ? 1U : 0U;
  }
  return n;
}

void Uas::locate(const sip::Uri& uri,
                 std::function<void(std::vector<transport::Destination>, std::string)> done) {
  if (settings_.outboundProxy) {
    done({*settings_.outboundProxy}, {});
    return;
  }
  if (auto literal = transport::parseIpLiteral(uri.host)) {
    // RFC 3263 §4.2: a numeric host needs no lookup.
    transport::Destination to;
    const auto* param = uri.param("transport");
    const std::string transportName = param != nullptr ? param->value.value_or("") : "";
    to.protocol = uri.scheme == sip::Uri::Scheme::kSips || sip::iequals(transportName, "tls")
                      ? transport::Protocol::kTls
                  : sip::iequals(transportName, "tcp") ? transport::Protocol::kTcp
                                                       : transport::Protocol::kUdp;
    to.host = literal->to_string();
    to.port = uri.port.value_or(to.protocol == transport::Protocol::kTls ? 5061 : 5060);
    done({to}, {});
    return;
  }
  if (locate_) {
    locate_(uri, std::move(done));
    return;
  }
  done({}, "no DNS resolver for " + uri.host);
}

void Uas::onProgress(DialOut& call, int status, const std::string& reason) {
  auto found = outgoing_.find(&call);
  if (found == outgoing_.end()) {
    return;
  }
  if (status == 180 || status == 183) {
    model_.setStatus(found->second.participant, conference::EndpointStatus::kAlerting);
  }
  if (found->second.report) {
    found->second.report->report(status, reason);
  }
}

void Uas::onAnswered(DialOut& out, dialog::Dialog dialog, sdp::Negotiated media) {
  auto found = outgoing_.find(&out);
  if (found == outgoing_.end()) {
    return;
  }
  Outgoing& o = found->second;
  const std::string roomKey = out.target().roomKey;
  auto call = std::make_unique<Call>(roomKey, out.target().contact, std::move(dialog), mixer_,
                                     o.media, mixFor(roomKey), out.local(), *layer_, timers_,
                                     settings_.call, *this, Call::Stage::kIn);
  o.media = {};  // the call releases it now
  Call& added = *call;
  const std::string key = added.dialog().key();
  if (const auto* p = model_.participant(o.participant)) {
    added.setControls(p->controls);
  }
  model_.rekey(o.participant, key);
  calls_.emplace(key, std::move(call));
  greeted_.insert(&added);
  if (o.report) {
    o.report->report(200, "OK");
    keepReport(o.report);
  }
  const bool started = added.startAnswered(out.offer(), std::move(media));
  retire(out);
  if (!started) {
    return;  // its BYE is going; it leaves "failed"
  }
  noteMedia(added);
  model_.setStatus(key, conference::EndpointStatus::kConnected);
  const auto* conference = model_.find(roomKey);
  if (conference != nullptr && conference->rules.tones && callsIn(roomKey).size() > 1) {
    announce(roomKey, "entry-tone");
  }
  if (observer_ != nullptr) {
    transport::Source to;
    to.protocol = added.dialog().destination().protocol;
    observer_->onCallStarted(added, to);
  }
}

void Uas::onFailed(DialOut& out, int status, const std::string& reason) {
  auto found = outgoing_.find(&out);
  if (found == outgoing_.end()) {
    return;
  }
  Outgoing& o = found->second;
  // RFC 4575 §5.7.4: busy when they said so; booted when we called it off; failed otherwise.
  const auto how = status == 486 || status == 600 || status == 603
                       ? conference::DisconnectionMethod::kBusy
                   : status == 487 ? conference::DisconnectionMethod::kBooted
                                   : conference::DisconnectionMethod::kFailed;
  model_.leave(o.participant, how, std::to_string(status) + " " + reason);
  if (o.report) {
    o.report->report(status, reason);
    keepReport(o.report);
  }
  if (o.media.id != 0) {
    mixer_.release(o.media.id);
    o.media = {};
  }
  const std::string roomKey = out.target().roomKey;
  retire(out);
  endIfEmpty(roomKey);
}

void Uas::retire(DialOut& call) {
  auto found = outgoing_.find(&call);
  if (found == outgoing_.end()) {
    return;
  }
  std::shared_ptr<DialOut> gone(std::move(found->second.call));
  outgoing_.erase(found);
  timers_.schedule(std::chrono::milliseconds(0), [gone] {});
}

void Uas::keepReport(std::shared_ptr<ReferReport> report) {
  // Reports whose last NOTIFY is answered (or given up) are done: swept here, so the list holds
  // only those still going however many REFERs come (each adds one, and each ends).
  std::erase_if(reports_, [](const auto& kept) { return kept->done(); });
  reports_.push_back(std::move(report));
}

}  // namespace confab::room
