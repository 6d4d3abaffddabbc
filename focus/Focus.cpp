#include "focus/Focus.hpp"

#include <unistd.h>

#include "focus/sip/Response.hpp"

namespace confab {

Focus::Focus(boost::asio::io_context& io,
             FocusSettings settings,
             const policy::RoomSource& rooms,
             mixer::Control& mixer,
             FocusObserver* observer)
    : settings_(std::move(settings)),
      observer_(observer),
      timers_(io),
      mixer_(mixer),
      mixerEvents_(io, ::dup(mixer.eventFd())) {
  transports_ = std::make_unique<transport::TransportLayer>(
      io, settings_.transport, static_cast<transport::TransportLayer::Listener&>(*this));
  // The UAS and the transaction layer point at each other; the UAS gets the layer once built.
  txn::TransactionLayer* pending = nullptr;
  uas_ = std::make_unique<room::Uas>(pending, timers_, rooms, mixer_, settings_.uas);
  layer_ = std::make_unique<txn::TransactionLayer>(static_cast<txn::Wire&>(*this), timers_,
                                                   settings_.timers, *uas_);
  uas_->attach(*layer_);
  uas_->observe(observer_);
  drain_ = std::make_unique<Drain>(timers_, [this] { return layer_->awaitingAnswers(); });
}

Focus::~Focus() {
  stop();
}

void Focus::start() {
  transports_->start();
  waitForMixerEvents();
  started_ = true;
  for (auto& registration : registrations_) {
    registration->start();
  }
}

registration::Registration& Focus::addRegistration(
    registration::Settings settings,
    registration::Registration::Listener* listener) {
  if (settings.contactHost.empty()) {
    settings.contactHost = settings_.uas.call.contactHost;
  }
  registrations_.push_back(
      std::make_unique<registration::Registration>(std::move(settings), *layer_, timers_, listener));
  if (started_) {
    registrations_.back()->start();
  }
  return *registrations_.back();
}

void Focus::shutDown(std::chrono::milliseconds bound, Drain::Done done) {
  uas_->hangUpAll();
  unregisterAll();
  drain_->start(bound, std::move(done));
}

void Focus::reconfigure(const FocusSettings& next) {
  transports_->reconfigure(next.transport);
  uas_->reconfigure(next.uas);
}

void Focus::unregisterAll() {
  for (auto& registration : registrations_) {
    registration->stop();
  }
}

void Focus::waitForMixerEvents() {
  // Mixer threads signal an eventfd; the events themselves are handled here, on our thread.
  mixerEvents_.async_wait(boost::asio::posix::stream_descriptor::wait_read,
                          [this](const boost::system::error_code& ec) {
                            if (ec) {
                              return;
                            }
                            mixer_.deliverEvents(*uas_);
                            waitForMixerEvents();
                          });
}

void Focus::stop() {
  boost::system::error_code ignored;
  mixerEvents_.cancel(ignored);
  if (transports_) {
    transports_->stop();
  }
}

void Focus::onMessage(sip::Message&& message, const transport::Source& source) {
  if (observer_ != nullptr) {
    observer_->onSipSummary(true, message, source.remote.str());
    if (observer_->tracesSip()) {
      observer_->onSipMessage(true, message.serialize(), source.remote.str());
    }
  }
  if (message.isRequest()) {
    layer_->receiveRequest(std::move(message), source);
  } else {
    layer_->receiveResponse(std::move(message), source);
  }
}

void Focus::onLimit(std::string_view event, const transport::Source& source) {
  if (observer_ != nullptr) {
    observer_->onLimit(event, source.remote.str());
  }
}

void Focus::onBadMessage(const sip::ParseFailure& failure, const transport::Source& source) {
  // RFC 3261 §21.4.1: a request we cannot parse gets 400 (or 505, 501...) with the reason;
  // responses and unanswerable requests are dropped (the transports count them).
  if (failure.partial) {
    sendResponse(sip::errorResponse(*failure.partial, failure.error, layer_->randomToken(10)),
                 source);
  }
}

void Focus::sendResponse(const sip::Message& response, const transport::Source& to) {
  if (observer_ != nullptr) {
    observer_->onSipSummary(false, response, to.remote.str());
    if (observer_->tracesSip()) {
      observer_->onSipMessage(false, response.serialize(), to.remote.str());
    }
  }
  (void)transports_->sendResponse(response, to);
}

void Focus::sendRequest(const sip::Message& request, const transport::Destination& to) {
  if (observer_ != nullptr) {
    const std::string peer = to.host + ":" + std::to_string(to.port);
    observer_->onSipSummary(false, request, peer);
    if (observer_->tracesSip()) {
      observer_->onSipMessage(false, request.serialize(), peer);
    }
  }
  auto sent = transports_->send(request, to);
  auto via = request.topVia();
  if (!via) {
    return;
  }
  if (!sent) {
    // Refused at once (no host, too large for UDP): the transaction hears it from the
    // io_context, not from inside the send its user is making.
    timers_.schedule(std::chrono::milliseconds(0),
                     [this, branch = via->branch(), method = request.method,
                      reason = sent.error().reason] {
                       layer_->transportFailed(branch, method, reason);
                     });
    return;
  }
  sent_.emplace(*sent, Sent{via->branch(), request.method});
  sentOrder_.push_back(*sent);
  if (sentOrder_.size() > kMaxSentRemembered) {
    sent_.erase(sentOrder_.front());
    sentOrder_.pop_front();
  }
}

void Focus::onSendFailed(transport::SendId id, const std::string& reason) {
  auto found = sent_.find(id);
  if (found == sent_.end()) {
    return;  // a response, or one forgotten long ago
  }
  const Sent what = found->second;
  sent_.erase(found);
  layer_->transportFailed(what.branch, what.method, reason);
}

void Focus::holdConnection(transport::ConnectionId connection, bool held) {
  transports_->holdConnection(connection, held);
}

transport::SentBy Focus::sentBy(transport::Protocol protocol) const {
  // The transports decide, so that the responses they let through (RFC 3261 §18.1.2) are the
  // ones to the Vias we write.
  return transports_->requestSentBy(protocol);
}

}  // namespace confab
