// One conference's audio: participants' RTP in, a jitter buffer and decoder each, voice activity
// picking at most K talkers, and every participant's mix out. Talkers hear everyone but
// themselves (N-1, their own encoder); everyone else shares one mix, encoded once per codec and
// sent to each with its own RTP header. A room belongs to one mixer thread: receive() and tick()
// are called from it only, and neither allocates.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <unordered_map>
#include <vector>

#include "mixer/dsp/JitterBuffer.hpp"
#include "mixer/dsp/Preprocessor.hpp"
#include "mixer/dsp/Resampler.hpp"
#include "mixer/dsp/SoftLimiter.hpp"
#include "mixer/dsp/Vad.hpp"
#include "mixer/room/AudioCodec.hpp"
#include "mixer/rtp/TelephoneEvent.hpp"

namespace confab::mixer {

using ParticipantId = uint32_t;

// The one gain range (linear; 1 leaves a voice as it is): up to +12 dB, louder than that is
// distortion, not help. The API, the mixer protocol and the room all take it from here.
inline constexpr float kMaxGain = 4.0F;

// What may change about a participant at any moment without touching their stream: set whole by
// Control::setControls, read by the room on every tick. A new live control is a field here, its
// line in the mixer protocol's describe() (mixer/remote/Protocol.cpp), its effect in Room.cpp and
// its line in docs/mixer-protocol.md; every layer between carries the struct as it is. Only what
// the room can apply in place belongs here: a switch that needs something built (the
// preprocessor's noise suppression and AGC) stays in ParticipantSettings, changed by an update.
struct Controls {
  bool muted = false;  // their voice is not mixed
  bool deaf = false;   // they hear silence
  float gain = 1.0F;   // applied to their voice, 0 to kMaxGain
  bool operator==(const Controls&) const = default;
};

// What the signalling side negotiated for one participant (SDP answer), in mixer terms.
struct ParticipantSettings {
  Codec codec = Codec::kOpus;
  uint8_t payloadType = 111;
  std::optional<uint8_t> telephoneEventPayloadType;  // RFC 4733
  std::optional<uint8_t> comfortNoisePayloadType;    // RFC 3389 CN (13 at 8 kHz), G.711 only
  uint8_t audioLevelId = 0;                          // RFC 6464 extension id they send, 0: none
  uint8_t csrcLevelsId = 0;                          // RFC 6465 extension id we send them, 0: none
  uint32_t ssrc = 0;                                 // the SSRC of what we send them
  bool noiseSuppression = false;                     // SpeexDSP noise suppression on their voice
  bool automaticGain = false;                        // SpeexDSP AGC on their voice
  // Opus only: in-band FEC in what we send them, as their useinbandfec asks (RFC 7587 §6.1: a
  // decoder that does not use it would only get a worse primary coding for the same bitrate).
  bool opusFec = true;
  Controls controls;                                 // as they join; setControls changes them
};

struct RoomSettings {
  unsigned maxTalkers = 4;
  int opusBitrate = 32000;
  // RFC 6464 levels at or above this many -dBov say silence: such packets are not decoded.
  uint8_t silentLevel = 60;
  // A talker holds its place against a louder newcomer by this many dB (no flapping).
  float talkerStickinessDb = 6.0F;
  // How each Opus mix is encoded (tests/bench/RESULTS.md "Opus encode modes: what to pick").
  // A talker's own N-1 mix, heard by that talker only while they talk over it: CELT only at
  // complexity 1, a third of the VOIP encoder's time at complexity 1, fullband, no FEC.
  int talkerOpusComplexity = 1;
  bool talkerOpusCeltOnly = true;
  // The shared mix for listeners who take in-band FEC (useinbandfec=1) while their RTCP reports
  // show loss, or before their first report: VOIP (SILK and CELT, with FEC).
  int listenerOpusComplexity = 5;
  // The shared mix for every other Opus listener, whom FEC would not help: by default CELT only
  // at complexity 1, a seventh of the VOIP encoder's time at 5 with FEC.
  int plainListenerOpusComplexity = 1;
  bool plainListenerOpusCeltOnly = true;
  // A listener whose last decoded frame was below this level (well under the VAD's start level)
  // is decoded every other frame only (half of them on odd ticks, half on even): their audio is
  // not mixed, only watched for speech, and speech still starts them talking, at most one frame
  // later. -127 decodes every frame.
  float quietListenerDbov = -50.0F;
};

struct ParticipantStats {
  uint64_t packetsReceived = 0;
  uint64_t packetsMalformed = 0;    // unparsable, unnegotiated payload type, bad payload
  uint64_t packetsForeignSsrc = 0;  // another SSRC than the one latched to
  uint64_t packetsDuplicate = 0;    // the jitter buffer held that audio already
  uint64_t framesDecoded = 0;
  // Receive side, in 20 ms frames whatever the ptime. Lost: packets that never came, whether
  // anyone heard them or not. Concealed: lost (or held by the jitter buffer) and made up while
  // they were heard. Recovered: lost and decoded from the next packet's Opus in-band FEC.
  // Comfort noise: the sender's silence (Opus DTX, RFC 3389 CN, a stall) filled while they were
  // heard; not a loss.
  uint64_t framesLost = 0;
  uint64_t framesConcealed = 0;
  uint64_t framesRecoveredFec = 0;
  uint64_t framesComfortNoise = 0;
  // Packets that came after their audio was due, and the jitter buffer's current delay.
  uint64_t packetsLate = 0;
  uint32_t jitterDelayMs = 0;
  uint64_t framesSkippedSilent = 0;  // RFC 6464 said silence
  uint64_t framesSkippedQuiet = 0;   // not decoded: muted, or a quiet listener's other frame
  uint64_t packetsSent = 0;
  uint64_t octetsSent = 0;         // payload octets (RFC 3550 §6.4.1 sender's octet count)
  uint32_t lastTimestampSent = 0;  // RTP timestamp of the newest packet we sent them
  bool talking = false;
};

class Room {
 public:
  class Sink {
   public:
    // An RTP packet (not yet SRTP-protected) for one participant. Valid during the call only.
    virtual void onRtp(ParticipantId to, std::span<const uint8_t> packet) = 0;
    virtual void onDtmf(ParticipantId from, char digit) = 0;
    // Voice activity (with hysteresis) says they started or stopped talking.
    virtual void onTalking(ParticipantId /*who*/, bool /*talking*/) {}

   protected:
    ~Sink() = default;
  };

  // Audio played into the room (a file): everyone hears it, talkers in their N-1 mixes too.
  class PlaybackSource {
   public:
    // One 20 ms frame at 'rate' (out.size() == rate / 50); false: nothing to add this tick.
    virtual bool fill(std::span<int16_t> out, int rate) = 0;

   protected:
    ~PlaybackSource() = default;
  };
  // Gets what the room hears once per tick, talkers or not: every talker plus the playback,
  // limited, at the mix rate. Valid during the call only.
  class RecordingTap {
   public:
    virtual void onMix(std::span<const int16_t> mix, int rate) = 0;

   protected:
    ~RecordingTap() = default;
  };

  Room(RoomSettings settings, Sink& sink);
  ~Room();
  Room(const Room&) = delete;
  Room& operator=(const Room&) = delete;

  // Where a participant's outgoing RTP stream stands: the next sequence number and timestamp.
  struct SendState {
    uint16_t sequence = 0;
    uint32_t timestamp = 0;
  };

  // Control path (may allocate).
  // 'continueFrom': a re-INVITE replaced this participant and the stream towards them goes on
  // under the same SSRC (RFC 3550 §5.1: sequence numbers and timestamps continue, never restart;
  // with SRTP a restart would reuse keystream, RFC 3711 §9.1).
  ParticipantId add(const ParticipantSettings& settings,
                    std::optional<SendState> continueFrom = std::nullopt);
  [[nodiscard]] std::optional<SendState> sendState(ParticipantId id) const;
  // The key press their stream is in the middle of, to carry to where it goes next.
  [[nodiscard]] std::optional<rtp::DtmfDetector::State> dtmfState(ParticipantId id) const;
  void restoreDtmf(ParticipantId id, const rtp::DtmfDetector::State& state);
  // New settings for a participant in place (a re-INVITE that keeps the codec): their jitter
  // buffer, decoder, voice activity and outgoing stream all go on, so nobody hears a gap. False
  // (nothing changed) when the codec or the preprocessing changes: then the caller replaces the
  // participant (remove, then add with continueFrom). The stream towards them goes on, under a
  // new SSRC too.
  bool update(ParticipantId id, const ParticipantSettings& settings);
  bool remove(ParticipantId id);
  // All of a participant's live controls at once, in place (no allocation: the mixer thread
  // applies them between ticks). The gain is clamped to 0..kMaxGain.
  bool setControls(ParticipantId id, const Controls& controls);
  // Null detaches. The room keeps only the pointer: the caller keeps the object alive until it
  // has detached it (or the room is gone).
  void setPlaybackSource(PlaybackSource* source) { playback_ = source; }
  void setRecordingTap(RecordingTap* tap) { recordingTap_ = tap; }
  // False while nothing sent to them would be delivered (on hold: RFC 3264 §5.1, recvonly or
  // inactive towards them): their mix is neither encoded nor sent, a held talker's own N-1
  // encode included; their RTP timestamp keeps time (RFC 3550 §5.1), their sequence does not jump.
  bool setListening(ParticipantId id, bool listening);

  // Their stream moved to a new SSRC (rtp::SourceChange decided it): the room latches to the
  // next packet's SSRC, with an empty jitter buffer, fresh decoder state and no key press under
  // way; the old source's packets still queued are dropped. Allocates nothing.
  void restartSource(ParticipantId id);

  // The fraction of what we send them that they lost (RFC 3550 §6.4.1, 8-bit fixed point), from
  // their RTCP report. An Opus listener who takes in-band FEC gets it while their reports show
  // loss (kLossyFraction or more) and for kFecHoldTicks after the last such report, or before
  // their first report; otherwise the cheaper mix without it.
  void lossReported(ParticipantId id, uint8_t fractionLost);
  static constexpr uint8_t kLossyFraction = 3;    // 3/256: 1.2 %
  static constexpr uint64_t kFecHoldTicks = 500;  // 10 s: two or more clean reports at 5 s

  // Data path: one RTP packet from a participant (already SRTP-unprotected). untilTickUs: how
  // long before the next tick() it came, when the caller knows (0: not known); the jitter buffer
  // needs it to play a steady stream without a whole tick of delay.
  void receive(ParticipantId from, std::span<uint8_t> packet, uint32_t untilTickUs = 0);
  // Every 20 ms: pull a frame from each jitter buffer, pick talkers, mix, encode, send.
  void tick();

  // The rate the room mixes at: 48 kHz with any Opus participant, else 16 kHz with any G.722
  // one, else 8 kHz (a room never pays for more bandwidth than its widest participant has).
  [[nodiscard]] int mixRate() const { return mixRate_; }
  [[nodiscard]] std::size_t size() const { return participants_.size(); }
  // Counters as of now (frame counts are worked out when asked, not every tick).
  [[nodiscard]] const ParticipantStats* stats(ParticipantId id);
  // Encodes done in the last tick: one per talker plus one per listener codec group.
  [[nodiscard]] unsigned encodesLastTick() const { return encodesLastTick_; }

 private:
  struct Participant;
  struct Group;

  Participant* find(ParticipantId id);
  void configureRate();
  void analyse(Participant& p);
  void selectTalkers();
  void sendOwnMix(Participant& p);
  void sendGroupMix(Participant& p);
  void send(Participant& p, std::span<const uint8_t> payload);
  Group& groupFor(Codec codec, bool silent, bool fec);
  void makeGroups(const ParticipantSettings& settings);
  [[nodiscard]] bool takesFec(const Participant& p) const;
  void addPlayback(std::size_t n);
  void record(std::size_t n);

  RoomSettings settings_;
  Sink& sink_;
  int mixRate_ = 8000;
  ParticipantId nextId_ = 1;
  std::vector<std::unique_ptr<Participant>> participants_;
  std::unordered_map<ParticipantId, Participant*> byId_;  // receive() runs per packet: O(1)
  std::vector<Participant*> talkers_;                     // capacity maxTalkers
  std::vector<Participant*> candidates_;                  // capacity participants_.size()
  std::vector<std::unique_ptr<Group>> groups_;
  std::array<int32_t, kMaxFrameSamples> sum_{};
  std::array<uint8_t, 1500> packet_{};
  unsigned encodesLastTick_ = 0;
  PlaybackSource* playback_ = nullptr;
  RecordingTap* recordingTap_ = nullptr;
  dsp::SoftLimiter recordingLimiter_;
  int recordingLimiterRate_ = 0;
  uint64_t ticks_ = 0;
};

}  // namespace confab::mixer
