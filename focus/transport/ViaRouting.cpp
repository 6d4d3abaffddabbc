#include "focus/transport/ViaRouting.hpp"

namespace confab::transport {

namespace {

std::optional<std::string> paramValue(const sip::Via& via, std::string_view name) {
  const sip::Param* param = via.param(name);
  if (param == nullptr || !param->value || param->value->empty()) {
    return std::nullopt;
  }
  return param->value;
}

}  // namespace

bool stampReceived(sip::Message& request, const Endpoint& from) {
  for (sip::Header& field : request.fields) {
    if (!sip::iequals(field.name, "Via")) {
      continue;
    }
    auto via = sip::Via::parse(field.value);
    if (!via) {
      return false;
    }
    // RFC 3581 §4: an rport without a value asks for the source port, and then received is
    // added even when it equals the sent-by host.
    const sip::Param* rport = via->param("rport");
    const bool fillRport = rport != nullptr && (!rport->value || rport->value->empty());
    const auto sentBy = parseIpLiteral(via->host);
    // RFC 3261 §18.2.1: received is needed when sent-by is a name or a different address. A
    // received value the sender wrote itself is overwritten: only we know the packet's source.
    if (fillRport || !sentBy || *sentBy != from.address || via->param("received") != nullptr) {
      via->setParam("received", from.address.to_string());  // IPv6 without brackets (§20.42)
    }
    if (fillRport) {
      via->setParam("rport", std::to_string(from.port));
    }
    field.value = via->str();
    return true;
  }
  return false;
}

sip::Result<ResponseTarget> responseTarget(const sip::Via& via, Protocol protocol) {
  const std::uint16_t sentByPort = via.port.value_or(defaultPort(protocol));
  if (sentByPort == 0) {
    return sip::Error{503, "Via sent-by port 0"};
  }
  const auto received = paramValue(via, "received");
  if (isReliable(protocol)) {
    // RFC 3261 §18.2.2: the request's connection is gone; open one to received (or the sent-by
    // host) and the sent-by port.
    return ResponseTarget{received.value_or(via.host), sentByPort};
  }
  if (const auto maddr = paramValue(via, "maddr")) {
    return ResponseTarget{*maddr, sentByPort};
  }
  std::uint16_t port = sentByPort;
  if (const auto rport = paramValue(via, "rport")) {
    // RFC 3581 §4: the port the request came from, so the response passes the client's NAT.
    const auto value = sip::parseDecimal(*rport, 65535);
    if (value && *value != 0) {
      port = static_cast<std::uint16_t>(*value);
    }
  }
  return ResponseTarget{received.value_or(via.host), port};
}

}  // namespace confab::transport
