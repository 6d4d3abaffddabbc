#include "mixer/net/MediaEndpoint.hpp"

#include <arpa/inet.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <utility>

#include "mixer/rtp/Rtcp.hpp"
#include "mixer/rtp/RtpPacket.hpp"

namespace confab::mixer {

namespace {

bool sameAddress(const sockaddr_storage& a, const sockaddr_storage& b) {
  if (a.ss_family != b.ss_family) {
    return false;
  }
  if (a.ss_family == AF_INET) {
    const auto& x = reinterpret_cast<const sockaddr_in&>(a);
    const auto& y = reinterpret_cast<const sockaddr_in&>(b);
    return x.sin_port == y.sin_port && x.sin_addr.s_addr == y.sin_addr.s_addr;
  }
  if (a.ss_family == AF_INET6) {
    const auto& x = reinterpret_cast<const sockaddr_in6&>(a);
    const auto& y = reinterpret_cast<const sockaddr_in6&>(b);
    return x.sin6_port == y.sin6_port &&
           std::memcmp(&x.sin6_addr, &y.sin6_addr, sizeof(x.sin6_addr)) == 0;
  }
  return false;
}

// The same IP address, whatever the ports (an IPv4-mapped IPv6 source counts as its IPv4 address).
bool sameHost(const sockaddr_storage& a, const sockaddr_storage& b) {
  auto v4 = [](const sockaddr_storage& s, in_addr& out) {
    if (s.ss_family == AF_INET) {
      out = reinterpret_cast<const sockaddr_in&>(s).sin_addr;
      return true;
    }
    const auto& in6 = reinterpret_cast<const sockaddr_in6&>(s);
    if (s.ss_family == AF_INET6 && IN6_IS_ADDR_V4MAPPED(&in6.sin6_addr)) {
      std::memcpy(&out, &in6.sin6_addr.s6_addr[12], sizeof(out));
      return true;
    }
    return false;
  };
  in_addr x{};
  in_addr y{};
  if (v4(a, x) && v4(b, y)) {
    return x.s_addr == y.s_addr;
  }
  if (a.ss_family == AF_INET6 && b.ss_family == AF_INET6) {
    return std::memcmp(&reinterpret_cast<const sockaddr_in6&>(a).sin6_addr,
                       &reinterpret_cast<const sockaddr_in6&>(b).sin6_addr, sizeof(in6_addr)) == 0;
  }
  return false;
}

// RTCP packets back to back, each with version 2 and a length that ends exactly where the next
// begins (RFC 3550 §6.4.1), in the clear: what a reduced-size RTCP packet (RFC 5506) or an RTCP
// keep-alive sent outside SRTP looks like. Such a packet is not media, and no error.
bool isClearRtcpChain(std::span<const uint8_t> b) {
  std::size_t at = 0;
  while (at + 4 <= b.size()) {
    if ((b[at] >> 6) != 2) {
      return false;
    }
    at += 4 * (std::size_t{static_cast<uint16_t>((b[at + 2] << 8) | b[at + 3])} + 1);
  }
  return at == b.size() && !b.empty();
}

socklen_t addressLength(const sockaddr_storage& a) {
  return a.ss_family == AF_INET6 ? sizeof(sockaddr_in6) : sizeof(sockaddr_in);
}

}  // namespace

std::string addressText(const sockaddr_storage& address) {
  std::array<char, INET6_ADDRSTRLEN> text{};
  if (address.ss_family == AF_INET) {
    const auto& in = reinterpret_cast<const sockaddr_in&>(address);
    ::inet_ntop(AF_INET, &in.sin_addr, text.data(), text.size());
    return std::string(text.data()) + ":" + std::to_string(ntohs(in.sin_port));
  }
  if (address.ss_family == AF_INET6) {
    const auto& in6 = reinterpret_cast<const sockaddr_in6&>(address);
    ::inet_ntop(AF_INET6, &in6.sin6_addr, text.data(), text.size());
    return "[" + std::string(text.data()) + "]:" + std::to_string(ntohs(in6.sin6_port));
  }
  return {};
}

std::optional<MediaEndpoint> MediaEndpoint::create(int rtpFd,
                                                   int rtcpFd,
                                                   EndpointSettings settings,
                                                   MediaEndpoint* previous) {
  MediaEndpoint endpoint(rtpFd, rtcpFd, std::move(settings));
  // The rule of RFC 3711 §9.1, enforced here: one master key, one context per direction, for the
  // whole call (context() finds the call's own before making one).
  if (previous != nullptr) {
    endpoint.contexts_ = std::move(previous->contexts_);
    previous->inbound_ = previous->outbound_ = nullptr;
  }
  if (const std::optional<SrtpKeys>& wanted = endpoint.settings_.srtp) {
    endpoint.inbound_ =
        endpoint.context(srtp::Direction::kInbound, wanted->suite, wanted->remoteKeySalt);
    endpoint.outbound_ =
        endpoint.context(srtp::Direction::kOutbound, wanted->suite, wanted->localKeySalt);
    if (endpoint.inbound_ == nullptr || endpoint.outbound_ == nullptr) {
      if (previous != nullptr) {
        previous->contexts_ = std::move(endpoint.contexts_);  // nothing changed for the caller
      }
      return std::nullopt;  // the destructor closes the sockets
    }
  }
  // The latch stays while it is still one the new settings would allow, and the SDP's address did
  // not move (if it did, they are somewhere else: latch again, strictly).
  if (previous != nullptr && previous->rtpLatched_ && previous->rtpPeer_ &&
      endpoint.mayLatch(*previous->rtpPeer_)) {
    const auto& before = previous->settings_.remoteRtp;
    const auto& now = endpoint.settings_.remoteRtp;
    const bool sdpSame =
        before.has_value() == now.has_value() && (!now || sameAddress(*before, *now));
    if (sdpSame || (now && sameAddress(*now, *previous->rtpPeer_))) {
      endpoint.rtpPeer_ = previous->rtpPeer_;
      endpoint.rtpLatched_ = true;
      if (endpoint.settings_.rtcpMux) {
        endpoint.rtcpPeer_ = previous->rtpPeer_;
      } else if (previous->rtcpLatched_ && previous->rtcpPeer_) {
        endpoint.rtcpPeer_ = previous->rtcpPeer_;
        endpoint.rtcpLatched_ = true;
      }
    }
  }
  if (previous != nullptr) {
    endpoint.stats_ = previous->stats_;  // one call, one set of counters
    endpoint.refused_ = previous->refused_;
  }
  return endpoint;
}

MediaEndpoint::MediaEndpoint(int rtpFd, int rtcpFd, EndpointSettings settings)
    : rtpFd_(rtpFd),
      rtcpFd_(rtcpFd),
      settings_(std::move(settings)),
      rtpPeer_(settings_.remoteRtp),
      rtcpPeer_(settings_.rtcpMux ? settings_.remoteRtp : settings_.remoteRtcp) {}

srtp::Session* MediaEndpoint::context(srtp::Direction direction,
                                      srtp::Suite suite,
                                      const std::vector<uint8_t>& keySalt) {
  for (const auto& c : contexts_) {
    if (c->direction != direction || c->keySalt != keySalt) {
      continue;
    }
    if (c->suite == suite) {
      return &c->session;
    }
    // Our key under another suite would derive the keystream already used (the focus gives a new
    // key with a new suite, RFC 4568 §7.1.4). Their key under another suite is theirs to answer
    // for: it gets a context of its own.
    if (direction == srtp::Direction::kOutbound) {
      return nullptr;
    }
  }
  if (contexts_.size() >= kMaxContexts) {
    return nullptr;
  }
  auto session = srtp::Session::create(suite, direction, keySalt);
  if (!session) {
    return nullptr;
  }
  contexts_.push_back(
      std::make_unique<Context>(Context{direction, suite, keySalt, std::move(*session)}));
  return &contexts_.back()->session;
}

MediaEndpoint::MediaEndpoint(MediaEndpoint&& other) noexcept
    : rtpFd_(std::exchange(other.rtpFd_, -1)),
      rtcpFd_(std::exchange(other.rtcpFd_, -1)),
      settings_(std::move(other.settings_)),
      contexts_(std::move(other.contexts_)),
      inbound_(std::exchange(other.inbound_, nullptr)),
      outbound_(std::exchange(other.outbound_, nullptr)),
      rtpPeer_(other.rtpPeer_),
      rtcpPeer_(other.rtcpPeer_),
      rtpLatched_(other.rtpLatched_),
      rtcpLatched_(other.rtcpLatched_),
      backlog_(other.backlog_),
      stats_(other.stats_),
      candidates_(other.candidates_),
      nextCandidate_(other.nextCandidate_),
      note_(other.note_),
      refused_(other.refused_) {}

MediaEndpoint& MediaEndpoint::operator=(MediaEndpoint&& other) noexcept {
  if (this != &other) {
    close();
    rtpFd_ = std::exchange(other.rtpFd_, -1);
    rtcpFd_ = std::exchange(other.rtcpFd_, -1);
    settings_ = std::move(other.settings_);
    contexts_ = std::move(other.contexts_);
    inbound_ = std::exchange(other.inbound_, nullptr);
    outbound_ = std::exchange(other.outbound_, nullptr);
    rtpPeer_ = other.rtpPeer_;
    rtcpPeer_ = other.rtcpPeer_;
    rtpLatched_ = other.rtpLatched_;
    rtcpLatched_ = other.rtcpLatched_;
    backlog_ = other.backlog_;
    stats_ = other.stats_;
    candidates_ = other.candidates_;
    nextCandidate_ = other.nextCandidate_;
    note_ = other.note_;
    refused_ = other.refused_;
  }
  return *this;
}

MediaEndpoint::~MediaEndpoint() { close(); }

void MediaEndpoint::close() {
  for (int* fd : {&rtpFd_, &rtcpFd_}) {
    if (*fd >= 0) {
      ::close(*fd);
      *fd = -1;
    }
  }
}

uint16_t MediaEndpoint::rtpPort() const {
  sockaddr_storage local{};
  socklen_t length = sizeof(local);
  if (::getsockname(rtpFd_, reinterpret_cast<sockaddr*>(&local), &length) != 0) {
    return 0;
  }
  return ntohs(local.ss_family == AF_INET6 ? reinterpret_cast<sockaddr_in6&>(local).sin6_port
                                           : reinterpret_cast<sockaddr_in&>(local).sin_port);
}

std::size_t MediaEndpoint::drainRtp(Receiver& receiver, ReceiveBatch& batch,
                                    std::size_t maxBatches) {
  return drain(rtpFd_, false, receiver, batch, maxBatches);
}

std::size_t MediaEndpoint::drainRtcp(Receiver& receiver, ReceiveBatch& batch,
                                     std::size_t maxBatches) {
  // With rtcp-mux the RTCP port is only held, never read: RTCP arrives on the RTP port.
  return rtcpFd_ < 0 || settings_.rtcpMux ? 0 : drain(rtcpFd_, true, receiver, batch, maxBatches);
}

std::size_t MediaEndpoint::drain(int fd, bool rtcpSocket, Receiver& receiver,
                                 ReceiveBatch& batch, std::size_t maxBatches) {
  std::size_t delivered = 0;
  for (std::size_t round = 0; round < maxBatches; ++round) {
    for (std::size_t i = 0; i < ReceiveBatch::kPackets; ++i) {
      batch.iov[i] = iovec{batch.data[i].data(), batch.data[i].size()};
      batch.headers[i] = mmsghdr{};
      batch.headers[i].msg_hdr.msg_iov = &batch.iov[i];
      batch.headers[i].msg_hdr.msg_iovlen = 1;
      batch.headers[i].msg_hdr.msg_name = &batch.from[i];
      batch.headers[i].msg_hdr.msg_namelen = sizeof(sockaddr_storage);
    }
    const int got = ::recvmmsg(fd, batch.headers.data(), ReceiveBatch::kPackets, MSG_DONTWAIT,
                               nullptr);
    if (got <= 0) {
      return delivered;
    }
    for (int i = 0; i < got; ++i) {
      const auto index = static_cast<std::size_t>(i);
      const bool truncated = (batch.headers[index].msg_hdr.msg_flags & MSG_TRUNC) != 0;
      if (deliver(std::span<uint8_t>(batch.data[index]), batch.headers[index].msg_len,
                  batch.from[index], rtcpSocket, truncated, receiver)) {
        ++delivered;
      }
    }
    if (static_cast<std::size_t>(got) < ReceiveBatch::kPackets) {
      return delivered;
    }
  }
  backlog_ = maxBatches > 0;
  return delivered;
}

bool MediaEndpoint::deliver(std::span<uint8_t> buffer,
                            std::size_t length,
                            const sockaddr_storage& from,
                            bool rtcpSocket,
                            bool truncated,
                            Receiver& receiver) {
  if (truncated || length > buffer.size()) {
    ++stats_.droppedMalformed;  // over the buffer (1500 bytes): no RTP audio is
    return false;
  }
  bool isRtcp = false;
  if (!accept(buffer, length, from, rtcpSocket, isRtcp)) {
    return false;
  }
  if (isRtcp) {
    receiver.onRtcp(buffer.first(length));
  } else {
    receiver.onRtp(buffer.first(length));
  }
  return true;
}

bool MediaEndpoint::mayLatch(const sockaddr_storage& from) const {
  if (settings_.latchSources.empty()) {
    return true;
  }
  for (const auto& allowed : settings_.latchSources) {
    if (sameHost(allowed, from)) {
      return true;
    }
  }
  return false;
}

void MediaEndpoint::refuse(const sockaddr_storage& from) {
  ++refused_;
  if (!note_) {
    note_ = SourceNote{SourceNote::Kind::kRefused, from, refused_};
  } else {
    note_->refused = refused_;
  }
}

void MediaEndpoint::latchRtp(const sockaddr_storage& from) {
  rtpPeer_ = from;
  rtpLatched_ = true;
  if (settings_.rtcpMux) {
    rtcpPeer_ = from;
  }
  candidates_ = {};
  note_ = SourceNote{SourceNote::Kind::kLatched, from, refused_};
}

bool MediaEndpoint::latchesNow(const sockaddr_storage& from, std::span<uint8_t> packet) {
  // An authenticated SRTP packet is theirs, and the SDP's own address is what the signalling
  // named: either latches at once.
  if ((settings_.srtp && inbound_) ||
      (settings_.remoteRtp && sameAddress(*settings_.remoteRtp, from))) {
    return true;
  }
  const auto header = rtp::RtpPacket::parse(packet);
  const uint32_t ssrc = header->ssrc();
  const uint16_t sequence = header->sequenceNumber();
  for (auto& c : candidates_) {
    if (c.inSequence > 0 && sameAddress(c.from, from)) {
      // A.1-style probation per source: in sequence counts, anything else starts it over.
      c.inSequence = c.ssrc == ssrc && c.nextSequence == sequence ? c.inSequence + 1 : 1;
      c.ssrc = ssrc;
      c.nextSequence = static_cast<uint16_t>(sequence + 1);
      return c.inSequence >= kLatchProbation;
    }
  }
  // A new candidate takes a free slot, else the oldest one's.
  Candidate* slot = nullptr;
  for (auto& c : candidates_) {
    if (c.inSequence == 0) {
      slot = &c;
      break;
    }
  }
  if (slot == nullptr) {
    slot = &candidates_[nextCandidate_];
    nextCandidate_ = (nextCandidate_ + 1) % candidates_.size();
  }
  *slot = Candidate{from, ssrc, static_cast<uint16_t>(sequence + 1), 1};
  return kLatchProbation <= 1;
}

bool MediaEndpoint::accept(std::span<uint8_t> data, std::size_t& length,
                           const sockaddr_storage& from, bool rtcpSocket, bool& isRtcp) {
  const rtp::PacketKind kind = rtp::classifyPacket(std::span<const uint8_t>(data).first(length));
  isRtcp = rtcpSocket || (settings_.rtcpMux && kind == rtp::PacketKind::kRtcp);
  if (kind != (isRtcp ? rtp::PacketKind::kRtcp : rtp::PacketKind::kRtp)) {
    ++stats_.droppedNotRtp;  // STUN, DTLS, ZRTP or noise
    return false;
  }
  // An RTP header with nothing after it (no CSRC beyond its count, no extension, no payload) is
  // a NAT keep-alive (RFC 6263 §4.6; baresip sends one, in the clear even with SRTP): not media,
  // and never a latch. A real SRTP packet always carries its tag after the header.
  if (!isRtcp && length == 12 + 4 * std::size_t{static_cast<uint8_t>(data[0] & 0x0F)} &&
      (data[0] & 0x30) == 0) {
    ++stats_.droppedNotRtp;
    return false;
  }
  const bool separateRtcp = isRtcp && !settings_.rtcpMux;
  const bool latchedHere = separateRtcp ? rtcpLatched_ : rtpLatched_;
  const auto& peer = separateRtcp ? rtcpPeer_ : rtpPeer_;
  // Latched: only the latched address may speak (RTCP latches on its own socket), and the SDP's
  // exact address, which may take the RTP latch back.
  bool relatch = false;
  if (latchedHere && !sameAddress(*peer, from)) {
    relatch = !isRtcp && settings_.remoteRtp && sameAddress(*settings_.remoteRtp, from);
    if (!relatch) {
      ++stats_.droppedForeignSource;
      refuse(from);
      return false;
    }
  }
  if (!latchedHere && !mayLatch(from)) {
    ++stats_.refusedSource;
    refuse(from);
    return false;
  }
  // RTCP on a separate port latches only to the RTP peer's host once RTP has latched.
  if (separateRtcp && !latchedHere && rtpLatched_ && !sameHost(*rtpPeer_, from)) {
    ++stats_.refusedSource;
    refuse(from);
    return false;
  }
  if (settings_.srtp && inbound_) {
    const bool ok = isRtcp ? inbound_->unprotectRtcp(data, length)
                           : inbound_->unprotectRtp(data, length);
    if (!ok) {
      // RTCP in the clear on an SRTP session (baresip sends an APP keep-alive so): not media.
      if (isRtcp && isClearRtcpChain(std::span<const uint8_t>(data).first(length))) {
        ++stats_.droppedNotRtp;
        return false;
      }
      ++stats_.droppedSrtp;
      return false;
    }
  }
  // Only now, in the clear, can the whole packet be checked (SRTP trailers hide padding).
  const bool valid = isRtcp ? rtp::RtcpCompound::parse(data.first(length)).has_value()
                            : rtp::RtpPacket::parse(data.first(length)).has_value();
  if (!valid) {
    // A lone APP or other RTCP packet that does not start with SR or RR (RFC 5506 reduced size):
    // well formed, just not a compound we use.
    if (isRtcp && isClearRtcpChain(std::span<const uint8_t>(data).first(length))) {
      ++stats_.droppedNotRtp;
      return false;
    }
    ++stats_.droppedMalformed;
    return false;
  }
  if (separateRtcp) {
    if (!latchedHere) {
      rtcpPeer_ = from;
      rtcpLatched_ = true;
    }
  } else if (isRtcp) {
    if (!rtpLatched_) {
      ++stats_.awaitingLatch;  // muxed RTCP waits for the RTP latch
      return false;
    }
  } else if (!latchedHere || relatch) {
    if (!latchesNow(from, data.first(length))) {
      ++stats_.awaitingLatch;
      return false;
    }
    latchRtp(from);
  }
  ++(isRtcp ? stats_.rtcpReceived : stats_.rtpReceived);
  return true;
}

bool MediaEndpoint::sendTo(int fd, const std::optional<sockaddr_storage>& to,
                           std::span<const uint8_t> data) {
  if (!to || fd < 0) {
    return false;
  }
  if (outbox_ != nullptr && outbox_->post(fd, *to, addressLength(*to), data, outboxTag_)) {
    return true;
  }
  const auto sent = ::sendto(fd, data.data(), data.size(), MSG_DONTWAIT,
                             reinterpret_cast<const sockaddr*>(&*to), addressLength(*to));
  if (sent != static_cast<ssize_t>(data.size())) {
    ++stats_.sendFailures;
    return false;
  }
  return true;
}

bool MediaEndpoint::sendRtp(std::span<uint8_t> buffer, std::size_t length) {
  if (settings_.srtp && outbound_ && !outbound_->protectRtp(buffer, length)) {
    ++stats_.sendFailures;
    return false;
  }
  if (!sendTo(rtpFd_, rtpPeer_, std::span<const uint8_t>(buffer).first(length))) {
    return false;
  }
  ++stats_.rtpSent;
  return true;
}

bool MediaEndpoint::sendRtcp(std::span<uint8_t> buffer, std::size_t length) {
  if (settings_.srtp && outbound_ && !outbound_->protectRtcp(buffer, length)) {
    ++stats_.sendFailures;
    return false;
  }
  const int fd = settings_.rtcpMux ? rtpFd_ : rtcpFd_;
  if (!sendTo(fd, rtcpPeer_, std::span<const uint8_t>(buffer).first(length))) {
    return false;
  }
  ++stats_.rtcpSent;
  return true;
}

}  // namespace confab::mixer
