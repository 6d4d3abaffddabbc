// What an SDP offer/answer decided, in the mixer's terms (the mixer knows nothing of SDP).
#pragma once

#include <cstdint>
#include <optional>

#include "focus/sdp/OfferAnswer.hpp"
#include "mixer/engine/Control.hpp"

namespace confab::room {

// Nothing when the negotiated codec is one the mixer does not run.
std::optional<mixer::MediaParams> toMediaParams(const sdp::Negotiated& negotiated, uint32_t ssrc);

}  // namespace confab::room
