#include "mixer/room/Room.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "mixer/dsp/ComfortNoise.hpp"
#include "mixer/rtp/RtpPacket.hpp"

namespace confab::mixer {

namespace {

std::size_t mixSamples(int rate) {
  return static_cast<std::size_t>(rate / 50);
}

// What the jitter buffer holds besides audio: RFC 3389 comfort noise packets.
constexpr uint8_t kComfortNoiseTag = 1;

// One jitter-buffer slot takes a packet of up to 120 ms (RFC 6716 §3.2.5; 960 bytes of G.711 or
// G.722); a lost stretch is handed out in pieces of at most that much. The buffer counts in RTP
// timestamp units, which are not samples for G.722 (RFC 3551 §4.5.2).
dsp::JitterBufferConfig jitterConfig(Codec codec) {
  dsp::JitterBufferConfig config;
  config.clockRate = static_cast<uint32_t>(rtpClockRate(codec));
  config.frameDuration = frameTicks(codec);
  config.maxPayload = codec == Codec::kOpus ? 1275 : kMaxPacketSamples / 6;
  config.maxGapDuration = 6 * frameTicks(codec);
  // No whole tick of delay while every packet comes shrinkGuardMs or more before the tick (the
  // worker says when each came); one tick, as any buffer without arrival times, otherwise.
  config.minDelayMs = 0;
  return config;
}

// What a piece of decoded audio is, in rising order of what it asks for: nothing to mix, noise
// to mix (comfort noise: the voice activity detector sees silence), a voice to mix and detect.
// kSkipped: a packet deliberately not decoded (a quiet listener's other frame, a muted
// participant), so the tick learns nothing new of them.
enum class Fill : uint8_t { kSkipped, kNothing, kNoise, kVoice };

}  // namespace

struct Room::Participant final : rtp::DtmfDetector::Listener {
  Participant(Room& owner,
              ParticipantId participantId,
              const ParticipantSettings& s,
              int opusBitrate,
              int opusComplexity,
              bool opusCeltOnly)
      : room(owner),
        id(participantId),
        settings(s),
        decoder(s.codec),
        encoder(s.codec, opusBitrate, opusComplexity, s.opusFec, opusCeltOnly),
        jitter(jitterConfig(s.codec)),
        dtmf(*this),
        preprocessor(
            s.noiseSuppression || s.automaticGain
                ? std::make_unique<dsp::Preprocessor>(frameSamples(s.codec), pcmRate(s.codec))
                : nullptr),
        sequence(static_cast<uint16_t>(s.ssrc * 2654435761u >> 16)),
        timestamp(s.ssrc * 40503u) {}

  void onDtmfPress(const rtp::DtmfPress& press) override { room.sink_.onDtmf(id, press.digit); }

  // The receive side of one tick: pulls from the jitter buffer until n samples are decoded
  // (one 60 ms packet feeds three ticks, two 10 ms packets one), moves n of them to pcm.
  // 'skipDecode': take packets out of the jitter buffer without decoding them.
  Fill pull(std::size_t n, uint8_t silentLevel, bool skipDecode);
  Fill fill(const dsp::JitterBuffer::Frame& frame,
            std::span<int16_t> out,
            uint8_t silentLevel,
            bool skipDecode);
  Fill fillSilence(std::span<int16_t> out);
  // Samples of each kind so far; ParticipantStats shows them in 20 ms frames (a 10 ms packet is
  // half a frame, a 60 ms one three).
  struct {
    uint64_t decoded = 0;
    uint64_t lost = 0;
    uint64_t concealed = 0;
    uint64_t recoveredFec = 0;
    uint64_t comfortNoise = 0;
    uint64_t skippedSilent = 0;
    uint64_t skippedQuiet = 0;
  } samples;
  uint64_t silenceConcealed = 0;  // of samples.comfortNoise, by the decoder since the last packet

  Room& room;
  ParticipantId id;
  ParticipantSettings settings;
  AudioDecoder decoder;
  AudioEncoder encoder;  // their own N-1 mix, used while they talk
  dsp::JitterBuffer jitter;
  dsp::Vad vad;
  std::optional<dsp::Resampler> toMix;    // codec rate -> mix rate, used only while talking
  std::optional<dsp::Resampler> fromMix;  // mix rate -> codec rate, for their own N-1 mix
  std::optional<dsp::SoftLimiter> limiter;
  rtp::DtmfDetector dtmf;
  std::unique_ptr<dsp::Preprocessor> preprocessor;  // only when asked for: it is not free
  std::optional<uint32_t> remoteSsrc;
  std::optional<uint8_t> lastLevel;  // RFC 6464, from the newest packet

  std::array<int16_t, kMaxFrameSamples> pcm{};  // decoded, codec rate
  // Decoded but not yet mixed (the rest of a packet longer than a tick), codec rate.
  std::array<int16_t, kMaxPacketSamples + kMaxFrameSamples> decoded{};
  std::size_t decodedLength = 0;
  Fill decodedKind = Fill::kNothing;
  dsp::ComfortNoise comfortNoise;
  bool inComfortNoise = false;  // an RFC 3389 CN packet played and no audio since
  std::array<int32_t, kMaxFrameSamples> contribution{};  // what they added to the sum, mix rate
  bool hasAudio = false;
  bool talking = false;
  bool selected = false;
  bool listening = true;  // false: on hold, nothing is encoded or sent for them
  // Until this tick their reports showed loss; none yet: unknown, taken as loss (see lossReported).
  std::optional<uint64_t> lossyUntilTick;
  float loudness = -127.0F;

  uint16_t sequence;
  uint32_t timestamp;
  ParticipantStats stats;
};

// The listeners of one codec share this: one limiter, one resampler, one encode per tick. Opus
// listeners who want in-band FEC and those who do not are two groups.
struct Room::Group {
  Group(Codec c, bool isSilent, bool withFec, int opusBitrate, int opusComplexity, bool celtOnly)
      : codec(c),
        silent(isSilent),
        fec(withFec),
        encoder(c, opusBitrate, opusComplexity, withFec, celtOnly) {}
  Codec codec;
  bool silent;  // for deaf participants: encodes silence
  bool fec;     // Opus in-band FEC (always false for other codecs)
  AudioEncoder encoder;
  std::optional<dsp::Resampler> fromMix;
  std::optional<dsp::SoftLimiter> limiter;
  std::array<uint8_t, kMaxEncodedBytes> payload{};
  std::size_t length = 0;
  bool encoded = false;
};

Room::Room(RoomSettings settings, Sink& sink) : settings_(settings), sink_(sink) {
  talkers_.reserve(settings_.maxTalkers);
}

Room::~Room() = default;

Room::Participant* Room::find(ParticipantId id) {
  auto found = byId_.find(id);
  return found == byId_.end() ? nullptr : found->second;
}

const ParticipantStats* Room::stats(ParticipantId id) {
  Participant* p = find(id);
  if (p == nullptr) {
    return nullptr;
  }
  // Frame counts from sample counts, worked out here rather than on every tick: they are read
  // about once a second.
  const std::size_t n = frameSamples(p->settings.codec);
  p->stats.framesDecoded = p->samples.decoded / n;
  p->stats.framesLost = p->samples.lost / n;
  p->stats.framesConcealed = p->samples.concealed / n;
  p->stats.framesRecoveredFec = p->samples.recoveredFec / n;
  p->stats.framesComfortNoise = p->samples.comfortNoise / n;
  p->stats.framesSkippedSilent = p->samples.skippedSilent / n;
  p->stats.framesSkippedQuiet = p->samples.skippedQuiet / n;
  p->stats.packetsLate = p->jitter.stats().late;
  p->stats.packetsDuplicate = p->jitter.stats().duplicate;
  p->stats.jitterDelayMs = p->jitter.targetDelayMs();
  return &p->stats;
}

ParticipantId Room::add(const ParticipantSettings& settings,
                        std::optional<SendState> continueFrom) {
  const ParticipantId id = nextId_++;
  participants_.push_back(std::make_unique<Participant>(*this, id, settings, settings_.opusBitrate,
                                                        settings_.talkerOpusComplexity,
                                                        settings_.talkerOpusCeltOnly));
  byId_[id] = participants_.back().get();
  if (continueFrom) {
    participants_.back()->sequence = continueFrom->sequence;
    participants_.back()->timestamp = continueFrom->timestamp;
  }
  if (auto& pre = participants_.back()->preprocessor) {
    pre->setNoiseSuppression(settings.noiseSuppression);
    pre->setAgc(settings.automaticGain);
  }
  candidates_.reserve(participants_.size());
  makeGroups(settings);
  configureRate();
  return id;
}

std::optional<Room::SendState> Room::sendState(ParticipantId id) const {
  auto found = byId_.find(id);
  if (found == byId_.end()) {
    return std::nullopt;
  }
  return SendState{found->second->sequence, found->second->timestamp};
}

std::optional<rtp::DtmfDetector::State> Room::dtmfState(ParticipantId id) const {
  auto found = byId_.find(id);
  if (found == byId_.end()) {
    return std::nullopt;
  }
  return found->second->dtmf.state();
}

void Room::restoreDtmf(ParticipantId id, const rtp::DtmfDetector::State& state) {
  if (auto found = byId_.find(id); found != byId_.end()) {
    found->second->dtmf.restore(state);
  }
}

bool Room::remove(ParticipantId id) {
  auto it = std::find_if(participants_.begin(), participants_.end(),
                         [id](const auto& p) { return p->id == id; });
  if (it == participants_.end()) {
    return false;
  }
  talkers_.erase(std::remove(talkers_.begin(), talkers_.end(), it->get()), talkers_.end());
  byId_.erase(id);
  participants_.erase(it);
  configureRate();
  return true;
}

bool Room::update(ParticipantId id, const ParticipantSettings& settings) {
  Participant* p = find(id);
  if (p == nullptr || settings.codec != p->settings.codec ||
      settings.noiseSuppression != p->settings.noiseSuppression ||
      settings.automaticGain != p->settings.automaticGain) {
    return false;
  }
  // Another SSRC towards them keeps the sequence number and timestamp running too: one counter per
  // participant, whatever the SSRC, so that an SSRC that comes back (an update to another and
  // back) finds its packet indices beyond those it used, and none repeats under the SRTP key the
  // endpoint keeps (RFC 3711 §9.1). RFC 3550 §5.1 only asks a random start of a new source.
  if (settings.opusFec != p->settings.opusFec) {
    p->encoder.setOpusFec(settings.opusFec);
    makeGroups(settings);
  }
  p->settings = settings;
  p->settings.controls.gain = std::clamp(settings.controls.gain, 0.0F, kMaxGain);
  return true;
}

bool Room::setControls(ParticipantId id, const Controls& controls) {
  Participant* p = find(id);
  if (p != nullptr) {
    p->settings.controls = controls;
    p->settings.controls.gain = std::clamp(controls.gain, 0.0F, kMaxGain);
  }
  return p != nullptr;
}

void Room::restartSource(ParticipantId id) {
  Participant* p = find(id);
  if (p == nullptr) {
    return;
  }
  p->remoteSsrc.reset();
  p->jitter.reset();
  p->decoder.reset();
  p->dtmf.reset();
  p->lastLevel.reset();
  p->decodedLength = 0;
  p->inComfortNoise = false;
  p->silenceConcealed = 0;
}

bool Room::setListening(ParticipantId id, bool listening) {
  Participant* p = find(id);
  if (p != nullptr) {
    p->listening = listening;
  }
  return p != nullptr;
}

void Room::lossReported(ParticipantId id, uint8_t fractionLost) {
  Participant* p = find(id);
  if (p == nullptr) {
    return;
  }
  if (fractionLost >= kLossyFraction) {
    p->lossyUntilTick = ticks_ + kFecHoldTicks;
  } else if (!p->lossyUntilTick) {
    p->lossyUntilTick = ticks_;  // a first report without loss
  }
}

bool Room::takesFec(const Participant& p) const {
  // In-band FEC only helps a decoder that uses it (useinbandfec=1) on a path that loses packets:
  // anywhere else its LBRR takes bits from the primary coding and the VOIP encoder costs several
  // times CELT's. Before any report the path is unknown and FEC stays on.
  return p.settings.opusFec && p.settings.codec == Codec::kOpus &&
         (!p.lossyUntilTick || ticks_ < *p.lossyUntilTick);
}

void Room::makeGroups(const ParticipantSettings& settings) {
  // Every group a listener can move into, made now so that the tick never allocates.
  for (const bool silent : {false, true}) {
    groupFor(settings.codec, silent, false);
    if (settings.opusFec) {
      groupFor(settings.codec, silent, true);
    }
  }
}

Room::Group& Room::groupFor(Codec codec, bool silent, bool fec) {
  fec = fec && codec == Codec::kOpus;
  for (auto& g : groups_) {
    if (g->codec == codec && g->silent == silent && g->fec == fec) {
      return *g;
    }
  }
  groups_.push_back(std::make_unique<Group>(
      codec, silent, fec, settings_.opusBitrate,
      fec ? settings_.listenerOpusComplexity : settings_.plainListenerOpusComplexity,
      !fec && settings_.plainListenerOpusCeltOnly));
  configureRate();
  return *groups_.back();
}

void Room::configureRate() {
  // The widest participant's rate and no more: Opus 48 kHz, else G.722 16 kHz, else 8 kHz.
  mixRate_ = 8000;
  for (const auto& p : participants_) {
    mixRate_ = std::max(mixRate_, pcmRate(p->settings.codec));
  }
  for (auto& p : participants_) {
    const int rate = pcmRate(p->settings.codec);
    if (rate == mixRate_) {
      p->toMix.reset();
      p->fromMix.reset();
    } else if (!p->toMix || p->toMix->outRate() != mixRate_) {
      p->toMix.emplace(rate, mixRate_);
      p->fromMix.emplace(mixRate_, rate);
    }
    p->limiter.emplace(dsp::SoftLimiterConfig{mixRate_});
  }
  for (auto& g : groups_) {
    const int rate = pcmRate(g->codec);
    if (rate == mixRate_) {
      g->fromMix.reset();
    } else if (!g->fromMix || g->fromMix->inRate() != mixRate_) {
      g->fromMix.emplace(mixRate_, rate);
    }
    g->limiter.emplace(dsp::SoftLimiterConfig{mixRate_});
  }
}

void Room::receive(ParticipantId from, std::span<uint8_t> bytes, uint32_t untilTickUs) {
  Participant* p = find(from);
  if (p == nullptr) {
    return;
  }
  auto packet = rtp::RtpPacket::parse(bytes);
  if (!packet) {
    ++p->stats.packetsMalformed;
    return;
  }
  // Latch to the first source, then be strict: another SSRC on this stream is dropped.
  if (!p->remoteSsrc) {
    p->remoteSsrc = packet->ssrc();
  } else if (*p->remoteSsrc != packet->ssrc()) {
    ++p->stats.packetsForeignSsrc;
    return;
  }
  const uint8_t pt = packet->payloadType();
  if (p->settings.telephoneEventPayloadType && pt == *p->settings.telephoneEventPayloadType) {
    // RFC 4733 events are taken out of the stream and reported, never mixed.
    ++p->stats.packetsReceived;
    p->dtmf.onPacket(packet->payload(), packet->timestamp(), packet->marker());
    return;
  }
  // RFC 3389 CN goes through the jitter buffer (its place in time matters) but is never decoded.
  const bool comfortNoise =
      p->settings.comfortNoisePayloadType && pt == *p->settings.comfortNoisePayloadType;
  if (pt != p->settings.payloadType && !comfortNoise) {
    ++p->stats.packetsMalformed;
    return;
  }
  // RFC 3551 §4.1: the marker starts a talkspurt; the gap before it was silence, not loss.
  uint8_t flags = packet->marker() ? dsp::JitterBuffer::kTalkspurtStart : 0;
  uint32_t duration = 0;  // CN: one frame, then silence till the next packet
  if (comfortNoise) {
    flags |= dsp::JitterBuffer::kSilenceAfter;
  } else {
    duration = static_cast<uint32_t>(p->decoder.packetSamples(packet->payload()) /
                                     samplesPerTick(p->settings.codec));
    if (duration == 0) {
      ++p->stats.packetsMalformed;  // an empty or malformed payload, or over 120 ms
      return;
    }
  }
  ++p->stats.packetsReceived;
  if (p->settings.audioLevelId != 0) {
    if (auto level = packet->audioLevel(p->settings.audioLevelId)) {
      p->lastLevel = level->level;
    }
  }
  const auto untilTick = static_cast<uint32_t>(uint64_t{untilTickUs} *
                                               static_cast<uint64_t>(rtpClockRate(p->settings.codec)) /
                                               1'000'000);
  p->jitter.put(packet->sequenceNumber(), packet->timestamp(), packet->payload(), duration, flags,
                comfortNoise ? kComfortNoiseTag : 0, untilTick);
}

Fill Room::Participant::pull(std::size_t n, uint8_t silentLevel, bool skipDecode) {
  Fill kind = decodedLength > 0 ? decodedKind : Fill::kSkipped;
  while (decodedLength < n) {
    const auto frame = jitter.get();
    const std::size_t length = std::min<std::size_t>(
        frame.duration * samplesPerTick(settings.codec), decoded.size() - decodedLength);
    if (length == 0) {
      break;  // never: every outcome stands for some audio
    }
    decodedKind = fill(frame, std::span<int16_t>(decoded).subspan(decodedLength, length),
                       silentLevel, skipDecode);
    decodedLength += length;
    kind = std::max(kind, decodedKind);
  }
  if (decodedLength < n) {
    std::fill(decoded.begin() + static_cast<std::ptrdiff_t>(decodedLength),
              decoded.begin() + static_cast<std::ptrdiff_t>(n), int16_t{0});
    decodedLength = n;
  }
  std::copy_n(decoded.begin(), n, pcm.begin());
  std::copy(decoded.begin() + static_cast<std::ptrdiff_t>(n),
            decoded.begin() + static_cast<std::ptrdiff_t>(decodedLength), decoded.begin());
  decodedLength -= n;
  return kind;
}

Fill Room::Participant::fill(const dsp::JitterBuffer::Frame& frame,
                             std::span<int16_t> out,
                             uint8_t silentLevel,
                             bool skipDecode) {
  if (frame.outcome == dsp::JitterBuffer::Outcome::Packet ||
      frame.outcome == dsp::JitterBuffer::Outcome::Missing) {
    // Audio already played as the sender's silence turned out lost (the jitter buffer had run
    // dry): it was concealment after all.
    const uint64_t lostBefore = uint64_t{frame.lostBefore} * samplesPerTick(settings.codec);
    const uint64_t moved = std::min<uint64_t>(lostBefore, silenceConcealed);
    samples.lost += lostBefore;
    samples.comfortNoise -= moved;
    samples.concealed += moved;
    silenceConcealed = 0;
  }
  switch (frame.outcome) {
    case dsp::JitterBuffer::Outcome::Packet:
      if (frame.tag == kComfortNoiseTag) {
        // RFC 3389 §3: the noise level in -dBov (127, or nothing, is silence), then its shape.
        comfortNoise.setParameters(frame.payload);
        inComfortNoise = true;
        return fillSilence(out);
      }
      inComfortNoise = false;
      if (lastLevel && *lastLevel >= silentLevel) {
        // RFC 6464: the sender says this is silence; decoding it would only cost.
        samples.skippedSilent += out.size();
        break;
      }
      if (skipDecode) {
        samples.skippedQuiet += out.size();
        std::fill(out.begin(), out.end(), int16_t{0});
        return Fill::kSkipped;
      }
      if (decoder.decodePacket(frame.payload, out) == out.size()) {
        samples.decoded += out.size();
        return Fill::kVoice;
      }
      break;
    case dsp::JitterBuffer::Outcome::Missing:
      samples.lost += out.size();
      // Lost audio is made up only for someone being heard; a listener's loss costs nothing.
      if (!talking) {
        break;
      }
      if (!frame.next.empty() && settings.codec == Codec::kOpus) {
        // Opus in-band FEC (RFC 6716 §2.1.7): the next packet is here already.
        const std::size_t recovered = decoder.recover(frame.next, out);
        samples.recoveredFec += recovered;
        samples.concealed += out.size() - recovered;
      } else {
        decoder.conceal(out);
        samples.concealed += out.size();
      }
      return Fill::kVoice;
    case dsp::JitterBuffer::Outcome::Insert:
      if (!talking) {
        break;
      }
      decoder.conceal(out);
      samples.concealed += out.size();
      return Fill::kVoice;
    case dsp::JitterBuffer::Outcome::Empty:
      return fillSilence(out);
  }
  std::fill(out.begin(), out.end(), int16_t{0});
  return Fill::kNothing;
}

Fill Room::Participant::fillSilence(std::span<int16_t> out) {
  // The sender is silent. While they are being heard (the talker hangover) the line should not
  // go dead: the noise their RFC 3389 CN packet described, or the decoder's own continuation
  // (libopus turns PLC after DTX into comfort noise, RFC 7587 §3.1.3; G.711 PLC fades out).
  // Otherwise nobody hears it, so it is not worth a decoder call.
  if (!talking) {
    std::fill(out.begin(), out.end(), int16_t{0});
    return Fill::kNothing;
  }
  if (inComfortNoise) {
    comfortNoise.generate(out);
  } else {
    decoder.conceal(out);
    silenceConcealed += out.size();
  }
  samples.comfortNoise += out.size();
  return Fill::kNoise;
}

void Room::analyse(Participant& p) {
  const std::size_t n = frameSamples(p.settings.codec);
  auto pcm = std::span<int16_t>(p.pcm).first(n);
  // Nothing of a muted participant is used (their VAD sees silence below, as it would decoded);
  // while their talking hangs over they are still decoded, so an unmute continues cleanly.
  const bool mutedSkip = p.settings.controls.muted && !p.talking;
  // Quiet and not talking: every other frame is enough to see them start (the VAD needs more
  // than one loud frame anyway). The decoder takes the next packet as if none was missing; its
  // state settles within a frame, long before their voice is mixed. Not with a preprocessor: its
  // noise estimate and gain follow every frame, and AGC may lift them. Odd and even participants
  // skip on alternate ticks, so ticks stay the same length.
  // G.711 decodes for next to nothing, so it is decoded every tick: the first loud frame is
  // seen at once.
  const bool cheapDecode = p.settings.codec == Codec::kPcmu || p.settings.codec == Codec::kPcma;
  const bool quietSkip = !p.talking && !p.preprocessor && !cheapDecode &&
                         p.loudness < settings_.quietListenerDbov && ((ticks_ + p.id) & 1U) == 0;
  const Fill kind = p.pull(n, settings_.silentLevel, mutedSkip || quietSkip);
  p.hasAudio = kind > Fill::kNothing && !p.settings.controls.muted;
  if (kind == Fill::kSkipped && !p.settings.controls.muted) {
    return;  // a quiet listener's skipped frame: their VAD keeps its state for the next one
  }
  // Comfort noise is mixed while they are heard, but it is not a voice: the VAD sees silence.
  const bool voice = kind == Fill::kVoice && !p.settings.controls.muted;
  if (voice && p.preprocessor) {
    p.preprocessor->process(pcm);
  }
  const bool wasTalking = p.talking;
  // No voice is silence: the VAD's level of an empty frame is the same -127 dBov, for free.
  p.talking = p.vad.process(voice ? std::span<const int16_t>(pcm) : std::span<const int16_t>());
  p.loudness = p.vad.lastDbov();
  p.stats.talking = p.talking;
  if (p.talking != wasTalking) {
    sink_.onTalking(p.id, p.talking);
  }
}

void Room::selectTalkers() {
  // Loudest first; a current talker counts as louder by the stickiness margin.
  const float stickiness = settings_.talkerStickinessDb;
  auto score = [stickiness](const Participant* p) {
    return p->loudness + (p->selected ? stickiness : 0.0F);
  };
  auto louder = [&](const Participant* a, const Participant* b) { return score(a) > score(b); };
  candidates_.clear();
  for (auto& p : participants_) {
    if (p->talking && p->hasAudio) {
      candidates_.push_back(p.get());
    }
  }
  std::size_t k = std::min<std::size_t>(settings_.maxTalkers, candidates_.size());
  std::partial_sort(candidates_.begin(), candidates_.begin() + static_cast<std::ptrdiff_t>(k),
                    candidates_.end(), louder);
  candidates_.resize(k);
  // Places no talker holds go to those whose voice is just starting (a loud frame, the VAD's
  // attack not yet over), so the first syllable is heard, not 20-40 ms after it. A click takes
  // such a place for one frame and is gone; it never takes a talker's place.
  if (k < settings_.maxTalkers) {
    for (auto& p : participants_) {
      if (p->vad.rising() && p->hasAudio) {  // loud, the VAD's attack not over
        candidates_.push_back(p.get());
      }
    }
    const std::size_t more = std::min<std::size_t>(settings_.maxTalkers - k, candidates_.size() - k);
    std::partial_sort(candidates_.begin() + static_cast<std::ptrdiff_t>(k),
                      candidates_.begin() + static_cast<std::ptrdiff_t>(k + more), candidates_.end(),
                      louder);
    k += more;
  }
  for (auto* t : talkers_) {
    t->selected = false;
  }
  talkers_.assign(candidates_.begin(), candidates_.begin() + static_cast<std::ptrdiff_t>(k));
  for (auto* t : talkers_) {
    t->selected = true;
  }
}

void Room::tick() {
  const std::size_t n = mixSamples(mixRate_);
  encodesLastTick_ = 0;
  ++ticks_;
  for (auto& p : participants_) {
    p->dtmf.tick();
    analyse(*p);
  }
  selectTalkers();

  std::fill_n(sum_.begin(), n, 0);
  std::array<int16_t, kMaxFrameSamples> resampled{};
  for (auto* t : talkers_) {
    std::span<const int16_t> voice =
        std::span<const int16_t>(t->pcm).first(frameSamples(t->settings.codec));
    if (t->toMix) {
      // Only talkers are ever resampled (a listener's audio never is).
      t->toMix->process(voice, std::span<int16_t>(resampled).first(n));
      voice = std::span<const int16_t>(resampled).first(n);
    }
    const float gain = t->settings.controls.gain;
    if (gain == 1.0F) {
      // The usual case, exactly what the rounding below gives at unit gain, vectorised.
      for (std::size_t i = 0; i < n; ++i) {
        t->contribution[i] = voice[i];
        sum_[i] += voice[i];
      }
      continue;
    }
    for (std::size_t i = 0; i < n; ++i) {
      const auto scaled = static_cast<int32_t>(std::lround(static_cast<float>(voice[i]) * gain));
      t->contribution[i] = scaled;
      sum_[i] += scaled;
    }
  }
  addPlayback(n);  // into the sum, so talkers hear it in their N-1 mixes too
  record(n);
  for (auto& g : groups_) {
    g->encoded = false;
  }
  for (auto& p : participants_) {
    if (!p->listening) {
      p->timestamp += frameTicks(p->settings.codec);
      continue;
    }
    if (p->selected && !p->settings.controls.deaf) {
      sendOwnMix(*p);
    } else {
      sendGroupMix(*p);
    }
  }
}

void Room::sendOwnMix(Participant& p) {
  // N-1: everything but their own voice, limited, at their codec's rate, their own encoder.
  const std::size_t n = mixSamples(mixRate_);
  std::array<int32_t, kMaxFrameSamples> minusOwn{};
  for (std::size_t i = 0; i < n; ++i) {
    minusOwn[i] = sum_[i] - p.contribution[i];
  }
  std::array<int16_t, kMaxFrameSamples> limited{};
  p.limiter->process(std::span<const int32_t>(minusOwn).first(n),
                     std::span<int16_t>(limited).first(n));
  std::span<const int16_t> out = std::span<const int16_t>(limited).first(n);
  std::array<int16_t, kMaxFrameSamples> atCodecRate{};
  if (p.fromMix) {
    const std::size_t m = frameSamples(p.settings.codec);
    p.fromMix->process(out, std::span<int16_t>(atCodecRate).first(m));
    out = std::span<const int16_t>(atCodecRate).first(m);
  }
  std::array<uint8_t, kMaxEncodedBytes> payload{};
  const std::size_t length = p.encoder.encode(out, payload);
  ++encodesLastTick_;
  if (length > 0) {
    send(p, std::span<const uint8_t>(payload).first(length));
  }
}

void Room::sendGroupMix(Participant& p) {
  Group& g = groupFor(p.settings.codec, p.settings.controls.deaf, takesFec(p));
  if (!g.encoded) {
    g.encoded = true;
    const std::size_t n = mixSamples(mixRate_);
    std::array<int16_t, kMaxFrameSamples> limited{};
    if (!g.silent) {
      g.limiter->process(std::span<const int32_t>(sum_).first(n),
                         std::span<int16_t>(limited).first(n));
    }
    std::span<const int16_t> out = std::span<const int16_t>(limited).first(n);
    std::array<int16_t, kMaxFrameSamples> atCodecRate{};
    if (g.fromMix) {
      const std::size_t m = frameSamples(g.codec);
      g.fromMix->process(out, std::span<int16_t>(atCodecRate).first(m));
      out = std::span<const int16_t>(atCodecRate).first(m);
    }
    g.length = g.encoder.encode(out, g.payload);
    ++encodesLastTick_;
  }
  if (g.length > 0) {
    send(p, std::span<const uint8_t>(g.payload).first(g.length));
  }
}

void Room::send(Participant& p, std::span<const uint8_t> payload) {
  rtp::RtpHeader header;
  header.payloadType = p.settings.payloadType;
  header.sequenceNumber = p.sequence++;
  header.timestamp = p.timestamp;
  header.ssrc = p.settings.ssrc;
  p.timestamp += frameTicks(p.settings.codec);
  // RFC 6465: the talkers they hear, each with its level, when they asked for it.
  std::array<uint32_t, 15> csrcs{};
  std::array<uint8_t, 15> levels{};
  std::size_t count = 0;
  if (p.settings.csrcLevelsId != 0 && !p.settings.controls.deaf) {
    for (const auto* t : talkers_) {
      if (t != &p && t->remoteSsrc && count < csrcs.size()) {
        csrcs[count] = *t->remoteSsrc;
        levels[count] = static_cast<uint8_t>(std::clamp(-t->loudness, 0.0F, 127.0F));
        ++count;
      }
    }
    header.csrcLevelsId = count > 0 ? p.settings.csrcLevelsId : 0;
  }
  header.csrcs = std::span<const uint32_t>(csrcs).first(count);
  header.csrcLevels = std::span<const uint8_t>(levels).first(count);
  const std::size_t headerSize = rtp::writeRtpHeader(packet_, header);
  if (headerSize == 0 || headerSize + payload.size() > packet_.size()) {
    return;
  }
  std::memcpy(packet_.data() + headerSize, payload.data(), payload.size());
  ++p.stats.packetsSent;
  p.stats.octetsSent += payload.size();
  p.stats.lastTimestampSent = header.timestamp;
  sink_.onRtp(p.id, std::span<const uint8_t>(packet_).first(headerSize + payload.size()));
}

void Room::addPlayback(std::size_t n) {
  if (playback_ == nullptr) {
    return;
  }
  std::array<int16_t, kMaxFrameSamples> frame{};
  if (playback_->fill(std::span<int16_t>(frame).first(n), mixRate_)) {
    for (std::size_t i = 0; i < n; ++i) {
      sum_[i] += frame[i];
    }
  }
}

void Room::record(std::size_t n) {
  if (recordingTap_ == nullptr) {
    return;
  }
  if (recordingLimiterRate_ != mixRate_) {
    // A limiter is a few floats: rebuilding it here allocates nothing.
    recordingLimiter_ = dsp::SoftLimiter(dsp::SoftLimiterConfig{mixRate_});
    recordingLimiterRate_ = mixRate_;
  }
  std::array<int16_t, kMaxFrameSamples> limited{};
  recordingLimiter_.process(std::span<const int32_t>(sum_).first(n),
                            std::span<int16_t>(limited).first(n));
  recordingTap_->onMix(std::span<const int16_t>(limited).first(n), mixRate_);
}

}  // namespace confab::mixer
