// One direction of SRTP and SRTCP for one call leg (RFC 3711), keyed by SDES (RFC 4568): outbound
// protects what the mixer sends, inbound authenticates and decrypts what it receives. The packet
// calls work in place on the caller's buffer and never allocate, lock or block.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>

#include "mixer/srtp/KeystreamGuard.hpp"
#include "mixer/srtp/Suite.hpp"

// libsrtp's context type (srtp_t is a pointer to it), declared here so srtp2/srtp.h stays out of
// our headers.
struct srtp_ctx_t_;

namespace confab::srtp {

enum class Direction { kInbound, kOutbound };

// What went wrong with the packets of one session, by kind. Bumped on the packet path, read by
// the owner (stats, rate-limited logs); plain integers because a session belongs to one thread.
struct Counters {
  std::uint64_t packets = 0;         // protected or unprotected successfully
  std::uint64_t authFailures = 0;    // tag did not verify: forged, corrupted or wrong key
  std::uint64_t replayFailures = 0;  // index already seen or behind the window (RFC 3711 §3.3.2)
  std::uint64_t otherFailures = 0;   // too short, no room for the trailer, wrong direction...
  int lastStatus = 0;                // libsrtp status of the last failure (Library::statusName)
};

class Session {
 public:
  // RFC 3711 §3.3.2 asks for at least 64; 1024 packets is 20 s of 20 ms audio, so reordering or a
  // burst of loss never looks like a replay, while old packets are still refused.
  static constexpr std::uint32_t kDefaultReplayWindow = 1024;

  // A session for any SSRC in this direction (libsrtp's ssrc_any_inbound / ssrc_any_outbound
  // template: the first packet of each new SSRC makes its stream, the only allocation after
  // this). keySalt is the master key followed by the master salt, masterKeySaltLength(suite)
  // bytes, as decoded from a=crypto's inline key. Empty, with the reason in *error when given,
  // on a wrong key length, a window libsrtp refuses (64..32767) or a libsrtp failure.
  static std::optional<Session> create(Suite suite,
                                       Direction direction,
                                       std::span<const std::uint8_t> keySalt,
                                       std::string* error = nullptr,
                                       std::uint32_t replayWindow = kDefaultReplayWindow);

  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;
  Session(Session&& other) noexcept;
  Session& operator=(Session&& other) noexcept;
  ~Session();

  // Outbound only. The RTP (or RTCP) packet is the first `length` bytes of `buffer`; on success
  // it is encrypted in place, the trailer appended and `length` grown by rtpTrailerLength()
  // (rtcpTrailerLength()). False, with `length` and the counters telling why, when the packet is
  // too short, the buffer has no room for the trailer, or libsrtp refuses (for example the same
  // sequence number twice: RFC 3711 §9.1 forbids reusing a keystream).
  bool protectRtp(std::span<std::uint8_t> buffer, std::size_t& length);
  bool protectRtcp(std::span<std::uint8_t> buffer, std::size_t& length);

  // Inbound only. Authenticates, checks the replay window, decrypts in place and shrinks
  // `length` to the plain packet. The rollover counter of each SSRC is estimated from the
  // sequence number (RFC 3711 §3.3.1, Appendix A).
  bool unprotectRtp(std::span<std::uint8_t> buffer, std::size_t& length);
  bool unprotectRtcp(std::span<std::uint8_t> buffer, std::size_t& length);

  [[nodiscard]] Suite suite() const { return suite_; }
  [[nodiscard]] Direction direction() const { return direction_; }
  [[nodiscard]] std::size_t rtpTrailer() const { return rtpTrailerLength(suite_); }
  [[nodiscard]] std::size_t rtcpTrailer() const { return rtcpTrailerLength(suite_); }
  [[nodiscard]] const Counters& rtpCounters() const { return rtpCounters_; }
  [[nodiscard]] const Counters& rtcpCounters() const { return rtcpCounters_; }

 private:
  enum class Operation { kProtectRtp, kUnprotectRtp, kProtectRtcp, kUnprotectRtcp };

  Session(srtp_ctx_t_* context, Suite suite, Direction direction);
  bool transform(Operation operation, std::span<std::uint8_t> buffer, std::size_t& length);
  void guardKeystream(bool rtcp, std::span<const std::uint8_t> packet) const;

  srtp_ctx_t_* context_ = nullptr;
  Suite suite_;
  Direction direction_;
  Counters rtpCounters_;
  Counters rtcpCounters_;
  keystream_guard::KeyId keyId_{};  // set only where keystream_guard::enabled()
};

}  // namespace confab::srtp
