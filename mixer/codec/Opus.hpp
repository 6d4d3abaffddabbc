// Opus (RFC 6716) encoder and decoder for one mono RTP stream (RFC 7587), over libopus. The state
// lives in storage allocated once at construction; encode and decode never allocate.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>

namespace confab::codec {

// A sample or byte count, or libopus's negative error code (opus_defines.h).
class OpusResult {
 public:
  static OpusResult count(std::size_t n) { return OpusResult(static_cast<int>(n)); }
  static OpusResult failure(int opusError) { return OpusResult(opusError < 0 ? opusError : -1); }

  [[nodiscard]] bool ok() const { return value_ >= 0; }
  explicit operator bool() const { return ok(); }
  // Bytes written by encode, samples written by decode; 0 on failure.
  [[nodiscard]] std::size_t value() const { return ok() ? static_cast<std::size_t>(value_) : 0; }
  [[nodiscard]] int error() const { return ok() ? 0 : value_; }
  // libopus's static description of the error; never allocates.
  [[nodiscard]] const char* message() const;

 private:
  explicit OpusResult(int value) : value_(value) {}
  int value_;
};

// In-band FEC on what we encode (RFC 7587 §3.3: a peer offering useinbandfec=1 decodes it), on by
// default. Under single losses it turns a lost 20 ms from a guess into a near copy (the room test
// in tests/unit/mixer/room/RoomReceiveTest.cpp: 20 dB against the loss-free signal instead of
// 5 dB). The LBRR comes out of the same bitrate (the primary coding gets a little less) and costs
// about a fifth more encode time (136 -> 164 us per 20 ms of voice-like signal at complexity 5,
// thread CPU time, 2026-11; bench_codec's "in-band FEC" rows measure it); the mixer encodes once
// per talker and once per listener codec, not per participant, so that stays small beside the
// per-participant decodes. The loss hint must be above 5 %: at 5 % and below, libopus 1.3 adds
// no LBRR at all at 32 kbit/s (only above 5 % does it trade bandwidth for the LBRR's rate), so a
// 5 % hint would cost nothing and protect nothing. Set inbandFec = false to save the time.
inline constexpr int kDefaultFecLossPercent = 10;

struct OpusEncoderConfig {
  int sampleRate = 48000;  // 8000, 12000, 16000, 24000 or 48000
  int bitrate = 32000;     // bit/s
  int complexity = 5;      // 0..10: 5 is a fair price per participant for a mixer
  bool inbandFec = true;   // RFC 7587 §3.3 useinbandfec
  bool dtx = false;        // RFC 7587 §3.1.3 usedtx
  // Expected loss: tunes how much LBRR the encoder spends (and how robust its prediction is).
  int packetLossPercent = kDefaultFecLossPercent;
  // CELT only (OPUS_APPLICATION_RESTRICTED_LOWDELAY, RFC 6716 §2): no SILK layer, so no in-band
  // FEC (inbandFec is ignored), 2.5 ms of look-ahead instead of 6.5, and about a third of the
  // VOIP encoder's time at complexity 1 (tests/bench/RESULTS.md "Opus encode modes"). Fixed for
  // the encoder's life: libopus does not switch a running encoder into it.
  bool celtOnly = false;
};

class OpusEncoder {
 public:
  // Throws std::invalid_argument for a config libopus refuses (call set-up, not the media path).
  explicit OpusEncoder(const OpusEncoderConfig& config = {});
  ~OpusEncoder();
  OpusEncoder(const OpusEncoder&) = delete;
  OpusEncoder& operator=(const OpusEncoder&) = delete;
  OpusEncoder(OpusEncoder&&) noexcept;
  OpusEncoder& operator=(OpusEncoder&&) noexcept;

  // pcm holds exactly one frame of 10, 20, 40 or 60 ms at the encoder's rate; out should have
  // room for a packet (1275 bytes is the most one Opus frame takes, RFC 6716 §3.2.1).
  OpusResult encode(std::span<const int16_t> pcm, std::span<uint8_t> out);

  // Changed between frames, e.g. from RTCP receiver reports; each returns false if refused.
  bool setBitrate(int bitsPerSecond);
  bool setComplexity(int complexity);
  bool setInbandFec(bool on);
  bool setDtx(bool on);
  bool setPacketLossPercent(int percent);

  [[nodiscard]] int sampleRate() const { return rate_; }
  [[nodiscard]] bool celtOnly() const { return celtOnly_; }
  // Delay the encoder adds, in samples at its rate (OPUS_GET_LOOKAHEAD).
  [[nodiscard]] int lookahead() const;

 private:
  struct Storage;
  std::unique_ptr<Storage> state_;
  int rate_;
  bool celtOnly_;
};

class OpusDecoder {
 public:
  // Throws std::invalid_argument for a rate other than 8, 12, 16, 24 or 48 kHz.
  explicit OpusDecoder(int sampleRate = 48000);
  ~OpusDecoder();
  OpusDecoder(const OpusDecoder&) = delete;
  OpusDecoder& operator=(const OpusDecoder&) = delete;
  OpusDecoder(OpusDecoder&&) noexcept;
  OpusDecoder& operator=(OpusDecoder&&) noexcept;

  // Decodes one packet into out (room for the packet's duration, up to 120 ms); returns samples.
  OpusResult decode(std::span<const uint8_t> packet, std::span<int16_t> out);
  // The packet before nextPacket was lost: recovers it from nextPacket's in-band FEC (LBRR,
  // RFC 6716 §2.1.7). out.size() is the lost frame's duration. Without LBRR in nextPacket libopus
  // conceals instead, so the call always yields audio.
  OpusResult decodeFec(std::span<const uint8_t> nextPacket, std::span<int16_t> out);
  // Lost with nothing to recover from: the decoder's own concealment for out.size() samples.
  OpusResult conceal(std::span<int16_t> out);

  // Back to a fresh decoder's state (OPUS_RESET_STATE), for a new source; allocates nothing.
  void reset();
  // Samples (at our rate) of the last packet decoded or concealed (OPUS_GET_LAST_PACKET_DURATION).
  [[nodiscard]] int lastPacketDuration() const;
  [[nodiscard]] int sampleRate() const { return rate_; }

 private:
  struct Storage;
  std::unique_ptr<Storage> state_;
  int rate_;
};

}  // namespace confab::codec
