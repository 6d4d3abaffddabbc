#include "focus/transport/Addressing.hpp"

#include <charconv>

#include "focus/sip/Message.hpp"

namespace confab::transport {

namespace ip = boost::asio::ip;

std::string_view viaTransport(Protocol protocol) {
  switch (protocol) {
    case Protocol::kUdp:
      return "UDP";
    case Protocol::kTcp:
      return "TCP";
    case Protocol::kTls:
      return "TLS";
  }
  return "UDP";
}

std::optional<Protocol> protocolFromVia(std::string_view token) {
  // RFC 3261 §7.1: tokens compare case-insensitively.
  if (sip::iequals(token, "UDP")) {
    return Protocol::kUdp;
  }
  if (sip::iequals(token, "TCP")) {
    return Protocol::kTcp;
  }
  if (sip::iequals(token, "TLS")) {
    return Protocol::kTls;
  }
  return std::nullopt;
}

std::string_view protocolName(Protocol protocol) {
  return viaTransport(protocol);
}

std::string hostText(const ip::address& address) {
  if (address.is_v6()) {
    return "[" + address.to_string() + "]";
  }
  return address.to_string();
}

std::string Endpoint::str() const {
  return hostText(address) + ":" + std::to_string(port);
}

std::string SentBy::hostPort() const {
  return host + ":" + std::to_string(port);
}

std::optional<ip::address> parseIpLiteral(std::string_view host) {
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  if (host.empty()) {
    return std::nullopt;
  }
  boost::system::error_code ec;
  ip::address address = ip::make_address(std::string(host), ec);
  if (ec) {
    return std::nullopt;
  }
  return address;
}

std::string contactScheme(Protocol protocol) {
  return protocol == Protocol::kTls ? "sips:" : "sip:";
}

std::string contactTransportParam(Protocol protocol) {
  return protocol == Protocol::kTcp ? ";transport=tcp" : "";
}

std::optional<Endpoint> parseEndpoint(std::string_view text) {
  std::string_view host = text;
  std::string_view port;
  if (!text.empty() && text.front() == '[') {
    const auto close = text.find(']');
    if (close == std::string_view::npos) {
      return std::nullopt;
    }
    host = text.substr(0, close + 1);
    std::string_view rest = text.substr(close + 1);
    if (!rest.empty()) {
      if (rest.front() != ':') {
        return std::nullopt;
      }
      port = rest.substr(1);
    }
  } else if (const auto colon = text.find(':');
             colon != std::string_view::npos &&
             text.find(':', colon + 1) == std::string_view::npos) {
    // One colon: IPv4 with a port. More than one: a bare IPv6 address without a port.
    host = text.substr(0, colon);
    port = text.substr(colon + 1);
  }
  auto address = parseIpLiteral(host);
  if (!address) {
    return std::nullopt;
  }
  Endpoint endpoint{*address, 0};
  if (!port.empty() || (text.size() > host.size())) {
    const auto value = sip::parseDecimal(port, 65535);
    if (!value) {
      return std::nullopt;
    }
    endpoint.port = static_cast<std::uint16_t>(*value);
  }
  return endpoint;
}

}  // namespace confab::transport
