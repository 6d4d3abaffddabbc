#include "mixer/srtp/Session.hpp"

#include <srtp2/srtp.h>

#include <cstring>
#include <utility>

#include "mixer/srtp/Library.hpp"

namespace confab::srtp {

namespace {

// RFC 3550 §5.1: the fixed RTP header; §6.4.1: an RTCP packet's header and sender SSRC. libsrtp
// reads these fields before it checks anything, so shorter input never reaches it.
constexpr std::size_t kMinRtpLength = 12;
constexpr std::size_t kMinRtcpLength = 8;
// A UDP payload; libsrtp counts in int.
constexpr std::size_t kMaxPacketLength = 65535;

void setCryptoPolicies(Suite suite, srtp_policy_t& policy) {
  switch (suite) {
    case Suite::kAesCm128HmacSha1_80:
      srtp_crypto_policy_set_aes_cm_128_hmac_sha1_80(&policy.rtp);
      srtp_crypto_policy_set_aes_cm_128_hmac_sha1_80(&policy.rtcp);
      return;
    case Suite::kAesCm128HmacSha1_32:
      // RFC 4568 §6.2.2: the 32-bit tag is for SRTP only; SRTCP keeps 80 bits.
      srtp_crypto_policy_set_aes_cm_128_hmac_sha1_32(&policy.rtp);
      srtp_crypto_policy_set_aes_cm_128_hmac_sha1_80(&policy.rtcp);
      return;
    case Suite::kAeadAes128Gcm:
      // RFC 7714 §14.2: AEAD_AES_128_GCM has a 16-octet tag for SRTP and SRTCP alike.
      srtp_crypto_policy_set_aes_gcm_128_16_auth(&policy.rtp);
      srtp_crypto_policy_set_aes_gcm_128_16_auth(&policy.rtcp);
      return;
  }
}

}  // namespace

std::optional<Session> Session::create(Suite suite,
                                       Direction direction,
                                       std::span<const std::uint8_t> keySalt,
                                       std::string* error,
                                       std::uint32_t replayWindow) {
  auto fail = [error](std::string reason) -> std::optional<Session> {
    if (error != nullptr) {
      *error = std::move(reason);
    }
    return std::nullopt;
  };
  if (!Library::initialize(error)) {
    return std::nullopt;
  }
  if (keySalt.size() != masterKeySaltLength(suite)) {
    return fail(std::string(toString(suite)) + " needs a " +
                std::to_string(masterKeySaltLength(suite)) + "-byte master key and salt, not " +
                std::to_string(keySalt.size()));
  }
  // libsrtp's own bounds (srtp_stream_init): below 64 misses RFC 3711 §3.3.2's minimum.
  if (replayWindow < 64 || replayWindow >= 0x8000) {
    return fail("replay window must be 64..32767 packets, not " + std::to_string(replayWindow));
  }

  srtp_policy_t policy;
  std::memset(&policy, 0, sizeof policy);
  setCryptoPolicies(suite, policy);
  policy.ssrc.type = direction == Direction::kInbound ? ssrc_any_inbound : ssrc_any_outbound;
  // libsrtp declares the key non-const but only reads it while deriving the session keys
  // (RFC 3711 §4.3) inside srtp_create; it keeps no pointer to it.
  policy.key = const_cast<std::uint8_t*>(keySalt.data());
  policy.window_size = replayWindow;
  // Never re-encrypt a used index: the same keystream twice leaks the XOR of the payloads.
  policy.allow_repeat_tx = 0;
  policy.next = nullptr;

  srtp_t context = nullptr;
  const srtp_err_status_t status = srtp_create(&context, &policy);
  if (status != srtp_err_status_ok) {
    return fail("srtp_create failed: " + std::string(Library::statusName(status)));
  }
  Session session(context, suite, direction);
  if (keystream_guard::enabled() && direction == Direction::kOutbound) {
    session.keyId_ = keystream_guard::keyId(keySalt);
  }
  return session;
}

Session::Session(srtp_ctx_t_* context, Suite suite, Direction direction)
    : context_(context), suite_(suite), direction_(direction) {}

Session::Session(Session&& other) noexcept
    : context_(std::exchange(other.context_, nullptr)),
      suite_(other.suite_),
      direction_(other.direction_),
      rtpCounters_(other.rtpCounters_),
      rtcpCounters_(other.rtcpCounters_),
      keyId_(other.keyId_) {}

Session& Session::operator=(Session&& other) noexcept {
  if (this != &other) {
    if (context_ != nullptr) {
      srtp_dealloc(context_);
    }
    context_ = std::exchange(other.context_, nullptr);
    suite_ = other.suite_;
    direction_ = other.direction_;
    rtpCounters_ = other.rtpCounters_;
    rtcpCounters_ = other.rtcpCounters_;
    keyId_ = other.keyId_;
  }
  return *this;
}

Session::~Session() {
  if (context_ != nullptr) {
    // Also wipes the derived session keys (srtp_stream_dealloc zeroes them).
    srtp_dealloc(context_);
  }
}

bool Session::protectRtp(std::span<std::uint8_t> buffer, std::size_t& length) {
  return transform(Operation::kProtectRtp, buffer, length);
}

bool Session::unprotectRtp(std::span<std::uint8_t> buffer, std::size_t& length) {
  return transform(Operation::kUnprotectRtp, buffer, length);
}

bool Session::protectRtcp(std::span<std::uint8_t> buffer, std::size_t& length) {
  return transform(Operation::kProtectRtcp, buffer, length);
}

bool Session::unprotectRtcp(std::span<std::uint8_t> buffer, std::size_t& length) {
  return transform(Operation::kUnprotectRtcp, buffer, length);
}

// The index a protected packet was encrypted under, for the keystream guard: the rollover counter
// and sequence number for SRTP (RFC 3711 §3.3.1), the 31-bit SRTCP index from the trailer for
// SRTCP (§3.4; with AEAD the index is the last word, RFC 7714 §9, otherwise it precedes the tag).
void Session::guardKeystream(bool rtcp, std::span<const std::uint8_t> packet) const {
  auto word = [&packet](std::size_t at) {
    return static_cast<std::uint32_t>(packet[at]) << 24 |
           static_cast<std::uint32_t>(packet[at + 1]) << 16 |
           static_cast<std::uint32_t>(packet[at + 2]) << 8 | packet[at + 3];
  };
  if (rtcp) {
    const std::size_t tag = rtcpTrailer() - 4;
    const std::size_t at =
        suite_ == Suite::kAeadAes128Gcm ? packet.size() - 4 : packet.size() - tag - 4;
    keystream_guard::protectedPacket(keyId_, true, word(4), word(at) & 0x7fffffffu);
    return;
  }
  const std::uint32_t ssrc = word(8);
  std::uint32_t roc = 0;
  srtp_get_stream_roc(context_, ssrc, &roc);
  const auto sequence = static_cast<std::uint64_t>(packet[2]) << 8 | packet[3];
  keystream_guard::protectedPacket(keyId_, false, ssrc,
                                   static_cast<std::uint64_t>(roc) << 16 | sequence);
}

bool Session::transform(Operation operation, std::span<std::uint8_t> buffer, std::size_t& length) {
  const bool rtcp = operation == Operation::kProtectRtcp || operation == Operation::kUnprotectRtcp;
  const bool protect = operation == Operation::kProtectRtp || operation == Operation::kProtectRtcp;
  Counters& counters = rtcp ? rtcpCounters_ : rtpCounters_;

  // What libsrtp cannot check for itself: it takes no buffer size and writes the trailer after
  // the packet, and it reads header fields before looking at the length.
  const std::size_t room = protect ? (rtcp ? rtcpTrailer() : rtpTrailer()) : 0;
  const std::size_t minLength = rtcp ? kMinRtcpLength : kMinRtpLength;
  const bool rightDirection = protect == (direction_ == Direction::kOutbound);
  if (context_ == nullptr || !rightDirection || length < minLength || length > buffer.size() ||
      buffer.size() - length < room || length + room > kMaxPacketLength) {
    ++counters.otherFailures;
    counters.lastStatus = srtp_err_status_bad_param;
    return false;
  }

  int len = static_cast<int>(length);
  void* data = buffer.data();
  srtp_err_status_t status = srtp_err_status_ok;
  switch (operation) {
    case Operation::kProtectRtp:
      status = srtp_protect(context_, data, &len);
      break;
    case Operation::kUnprotectRtp:
      status = srtp_unprotect(context_, data, &len);
      break;
    case Operation::kProtectRtcp:
      status = srtp_protect_rtcp(context_, data, &len);
      break;
    case Operation::kUnprotectRtcp:
      status = srtp_unprotect_rtcp(context_, data, &len);
      break;
  }

  switch (status) {
    case srtp_err_status_ok:
      ++counters.packets;
      length = static_cast<std::size_t>(len);
      if (keystream_guard::enabled() && protect) {
        guardKeystream(rtcp, buffer.first(length));
      }
      return true;
    case srtp_err_status_auth_fail:
      ++counters.authFailures;
      break;
    case srtp_err_status_replay_fail:
    case srtp_err_status_replay_old:
      ++counters.replayFailures;
      break;
    default:
      ++counters.otherFailures;
      break;
  }
  counters.lastStatus = status;
  return false;
}

}  // namespace confab::srtp
