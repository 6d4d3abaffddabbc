// SDP offer/answer (RFC 3264) for the conference focus: it answers the callers' offers (INVITE,
// re-INVITE for hold/resume) and, for an INVITE without a body, offers in the 200 and takes the
// answer from the ACK. One audio stream per call is accepted; everything else is refused.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "focus/sdp/Attributes.hpp"
#include "focus/sdp/SessionDescription.hpp"
#include "focus/sip/Result.hpp"

namespace confab::sdp {

// An audio codec we can decode and encode, as an rtpmap names it (RFC 4566 §6).
struct Codec {
  std::string name;  // compared case-insensitively (RFC 4855 §3)
  std::uint32_t clockRate = 8000;
  unsigned channels = 1;
};

// The SDES crypto suites we run (RFC 4568 §6.2, RFC 7714 §14.2).
enum class SrtpSuite { kAesCm128HmacSha1_80, kAesCm128HmacSha1_32, kAeadAes128Gcm };

std::string_view toString(SrtpSuite suite);
std::optional<SrtpSuite> srtpSuiteFromName(std::string_view name);
// Master key plus master salt: 16 + 14 bytes for AES-CM (RFC 4568 §6.2.1), 16 + 12 for AES-GCM
// (RFC 7714 §12).
std::size_t masterKeyLength(SrtpSuite suite);

// Fills the span with cryptographically random bytes; false when the generator failed.
using RandomBytes = std::function<bool(std::span<std::uint8_t>)>;

// What this side of the call has and allows.
struct LocalMedia {
  std::string address;        // our c= address: an IPv4 or IPv6 literal
  std::uint16_t rtpPort = 0;  // RTCP on rtpPort + 1 unless rtcp-mux is agreed (RFC 3550 §11)
  bool allowPlainRtp = true;  // plain RTP only when this is set and requireSrtp is not
  bool requireSrtp = false;
  // Preference order, first best; telephone-event entries give the RFC 4733 rates we take.
  // G.722 before G.711: a desk phone that has it sounds twice as wide (RFC 3551 §4.5.2).
  std::vector<Codec> codecs = {{"opus", 48000, 2},
                               {"G722", 8000, 1},
                               {"PCMU", 8000, 1},
                               {"PCMA", 8000, 1},
                               {"telephone-event", 8000, 1},
                               {"telephone-event", 48000, 1}};
  std::vector<SrtpSuite> srtpSuites = {SrtpSuite::kAesCm128HmacSha1_80,
                                       SrtpSuite::kAesCm128HmacSha1_32, SrtpSuite::kAeadAes128Gcm};
  // RTP header extensions we accept (RFC 8285); one-byte ids 1-14 only.
  std::vector<std::string> headerExtensions = {std::string(kSsrcAudioLevelUri),
                                               std::string(kCsrcAudioLevelUri)};
  unsigned ptime = 20;            // what we ask to receive (a=ptime)
  unsigned maxptime = 0;          // 0: no a=maxptime
  bool offerRtcpMux = true;       // offer(): ask for RFC 5761 multiplexing
  bool opportunisticSrtp = true;  // offer(): a=crypto on RTP/AVP when SRTP is optional (RFC 8643)
  std::string sessionName = "Confab";
  std::uint64_t sessionId = 0;
  // RFC 3264 §8: the caller bumps this for every new offer or answer within a dialog.
  std::uint64_t sessionVersion = 0;
  // Our SRTP master key and salt: from randomBytes when set (a fresh key per call of answer() or
  // offer()), else the first masterKeyLength() bytes of srtpKeyMaterial (to keep the same key
  // across re-INVITEs). With neither, SRTP is unavailable.
  RandomBytes randomBytes;
  std::vector<std::uint8_t> srtpKeyMaterial;
};

// RFC 7587 §6.1: what the far end asked of the Opus stream we send it.
struct OpusParameters {
  std::uint32_t maxPlaybackRate = 48000;
  bool stereo = false;
  bool useInbandFec = false;
  bool useDtx = false;
  bool cbr = false;
  std::optional<std::uint32_t> maxAverageBitrate;
};

struct NegotiatedCodec {
  std::string name;              // our spelling (LocalMedia::codecs): "opus", "PCMU"
  std::uint8_t payloadType = 0;  // the offerer's number, used both ways (RFC 3264 §6.1)
  std::uint32_t clockRate = 0;
  unsigned channels = 1;
  std::string remoteFmtp;              // their a=fmtp parameters: how they want to receive
  std::string localFmtp;               // ours
  std::optional<OpusParameters> opus;  // from remoteFmtp, for Opus
};

struct SrtpParameters {
  SrtpSuite suite = SrtpSuite::kAesCm128HmacSha1_80;
  std::uint32_t tag = 0;
  std::vector<std::uint8_t> localKey;   // master key || salt we protect with
  std::vector<std::uint8_t> remoteKey;  // theirs, to unprotect
  // No MKI: a crypto line with one is never chosen (remoteKey() in OfferAnswer.cpp).
  std::optional<std::string> remoteLifetime;
};

// The outcome of one offer/answer exchange for the one audio stream in use.
struct Negotiated {
  // answer(): the answer to send. acceptAnswer(): the answer as received.
  SessionDescription answer;
  std::size_t mediaIndex = 0;  // which m= line carries the audio

  NegotiatedCodec codec;
  std::optional<std::uint8_t> telephoneEventPayloadType;  // RFC 4733
  std::uint32_t telephoneEventClockRate = 0;
  // RFC 3389 comfort noise they may send beside an 8 kHz codec (answer() only; we never send it).
  std::optional<std::uint8_t> comfortNoisePayloadType;

  unsigned ptime = 20;  // ms of audio per packet we send
  std::optional<unsigned> remotePtime;
  std::optional<unsigned> remoteMaxptime;

  std::string remoteAddress;  // literal or host name, as the c= line gave it
  bool remoteIpv6 = false;
  std::uint16_t remoteRtpPort = 0;
  std::string remoteRtcpAddress;
  std::uint16_t remoteRtcpPort = 0;
  bool rtcpMux = false;

  std::optional<SrtpParameters> srtp;  // empty: plain RTP

  Direction localDirection = Direction::kSendRecv;   // what we do
  Direction remoteDirection = Direction::kSendRecv;  // what they said
  // They put us on hold: sendonly/inactive (RFC 3264 §8.4) or c=0.0.0.0 (RFC 2543). Send nothing.
  bool onHold = false;

  std::vector<ExtMap> headerExtensions;  // agreed, with the ids both sides use
};

// Answers an offer (initial or re-INVITE). Fails with 488 when no audio stream is acceptable and
// with 500 when 'local' lacks an address or port.
Result<Negotiated> answer(const SessionDescription& offer, const LocalMedia& local);

// Our offer for an INVITE that came without one: one audio stream with every codec we have. When
// SRTP is required the stream is RTP/SAVP with a=crypto for each suite; otherwise RTP/AVP, with
// a=crypto (RFC 8643 opportunistic SRTP) when opportunisticSrtp is set and we have key material.
SessionDescription offer(const LocalMedia& local);

// The same session at a new address (RFC 3264 §8.3.1): 'lastSent' (the SDP we last sent in the
// dialog, offer or answer) as a new offer with local.address on its c= and o= lines, local.rtpPort
// on the audio stream at 'mediaIndex', no a=rtcp (it named the old port), and on each a=crypto
// line the key LocalMedia gives for its suite. The codecs, payload types, profile and direction
// stay, so a phone that took the session takes its move. Used when the media moved to another
// mixer: a new master key, because the new mixer's stream may reuse packet indices the old one
// used with the old key (RFC 3711 §9.1). The caller stamps the o= version.
SessionDescription reoffer(const SessionDescription& lastSent,
                           std::size_t mediaIndex,
                           const LocalMedia& local);

// Reads the answer (from the ACK or a 200) to an offer we made. 488 when it is not a valid answer
// to that offer or leaves no usable audio.
Result<Negotiated> acceptAnswer(const SessionDescription& ourOffer,
                                const SessionDescription& answer);

}  // namespace confab::sdp
