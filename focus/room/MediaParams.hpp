// What an SDP offer/answer decided, in the mixer's terms (the mixer knows nothing of SDP).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "focus/sdp/OfferAnswer.hpp"
#include "focus/sip/Message.hpp"
#include "focus/transport/Addressing.hpp"
#include "mixer/engine/Control.hpp"

namespace confab::room {

// Where the request that carried an offer came from: the transport source, and the originating
// UA's address as the first proxy saw it (the bottom Via's received=, else its sent-by when that
// is an IP address). IP addresses only, as text.
std::vector<std::string> signallingHosts(const sip::Message& request,
                                         const transport::Source& source);

// Nothing when the negotiated codec is one the mixer does not run. 'signalling' is what
// signallingHosts() gave for the offer: the media may latch from the SDP's address, and from
// those when the SDP's address says nothing about where the packets will come from (absent, a
// name, the hold address, or a private one, as behind a NAT).
std::optional<mixer::MediaParams> toMediaParams(const sdp::Negotiated& negotiated,
                                                uint32_t ssrc,
                                                const std::vector<std::string>& signalling = {});

}  // namespace confab::room
