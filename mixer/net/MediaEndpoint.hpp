// One participant's media sockets (RFC 3550 §11: RTP on an even port, RTCP on the next, or both
// on one with RFC 5761 rtcp-mux). SRTP (RFC 3711) is applied here, in place. Belongs to one mixer
// thread; nothing on the packet path allocates.
//
// Symmetric RTP (RFC 4961) with strict latching, so that a stranger who guesses or sprays the
// port can neither inject audio nor take the room's audio (the "RTP bleed" class):
//  - before latching, packets count only from the IP addresses the signalling named (the SDP's
//    c= address, and the SIP source where the SDP address is private: a NAT); others are refused
//    and counted;
//  - a packet from exactly the SDP's address and port latches at once; from another port of an
//    allowed address (a NAT that changed the port), only after kLatchProbation packets of one
//    SSRC in sequence from that same address and port, none of which is played;
//  - with SRTP only an authenticated packet can latch (it is theirs whatever its address);
//  - once latched, only the latched address may speak, except the SDP's exact address, which the
//    signalling vouches for and which takes the latch back from a learned one;
//  - until latching we send to the SDP's address, never to a source we have not latched.
#pragma once

#include <netinet/in.h>
#include <sys/socket.h>

#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
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
  // The IP addresses (ports ignored) a stream may latch from; empty: any address (only when the
  // signalling gave none).
  std::vector<sockaddr_storage> latchSources;
};

// A latch, or a refused source, for the log (the mixer thread does not write logs itself).
struct SourceNote {
  enum class Kind : uint8_t { kLatched, kRefused };
  Kind kind = Kind::kLatched;
  sockaddr_storage address{};
  uint64_t refused = 0;  // packets refused (from any source) during the call so far
};

struct EndpointStats {
  uint64_t rtpReceived = 0;
  uint64_t rtcpReceived = 0;
  uint64_t droppedForeignSource = 0;  // after latching, from another address
  uint64_t refusedSource = 0;         // before latching, from an address not allowed to latch
  uint64_t awaitingLatch = 0;         // from an allowed address, on probation, not played
  uint64_t droppedNotRtp = 0;         // STUN, DTLS, noise
  uint64_t droppedMalformed = 0;      // looked like RTP/RTCP but is not valid, or truncated
  uint64_t droppedSrtp = 0;           // authentication or replay failure
  uint64_t rtpSent = 0;
  uint64_t rtcpSent = 0;
  uint64_t sendFailures = 0;
};

// "IP:PORT", an IPv6 address in brackets; empty for another family.
std::string addressText(const sockaddr_storage& address);

// Buffers for one batched read (recvmmsg), owned by the mixer thread and shared by its endpoints.
struct ReceiveBatch {
  static constexpr std::size_t kPackets = 16;
  static constexpr std::size_t kBytes = 1500;
  std::array<std::array<uint8_t, kBytes>, kPackets> data{};
  std::array<sockaddr_storage, kPackets> from{};
  std::array<iovec, kPackets> iov{};
  std::array<mmsghdr, kPackets> headers{};
};

// Where an endpoint's datagrams go out instead of a sendto each: the mixer thread's io_uring, which
// hands a tick's sends to the kernel in one system call. post() copies the datagram; false when it
// cannot take it now (the endpoint then sends it itself). A send that fails later is reported to
// the thread with the tag, which calls MediaEndpoint::countSendFailure().
class Outbox {
 public:
  virtual bool post(int fd,
                    const sockaddr_storage& to,
                    socklen_t toLength,
                    std::span<const uint8_t> data,
                    uint64_t tag) = 0;

 protected:
  ~Outbox() = default;
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
  // contexts carry over, all of them, for the whole call. A key gets one context per direction
  // for as long as the call lasts: when a re-INVITE brings back a key used before (the same one,
  // or one used before another), its own context goes on. A new outbound context under a master
  // key already used would start again at packet index 0 (rollover counter 0, SRTCP index 1) and
  // encrypt new packets with keystream already used: RFC 3711 §9.1 forbids exactly that. A kept
  // inbound context keeps its replay window, so packets captured under a key cannot be replayed
  // when that key comes back. Our key used with one suite is refused with another (both would
  // derive the same keystream): the focus answers a new suite with a new key.
  //
  // A latch carries over too while the latched address stays allowed and the SDP's address is
  // unchanged (a hold or a codec change must not open the port to strangers again).
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

  // One datagram read elsewhere (the mixer thread's io_uring): the same checks and delivery as a
  // drain. 'buffer' holds it in its first 'length' bytes and is writable (SRTP comes off in
  // place); 'truncated': the kernel cut it to fit. True when it was delivered.
  bool deliver(std::span<uint8_t> buffer,
               std::size_t length,
               const sockaddr_storage& from,
               bool rtcpSocket,
               bool truncated,
               Receiver& receiver);

  // Protects (SRTP) and sends an RTP packet of 'length' bytes at the start of 'buffer', which must
  // have room for the SRTP trailer. Nothing is sent before we know where to (SDP or latched).
  bool sendRtp(std::span<uint8_t> buffer, std::size_t length);
  bool sendRtcp(std::span<uint8_t> buffer, std::size_t length);
  // Sends go through 'outbox' (null: sendto), reported under 'tag'. Set by the thread that owns
  // the endpoint; not carried by a move (the next owner sets its own).
  void setOutbox(Outbox* outbox, uint64_t tag) {
    outbox_ = outbox;
    outboxTag_ = tag;
  }
  // A send the outbox took failed afterwards.
  void countSendFailure() { ++stats_.sendFailures; }

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
  // The latest latch or refused source since the last call, for the log; a latch outranks a
  // refusal. Counts on in stats() either way.
  std::optional<SourceNote> takeSourceNote() { return std::exchange(note_, std::nullopt); }

  // Packets in sequence from one allowed address and port, other than the SDP's, before latching.
  static constexpr uint8_t kLatchProbation = 3;

 private:
  MediaEndpoint(int rtpFd, int rtcpFd, EndpointSettings settings);
  std::size_t drain(int fd, bool rtcpSocket, Receiver& receiver, ReceiveBatch& batch,
                    std::size_t maxBatches);
  bool accept(std::span<uint8_t> data, std::size_t& length, const sockaddr_storage& from,
              bool rtcpSocket, bool& isRtcp);
  [[nodiscard]] bool mayLatch(const sockaddr_storage& from) const;
  // RTP, before latching (or from the SDP's address after a learned latch): whether this valid
  // packet latches the stream now.
  bool latchesNow(const sockaddr_storage& from, std::span<uint8_t> packet);
  void latchRtp(const sockaddr_storage& from);
  void refuse(const sockaddr_storage& from);
  bool sendTo(int fd, const std::optional<sockaddr_storage>& to, std::span<const uint8_t> data);
  void close();

  int rtpFd_ = -1;
  int rtcpFd_ = -1;
  EndpointSettings settings_;
  // Every SRTP context the call has had, one per (direction, key), kept for the whole call (see
  // create()); inbound_ and outbound_ point at the ones in use while settings_.srtp is set.
  struct Context {
    srtp::Direction direction;
    srtp::Suite suite;
    std::vector<uint8_t> keySalt;
    srtp::Session session;
  };
  // At most this many keys in one call: a peer (or a control client) cycling through keys gets
  // its update refused rather than the mixer keeping contexts without bound.
  static constexpr std::size_t kMaxContexts = 16;
  // The context for this key, suite and direction: the call's own if it had one, else a new one;
  // null when our key was used before with another suite (the same keystream under two
  // contexts), when there are kMaxContexts already, or when the SRTP library refuses the key.
  srtp::Session* context(srtp::Direction direction,
                         srtp::Suite suite,
                         const std::vector<uint8_t>& keySalt);
  std::vector<std::unique_ptr<Context>> contexts_;
  srtp::Session* inbound_ = nullptr;
  srtp::Session* outbound_ = nullptr;
  std::optional<sockaddr_storage> rtpPeer_;   // latched, else from SDP
  std::optional<sockaddr_storage> rtcpPeer_;
  bool rtpLatched_ = false;
  bool rtcpLatched_ = false;
  bool backlog_ = false;
  EndpointStats stats_;
  // Latch candidates on probation (a few, so one noisy source cannot keep out the real one).
  struct Candidate {
    sockaddr_storage from{};
    uint32_t ssrc = 0;
    uint16_t nextSequence = 0;
    uint8_t inSequence = 0;  // 0: the slot is free
  };
  std::array<Candidate, 4> candidates_{};
  std::size_t nextCandidate_ = 0;
  std::optional<SourceNote> note_;
  uint64_t refused_ = 0;
  Outbox* outbox_ = nullptr;
  uint64_t outboxTag_ = 0;
};

}  // namespace confab::mixer
