#include "focus/room/MediaParams.hpp"

#include <boost/asio/ip/address.hpp>

#include <cstring>

#include "focus/sip/Message.hpp"

namespace confab::room {

namespace {

std::optional<sockaddr_storage> socketAddress(const std::string& host, uint16_t port) {
  boost::system::error_code ec;
  std::string literal = host;
  if (literal.size() > 2 && literal.front() == '[') {
    literal = literal.substr(1, literal.size() - 2);
  }
  const auto address = boost::asio::ip::make_address(literal, ec);
  if (ec || port == 0 || address.is_unspecified()) {
    return std::nullopt;  // a name, a hold address (c=0.0.0.0) or no port: wait for latching
  }
  sockaddr_storage out{};
  if (address.is_v4()) {
    auto& in = reinterpret_cast<sockaddr_in&>(out);
    in.sin_family = AF_INET;
    in.sin_port = htons(port);
    const auto bytes = address.to_v4().to_bytes();
    std::memcpy(&in.sin_addr, bytes.data(), bytes.size());
  } else {
    auto& in6 = reinterpret_cast<sockaddr_in6&>(out);
    in6.sin6_family = AF_INET6;
    in6.sin6_port = htons(port);
    const auto bytes = address.to_v6().to_bytes();
    std::memcpy(&in6.sin6_addr, bytes.data(), bytes.size());
  }
  return out;
}

std::optional<boost::asio::ip::address> ipAddress(std::string host) {
  if (host.size() > 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  boost::system::error_code ec;
  auto address = boost::asio::ip::make_address(host, ec);
  if (ec || address.is_unspecified()) {
    return std::nullopt;
  }
  if (address.is_v6() && address.to_v6().is_v4_mapped()) {
    address = boost::asio::ip::make_address_v4(boost::asio::ip::v4_mapped, address.to_v6());
  }
  return address;
}

// Not globally routable: RFC 1918, RFC 6598 shared (carrier NAT), link-local, loopback, IPv6
// unique-local (RFC 4193) and link-local. Such an address in SDP is usually a phone behind a NAT,
// whose packets come from the NAT's public address instead.
bool isPrivate(const boost::asio::ip::address& address) {
  if (address.is_v4()) {
    const uint32_t a = address.to_v4().to_uint();
    return (a >> 24) == 10 || (a >> 20) == 0xAC1 || (a >> 16) == 0xC0A8 ||
           (a >> 22) == (0x64400000U >> 22) || (a >> 16) == 0xA9FE || (a >> 24) == 127;
  }
  const auto v6 = address.to_v6();
  const auto bytes = v6.to_bytes();
  return v6.is_loopback() || v6.is_link_local() || (bytes[0] & 0xFE) == 0xFC;
}

sockaddr_storage hostOnly(const boost::asio::ip::address& address) {
  sockaddr_storage out{};
  if (address.is_v4()) {
    auto& in = reinterpret_cast<sockaddr_in&>(out);
    in.sin_family = AF_INET;
    const auto bytes = address.to_v4().to_bytes();
    std::memcpy(&in.sin_addr, bytes.data(), bytes.size());
  } else {
    auto& in6 = reinterpret_cast<sockaddr_in6&>(out);
    in6.sin6_family = AF_INET6;
    const auto bytes = address.to_v6().to_bytes();
    std::memcpy(&in6.sin6_addr, bytes.data(), bytes.size());
  }
  return out;
}

void addSource(std::vector<sockaddr_storage>& sources, const boost::asio::ip::address& address) {
  const sockaddr_storage s = hostOnly(address);
  for (const auto& known : sources) {
    if (std::memcmp(&known, &s, sizeof(s)) == 0) {
      return;
    }
  }
  sources.push_back(s);
}

srtp::Suite toSuite(sdp::SrtpSuite suite) {
  switch (suite) {
    case sdp::SrtpSuite::kAesCm128HmacSha1_32:
      return srtp::Suite::kAesCm128HmacSha1_32;
    case sdp::SrtpSuite::kAeadAes128Gcm:
      return srtp::Suite::kAeadAes128Gcm;
    case sdp::SrtpSuite::kAesCm128HmacSha1_80:
      break;
  }
  return srtp::Suite::kAesCm128HmacSha1_80;
}

}  // namespace

std::vector<std::string> signallingHosts(const sip::Message& request,
                                         const transport::Source& source) {
  std::vector<std::string> hosts{source.remote.address.to_string()};
  const auto vias = request.headers("Via");
  if (!vias.empty()) {
    if (auto via = sip::Via::parse(vias.back())) {
      const sip::Param* received = via->param("received");
      std::string host = received != nullptr && received->value ? *received->value : via->host;
      if (auto address = ipAddress(host)) {
        hosts.push_back(address->to_string());
      }
    }
  }
  return hosts;
}

std::optional<mixer::MediaParams> toMediaParams(const sdp::Negotiated& n,
                                                uint32_t ssrc,
                                                const std::vector<std::string>& signalling) {
  mixer::MediaParams params;
  auto& p = params.participant;
  if (sip::iequals(n.codec.name, "opus")) {
    p.codec = mixer::Codec::kOpus;
  } else if (sip::iequals(n.codec.name, "PCMU")) {
    p.codec = mixer::Codec::kPcmu;
  } else if (sip::iequals(n.codec.name, "PCMA")) {
    p.codec = mixer::Codec::kPcma;
  } else if (sip::iequals(n.codec.name, "G722")) {
    p.codec = mixer::Codec::kG722;
  } else {
    return std::nullopt;
  }
  p.payloadType = n.codec.payloadType;
  // RFC 7587 §6.1: useinbandfec (default 0) says whether their decoder makes use of FEC.
  p.opusFec = n.codec.opus && n.codec.opus->useInbandFec;
  p.telephoneEventPayloadType = n.telephoneEventPayloadType;
  p.comfortNoisePayloadType = n.comfortNoisePayloadType;
  p.ssrc = ssrc;
  for (const auto& ext : n.headerExtensions) {
    if (ext.uri == sdp::kSsrcAudioLevelUri) {
      p.audioLevelId = static_cast<uint8_t>(ext.id);
    } else if (ext.uri == sdp::kCsrcAudioLevelUri) {
      p.csrcLevelsId = static_cast<uint8_t>(ext.id);
    }
  }
  auto& e = params.endpoint;
  e.rtcpMux = n.rtcpMux;
  if (n.srtp) {
    e.srtp = mixer::SrtpKeys{toSuite(n.srtp->suite), n.srtp->localKey, n.srtp->remoteKey};
  }
  e.remoteRtp = socketAddress(n.remoteAddress, n.remoteRtpPort);
  e.remoteRtcp = socketAddress(n.remoteRtcpAddress.empty() ? n.remoteAddress : n.remoteRtcpAddress,
                               n.remoteRtcpPort);
  // Who may latch the stream (issue 10 item 16: a stranger must not): the SDP's address, which
  // the signalling vouches for, and the signalling's own addresses where the SDP's says nothing
  // reliable. A public SDP address that differs from the SIP source (a media server, an SBC) is
  // the only one: the SIP source then is a proxy, not where media comes from.
  const auto sdpAddress = ipAddress(n.remoteAddress);
  if (sdpAddress) {
    addSource(e.latchSources, *sdpAddress);
  }
  if (!sdpAddress || isPrivate(*sdpAddress)) {
    for (const auto& host : signalling) {
      if (auto address = ipAddress(host)) {
        addSource(e.latchSources, *address);
      }
    }
  }
  // RFC 3264 §5.1: we send only when our side is sendrecv or sendonly and they are not on hold.
  params.sending = !n.onHold && (n.localDirection == sdp::Direction::kSendRecv ||
                                 n.localDirection == sdp::Direction::kSendOnly);
  params.receiving = n.remoteDirection == sdp::Direction::kSendRecv ||
                     n.remoteDirection == sdp::Direction::kSendOnly;
  return params;
}

}  // namespace confab::room
