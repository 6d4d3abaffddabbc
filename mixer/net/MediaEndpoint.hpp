// One participant's media sockets (RFC 3550 §11: RTP on an even port, RTCP on the next, or both
// on one with RFC 5761 rtcp-mux). Symmetric RTP: we latch to the first source that sends a valid
// (and, with SRTP, authentic) packet and from then on drop anything from elsewhere, so a stranger
// guessing the port cannot inject or steal audio (the "RTP bleed" class). SRTP (RFC 3711) is
// applied here, in place. Belongs to one mixer thread; nothing on the packet path allocates.
#pragma once

#include <netinet/in.h>
#include <sys/socket.h>

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <utility>
#include <vector>

#include "mixer/srtp/Session.hpp"

namespace confab::mixer {

struct SrtpKeys {
  srtp::Suite suite = srtp::Suite::kAesCm128HmacSha1_80;
  std::vector<uint8_t> localKeySalt;   // we protect with this (our a=crypto)
  std::vector<uint8_t> remoteKeySalt;  // we unprotect with this (theirs)
};

struct EndpointSettings {
  bool rtcpMux = false;
  std::optional<SrtpKeys> srtp;  // empty: plain RTP
  // Where the SDP says to send until their first packet shows where they really are.
  std::optional<sockaddr_storage> remoteRtp;
  std::optional<sockaddr_storage> remoteRtcp;
};

struct EndpointStats {
  uint64_t rtpReceived = 0;
  uint64_t rtcpReceived = 0;
  uint64_t droppedForeignSource = 0;  // after latching, from another address
  uint64_t droppedNotRtp = 0;         // STUN, DTLS, garbage, truncated
  uint64_t droppedSrtp = 0;           // authentication or replay failure
  uint64_t rtpSent = 0;
  uint64_t rtcpSent = 0;
  uint64_t sendFailures = 0;
};

// Buffers for one batched read (recvmmsg), owned by the mixer thread and shared by its endpoints.
struct ReceiveBatch {
  static constexpr std::size_t kPackets = 16;
  static constexpr std::size_t kBytes = 1500;
  std::array<std::array<uint8_t, kBytes>, kPackets> data{};
  std::array<sockaddr_storage, kPackets> from{};
  std::array<iovec, kPackets> iov{};
  std::array<mmsghdr, kPackets> headers{};
};

class MediaEndpoint {
 public:
  class Receiver {
   public:
    // A valid RTP packet from the participant, SRTP already removed. Valid during the call.
    virtual void onRtp(std::span<uint8_t> packet) = 0;
    virtual void onRtcp(std::span<uint8_t> packet) = 0;

   protected:
    ~Receiver() = default;
  };

  // Takes ownership of two bound UDP sockets (rtcpFd may be -1 with rtcp-mux). Fails when the
  // SRTP keys are unusable.
  //
  // 'previous' is the endpoint this one replaces on the same ports after a re-INVITE: its SRTP
  // contexts carry over whenever the key does (the focus keeps its key across re-INVITEs). A new
  // outbound context under the same master key would start again at packet index 0 (rollover
  // counter 0, SRTCP index 0) and encrypt new packets with keystream already used: RFC 3711 §9.1
  // forbids exactly that. A kept inbound context keeps its replay window, so packets captured
  // before the re-INVITE cannot be replayed after it. Contexts are kept even while a re-INVITE
  // turns SRTP off, for when it comes back with the same key; a new key gets new contexts.
  static std::optional<MediaEndpoint> create(int rtpFd,
                                             int rtcpFd,
                                             EndpointSettings settings,
                                             MediaEndpoint* previous = nullptr);
  MediaEndpoint(MediaEndpoint&& other) noexcept;
  MediaEndpoint& operator=(MediaEndpoint&& other) noexcept;
  MediaEndpoint(const MediaEndpoint&) = delete;
  MediaEndpoint& operator=(const MediaEndpoint&) = delete;
  ~MediaEndpoint();

  // Reads what is waiting on a socket (at most 'maxBatches' recvmmsg calls) and hands each valid
  // packet to the receiver. Returns the packets delivered. When the cap cut a read short, more
  // may be waiting: takeBacklog() says so (once), for readers woken only on new arrivals.
  std::size_t drainRtp(Receiver& receiver, ReceiveBatch& batch, std::size_t maxBatches = 4);
  std::size_t drainRtcp(Receiver& receiver, ReceiveBatch& batch, std::size_t maxBatches = 4);

  // Protects (SRTP) and sends an RTP packet of 'length' bytes at the start of 'buffer', which must
  // have room for the SRTP trailer. Nothing is sent before we know where to (SDP or latched).
  bool sendRtp(std::span<uint8_t> buffer, std::size_t length);
  bool sendRtcp(std::span<uint8_t> buffer, std::size_t length);

  // Gives up the sockets (for a new endpoint on the same ports after a re-INVITE).
  std::pair<int, int> releaseSockets() {
    return {std::exchange(rtpFd_, -1), std::exchange(rtcpFd_, -1)};
  }

  [[nodiscard]] int rtpFd() const { return rtpFd_; }
  [[nodiscard]] bool rtcpMux() const { return settings_.rtcpMux; }
  [[nodiscard]] int rtcpFd() const { return rtcpFd_; }
  [[nodiscard]] uint16_t rtpPort() const;
  [[nodiscard]] bool latched() const { return rtpLatched_; }
  [[nodiscard]] const EndpointStats& stats() const { return stats_; }
  bool takeBacklog() { return std::exchange(backlog_, false); }

 private:
  MediaEndpoint(int rtpFd, int rtcpFd, EndpointSettings settings);
  std::size_t drain(int fd, bool rtcpSocket, Receiver& receiver, ReceiveBatch& batch,
                    std::size_t maxBatches);
  bool accept(std::span<uint8_t> data, std::size_t& length, const sockaddr_storage& from,
              bool rtcpSocket, bool& isRtcp);
  bool sendTo(int fd, const std::optional<sockaddr_storage>& to, std::span<const uint8_t> data);
  void close();

  int rtpFd_ = -1;
  int rtcpFd_ = -1;
  EndpointSettings settings_;
  // Used only while settings_.srtp is set; held (under sessionKeys_) otherwise, see create().
  std::optional<srtp::Session> inbound_;
  std::optional<srtp::Session> outbound_;
  std::optional<SrtpKeys> sessionKeys_;       // the keys inbound_ and outbound_ were made with
  std::optional<sockaddr_storage> rtpPeer_;   // latched, else from SDP
  std::optional<sockaddr_storage> rtcpPeer_;
  bool rtpLatched_ = false;
  bool rtcpLatched_ = false;
  bool backlog_ = false;
  EndpointStats stats_;
};

}  // namespace confab::mixer
