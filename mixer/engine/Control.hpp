// The one mixer control interface. The focus drives mixes through it without knowing whether the
// mixer runs in-process (InProcessMixer) or as a separate confab-mixer process.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

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
  // The address the ports are bound on, for the SDP c= line, when the mixer knows better than the
  // focus (a remote mixer on another machine). Empty: the focus picks (its own address).
  std::string address;
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

// A snapshot of one participant's media, refreshed by the mixer about once a second.
struct MediaStats {
  uint64_t packetsReceived = 0;
  // The caller's own packets we could not play: the sum of the four counts after it. A clean call
  // on a clean network shows 0 here.
  uint64_t packetsDropped = 0;
  uint64_t packetsLate = 0;       // came after their audio was played (jitter buffer)
  uint64_t packetsDuplicate = 0;  // the same audio twice
  uint64_t packetsMalformed = 0;  // unparsable RTP, an unnegotiated payload type, a bad payload
  uint64_t packetsUnauthenticated = 0;  // SRTP authentication or replay check failed (RFC 3711)
  // Not the caller's: other source addresses (before latching and after), another SSRC, sequence
  // numbers or timestamps outside the stream (RFC 3550 A.1). Each is refused, none is played.
  uint64_t packetsRefused = 0;
  uint64_t packetsNotMedia = 0;  // STUN, DTLS, keep-alives, noise on the media port: ignored
  uint64_t framesDecoded = 0;
  uint64_t framesConcealed = 0;  // PLC or FEC filled a gap
  uint64_t packetsSent = 0;
  bool talking = false;
  MediaQuality quality;
};

struct MixStats {
  std::size_t participants = 0;
  unsigned encodesLastTick = 0;
  bool recording = false;
  bool playing = false;
  // Since the mix was created, over all its files: 20 ms frames a playback had not read from
  // disk in time (the room heard nothing of the file for them), and frames a recording could not
  // hand to its file in time (written as silence). Both 0 on a healthy machine.
  uint64_t playbackUnderruns = 0;
  uint64_t recordingDrops = 0;
};

// How one mixer thread keeps time: tick lateness over the last stats interval.
struct EngineThreadStats {
  uint64_t ticks = 0;
  double latenessP50Micros = 0;
  double latenessP99Micros = 0;
  double latenessP999Micros = 0;
  double cpuSeconds = 0;  // since the thread started
  std::size_t mixes = 0;
  // Endpoints joined to its mixes, whoever's (several confabs may share a mixer).
  std::size_t participants = 0;
  uint64_t faults = 0;  // exceptions caught on the thread since it started (onMixerFault)
};

enum class RecordingFormat : uint8_t { kWav, kOggOpus };

// Why a recording or a playback ended.
enum class MediaFileEnd : uint8_t { kFinished, kStopped, kError };

// Where a call's RTP latched, or that packets from a source were refused: for the log (an
// operator's fail2ban can act on refused sources), rate-limited by the mixer.
struct MediaSourceEvent {
  bool latched = false;
  std::string address;   // IP:PORT, an IPv6 address in brackets
  uint64_t refused = 0;  // packets refused (from any source) since the last event
};

// Events from the mixer, delivered on the thread that calls Control::deliverEvents().
class MixerEvents {
 public:
  virtual void onDtmf(EndpointId endpoint, char digit) = 0;
  // No RTP for the configured timeout: the call is probably gone.
  virtual void onRtpTimeout(EndpointId endpoint) = 0;
  // The endpoint cannot carry media any more (a remote mixer refused it or went away); treat it
  // like a timeout.
  virtual void onEndpointFailed(EndpointId endpoint) { onRtpTimeout(endpoint); }
  // The endpoint's mixer went away and its room now runs on another one (MixerSet failover):
  // 'where' holds its new ports there, under the same id. It is not joined: the owner tells the
  // peer the new address (a re-INVITE) and joins it again. Whoever cannot ends the call.
  virtual void onEndpointRelocated(EndpointId endpoint, const Reservation& /*where*/) {
    onEndpointFailed(endpoint);
  }
  // Voice activity picked or dropped them as a talker (with hysteresis, so not per packet).
  virtual void onTalking(EndpointId /*endpoint*/, bool /*talking*/) {}
  virtual void onPlaybackEnded(MixId /*mix*/, MediaFileEnd /*how*/) {}
  virtual void onRecordingEnded(MixId /*mix*/, MediaFileEnd /*how*/) {}
  virtual void onMediaSource(EndpointId /*endpoint*/, const MediaSourceEvent& /*event*/) {}
  // An exception was caught on a mixer thread: 'endpoint' (its call is ended with
  // onEndpointFailed) or 'mix' says where, 0 when neither. The thread and its other rooms go on.
  virtual void onMixerFault(EndpointId /*endpoint*/, MixId /*mix*/, const std::string& /*what*/) {}

 protected:
  ~MixerEvents() = default;
};

class Control {
 public:
  virtual ~Control() = default;

  virtual MixId createMix(const RoomSettings& settings) = 0;
  // A mix that endpoints of 'near' can move into (a lobby beside its room, a prompt beside the
  // room a caller is in): with several mixers, on the same one. One mixer: createMix().
  virtual MixId createMixBeside(const RoomSettings& settings, MixId /*near*/) {
    return createMix(settings);
  }
  virtual void destroyMix(MixId mix) = 0;
  // Binds the ports for a participant-to-be: the port goes into the SDP answer.
  virtual std::optional<Reservation> reserve() = 0;
  // The same, for a participant of 'mix': with several mixers (MixerSet) the ports must be where
  // the mix runs. One mixer: reserve().
  virtual std::optional<Reservation> reserveFor(MixId /*mix*/) { return reserve(); }
  // After negotiation: the endpoint starts sending and receiving as part of the mix.
  virtual bool join(EndpointId endpoint, MixId mix, const MediaParams& params) = 0;
  // A re-INVITE changed the media (codec, keys, hold).
  virtual bool update(EndpointId endpoint, const MediaParams& params) = 0;
  // Moves a joined endpoint to another mix (from a lobby or a waiting room into the conference,
  // and back): its media goes on unbroken, the same SSRC, sequence numbers and SRTP contexts;
  // only whom it hears and who hears it change. Its Controls go back to what the last join or
  // update said: the caller sets them again after. False when the endpoint or the mix is unknown;
  // a move that fails later ends with onEndpointFailed. Requests about the endpoint made after it
  // apply in the new mix.
  virtual bool move(EndpointId endpoint, MixId mix) = 0;
  // Whether move() could take the endpoint there: false when, with several mixers, the mix runs
  // on another one than the endpoint's media (asked before a move, so that it can be refused
  // while the call stays where it is).
  [[nodiscard]] virtual bool canMove(EndpointId /*endpoint*/, MixId /*mix*/) const { return true; }
  // Where canMove() is false: new ports for the endpoint on the mixer that runs 'mix', under the
  // same id; it leaves its mix and its old ports are freed. It is joined again (to 'mix') once the
  // peer has the new address (a re-INVITE). Nothing when it cannot (one mixer never needs it).
  virtual std::optional<Reservation> relocate(EndpointId /*endpoint*/, MixId /*mix*/) {
    return std::nullopt;
  }
  // Leaves the mix (if joined) and frees the ports.
  virtual void release(EndpointId endpoint) = 0;
  // Replaces all of a joined endpoint's live controls (Controls, mixer/room/Room.hpp) at once: one
  // request whatever changed, so a new control needs no new method here. They hold until the next
  // update (which brings its own) or move (back to those of the last join or update).
  virtual void setControls(EndpointId endpoint, const Controls& controls) = 0;

  // Records everything the room hears (the full mix, every talker, and any playback) to 'path'
  // on the mixer's machine, one frame per 20 ms whether anyone talks or not, so the file lasts as
  // long as the recording did. WAV: 16-bit mono at the room's rate when it starts (resampled if
  // the rate changes), header sizes kept right about every second. Ogg Opus: mono 48 kHz.
  // False when the mix is unknown, already recording, or the file cannot be created (checked on
  // the calling thread); a file that fails later (disk full) ends with onRecordingEnded(kError).
  virtual bool startRecording(MixId mix, const std::string& path, RecordingFormat format) = 0;
  // onRecordingEnded(kStopped) follows once the file is complete and closed. destroyMix() stops
  // a recording the same way.
  virtual void stopRecording(MixId mix) = 0;
  // Plays a file (WAV PCM 16-bit at any rate, mono or stereo; or Ogg Opus) into the mix: everyone
  // hears it. The file is opened and its header checked on the calling thread: false when the mix
  // is unknown or the file is missing, unreadable or of another format. Replaces what was
  // playing (that one ends with onPlaybackEnded(kStopped)). onPlaybackEnded() tells when it is
  // over: kFinished at its end, kError if it breaks half-way, kStopped after stopPlaying(),
  // a replacement or destroyMix().
  virtual bool play(MixId mix, const std::string& path) = 0;
  virtual void stopPlaying(MixId mix) = 0;

  // The latest snapshots (about a second old at most); nullopt for an unknown id.
  [[nodiscard]] virtual std::optional<MixStats> mixStats(MixId mix) const = 0;
  [[nodiscard]] virtual std::optional<MediaStats> endpointStats(EndpointId endpoint) const = 0;
  [[nodiscard]] virtual std::vector<EngineThreadStats> engineStats() const = 0;

  // Whether new calls can get media now (a remote mixer: connected and greeted). For readiness
  // probes; a call placed meanwhile is refused or ends with onEndpointFailed either way.
  [[nodiscard]] virtual bool ready() const { return true; }

  // A file descriptor that becomes readable when events wait; then call deliverEvents().
  [[nodiscard]] virtual int eventFd() const = 0;
  virtual void deliverEvents(MixerEvents& events) = 0;
};

}  // namespace confab::mixer
