#include "focus/dialog/Dialog.hpp"

#include <random>

namespace confab::dialog {

sip::Result<Dialog> Dialog::asUas(const sip::Message& request, std::string localTag,
                                  const transport::Source& source) {
  Dialog d;
  auto from = request.from();
  auto to = request.to();
  auto cseq = request.cseq();
  if (!from || !to || !cseq) {
    return sip::badRequest("request cannot start a dialog");
  }
  const auto contacts = request.headers("Contact");
  if (contacts.size() > 1) {
    // RFC 3261 §8.1.1.8: a dialog-creating request carries exactly one Contact.
    return sip::badRequest("more than one Contact");
  }
  // An RFC 2543 peer may leave Contact out (RFC 4475 §3.4.1): its From is then the target.
  auto contact = contacts.empty() ? from : sip::NameAddr::parse(contacts.front());
  if (!contact || contact->star) {
    return sip::badRequest("malformed Contact");
  }
  d.callId_ = request.callId();
  d.localTag_ = std::move(localTag);
  d.remoteTag_ = from->tag();
  // RFC 3261 §12.1.1: the route set is the Record-Route list, in order.
  for (auto route : request.headers("Record-Route")) {
    d.routeSet_.emplace_back(route);
  }
  d.remoteTarget_ = contact->uri;
  d.remoteSeq_ = cseq->number;
  // RFC 3261 §8.1.1.5 asks for a CSeq below 2^31; start at a random point in that range.
  d.localSeq_ = static_cast<uint32_t>(std::random_device{}() % 100000u) + 1u;
  sip::NameAddr local = *to;
  local.setParam("tag", d.localTag_);
  d.localUri_ = local.str();
  d.remoteUri_ = from->str();
  d.source_ = source;
  return d;
}

sip::Result<Dialog> Dialog::asUac(const sip::Message& request, const sip::Message& response,
                                  const transport::Destination& to) {
  auto from = request.from();
  auto remote = response.to();
  auto cseq = request.cseq();
  if (!from || !remote || !cseq || remote->tag().empty()) {
    return sip::badRequest("response cannot establish a dialog");
  }
  Dialog d;
  d.callId_ = request.callId();
  d.localTag_ = from->tag();
  d.remoteTag_ = remote->tag();
  d.localSeq_ = cseq->number;
  // RFC 3261 §12.1.2: the route set is the response's Record-Route in reverse order.
  const auto recordRoutes = response.headers("Record-Route");
  for (auto it = recordRoutes.rbegin(); it != recordRoutes.rend(); ++it) {
    d.routeSet_.emplace_back(*it);
  }
  const auto contacts = response.headers("Contact");
  auto contact = contacts.size() == 1 ? sip::NameAddr::parse(contacts.front())
                                      : sip::Result<sip::NameAddr>(sip::badRequest("no Contact"));
  d.remoteTarget_ = contact && !contact->star ? contact->uri : request.requestUri;
  d.localUri_ = from->str();
  d.remoteUri_ = remote->str();
  d.uacDestination_ = to;
  d.source_.protocol = to.protocol;
  return d;
}

sip::Result<std::monostate> Dialog::acceptRemoteCSeq(const sip::Message& request) {
  auto cseq = request.cseq();
  if (!cseq) {
    return sip::badRequest("malformed CSeq");
  }
  if (request.method == "ACK" || request.method == "CANCEL") {
    return std::monostate{};  // they reuse the CSeq number of the request they belong to
  }
  if (remoteSeq_ && cseq->number <= *remoteSeq_) {
    return sip::Error{500, "CSeq out of order"};
  }
  remoteSeq_ = cseq->number;
  return std::monostate{};
}

void Dialog::refreshTarget(const sip::Message& request) {
  const auto contacts = request.headers("Contact");
  if (contacts.size() != 1) {
    return;
  }
  if (auto contact = sip::NameAddr::parse(contacts.front()); contact && !contact->star) {
    remoteTarget_ = contact->uri;
  }
}

std::string Dialog::key(const std::string& callId, const std::string& localTag,
                        const std::string& remoteTag) {
  return callId + '\n' + localTag + '\n' + remoteTag;
}

sip::Message Dialog::makeRequest(const std::string& method) {
  ++localSeq_;
  sip::Message request = makeAck(localSeq_);
  request.method = method;
  request.set("CSeq", std::to_string(localSeq_) + " " + method);
  return request;
}

sip::Message Dialog::makeAck(uint32_t inviteSeq) const {
  sip::Message request = sip::Message::request("ACK", remoteTarget_);
  // RFC 3261 §12.2.1.1: with a loose-routing first route (;lr) the Request-URI is the remote
  // target and the route set goes into Route as it is.
  for (const auto& route : routeSet_) {
    request.add("Route", route);
  }
  request.add("Max-Forwards", "70");
  request.add("From", localUri_);
  request.add("To", remoteUri_);
  request.add("Call-ID", callId_);
  request.add("CSeq", std::to_string(inviteSeq) + " ACK");
  return request;
}

transport::Destination Dialog::destination() const {
  transport::Destination to;
  to.protocol = source_.protocol;
  if (!routeSet_.empty()) {
    if (auto route = sip::NameAddr::parse(routeSet_.front())) {
      to.host = route->uri.host;
      to.port = route->uri.port.value_or(0);
      if (const sip::Param* t = route->uri.param("transport"); t && t->value) {
        to.protocol = transport::protocolFromVia(*t->value).value_or(to.protocol);
      }
      return to;
    }
  }
  if (uacDestination_) {
    // We called them: in-dialog requests go to the remote target (RFC 3261 §12.2.1.1), over the
    // transport the dialog was made on.
    to.host = remoteTarget_.host;
    to.port = remoteTarget_.port.value_or(0);
    return to;
  }
  to.host = transport::hostText(source_.remote.address);
  to.port = source_.remote.port;
  return to;
}

}  // namespace confab::dialog
