// Audio level of a frame in dBov (RFC 6464 §4: relative to the overload point, where 0 dBov is a
// full-scale square wave, i.e. RMS 32767 for 16-bit PCM).
#pragma once

#include <cstdint>
#include <span>

namespace confab::dsp {

// RMS level in dBov, <= 0; -127 or below for digital silence (returns -127 then).
[[nodiscard]] float dbov(std::span<const int16_t> pcm);

// RFC 6464 §4 / RFC 6465: the client-to-mixer / mixer-to-client level field, 0..127 meaning
// 0..-127 dBov; 127 is silence.
[[nodiscard]] uint8_t levelDbov(std::span<const int16_t> pcm);

}  // namespace confab::dsp
