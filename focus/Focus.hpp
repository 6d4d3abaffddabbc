// The conference focus, assembled: transports, transaction layer and the rooms' UAS on one
// io_context (one signalling shard). This is the focus library's face to main and the API.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <deque>
#include <memory>
#include <unordered_map>
#include <vector>

#include "focus/Drain.hpp"
#include "focus/register/Registration.hpp"
#include "focus/room/Uas.hpp"
#include "focus/timer/Timers.hpp"
#include "focus/transport/TransportLayer.hpp"
#include "focus/txn/TransactionLayer.hpp"
#include "mixer/engine/Control.hpp"
#include "policy/Room.hpp"

namespace confab {

struct FocusSettings {
  transport::TransportConfig transport;
  txn::Settings timers;
  room::UasSettings uas;
};

// What the focus tells its owner: calls (via room::CallObserver) and, for tracing, every SIP
// message in and out.
class FocusObserver : public room::CallObserver {
 public:
  virtual void onSipMessage(bool inbound, const std::string& wire, const std::string& peer) = 0;
  // Every SIP message in or out, for a one-line debug log (no serializing).
  virtual void onSipSummary(bool /*inbound*/,
                            const sip::Message& /*message*/,
                            const std::string& /*peer*/) {}
  // Whether onSipMessage is wanted at all (serializing for a trace costs).
  [[nodiscard]] virtual bool tracesSip() const = 0;

 protected:
  ~FocusObserver() = default;
};

class Focus final : private transport::TransportLayer::Listener, private txn::Wire {
 public:
  // 'mixer' runs the rooms' media; its events are read on 'io'.
  Focus(boost::asio::io_context& io,
        FocusSettings settings,
        const policy::RoomSource& rooms,
        mixer::Control& mixer,
        FocusObserver* observer = nullptr);
  ~Focus();
  Focus(const Focus&) = delete;
  Focus& operator=(const Focus&) = delete;

  // Binds every listening point; throws std::system_error naming what failed.
  void start();
  // Sends BYE on every call; the caller keeps the io_context running a moment for them to go.
  void hangUpAll() { uas_->hangUpAll(); }
  // A stop (SIGTERM; issue 14 item 2): BYE on every call, CANCEL on every call being placed,
  // the subscriptions ended, every binding removed; then 'done' once each of those requests has
  // its final answer, or after 'bound' with the number still unanswered (Drain). The caller
  // stops the focus and the io_context in 'done'.
  void shutDown(std::chrono::milliseconds bound, Drain::Done done);
  // A configuration reload (SIGHUP): the limits that may change while calls are up
  // (TransportLayer::reconfigure, room::Uas::reconfigure).
  void reconfigure(const FocusSettings& next);
  void stop();

  // Registers a room address with a registrar (issue 12 item 4): the first REGISTER goes once
  // start() has bound the transports (at once if it has). An empty contactHost takes the Contact
  // host calls use (UasSettings' call.contactHost).
  registration::Registration& addRegistration(registration::Settings settings,
                                              registration::Registration::Listener* listener);
  // Removes every binding (Expires: 0); the caller keeps the io_context running a moment for
  // the answers, as for hangUpAll().
  void unregisterAll();
  [[nodiscard]] const std::vector<std::unique_ptr<registration::Registration>>& registrations()
      const {
    return registrations_;
  }

  [[nodiscard]] const transport::TransportLayer& transports() const { return *transports_; }
  [[nodiscard]] const room::Uas& uas() const { return *uas_; }
  [[nodiscard]] room::Uas& uas() { return *uas_; }

 private:
  // TransportLayer::Listener
  void onMessage(sip::Message&& message, const transport::Source& source) override;
  void onBadMessage(const sip::ParseFailure& failure, const transport::Source& source) override;
  void onLimit(std::string_view event, const transport::Source& source) override;
  void onSendFailed(transport::SendId id, const std::string& reason) override;
  // txn::Wire
  void sendResponse(const sip::Message& response, const transport::Source& to) override;
  void sendRequest(const sip::Message& request, const transport::Destination& to) override;
  [[nodiscard]] transport::SentBy sentBy(transport::Protocol protocol) const override;
  void holdConnection(transport::ConnectionId connection, bool held) override;
  void waitForMixerEvents();

  FocusSettings settings_;
  FocusObserver* observer_;
  timer::AsioTimers timers_;
  mixer::Control& mixer_;
  boost::asio::posix::stream_descriptor mixerEvents_;
  std::unique_ptr<transport::TransportLayer> transports_;
  // Declared before the UAS so that it is destroyed after it: calls hold pointers to their
  // client transactions, which the layer owns.
  std::unique_ptr<txn::TransactionLayer> layer_;
  // Requests sent and not known to have failed, by send: their transaction (branch, method),
  // for a transport error reported later. The oldest are forgotten past a bound (they went).
  struct Sent {
    std::string branch;
    std::string method;
  };
  std::unordered_map<transport::SendId, Sent> sent_;
  std::deque<transport::SendId> sentOrder_;
  static constexpr std::size_t kMaxSentRemembered = 4096;
  std::unique_ptr<room::Uas> uas_;
  std::unique_ptr<Drain> drain_;  // what a shutDown sent, until answered
  // After the layer: destroyed first, they let go of their transactions.
  std::vector<std::unique_ptr<registration::Registration>> registrations_;
  bool started_ = false;
};

}  // namespace confab
