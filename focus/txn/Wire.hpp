// What the transaction layer needs from the transports: send a response back the way its
// request came (RFC 3261 §18.2.2), send a request to a destination, and our sent-by for Vias.
#pragma once

#include "focus/sip/Message.hpp"
#include "focus/transport/Addressing.hpp"

namespace confab::txn {

class Wire {
 public:
  virtual void sendResponse(const sip::Message& response,
                            const transport::Source& requestSource) = 0;
  virtual void sendRequest(const sip::Message& request, const transport::Destination& to) = 0;
  [[nodiscard]] virtual transport::SentBy sentBy(transport::Protocol protocol) const = 0;
  // A call holds (or lets go of) the stream connection it came on: see
  // TransportLayer::holdConnection. Nothing to do for datagrams.
  virtual void holdConnection(transport::ConnectionId /*connection*/, bool /*held*/) {}

 protected:
  ~Wire() = default;
};

}  // namespace confab::txn
