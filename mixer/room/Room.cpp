#include "mixer/room/Room.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "mixer/rtp/RtpPacket.hpp"

namespace confab::mixer {

namespace {

std::size_t mixSamples(int rate) { return static_cast<std::size_t>(rate / 50); }

}  // namespace

struct Room::Participant final : rtp::DtmfDetector::Listener {
  Participant(Room& owner, ParticipantId participantId, const ParticipantSettings& s,
              int opusBitrate, int opusComplexity)
      : room(owner),
        id(participantId),
        settings(s),
        decoder(s.codec),
        encoder(s.codec, opusBitrate, opusComplexity),
        jitter(dsp::JitterBufferConfig{static_cast<uint32_t>(pcmRate(s.codec)),
                                       static_cast<uint32_t>(frameSamples(s.codec))}),
        dtmf(*this),
        preprocessor(s.noiseSuppression || s.automaticGain
                         ? std::make_unique<dsp::Preprocessor>(frameSamples(s.codec), pcmRate(s.codec))
                         : nullptr),
        sequence(static_cast<uint16_t>(s.ssrc * 2654435761u >> 16)),
        timestamp(s.ssrc * 40503u) {}

  void onDtmfPress(const rtp::DtmfPress& press) override { room.sink_.onDtmf(id, press.digit); }

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

  std::array<int16_t, kMaxFrameSamples> pcm{};       // decoded, codec rate
  std::array<int32_t, kMaxFrameSamples> contribution{};  // what they added to the sum, mix rate
  bool hasAudio = false;
  bool talking = false;
  bool selected = false;
  bool listening = true;     // false: on hold, nothing is encoded or sent for them
  float loudness = -127.0F;

  uint16_t sequence;
  uint32_t timestamp;
  ParticipantStats stats;
};

// The listeners of one codec share this: one limiter, one resampler, one encode per tick.
struct Room::Group {
  Group(Codec c, bool isSilent, int opusBitrate, int opusComplexity)
      : codec(c), silent(isSilent), encoder(c, opusBitrate, opusComplexity) {}
  Codec codec;
  bool silent;  // for deaf participants: encodes silence
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

const ParticipantStats* Room::stats(ParticipantId id) const {
  for (const auto& p : participants_) {
    if (p->id == id) {
      return &p->stats;
    }
  }
  return nullptr;
}

ParticipantId Room::add(const ParticipantSettings& settings) {
  const ParticipantId id = nextId_++;
  participants_.push_back(std::make_unique<Participant>(*this, id, settings, settings_.opusBitrate,
                                                       settings_.talkerOpusComplexity));
  byId_[id] = participants_.back().get();
  if (auto& pre = participants_.back()->preprocessor) {
    pre->setNoiseSuppression(settings.noiseSuppression);
    pre->setAgc(settings.automaticGain);
  }
  candidates_.reserve(participants_.size());
  groupFor(settings.codec, false);
  groupFor(settings.codec, true);
  configureRate();
  return id;
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

bool Room::setMuted(ParticipantId id, bool muted) {
  Participant* p = find(id);
  if (p != nullptr) {
    p->settings.muted = muted;
  }
  return p != nullptr;
}

bool Room::setDeaf(ParticipantId id, bool deaf) {
  Participant* p = find(id);
  if (p != nullptr) {
    p->settings.deaf = deaf;
  }
  return p != nullptr;
}

bool Room::setGain(ParticipantId id, float gain) {
  Participant* p = find(id);
  if (p != nullptr) {
    p->settings.gain = std::clamp(gain, 0.0F, 8.0F);
  }
  return p != nullptr;
}

bool Room::setListening(ParticipantId id, bool listening) {
  Participant* p = find(id);
  if (p != nullptr) {
    p->listening = listening;
  }
  return p != nullptr;
}

Room::Group& Room::groupFor(Codec codec, bool silent) {
  for (auto& g : groups_) {
    if (g->codec == codec && g->silent == silent) {
      return *g;
    }
  }
  groups_.push_back(std::make_unique<Group>(codec, silent, settings_.opusBitrate,
                                            settings_.listenerOpusComplexity));
  configureRate();
  return *groups_.back();
}

void Room::configureRate() {
  const bool anyOpus = std::any_of(participants_.begin(), participants_.end(), [](const auto& p) {
    return p->settings.codec == Codec::kOpus;
  });
  mixRate_ = anyOpus ? 48000 : 8000;
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

void Room::receive(ParticipantId from, std::span<uint8_t> bytes) {
  Participant* p = find(from);
  if (p == nullptr) {
    return;
  }
  auto packet = rtp::RtpPacket::parse(bytes);
  if (!packet) {
    ++p->stats.packetsDropped;
    return;
  }
  // Latch to the first source, then be strict: another SSRC on this stream is dropped.
  if (!p->remoteSsrc) {
    p->remoteSsrc = packet->ssrc();
  } else if (*p->remoteSsrc != packet->ssrc()) {
    ++p->stats.packetsDropped;
    return;
  }
  const uint8_t pt = packet->payloadType();
  if (p->settings.telephoneEventPayloadType && pt == *p->settings.telephoneEventPayloadType) {
    // RFC 4733 events are taken out of the stream and reported, never mixed.
    ++p->stats.packetsReceived;
    p->dtmf.onPacket(packet->payload(), packet->timestamp(), packet->marker());
    return;
  }
  if (pt != p->settings.payloadType) {
    ++p->stats.packetsDropped;
    return;
  }
  ++p->stats.packetsReceived;
  if (p->settings.audioLevelId != 0) {
    if (auto level = packet->audioLevel(p->settings.audioLevelId)) {
      p->lastLevel = level->level;
    }
  }
  p->jitter.put(packet->sequenceNumber(), packet->timestamp(), packet->payload());
}

void Room::analyse(Participant& p) {
  const auto frame = p.jitter.get();
  const std::size_t n = frameSamples(p.settings.codec);
  auto pcm = std::span<int16_t>(p.pcm).first(n);
  p.hasAudio = false;
  switch (frame.outcome) {
    case dsp::JitterBuffer::Outcome::Packet:
      if (p.lastLevel && *p.lastLevel >= settings_.silentLevel) {
        // RFC 6464: the sender says this is silence; decoding it would only cost.
        ++p.stats.framesSkippedSilent;
      } else if (p.settings.muted && !p.talking) {
        // Nothing of theirs is used: their VAD sees silence below, as it did decoded. (While
        // their talking hangs over, they are still decoded: an unmute then continues cleanly.)
        ++p.stats.framesSkippedQuiet;
      } else if (!p.talking && !p.preprocessor && p.loudness < settings_.quietListenerDbov &&
                 ((ticks_ + p.id) & 1U) == 0) {
        // Quiet and not talking: every other frame is enough to see them start (the VAD needs
        // more than one loud frame anyway). The decoder takes the next packet as if none was
        // missing; its state settles within a frame, long before their voice is mixed. Not with
        // a preprocessor: its noise estimate and gain follow every frame, and AGC may lift them.
        // Odd and even participants skip on alternate ticks, so ticks stay the same length.
        ++p.stats.framesSkippedQuiet;
        return;
      } else if (p.decoder.decode(frame.payload, pcm)) {
        ++p.stats.framesDecoded;
        p.hasAudio = true;
      }
      break;
    case dsp::JitterBuffer::Outcome::Missing:
    case dsp::JitterBuffer::Outcome::Insert:
      if (p.talking) {
        p.decoder.conceal(pcm);
        ++p.stats.framesConcealed;
        p.hasAudio = true;
      }
      break;
    case dsp::JitterBuffer::Outcome::Empty:
      break;
  }
  if (p.settings.muted) {
    p.hasAudio = false;
  }
  if (p.hasAudio && p.preprocessor) {
    p.preprocessor->process(pcm);
  }
  const bool wasTalking = p.talking;
  // No audio is silence: the VAD's level of an empty frame is the same -127 dBov, for free.
  p.talking = p.vad.process(p.hasAudio ? std::span<const int16_t>(pcm)
                                       : std::span<const int16_t>());
  p.loudness = p.vad.lastDbov();
  p.stats.talking = p.talking;
  if (p.talking != wasTalking) {
    sink_.onTalking(p.id, p.talking);
  }
}

void Room::selectTalkers() {
  candidates_.clear();
  for (auto& p : participants_) {
    if (p->talking && p->hasAudio) {
      candidates_.push_back(p.get());
    }
  }
  // Loudest first; a current talker counts as louder by the stickiness margin.
  const float stickiness = settings_.talkerStickinessDb;
  auto score = [stickiness](const Participant* p) {
    return p->loudness + (p->selected ? stickiness : 0.0F);
  };
  const std::size_t k = std::min<std::size_t>(settings_.maxTalkers, candidates_.size());
  std::partial_sort(candidates_.begin(), candidates_.begin() + static_cast<std::ptrdiff_t>(k),
                    candidates_.end(),
                    [&](const Participant* a, const Participant* b) { return score(a) > score(b); });
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
    analyse(*p);
  }
  selectTalkers();

  std::fill_n(sum_.begin(), n, 0);
  std::array<int16_t, kMaxFrameSamples> resampled{};
  for (auto* t : talkers_) {
    std::span<const int16_t> voice = std::span<const int16_t>(t->pcm).first(
        frameSamples(t->settings.codec));
    if (t->toMix) {
      // Only talkers are ever resampled (a listener's audio never is).
      t->toMix->process(voice, std::span<int16_t>(resampled).first(n));
      voice = std::span<const int16_t>(resampled).first(n);
    }
    const float gain = t->settings.gain;
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
  for (auto& g : groups_) {
    g->encoded = false;
  }
  for (auto& p : participants_) {
    if (!p->listening) {
      p->timestamp += static_cast<uint32_t>(frameSamples(p->settings.codec));
      continue;
    }
    if (p->selected && !p->settings.deaf) {
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
  Group& g = groupFor(p.settings.codec, p.settings.deaf);
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
  p.timestamp += static_cast<uint32_t>(frameSamples(p.settings.codec));
  // RFC 6465: the talkers they hear, each with its level, when they asked for it.
  std::array<uint32_t, 15> csrcs{};
  std::array<uint8_t, 15> levels{};
  std::size_t count = 0;
  if (p.settings.csrcLevelsId != 0 && !p.settings.deaf) {
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

}  // namespace confab::mixer
