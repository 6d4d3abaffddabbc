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

std::optional<mixer::MediaParams> toMediaParams(const sdp::Negotiated& n, uint32_t ssrc) {
  mixer::MediaParams params;
  auto& p = params.participant;
  if (sip::iequals(n.codec.name, "opus")) {
    p.codec = mixer::Codec::kOpus;
  } else if (sip::iequals(n.codec.name, "PCMU")) {
    p.codec = mixer::Codec::kPcmu;
  } else if (sip::iequals(n.codec.name, "PCMA")) {
    p.codec = mixer::Codec::kPcma;
  } else {
    return std::nullopt;
  }
  p.payloadType = n.codec.payloadType;
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
  // RFC 3264 §5.1: we send only when our side is sendrecv or sendonly and they are not on hold.
  params.sending = !n.onHold && (n.localDirection == sdp::Direction::kSendRecv ||
                                 n.localDirection == sdp::Direction::kSendOnly);
  params.receiving = n.remoteDirection == sdp::Direction::kSendRecv ||
                     n.remoteDirection == sdp::Direction::kSendOnly;
  return params;
}

}  // namespace confab::room
