#include "focus/room/Call.hpp"

#include <openssl/rand.h>

#include <random>

#include "focus/room/Capabilities.hpp"
#include "focus/room/DtmfInfo.hpp"
#include "focus/room/MediaParams.hpp"
#include "focus/sip/Response.hpp"

namespace confab::room {

namespace {

// The one place the conference model's controls become the mixer's: join, update, move and
// setControls all send what this makes of them.
mixer::Controls mixerControls(const conference::Controls& c) {
  return mixer::Controls{.muted = c.muted, .deaf = c.deaf, .gain = c.gain};
}

}  // namespace

Call::Call(std::string roomId,
           std::string contact,
           dialog::Dialog dialog,
           mixer::Control& mixer,
           mixer::Reservation media,
           std::shared_ptr<RoomMix> mix,
           sdp::LocalMedia local,
           txn::TransactionLayer& layer,
           timer::Timers& timers,
           const CallSettings& settings,
           Listener& listener,
           Stage stage)
    : roomId_(std::move(roomId)),
      contact_("<" + std::move(contact) + ">;isfocus"),
      dialog_(std::move(dialog)),
      mixer_(mixer),
      media_(media),
      mix_(std::move(mix)),
      ssrc_(static_cast<uint32_t>(std::random_device{}())),
      local_(std::move(local)),
      layer_(layer),
      timers_(timers),
      settings_(settings),
      listener_(listener) {
  stage_ = stage;
}

Call::~Call() {
  mixer_.release(media_.id);
  for (auto id : {okTimer_, ackTimeout_, sessionTimerId_, finishTimer_, relocationTimer_}) {
    timers_.cancel(id);
  }
  if (bye_ != nullptr) {
    bye_->detach();
  }
  if (refresh_ != nullptr) {
    refresh_->detach();
  }
}

sip::Message Call::okResponse(const sip::Message& request, std::string body) {
  sip::Message ok = sip::makeResponse(request, 200, "OK", dialog_.localTag());
  ok.add("Contact", contact_);
  addCapabilities(ok);
  ok.add("Server", std::string(kServer));
  if (sessionTimer_) {
    sessionTimer_->addTo(ok);
  }
  if (!body.empty()) {
    ok.add("Content-Type", "application/sdp");
    ok.body = std::move(body);
  }
  return ok;
}

bool Call::handleSdp(txn::ServerTransaction& transaction, std::string& body) {
  const sip::Message& request = transaction.request();
  auto fail = [&](const sip::Error& error) {
    sip::Message response = sip::errorResponse(request, error, dialog_.localTag());
    if (error.status == 415) {
      response.add("Accept", std::string(kAccept));  // RFC 3261 §21.4.13
    }
    transaction.respond(std::move(response));
    return false;
  };
  if (request.body.empty()) {
    if (request.method == "UPDATE") {
      return true;  // a session refresh without an offer (RFC 4028 §7.4)
    }
    // RFC 3261 §13.2.1: no offer in the INVITE, so the offer goes in our 2xx.
    signallingHosts_ = signallingHosts(request, transaction.source());
    pendingOffer_ = sdp::offer(local_);
    stampVersion(*pendingOffer_);
    body = pendingOffer_->serialize();
    lastSdp_ = body;
    return true;
  }
  if (request.contentType() != "application/sdp") {
    return fail(sip::Error{415, "only application/sdp bodies are understood"});
  }
  auto offer = sdp::SessionDescription::parse(request.body);
  if (!offer) {
    return fail(sip::Error{400, "malformed SDP: " + offer.error().reason});
  }
  auto negotiated = sdp::answer(*offer, local_);
  if (!negotiated) {
    return fail(negotiated.error());  // the session goes on unchanged, our version too
  }
  if (negotiated_ && negotiated_->srtp && negotiated->srtp &&
      negotiated_->srtp->suite != negotiated->srtp->suite) {
    // A new suite gets a new key of ours (RFC 4568 §7.1.4): the same master key under another
    // AES-CM suite derives the same keystream, and the new context would start its indices over
    // (RFC 3711 §9.1). The mixer refuses our old key with a new suite.
    if (RAND_bytes(local_.srtpKeyMaterial.data(),
                   static_cast<int>(local_.srtpKeyMaterial.size())) != 1) {
      return fail(sip::Error{500, "no random bytes for a new SRTP key"});
    }
    negotiated = sdp::answer(*offer, local_);
    if (!negotiated) {
      return fail(negotiated.error());
    }
  }
  // The mixer takes the new media before we answer: if it refuses (keys it cannot use, a mix
  // that is gone), the offer is refused and the session stays as it was (RFC 3261 §14.2), not
  // answered 200 with no media behind it.
  const uint64_t versionBefore = local_.sessionVersion;
  stampVersion(negotiated->answer);
  auto previous = std::exchange(negotiated_, std::move(*negotiated));
  auto previousHosts =
      std::exchange(signallingHosts_, signallingHosts(request, transaction.source()));
  if (!applyMedia()) {
    negotiated_ = std::move(previous);
    signallingHosts_ = std::move(previousHosts);
    local_.sessionVersion = versionBefore;
    return fail(sip::Error{488, "the media mixer could not take this session"});
  }
  body = negotiated_->answer.serialize();
  lastSdp_ = body;
  return true;
}

void Call::stampVersion(sdp::SessionDescription& sd) {
  // RFC 3264 §8: an SDP that differs from the last one we sent carries a higher o= version; the
  // same one keeps the version. Counted here, when an SDP is about to be sent, so an offer we
  // refuse changes nothing.
  sd.origin.sessionVersion = std::to_string(local_.sessionVersion);
  if (lastSdp_.empty() || sd.serialize() != lastSdp_) {
    ++local_.sessionVersion;
    sd.origin.sessionVersion = std::to_string(local_.sessionVersion);
  }
}

std::optional<std::optional<dialog::SessionTimer>> Call::negotiateSessionTimer(
    txn::ServerTransaction& transaction) {
  const sip::Message& request = transaction.request();
  auto timer = dialog::SessionTimer::negotiate(request, settings_.sessionTimer);
  if (!timer) {
    sip::Message response = sip::errorResponse(request, timer.error(), dialog_.localTag());
    if (timer.error().status == 422) {
      response.add("Min-SE", std::to_string(settings_.sessionTimer.minSe));  // RFC 4028 §6
    }
    transaction.respond(std::move(response));
    return std::nullopt;
  }
  return *timer;
}

bool Call::answerInvite(txn::ServerTransaction& invite) {
  const sip::Message& request = invite.request();
  auto timer = negotiateSessionTimer(invite);
  if (!timer) {
    return false;
  }
  std::string body;
  if (!handleSdp(invite, body)) {
    return false;
  }
  sessionTimer_ = *timer;
  peerAllowsUpdate_ = request.hasToken("Allow", "UPDATE");
  sip::Message ok = okResponse(request, std::move(body));
  invite.respond(ok);
  startRetransmitting(std::move(ok), request.cseq()->number, invite.source());
  armSessionTimer();
  return true;
}

void Call::startRetransmitting(sip::Message ok, uint32_t cseq, const transport::Source& source) {
  timers_.cancel(okTimer_);
  timers_.cancel(ackTimeout_);
  okTimer_ = 0;
  awaitingAckFor_ = cseq;
  okSource_ = source;
  if (!transport::isReliable(source.protocol)) {
    pendingOk_ = std::move(ok);
    okInterval_ = layer_.settings().t1;
    okTimer_ = timers_.schedule(okInterval_, [this] { retransmitOk(); });
  }
  // RFC 3261 §13.3.1.4: no ACK within 64*T1 ends the session with a BYE.
  ackTimeout_ = timers_.schedule(layer_.settings().timeout(), [this] {
    ackTimeout_ = 0;
    timers_.cancel(okTimer_);
    okTimer_ = 0;
    awaitingAckFor_.reset();
    confirmed_ = true;
    hangUp("no ACK for our 200 OK", true);
  });
}

void Call::retransmitOk() {
  okTimer_ = 0;
  if (!awaitingAckFor_) {
    return;
  }
  layer_.resendResponse(pendingOk_, okSource_);
  okInterval_ = std::min(2 * okInterval_, layer_.settings().t2);
  okTimer_ = timers_.schedule(okInterval_, [this] { retransmitOk(); });
}

void Call::onAck(const sip::Message& ack) {
  auto cseq = ack.cseq();
  if (!cseq || !awaitingAckFor_ || cseq->number != *awaitingAckFor_) {
    return;  // a retransmitted ACK, or one for an older INVITE
  }
  awaitingAckFor_.reset();
  timers_.cancel(okTimer_);
  timers_.cancel(ackTimeout_);
  okTimer_ = ackTimeout_ = 0;
  confirmed_ = true;
  if (pendingOffer_) {
    // RFC 3264 §4 with RFC 3261 §13.2.1: the answer to our offer comes in the ACK.
    auto answer = sdp::SessionDescription::parse(ack.body);
    std::optional<sdp::Negotiated> negotiated;
    if (answer) {
      if (auto accepted = sdp::acceptAnswer(*pendingOffer_, *answer)) {
        negotiated = std::move(*accepted);
      }
    }
    pendingOffer_.reset();
    if (!negotiated) {
      // No usable answer: the session cannot go on (RFC 3261 §13.2.1 leaves BYE as the way out).
      hangUp("no usable SDP answer in the ACK", true);
      return;
    }
    negotiated_ = std::move(negotiated);
    if (!applyMedia()) {
      hangUp("the media mixer could not take the session answered in the ACK", true);
      return;
    }
  }
  if (joined_ && !ending_) {
    listener_.onConfirmed(*this);
  }
}

bool Call::applyMedia() {
  if (!negotiated_) {
    return false;
  }
  auto params = toMediaParams(*negotiated_, ssrc_, signallingHosts_);
  if (!params) {
    return false;
  }
  params->participant.controls = mixerControls(controls_);
  params->participant.noiseSuppression = settings_.noiseSuppression;
  params->participant.automaticGain = settings_.automaticGain;
  // What the debug log says of the leg: codec, direction, SRTP.
  const sdp::Negotiated& n = *negotiated_;
  const std::string what = n.codec.name + "/" + std::to_string(n.codec.clockRate) +
                           (n.srtp ? " SRTP" : "") + (params->sending ? "" : " on hold") +
                           (params->receiving ? "" : " not receiving");
  if (joined_) {
    const bool ok = mixer_.update(media_.id, *params);
    listener_.onMediaChange(*this, (ok ? "updated: " : "update refused by the mixer: ") + what);
    return ok;
  }
  joined_ = mixer_.join(media_.id, mix_->id(), *params);
  listener_.onMediaChange(
      *this, (joined_ ? "joined room " + roomId_ + ": " : "join refused by the mixer: ") + what);
  return joined_;
}

void Call::moveTo(std::string roomId, std::shared_ptr<RoomMix> mix, Stage stage) {
  roomId_ = std::move(roomId);
  stage_ = stage;
  if (mix == mix_) {
    return;
  }
  if (joined_ && !mixer_.canMove(media_.id, mix->id())) {
    // The new mix runs on another mixer: new ports there, and the phone is told (as after a
    // mixer failure); the answer joins it to the new mix.
    auto where = mixer_.relocate(media_.id, mix->id());
    mix_ = std::move(mix);
    if (!where) {
      hangUp("the media mixer could not move the call", true);
      return;
    }
    relocateMedia(*where);
    return;
  }
  // Not joined yet (an offerless INVITE waiting for the ACK's answer): it joins the new mix.
  if (joined_) {
    if (!mixer_.move(media_.id, mix->id())) {
      hangUp("the media mixer could not move the call", true);
      return;
    }
    // The mixer's move keeps the leg's settings from its join; what was set since goes again.
    mixer_.setControls(media_.id, mixerControls(controls_));
    listener_.onMediaChange(*this, "moved to room " + roomId_);
  }
  mix_ = std::move(mix);  // the old mix goes when nobody else is in it
}

void Call::relocateMedia(const mixer::Reservation& where) {
  if (ending_) {
    return;
  }
  if (!negotiated_ || lastSdp_.empty()) {
    hangUp("the media mixer was lost before the call had media", true);
    return;
  }
  media_.rtpPort = where.rtpPort;
  media_.address = where.address;
  local_.rtpPort = where.rtpPort;
  if (!where.address.empty()) {
    local_.address = where.address;
  }
  // The new endpoint is in no mix until the phone has its address: the answer joins it.
  joined_ = false;
  // RFC 3711 §9.1: a key must not protect two packets with the same index. The new mixer starts
  // its stream afresh, so the old key (and, to be safe, the old SSRC) are not carried over.
  if (!local_.srtpKeyMaterial.empty() &&
      RAND_bytes(local_.srtpKeyMaterial.data(), static_cast<int>(local_.srtpKeyMaterial.size())) !=
          1) {
    hangUp("no random bytes for a new SRTP key", true);
    return;
  }
  ssrc_ = static_cast<uint32_t>(std::random_device{}());
  relocationPending_ = true;
  listener_.onMediaChange(*this,
                          "media moving to another mixer, port " + std::to_string(where.rtpPort));
  sendRelocation();
}

void Call::sendRelocation() {
  if (ending_ || !relocationPending_) {
    return;
  }
  // One INVITE transaction at a time each way (RFC 3261 §14.1): after our refresh or their
  // re-INVITE (until its ACK, with an offer of ours until that answer) is done.
  if (refresh_ != nullptr || awaitingAckFor_ || pendingOffer_) {
    if (relocationTimer_ == 0) {
      relocationTimer_ = timers_.schedule(std::chrono::milliseconds(50), [this] {
        relocationTimer_ = 0;
        sendRelocation();
      });
    }
    return;
  }
  auto last = sdp::SessionDescription::parse(lastSdp_);
  if (!last) {
    hangUp("our last SDP does not parse again", true);
    return;
  }
  relocationPending_ = false;
  sdp::SessionDescription offer = sdp::reoffer(*last, negotiated_->mediaIndex, local_);
  stampVersion(offer);
  sip::Message request = dialog_.makeRequest("INVITE");
  request.add("Contact", contact_);
  request.add("Supported", std::string(kSupported));
  // A re-INVITE is a session refresh too (RFC 4028 §1): without Session-Expires the phone could
  // take it as turning the timer off, and stop refreshing a session we would then expire.
  addSessionExpires(request);
  request.add("Content-Type", "application/sdp");
  request.body = offer.serialize();
  lastSdp_ = request.body;
  relocationOffer_ = std::move(offer);
  refresh_ = layer_.sendRequest(std::move(request), dialog_.destination(), this);
}

void Call::onRelocationAnswer(const sip::Message& response) {
  sdp::SessionDescription offer = std::move(*relocationOffer_);
  relocationOffer_.reset();
  if (response.status == 491) {
    // RFC 3261 §14.1: our re-INVITE crossed theirs; try again after a random 0 to 2 s.
    relocationPending_ = true;
    const auto wait = std::chrono::milliseconds(std::random_device{}() % 2001);
    relocationTimer_ = timers_.schedule(wait, [this] {
      relocationTimer_ = 0;
      sendRelocation();
    });
    return;
  }
  if (response.status >= 300) {
    hangUp("the phone refused the new media address (" + std::to_string(response.status) + ")",
           true);
    return;
  }
  auto answer = sdp::SessionDescription::parse(response.body);
  if (!answer) {
    hangUp("no usable SDP answer to the new media address", true);
    return;
  }
  auto accepted = sdp::acceptAnswer(offer, *answer);
  if (!accepted) {
    hangUp("the answer to the new media address is not usable: " + accepted.error().reason, true);
    return;
  }
  negotiated_ = std::move(*accepted);
  if (!applyMedia()) {
    hangUp("the new media mixer could not take the call", true);
    return;
  }
  // It carried Session-Expires: a refresh too (RFC 4028 §10), and the timers start over.
  armSessionTimer();
}

void Call::setControls(const Controls& controls) {
  if (joined_ && controls != controls_) {
    mixer_.setControls(media_.id, mixerControls(controls));
  }
  controls_ = controls;  // a call not yet in the mix joins with them
}

void Call::onRequest(txn::ServerTransaction& transaction) {
  const sip::Message& request = transaction.request();
  if (auto order = dialog_.acceptRemoteCSeq(request); !order) {
    transaction.respond(sip::errorResponse(request, order.error(), dialog_.localTag()));
    return;
  }
  const std::string& method = request.method;
  if (method == "BYE") {
    transaction.respond(sip::makeResponse(request, 200, "OK", dialog_.localTag()));
    endedByPeer_ = true;
    finish("caller hung up");
    return;
  }
  if (ending_) {
    transaction.respond(sip::makeResponse(request, 481, {}, dialog_.localTag()));
    return;
  }
  if (method == "INVITE") {
    if (refresh_ != nullptr || awaitingAckFor_) {
      // RFC 3261 §14.2: an offer crossing ours (or one still unacknowledged) gets 491.
      transaction.respond(sip::makeResponse(request, 491, "Request Pending", dialog_.localTag()));
      return;
    }
    dialog_.refreshTarget(request);
    answerInvite(transaction);
    return;
  }
  if (method == "UPDATE") {
    // RFC 3311 §5.2: an UPDATE may carry an offer; it also refreshes the session (RFC 4028).
    dialog_.refreshTarget(request);
    auto timer = negotiateSessionTimer(transaction);
    if (!timer) {
      return;
    }
    std::string body;
    if (!request.body.empty() && !handleSdp(transaction, body)) {
      return;
    }
    sessionTimer_ = *timer;
    transaction.respond(okResponse(request, std::move(body)));
    armSessionTimer();
    return;
  }
  if (const auto type = request.contentType();
      method == "INFO" && !request.body.empty() && type && isDtmfInfoType(*type)) {
    // A key press as SIP INFO (the legacy usage RFC 6086 §9 leaves alone: phones that cannot
    // send RFC 4733 events send application/dtmf-relay or application/dtmf).
    auto key = parseDtmfInfo(*type, request.body);
    if (const auto* error = std::get_if<DtmfInfoError>(&key)) {
      transaction.respond(
          sip::errorResponse(request, sip::Error{400, error->reason}, dialog_.localTag()));
      return;
    }
    transaction.respond(sip::makeResponse(request, 200, "OK", dialog_.localTag()));
    listener_.onKey(*this, std::get<char>(key));
    return;
  }
  if (method == "MESSAGE" || method == "REFER") {
    listener_.onDialogRequest(*this, transaction);
    return;
  }
  if (method == "INFO" || method == "OPTIONS") {
    // INFO without an Info-Package (RFC 6086 §9: legacy use) is accepted; DTMF comes as RTP.
    sip::Message ok = sip::makeResponse(request, 200, "OK", dialog_.localTag());
    if (method == "OPTIONS") {
      addCapabilities(ok);
    }
    transaction.respond(std::move(ok));
    return;
  }
  sip::Message refused = sip::makeResponse(request, 405, {}, dialog_.localTag());
  refused.add("Allow", std::string(kAllow));
  transaction.respond(std::move(refused));
}

void Call::armSessionTimer() {
  timers_.cancel(sessionTimerId_);
  sessionTimerId_ = 0;
  if (!sessionTimer_) {
    return;
  }
  if (sessionTimer_->refresher() == dialog::SessionTimer::Refresher::kUas) {
    sessionTimerId_ = timers_.schedule(sessionTimer_->refreshAfter(), [this] {
      sessionTimerId_ = 0;
      refreshSession();
    });
  } else {
    // RFC 4028 §10: the refresher missed its refresh: end the session.
    sessionTimerId_ = timers_.schedule(sessionTimer_->expireAfter(), [this] {
      sessionTimerId_ = 0;
      hangUp("session timer expired", true);
    });
  }
}

void Call::addSessionExpires(sip::Message& request) const {
  if (!sessionTimer_) {
    return;
  }
  // In a request of ours we are the UAC (RFC 4028 §7.4): the roles named in the initial INVITE
  // swap, and whoever refreshed goes on refreshing.
  const bool weRefresh = sessionTimer_->refresher() == dialog::SessionTimer::Refresher::kUas;
  request.add("Session-Expires", std::to_string(sessionTimer_->interval()) +
                                     (weRefresh ? ";refresher=uac" : ";refresher=uas"));
}

void Call::refreshSession() {
  if (ending_ || refresh_ != nullptr) {
    return;
  }
  // RFC 4028 §7.4: UPDATE without a body when the peer allows it, else a re-INVITE with the
  // same session description.
  sip::Message request = dialog_.makeRequest(peerAllowsUpdate_ ? "UPDATE" : "INVITE");
  addSessionExpires(request);
  request.add("Supported", std::string(kSupported));
  request.add("Contact", contact_);
  if (request.method == "INVITE" && !lastSdp_.empty()) {
    request.add("Content-Type", "application/sdp");
    request.body = lastSdp_;
  }
  refresh_ = layer_.sendRequest(std::move(request), dialog_.destination(), this);
}

bool Call::startAnswered(const sdp::SessionDescription& offer, sdp::Negotiated media) {
  lastSdp_ = offer.serialize();
  negotiated_ = std::move(media);
  confirmed_ = true;
  if (!applyMedia()) {
    hangUp("the media mixer could not take the answered session", true);
    return false;
  }
  return true;
}

void Call::sendMessage(const std::string& contentType, std::string body) {
  if (ending_) {
    return;
  }
  sip::Message message = dialog_.makeRequest("MESSAGE");
  message.add("Content-Type", contentType);
  message.body = std::move(body);
  layer_.sendRequest(std::move(message), dialog_.destination(), nullptr);
}

bool Call::onHold() const {
  return negotiated_ && (negotiated_->remoteDirection == sdp::Direction::kSendOnly ||
                         negotiated_->remoteDirection == sdp::Direction::kInactive);
}

void Call::hangUp(std::string reason, bool failure) {
  if (ending_) {
    return;
  }
  ending_ = true;
  failed_ = failure;
  endReason_ = std::move(reason);
  for (auto* id : {&okTimer_, &ackTimeout_, &sessionTimerId_}) {
    timers_.cancel(*id);
    *id = 0;
  }
  sip::Message bye = dialog_.makeRequest("BYE");
  bye_ = layer_.sendRequest(std::move(bye), dialog_.destination(), this);
}

void Call::onResponse(txn::ClientTransaction& transaction, const sip::Message& response) {
  if (&transaction == bye_) {
    if (response.status >= 200) {
      bye_ = nullptr;
      finish(endReason_);
    }
    return;
  }
  if (&transaction == refresh_) {
    if (response.status < 200) {
      return;
    }
    if (response.status < 300 && transaction.request().method == "INVITE") {
      auto cseq = transaction.request().cseq();
      layer_.sendAck(dialog_.makeAck(cseq->number), dialog_.destination());
    }
    refresh_ = nullptr;
    if (relocationOffer_) {
      onRelocationAnswer(response);
      return;
    }
    if (response.status == 408 || response.status == 481) {
      hangUp("session refresh refused", true);  // RFC 4028 §10: the session is gone at the far end
      return;
    }
    armSessionTimer();
  }
}

void Call::onTimeout(txn::ClientTransaction& transaction) {
  if (&transaction == bye_) {
    bye_ = nullptr;
    finish(endReason_ + " (BYE unanswered)");
  } else if (&transaction == refresh_) {
    refresh_ = nullptr;
    hangUp(relocationOffer_ ? "the re-INVITE to the new media address went unanswered"
                            : "session refresh unanswered",
           true);
  }
}

void Call::finish(std::string reason) {
  ending_ = true;
  endReason_ = std::move(reason);
  for (auto* id : {&okTimer_, &ackTimeout_, &sessionTimerId_}) {
    timers_.cancel(*id);
    *id = 0;
  }
  if (finishTimer_ == 0) {
    finishTimer_ = timers_.schedule(std::chrono::milliseconds(0), [this] {
      finishTimer_ = 0;
      listener_.onCallEnded(*this);
    });
  }
}

}  // namespace confab::room
