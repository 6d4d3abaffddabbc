// G.722 (ITU-T G.722, 64 kbit/s sub-band ADPCM): 16 kHz audio, 8 bits per pair of samples, so
// 20 ms is 320 samples in 160 bytes. The coding itself is SpanDSP's (Debian's libspandsp); this
// wraps its state so a room can own it. Note RFC 3551 §4.5.2: the RTP clock and the SDP rate
// say 8000 although the audio is sampled at 16000 (an error in the first RTP profile kept for
// compatibility), so one byte is one RTP timestamp unit and two samples.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>

struct g722_encode_state_s;
struct g722_decode_state_s;

namespace confab::codec {

inline constexpr int kG722SampleRate = 16000;
inline constexpr int kG722RtpClockRate = 8000;

class G722Encoder {
 public:
  // The state is allocated here; encode() allocates nothing.
  G722Encoder();
  ~G722Encoder();
  G722Encoder(G722Encoder&&) noexcept;
  G722Encoder& operator=(G722Encoder&&) noexcept;

  // Encodes an even number of 16 kHz samples into pcm.size() / 2 bytes; returns the bytes
  // written, 0 when out is too small or pcm.size() is odd.
  std::size_t encode(std::span<const int16_t> pcm, std::span<uint8_t> out);

 private:
  struct Free {
    void operator()(g722_encode_state_s* s) const;
  };
  std::unique_ptr<g722_encode_state_s, Free> state_;
};

class G722Decoder {
 public:
  G722Decoder();
  ~G722Decoder();
  G722Decoder(G722Decoder&&) noexcept;
  G722Decoder& operator=(G722Decoder&&) noexcept;

  // Decodes codes into 2 * codes.size() samples of 16 kHz audio; returns the samples written,
  // 0 when out is too small.
  std::size_t decode(std::span<const uint8_t> codes, std::span<int16_t> out);
  // Starts over as a fresh decoder (a new source: its adaptive state says nothing of the next).
  void reset();

 private:
  struct Free {
    void operator()(g722_decode_state_s* s) const;
  };
  std::unique_ptr<g722_decode_state_s, Free> state_;
};

}  // namespace confab::codec
