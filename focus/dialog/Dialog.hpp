// Dialog state (RFC 3261 §12): identifiers, sequence numbers, remote target and route set, and
// building in-dialog requests.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "focus/sip/Message.hpp"
#include "focus/sip/Result.hpp"
#include "focus/transport/Addressing.hpp"

namespace confab::dialog {

class Dialog {
 public:
  // RFC 3261 §12.1.1: the UAS side, from the INVITE and the To tag we chose.
  static sip::Result<Dialog> asUas(const sip::Message& request, std::string localTag,
                                   const transport::Source& source);

  // RFC 3261 §12.1.2: the UAC side, from the request we sent and a 2xx (or 1xx with a To tag)
  // that came back; 'to' is where the request went.
  static sip::Result<Dialog> asUac(const sip::Message& request, const sip::Message& response,
                                   const transport::Destination& to);

  // RFC 3261 §12.2.2: an in-dialog request must not go backwards in CSeq (500 when it does).
  // Updates the remote sequence number when it is accepted.
  sip::Result<std::monostate> acceptRemoteCSeq(const sip::Message& request);
  // RFC 3261 §12.2.2: a target refresh request (re-INVITE, UPDATE) replaces the remote target.
  void refreshTarget(const sip::Message& request);

  // RFC 3261 §12.2.1.1: a new request within the dialog with the next local CSeq.
  sip::Message makeRequest(const std::string& method);
  // RFC 3261 §13.2.2.4: the ACK for a 2xx carries the INVITE's CSeq number.
  [[nodiscard]] sip::Message makeAck(uint32_t inviteSeq) const;
  // Where in-dialog requests go: the first route if there is a route set, else back along the
  // flow the dialog came in on (symmetric, so NATed phones are reached; RFC 5626 §5.3).
  [[nodiscard]] transport::Destination destination() const;

  [[nodiscard]] const std::string& callId() const { return callId_; }
  [[nodiscard]] const std::string& localTag() const { return localTag_; }
  [[nodiscard]] const std::string& remoteTag() const { return remoteTag_; }
  // Their From (UAS) or To (UAC) value, with their tag: who they are, for people to read.
  [[nodiscard]] const std::string& remoteUri() const { return remoteUri_; }
  // Their Contact: where in-dialog requests are addressed (RFC 3261 §12.1.1).
  [[nodiscard]] const sip::Uri& remoteTarget() const { return remoteTarget_; }
  [[nodiscard]] std::string key() const { return key(callId_, localTag_, remoteTag_); }
  static std::string key(const std::string& callId, const std::string& localTag,
                         const std::string& remoteTag);
  [[nodiscard]] uint32_t localSeq() const { return localSeq_; }
  [[nodiscard]] const transport::Source& source() const { return source_; }

 private:
  std::string callId_;
  std::string localTag_;
  std::string remoteTag_;
  std::string localUri_;   // our To value, with our tag
  std::string remoteUri_;  // their From value, with their tag
  uint32_t localSeq_ = 0;
  std::optional<uint32_t> remoteSeq_;
  sip::Uri remoteTarget_;
  std::vector<std::string> routeSet_;
  transport::Source source_;
  std::optional<transport::Destination> uacDestination_;  // where our INVITE went, for a UAC
};

}  // namespace confab::dialog
