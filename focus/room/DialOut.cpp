#include "focus/room/DialOut.hpp"

#include "focus/room/Capabilities.hpp"
#include "focus/sip/Headers.hpp"

namespace confab::room {

DialOut::DialOut(DialOutTarget target,
                 sdp::LocalMedia local,
                 txn::TransactionLayer& layer,
                 Locate locate,
                 Authorize authorize,
                 Listener& listener)
    : target_(std::move(target)),
      local_(std::move(local)),
      layer_(layer),
      locate_(std::move(locate)),
      authorize_(std::move(authorize)),
      listener_(listener) {
  offer_ = sdp::offer(local_);
  // RFC 3264 §5: our first SDP of the session; the Call counts on from it.
  local_.sessionVersion = 1;
  offer_.origin.sessionVersion = "1";
  callId_ = layer_.randomToken(20);
  fromTag_ = layer_.randomToken(12);
  requestUri_ = target_.target;
}

DialOut::~DialOut() {
  *alive_ = false;
  if (invite_ != nullptr) {
    invite_->detach();
  }
}

void DialOut::start() {
  sendTo(requestUri_);
}

void DialOut::sendTo(const sip::Uri& requestUri) {
  requestUri_ = requestUri;
  destinations_.clear();
  destination_ = 0;
  located_ = false;
  std::weak_ptr<bool> alive = alive_;
  locate_(requestUri_, [this, alive](std::vector<transport::Destination> found, std::string error) {
    if (alive.expired() || finished_) {
      return;
    }
    if (found.empty()) {
      fail(480, "no place to send the call to: " + error);
      return;
    }
    if (cancelled_) {
      fail(487, "cancelled");
      return;
    }
    destinations_ = std::move(found);
    located_ = true;
    send();
  });
}

void DialOut::send() {
  sip::Message invite = sip::Message::request("INVITE", requestUri_);
  invite.add("Max-Forwards", "70");
  sip::NameAddr from;
  auto roomUri = sip::Uri::parse(target_.roomUri);
  if (roomUri) {
    from.uri = *roomUri;
  }
  if (!target_.displayName.empty()) {
    from.displayName = target_.displayName;
  }
  from.setParam("tag", fromTag_);
  invite.add("From", from.str());
  sip::NameAddr to;
  to.uri = target_.target;
  invite.add("To", to.str());
  invite.add("Call-ID", callId_);
  invite.add("CSeq", std::to_string(++cseq_) + " INVITE");
  // RFC 4579 §5: the focus's Contact is the conference URI with isfocus.
  invite.add("Contact", "<" + target_.contact + ">;isfocus");
  if (!target_.referredBy.empty()) {
    invite.add("Referred-By", "<" + target_.referredBy + ">");  // RFC 3892
  }
  addCapabilities(invite);
  // No "timer" in Supported: a session we placed is not refreshed by us (RFC 4028 §7.1 leaves
  // the refreshing to them then).
  invite.remove("Supported");
  if (credentials_) {
    invite.add(credentials_->first, credentials_->second);
  }
  invite.add("Content-Type", "application/sdp");
  invite.body = offer_.serialize();
  invite_ = layer_.sendRequest(std::move(invite), destinations_[destination_], this);
}

void DialOut::cancel() {
  if (finished_ || cancelled_) {
    return;
  }
  cancelled_ = true;
  if (invite_ == nullptr || !located_) {
    // Nothing sent yet (still resolving): the answer to the lookup ends it.
    if (!located_) {
      return;
    }
    fail(487, "cancelled");
    return;
  }
  // RFC 3261 §9.1: a CANCEL only once something came back; else it goes with the first 1xx.
  if (ringing_) {
    layer_.sendCancel(*invite_, nullptr);
  }
}

void DialOut::onResponse(txn::ClientTransaction& transaction, const sip::Message& response) {
  if (&transaction != invite_ || finished_) {
    // A 2xx retransmitted after we took the first: the Call it became ACKs its own
    // retransmissions (Uas::onStrayResponse).
    return;
  }
  const int status = response.status;
  if (status < 200) {
    if (status > 100) {
      const bool first = !ringing_;
      ringing_ = true;
      if (cancelled_ && first) {
        layer_.sendCancel(*invite_, nullptr);
        return;
      }
      listener_.onProgress(*this, status, response.reason);
    }
    return;
  }
  invite_ = nullptr;  // the transaction ends by itself (ACKs of errors are its job)
  if (status < 300) {
    answered(transaction.request(), response);
    return;
  }
  if (cancelled_) {
    fail(487, "cancelled");
    return;
  }
  if (status >= 300 && status < 400) {
    // RFC 3261 §8.1.3.4: try the Contacts of a redirect; we take the first SIP one.
    if (++redirects_ > kMaxRedirects) {
      fail(482, "too many redirects");
      return;
    }
    for (auto value : response.headers("Contact")) {
      auto contact = sip::NameAddr::parse(value);
      if (contact && !contact->star && contact->uri.isSip() && !contact->uri.host.empty()) {
        sip::Uri next = contact->uri;
        next.headers.clear();  // a redirect does not get to write our headers
        credentials_.reset();
        sendTo(next);
        return;
      }
    }
    fail(status, "redirected nowhere we can call");
    return;
  }
  if ((status == 401 || status == 407) && challenges_ < kMaxChallenges && authorize_) {
    ++challenges_;
    if (auto header = authorize_(response, transaction.request())) {
      credentials_ = std::move(header);
      send();  // RFC 3261 §22.2: the same Call-ID, the next CSeq
      return;
    }
  }
  if (status == 503 || status == 408) {
    nextDestination(status, response.reason);
    return;
  }
  fail(status, response.reason);
}

void DialOut::onTimeout(txn::ClientTransaction& transaction) {
  if (&transaction != invite_ || finished_) {
    return;
  }
  invite_ = nullptr;
  if (cancelled_) {
    fail(487, "cancelled");
    return;
  }
  nextDestination(408, "no answer");
}

void DialOut::nextDestination(int status, const std::string& reason) {
  // RFC 3263 §4.3: a place that does not answer (timeout, 503) is followed by the next one.
  if (++destination_ < destinations_.size()) {
    send();
    return;
  }
  fail(status, reason);
}

void DialOut::answered(const sip::Message& invite, const sip::Message& ok) {
  const transport::Destination to = destinations_[destination_];
  auto dialog = dialog::Dialog::asUac(invite, ok, to);
  std::optional<sdp::Negotiated> negotiated;
  if (auto answer = sdp::SessionDescription::parse(ok.body); answer && dialog) {
    if (auto accepted = sdp::acceptAnswer(offer_, *answer)) {
      negotiated = std::move(*accepted);
    }
  }
  if (!dialog) {
    fail(502, "their 2xx cannot make a dialog");
    return;
  }
  // RFC 3261 §13.2.2.4: the 2xx is ACKed whatever we make of it; no usable answer means a BYE.
  layer_.sendAck(dialog->makeAck(cseq_), dialog->destination());
  if (!negotiated) {
    sip::Message bye = dialog->makeRequest("BYE");
    layer_.sendRequest(std::move(bye), dialog->destination(), nullptr);
    fail(488, "no usable SDP answer in their 2xx");
    return;
  }
  finished_ = true;
  listener_.onAnswered(*this, std::move(*dialog), std::move(*negotiated));
}

void DialOut::fail(int status, std::string reason) {
  if (finished_) {
    return;
  }
  finished_ = true;
  listener_.onFailed(*this, status, reason);
}

}  // namespace confab::room
