// The one mixer control interface. The focus drives mixes through it without knowing whether the
// mixer runs in-process (InProcessMixer) or as a separate confab-mixer process.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "mixer/net/MediaEndpoint.hpp"
#include "mixer/room/Room.hpp"

namespace confab::mixer {

using MixId = uint64_t;
using EndpointId = uint64_t;

// What SDP negotiation decided for one participant's media.
struct MediaParams {
  ParticipantSettings participant;
  EndpointSettings endpoint;
  // False while our direction is recvonly or inactive (they put us on hold, RFC 3264 §5.1).
  bool sending = true;
  // False while they send nothing (they said recvonly or inactive), so silence is no sign of a
  // dead call.
  bool receiving = true;
};

struct Reservation {
  EndpointId id = 0;
  uint16_t rtpPort = 0;  // RTCP on rtpPort + 1 unless rtcp-mux
};

// Call quality from RTCP (RFC 3550 §6.4): how we receive them, and what they report of us.
struct MediaQuality {
  uint8_t ourFractionLost = 0;  // 1/256 units, last interval
  uint32_t ourJitter = 0;       // RTP timestamp units
  uint8_t theirFractionLost = 0;
  int32_t theirCumulativeLost = 0;
  uint32_t theirJitter = 0;
  uint32_t roundTripMicros = 0;
};

struct MixStats {
  std::size_t participants = 0;
  unsigned encodesLastTick = 0;
};

// Events from the mixer, delivered on the thread that calls Control::deliverEvents().
class MixerEvents {
 public:
  virtual void onDtmf(EndpointId endpoint, char digit) = 0;
  // No RTP for the configured timeout: the call is probably gone.
  virtual void onRtpTimeout(EndpointId endpoint) = 0;

 protected:
  ~MixerEvents() = default;
};

class Control {
 public:
  virtual ~Control() = default;

  virtual MixId createMix(const RoomSettings& settings) = 0;
  virtual void destroyMix(MixId mix) = 0;
  // Binds the ports for a participant-to-be: the port goes into the SDP answer.
  virtual std::optional<Reservation> reserve() = 0;
  // After negotiation: the endpoint starts sending and receiving as part of the mix.
  virtual bool join(EndpointId endpoint, MixId mix, const MediaParams& params) = 0;
  // A re-INVITE changed the media (codec, keys, hold).
  virtual bool update(EndpointId endpoint, const MediaParams& params) = 0;
  // Leaves the mix (if joined) and frees the ports.
  virtual void release(EndpointId endpoint) = 0;
  virtual void setMuted(EndpointId endpoint, bool muted) = 0;
  virtual void setDeaf(EndpointId endpoint, bool deaf) = 0;
  virtual void setGain(EndpointId endpoint, float gain) = 0;

  // A file descriptor that becomes readable when events wait; then call deliverEvents().
  [[nodiscard]] virtual int eventFd() const = 0;
  virtual void deliverEvents(MixerEvents& events) = 0;
};

}  // namespace confab::mixer
