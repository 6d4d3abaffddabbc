#include "focus/sdp/OfferAnswer.hpp"

#include <algorithm>
#include <array>

#include "focus/sdp/Base64.hpp"
#include "focus/sdp/Text.hpp"

namespace confab::sdp {
namespace {

constexpr std::string_view kTelephoneEvent = "telephone-event";
// RFC 4733 §7.1.1: events 0-15 are the DTMF digits, all a mixer needs.
constexpr std::string_view kTelephoneEventFmtp = "0-15";
// RFC 7587 §6.1: we decode in-band FEC, so ask senders to add it.
constexpr std::string_view kOpusFmtp = "useinbandfec=1";

// 488 with the detail for the Warning header; the warn-codes are RFC 3261 §20.43's.
constexpr int kIncompatibleTransport = 302;
constexpr int kMediaTypeNotAvailable = 304;
constexpr int kIncompatibleMediaFormat = 305;
constexpr int kAttributeNotUnderstood = 306;
constexpr int kMulticastNotAvailable = 330;
constexpr int kMiscellaneous = 399;

Error notAcceptable(std::string_view why, int warnCode = kMiscellaneous) {
  return Error{488, std::string(why), warnCode};
}

bool isTelephoneEvent(std::string_view name) {
  return text::iequals(name, kTelephoneEvent);
}
bool isOpus(std::string_view name) {
  return text::iequals(name, "opus");
}

bool matches(const Codec& codec, const RtpMap& map) {
  if (!text::iequals(codec.name, map.encoding) || codec.clockRate != map.clockRate) {
    return false;
  }
  // RFC 7587 §7 always says opus/48000/2, but clients write /1 or nothing; the stream is the
  // same either way.
  if (isOpus(codec.name)) {
    return true;
  }
  return map.channels.value_or(1) == codec.channels;
}

// The offered payload type numbers of an RTP m= line with their rtpmaps (or the static ones).
struct Format {
  std::uint8_t payloadType = 0;
  RtpMap map;
};

std::vector<Format> formatsOf(const MediaDescription& m) {
  std::vector<Format> out;
  std::array<bool, 128> seen{};
  // One pass over the rtpmaps, not one per format: a hostile offer has up to 128 of each.
  std::array<std::optional<RtpMap>, 128> maps{};
  for (auto& map : m.rtpMaps()) {
    if (!maps[map.payloadType]) {
      maps[map.payloadType] = std::move(map);
    }
  }
  for (const auto& f : m.formats) {
    const auto pt = text::parseNumber<unsigned>(f);
    if (!pt || *pt > 127 || seen[*pt]) {
      continue;
    }
    seen[*pt] = true;
    const auto payloadType = static_cast<std::uint8_t>(*pt);
    auto map = maps[*pt] ? maps[*pt] : staticPayloadType(payloadType);
    if (map) {
      out.push_back(Format{payloadType, std::move(*map)});
    }
  }
  return out;
}

bool isPlainRtpProfile(std::string_view proto) {
  return text::iequals(proto, "RTP/AVP") || text::iequals(proto, "RTP/AVPF");
}
bool isSdesProfile(std::string_view proto) {
  return text::iequals(proto, "RTP/SAVP") || text::iequals(proto, "RTP/SAVPF");
}

std::optional<std::vector<std::uint8_t>> localKey(const LocalMedia& local, SrtpSuite suite) {
  const std::size_t length = masterKeyLength(suite);
  if (local.randomBytes) {
    std::vector<std::uint8_t> key(length);
    if (local.randomBytes(std::span<std::uint8_t>(key))) {
      return key;
    }
    return std::nullopt;
  }
  if (local.srtpKeyMaterial.size() >= length) {
    return std::vector<std::uint8_t>(
        local.srtpKeyMaterial.begin(),
        local.srtpKeyMaterial.begin() + static_cast<std::ptrdiff_t>(length));
  }
  return std::nullopt;
}

bool hasKeySource(const LocalMedia& local) {
  return static_cast<bool>(local.randomBytes) || !local.srtpKeyMaterial.empty();
}

// RFC 4568 §6.3: a session parameter we do not implement makes the crypto line unusable; WSH is
// only a hint for the replay window (§6.3.7), so it does not matter.
bool sessionParamsAcceptable(const Crypto& crypto) {
  return std::all_of(crypto.sessionParams.begin(), crypto.sessionParams.end(),
                     [](const std::string& p) { return p.starts_with("WSH="); });
}

// The remote key of a crypto line, when it has one key of the suite's length and no MKI. An MKI
// (RFC 4568 §6.1, RFC 3711 §3.1) puts an identifier in every SRTP packet, which our SRTP
// contexts neither write nor expect: taking the key without it would drop every packet. Such a
// line is passed over, so the offer falls back to another a=crypto (or is refused: 488).
std::optional<std::vector<std::uint8_t>> remoteKey(const Crypto& crypto, SrtpSuite suite) {
  if (crypto.keys.size() != 1 || crypto.keys.front().mki) {
    return std::nullopt;
  }
  auto key = base64Decode(crypto.keys.front().keySalt);
  if (!key || key->size() != masterKeyLength(suite)) {
    return std::nullopt;
  }
  return key;
}

std::optional<std::uint32_t> boundedNumber(const std::optional<std::string>& value,
                                           std::uint32_t low,
                                           std::uint32_t high) {
  if (!value) {
    return std::nullopt;
  }
  const auto n = text::parseNumber<std::uint32_t>(*value);
  if (!n) {
    return std::nullopt;
  }
  return std::clamp(*n, low, high);
}

bool flag(std::string_view fmtp, std::string_view name) {
  const auto value = fmtpParameter(fmtp, name);
  return value && *value == "1";
}

// RFC 7587 §6.1: the receiver's parameters, i.e. what the far end wants from our encoder.
OpusParameters opusParameters(std::string_view fmtp) {
  OpusParameters p;
  p.maxPlaybackRate =
      boundedNumber(fmtpParameter(fmtp, "maxplaybackrate"), 8000, 48000).value_or(48000);
  p.stereo = flag(fmtp, "stereo");
  p.useInbandFec = flag(fmtp, "useinbandfec");
  p.useDtx = flag(fmtp, "usedtx");
  p.cbr = flag(fmtp, "cbr");
  p.maxAverageBitrate = boundedNumber(fmtpParameter(fmtp, "maxaveragebitrate"), 6000, 510000);
  return p;
}

// The packet time we send: theirs when it is a whole number of 10 ms frames (the mixer's
// tick), within their maxptime; ours otherwise.
unsigned sendPtime(std::optional<unsigned> remote,
                   std::optional<unsigned> remoteMax,
                   unsigned ours) {
  unsigned ptime = ours;
  if (remote && *remote >= 10 && *remote <= 120 && *remote % 10 == 0) {
    ptime = *remote;
  }
  if (remoteMax && *remoteMax >= 10 && ptime > *remoteMax) {
    ptime = *remoteMax / 10 * 10;
  }
  return ptime;
}

// Telephone-event beside the chosen codec: the same clock rate if offered (RFC 4733 §2.1 ties
// event timestamps to the stream's clock), else any rate we take, since clients offer either.
std::optional<Format> chooseTelephoneEvent(const std::vector<Format>& formats,
                                           const std::vector<Codec>& ours,
                                           std::uint32_t codecRate) {
  std::optional<Format> fallback;
  for (const auto& f : formats) {
    if (!isTelephoneEvent(f.map.encoding)) {
      continue;
    }
    const bool supported = std::any_of(ours.begin(), ours.end(), [&](const Codec& c) {
      return isTelephoneEvent(c.name) && c.clockRate == f.map.clockRate;
    });
    if (!supported) {
      continue;
    }
    if (f.map.clockRate == codecRate) {
      return f;
    }
    if (!fallback) {
      fallback = f;
    }
  }
  return fallback;
}

// RFC 3389 comfort noise beside an 8 kHz codec (G.711): the mixer plays it as noise at the level
// it announces instead of treating the sender's silence as loss. Not beside Opus, whose DTX does
// the same in band (RFC 7587 §3.1.3).
std::optional<Format> chooseComfortNoise(const std::vector<Format>& formats,
                                         std::uint32_t codecRate) {
  if (codecRate != 8000) {
    return std::nullopt;
  }
  for (const auto& f : formats) {
    if (text::iequals(f.map.encoding, "CN") && f.map.clockRate == 8000) {
      return f;
    }
  }
  return std::nullopt;
}

std::string describeOffered(const std::vector<Format>& formats) {
  std::string out;
  for (const auto& f : formats) {
    if (!out.empty()) {
      out += " ";
    }
    out += f.map.encoding + "/" + std::to_string(f.map.clockRate);
    if (out.size() > 80) {
      out += " ...";
      break;
    }
  }
  return out.empty() ? "none" : out;
}

// The fields both answer() and acceptAnswer() read from the far end's description.
void readRemote(const SessionDescription& sd,
                const MediaDescription& m,
                const Connection& connection,
                Negotiated& n) {
  n.remoteAddress = connection.address;
  n.remoteIpv6 = connection.ipv6;
  n.remoteRtpPort = m.port;
  n.remoteDirection = sd.directionOf(m);
  n.onHold = n.remoteDirection == Direction::kSendOnly ||
             n.remoteDirection == Direction::kInactive || connection.isHoldAddress();
  n.remotePtime = m.ptime();
  n.remoteMaxptime = m.maxptime();
  n.remoteRtcpAddress = connection.address;
  if (n.rtcpMux) {
    // RFC 5761 §5.1.3: RTCP goes to the RTP port.
    n.remoteRtcpPort = m.port;
    return;
  }
  // RFC 3605 §2.1: a=rtcp overrides the port (and address); otherwise RTP port + 1 (RFC 3550
  // §11).
  const auto rtcp = m.rtcp();
  if (rtcp && rtcp->port != 0) {
    n.remoteRtcpPort = rtcp->port;
    if (!rtcp->address.empty()) {
      n.remoteRtcpAddress = rtcp->address;
    }
  } else {
    n.remoteRtcpPort = m.port == 65535 ? 0 : static_cast<std::uint16_t>(m.port + 1);
  }
}

// 'name' is our spelling of the codec (names are case-insensitive, RFC 4855 §3), so the media
// side can compare it exactly.
void setCodec(Negotiated& n,
              std::string_view name,
              const Format& chosen,
              std::string remoteFmtp,
              std::string localFmtp) {
  n.codec.name = std::string(name);
  n.codec.payloadType = chosen.payloadType;
  n.codec.clockRate = chosen.map.clockRate;
  // RFC 7587 §7: Opus is always "/2" in SDP, whatever a client wrote; stereo= says what is sent.
  n.codec.channels = isOpus(chosen.map.encoding) ? 2 : chosen.map.channels.value_or(1);
  n.codec.remoteFmtp = std::move(remoteFmtp);
  n.codec.localFmtp = std::move(localFmtp);
  if (isOpus(chosen.map.encoding)) {
    n.codec.opus = opusParameters(n.codec.remoteFmtp);
  }
}

SessionDescription skeleton(const LocalMedia& local) {
  SessionDescription sd;
  const bool ipv6 = local.address.find(':') != std::string::npos;
  sd.origin.username = "-";
  sd.origin.sessionId = std::to_string(local.sessionId);
  sd.origin.sessionVersion = std::to_string(local.sessionVersion);
  sd.origin.ipv6 = ipv6;
  sd.origin.address = local.address;
  sd.sessionName = local.sessionName.empty() ? "-" : local.sessionName;
  sd.connection = Connection{ipv6, local.address, std::nullopt, std::nullopt};
  return sd;
}

// RFC 3264 §6: a refused stream keeps its place with port 0; its formats are echoed because the
// m= line must list at least one.
MediaDescription refused(const MediaDescription& offered) {
  MediaDescription m;
  m.media = offered.media;
  m.port = 0;
  m.proto = offered.proto;
  m.formats = offered.formats;
  return m;
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (auto& c : out) {
    c = text::toLower(c);
  }
  return out;
}

struct AudioAnswer {
  MediaDescription media;
  Negotiated negotiated;
};

Result<AudioAnswer> answerAudio(const SessionDescription& offer,
                                const MediaDescription& om,
                                const LocalMedia& local) {
  // Transport: SDES-keyed or plain RTP over UDP. DTLS-SRTP (RFC 5764) and RTP over TCP are not
  // implemented.
  const bool sdesProfile = isSdesProfile(om.proto);
  if (!sdesProfile && !isPlainRtpProfile(om.proto)) {
    return notAcceptable("transport " + om.proto + " not supported", kIncompatibleTransport);
  }
  const Connection* connection = offer.connectionFor(om);
  if (connection == nullptr) {
    return notAcceptable("audio stream without a connection address");
  }
  if (connection->isMulticast()) {
    return notAcceptable("multicast audio not supported", kMulticastNotAvailable);
  }

  // Codec: our preference order decides among what they offer.
  const auto formats = formatsOf(om);
  std::optional<Format> chosen;
  const Codec* chosenCodec = nullptr;
  for (const auto& codec : local.codecs) {
    if (isTelephoneEvent(codec.name)) {
      continue;
    }
    for (const auto& f : formats) {
      if (matches(codec, f.map)) {
        chosen = f;
        chosenCodec = &codec;
        break;
      }
    }
    if (chosen) {
      break;
    }
  }
  if (!chosen) {
    return notAcceptable("no common audio codec in " + describeOffered(formats),
                         kIncompatibleMediaFormat);
  }
  const auto telephoneEvent = chooseTelephoneEvent(formats, local.codecs, chosen->map.clockRate);

  // SRTP (RFC 4568 §7.1.2): the first offered crypto line we can do, in their order.
  const bool plainAllowed = local.allowPlainRtp && !local.requireSrtp;
  std::optional<SrtpParameters> srtp;
  std::optional<Crypto> chosenCrypto;
  const auto cryptos = om.cryptos();
  if (sdesProfile || !cryptos.empty()) {
    for (const auto& crypto : cryptos) {
      const auto suite = srtpSuiteFromName(crypto.suite);
      if (!suite || std::find(local.srtpSuites.begin(), local.srtpSuites.end(), *suite) ==
                        local.srtpSuites.end()) {
        continue;
      }
      auto theirs = remoteKey(crypto, *suite);
      if (!theirs || !sessionParamsAcceptable(crypto)) {
        continue;
      }
      auto ours = localKey(local, *suite);
      if (!ours) {
        break;  // no key source: no suite will do
      }
      SrtpParameters p;
      p.suite = *suite;
      p.tag = crypto.tag;
      p.localKey = std::move(*ours);
      p.remoteKey = std::move(*theirs);
      p.remoteLifetime = crypto.keys.front().lifetime;
      srtp = std::move(p);
      chosenCrypto = crypto;
      break;
    }
    if (!srtp) {
      if (sdesProfile) {
        return notAcceptable(cryptos.empty() ? "RTP/SAVP offer without a=crypto"
                                             : "no supported SRTP crypto suite offered");
      }
      // RFC 8643 §3.2: opportunistic SRTP falls back to plain RTP when the keys don't work out.
      if (!plainAllowed) {
        return notAcceptable("SRTP required but no supported crypto suite offered",
                             kAttributeNotUnderstood);
      }
    }
  } else if (!plainAllowed) {
    return notAcceptable("SRTP required but not offered");
  }

  AudioAnswer out;
  Negotiated& n = out.negotiated;
  n.rtcpMux = om.rtcpMux();  // RFC 5761 §5.1.1: accept it whenever it is offered
  readRemote(offer, om, *connection, n);
  n.localDirection = answerDirection(n.remoteDirection);
  n.ptime = sendPtime(n.remotePtime, n.remoteMaxptime, local.ptime);
  n.srtp = std::move(srtp);

  const std::string localFmtp = isOpus(chosen->map.encoding) ? std::string(kOpusFmtp) : "";
  setCodec(n, chosenCodec->name, *chosen, om.fmtp(std::to_string(chosen->payloadType)).value_or(""),
           localFmtp);

  MediaDescription& am = out.media;
  am.media = om.media;
  am.port = local.rtpPort;
  am.proto = om.proto;
  // RFC 3264 §6.1: the offerer's payload type numbers, one codec so both sides send the same.
  const std::string codecPt = std::to_string(chosen->payloadType);
  am.formats.push_back(codecPt);
  am.add("rtpmap", chosen->map.toValue());
  if (!localFmtp.empty()) {
    am.add("fmtp", codecPt + " " + localFmtp);
  }
  if (telephoneEvent) {
    const std::string tePt = std::to_string(telephoneEvent->payloadType);
    am.formats.push_back(tePt);
    am.add("rtpmap", telephoneEvent->map.toValue());
    am.add("fmtp", tePt + " " + std::string(kTelephoneEventFmtp));
    n.telephoneEventPayloadType = telephoneEvent->payloadType;
    n.telephoneEventClockRate = telephoneEvent->map.clockRate;
  }
  if (const auto cn = chooseComfortNoise(formats, chosen->map.clockRate)) {
    am.formats.push_back(std::to_string(cn->payloadType));
    am.add("rtpmap", cn->map.toValue());
    n.comfortNoisePayloadType = cn->payloadType;
  }
  am.add("ptime", std::to_string(local.ptime));
  if (local.maxptime != 0) {
    am.add("maxptime", std::to_string(local.maxptime));
  }
  if (n.rtcpMux) {
    am.add("rtcp-mux");
  }
  if (n.srtp) {
    // RFC 4568 §7.1.2: echo the tag and suite, with our own key.
    Crypto ours;
    ours.tag = n.srtp->tag;
    ours.suite = chosenCrypto->suite;
    ours.keys.push_back(
        CryptoKey{base64Encode(n.srtp->localKey), std::nullopt, std::nullopt, std::nullopt});
    am.add("crypto", ours.toValue());
  }
  // RFC 8285 §7: accepted extensions keep the offered id; the direction is answered like the
  // stream's. Only one-byte ids (1-14): we don't negotiate two-byte headers.
  std::array<bool, 15> idTaken{};
  for (const auto& ext : om.extMaps()) {
    if (ext.id > 14 || idTaken[ext.id]) {
      continue;
    }
    const bool wanted = std::any_of(local.headerExtensions.begin(), local.headerExtensions.end(),
                                    [&](const std::string& uri) { return uri == ext.uri; });
    if (!wanted) {
      continue;
    }
    idTaken[ext.id] = true;
    ExtMap accepted;
    accepted.id = ext.id;
    if (ext.direction) {
      accepted.direction = answerDirection(*ext.direction);
    }
    accepted.uri = ext.uri;
    am.add("extmap", accepted.toValue());
    n.headerExtensions.push_back(std::move(accepted));
  }
  am.add(std::string(toString(n.localDirection)));
  return out;
}

// Payload types for our offer: the RFC 3551 static number when the codec has one, else dynamic
// numbers from 96 (RFC 3551 §3).
std::vector<std::uint8_t> offerPayloadTypes(const std::vector<Codec>& codecs) {
  std::vector<std::uint8_t> out;
  std::array<bool, 128> used{};
  std::vector<std::optional<std::uint8_t>> fixed(codecs.size());
  for (std::size_t i = 0; i < codecs.size(); ++i) {
    for (std::uint8_t pt = 0; pt < 35; ++pt) {
      const auto map = staticPayloadType(pt);
      if (map && matches(codecs[i], *map) && !used[pt]) {
        fixed[i] = pt;
        used[pt] = true;
        break;
      }
    }
  }
  std::uint8_t next = 96;
  for (std::size_t i = 0; i < codecs.size(); ++i) {
    if (fixed[i]) {
      out.push_back(*fixed[i]);
      continue;
    }
    while (next < 128 && used[next]) {
      ++next;
    }
    if (next >= 128) {
      break;  // more than 32 dynamic codecs: the rest are left out
    }
    used[next] = true;
    out.push_back(next);
  }
  return out;
}

}  // namespace

std::string_view toString(SrtpSuite suite) {
  switch (suite) {
    case SrtpSuite::kAesCm128HmacSha1_80:
      return "AES_CM_128_HMAC_SHA1_80";
    case SrtpSuite::kAesCm128HmacSha1_32:
      return "AES_CM_128_HMAC_SHA1_32";
    case SrtpSuite::kAeadAes128Gcm:
      return "AEAD_AES_128_GCM";
  }
  return "AES_CM_128_HMAC_SHA1_80";
}

std::optional<SrtpSuite> srtpSuiteFromName(std::string_view name) {
  for (const auto suite : {SrtpSuite::kAesCm128HmacSha1_80, SrtpSuite::kAesCm128HmacSha1_32,
                           SrtpSuite::kAeadAes128Gcm}) {
    if (name == toString(suite)) {
      return suite;
    }
  }
  return std::nullopt;
}

std::size_t masterKeyLength(SrtpSuite suite) {
  return suite == SrtpSuite::kAeadAes128Gcm ? 28 : 30;
}

Result<Negotiated> answer(const SessionDescription& offer, const LocalMedia& local) {
  if (local.address.empty() || local.rtpPort == 0) {
    return Error{500, "no local media address"};
  }
  SessionDescription sd = skeleton(local);
  // RFC 3264 §6: the answer's t= equals the offer's.
  sd.timings = offer.timings;

  std::optional<Negotiated> negotiated;
  std::optional<Error> firstFailure;
  for (std::size_t i = 0; i < offer.media.size(); ++i) {
    const auto& om = offer.media[i];
    if (negotiated || om.port == 0 || lower(om.media) != "audio") {
      sd.media.push_back(refused(om));
      continue;
    }
    auto audio = om.malformed ? Result<AudioAnswer>(notAcceptable(*om.malformed))
                              : answerAudio(offer, om, local);
    if (!audio) {
      if (!firstFailure) {
        firstFailure = audio.error();
      }
      sd.media.push_back(refused(om));
      continue;
    }
    negotiated = std::move(audio->negotiated);
    negotiated->mediaIndex = i;
    sd.media.push_back(std::move(audio->media));
  }
  if (!negotiated) {
    return firstFailure ? *firstFailure
                        : notAcceptable("no audio stream offered", kMediaTypeNotAvailable);
  }
  negotiated->answer = std::move(sd);
  return std::move(*negotiated);
}

SessionDescription offer(const LocalMedia& local) {
  SessionDescription sd = skeleton(local);
  const bool srtpRequired = local.requireSrtp || !local.allowPlainRtp;

  MediaDescription m;
  m.media = "audio";
  m.port = local.rtpPort;
  m.proto = srtpRequired ? "RTP/SAVP" : "RTP/AVP";
  const auto pts = offerPayloadTypes(local.codecs);
  for (std::size_t i = 0; i < pts.size(); ++i) {
    const auto& codec = local.codecs[i];
    const std::string pt = std::to_string(pts[i]);
    m.formats.push_back(pt);
    RtpMap map;
    map.payloadType = pts[i];
    map.encoding = codec.name;
    map.clockRate = codec.clockRate;
    if (codec.channels != 1 || isOpus(codec.name)) {
      map.channels = codec.channels;
    }
    m.add("rtpmap", map.toValue());
    if (isOpus(codec.name)) {
      m.add("fmtp", pt + " " + std::string(kOpusFmtp));
    } else if (isTelephoneEvent(codec.name)) {
      m.add("fmtp", pt + " " + std::string(kTelephoneEventFmtp));
    }
  }
  m.add("ptime", std::to_string(local.ptime));
  if (local.maxptime != 0) {
    m.add("maxptime", std::to_string(local.maxptime));
  }
  if (local.offerRtcpMux) {
    m.add("rtcp-mux");
  }
  if (srtpRequired || (local.opportunisticSrtp && hasKeySource(local))) {
    std::uint32_t tag = 1;
    for (const auto suite : local.srtpSuites) {
      auto key = localKey(local, suite);
      if (!key) {
        continue;
      }
      Crypto crypto;
      crypto.tag = tag++;
      crypto.suite = std::string(toString(suite));
      crypto.keys.push_back(
          CryptoKey{base64Encode(*key), std::nullopt, std::nullopt, std::nullopt});
      m.add("crypto", crypto.toValue());
    }
  }
  unsigned id = 1;
  for (const auto& uri : local.headerExtensions) {
    if (id > 14) {
      break;
    }
    ExtMap ext;
    ext.id = id++;
    ext.uri = uri;
    m.add("extmap", ext.toValue());
  }
  m.add("sendrecv");
  sd.media.push_back(std::move(m));
  return sd;
}

SessionDescription reoffer(const SessionDescription& lastSent,
                           std::size_t mediaIndex,
                           const LocalMedia& local) {
  SessionDescription sd = lastSent;
  const bool ipv6 = local.address.find(':') != std::string::npos;
  const Connection connection{ipv6, local.address, std::nullopt, std::nullopt};
  sd.origin.ipv6 = ipv6;
  sd.origin.address = local.address;
  if (sd.connection) {
    sd.connection = connection;
  }
  if (mediaIndex >= sd.media.size()) {
    return sd;
  }
  MediaDescription& m = sd.media[mediaIndex];
  m.port = local.rtpPort;
  if (!m.connections.empty() || !sd.connection) {
    m.connections.assign(1, connection);
  }
  std::vector<Attribute> kept;
  for (auto& attribute : m.attributes) {
    if (lower(attribute.name) == "rtcp") {
      continue;
    }
    if (lower(attribute.name) == "crypto" && attribute.value) {
      auto crypto = Crypto::parse(*attribute.value);
      const auto suite = crypto ? srtpSuiteFromName(crypto->suite) : std::nullopt;
      const auto key = suite ? localKey(local, *suite) : std::nullopt;
      if (!key) {
        continue;  // no key of ours for it: not offered again
      }
      crypto->keys.assign(1,
                          CryptoKey{base64Encode(*key), std::nullopt, std::nullopt, std::nullopt});
      attribute.value = crypto->toValue();
    }
    kept.push_back(std::move(attribute));
  }
  m.attributes = std::move(kept);
  return sd;
}

Result<Negotiated> acceptAnswer(const SessionDescription& ourOffer,
                                const SessionDescription& answer) {
  // RFC 3264 §6: one m= line in the answer for each in the offer, in order.
  if (answer.media.size() != ourOffer.media.size()) {
    return notAcceptable("answer has " + std::to_string(answer.media.size()) +
                         " m= lines, the offer had " + std::to_string(ourOffer.media.size()));
  }
  std::optional<Error> firstFailure;
  for (std::size_t i = 0; i < answer.media.size(); ++i) {
    const auto& om = ourOffer.media[i];
    const auto& am = answer.media[i];
    if (om.port == 0 || am.port == 0 || lower(om.media) != "audio") {
      continue;
    }
    const auto fail = [&](const std::string& why) {
      if (!firstFailure) {
        firstFailure = notAcceptable(why);
      }
    };
    if (!text::iequals(am.proto, om.proto) || lower(am.media) != lower(om.media)) {
      fail("answer changed the audio stream's media or transport");
      continue;
    }
    const Connection* connection = answer.connectionFor(am);
    if (connection == nullptr || connection->isMulticast()) {
      fail("answer has no unicast connection address");
      continue;
    }

    // Codec: the first the answerer lists that we offered (RFC 3264 §6.1: same numbers).
    const auto ours = formatsOf(om);
    const auto theirs = formatsOf(am);
    std::vector<Format> common;
    for (const auto& f : theirs) {
      const auto offered = std::find_if(ours.begin(), ours.end(), [&](const Format& o) {
        return o.payloadType == f.payloadType && text::iequals(o.map.encoding, f.map.encoding) &&
               o.map.clockRate == f.map.clockRate;
      });
      if (offered != ours.end()) {
        common.push_back(*offered);  // in our spelling
      }
    }
    const auto chosen = std::find_if(common.begin(), common.end(), [](const Format& f) {
      return !isTelephoneEvent(f.map.encoding);
    });
    if (chosen == common.end()) {
      fail("answer has no codec we offered");
      continue;
    }

    // SRTP: the answer echoes the tag of one of our crypto lines (RFC 4568 §7.1.3).
    std::optional<SrtpParameters> srtp;
    const auto answerCryptos = am.cryptos();
    const auto offerCryptos = om.cryptos();
    if (!answerCryptos.empty()) {
      const Crypto& theirCrypto = answerCryptos.front();
      const auto suite = srtpSuiteFromName(theirCrypto.suite);
      // Tags are unique per m= line (RFC 4568 §9.1), but match the suite too in case they are not.
      const auto ourCrypto =
          std::find_if(offerCryptos.begin(), offerCryptos.end(), [&](const Crypto& c) {
            return c.tag == theirCrypto.tag && c.suite == theirCrypto.suite && remoteKey(c, *suite);
          });
      if (!suite || ourCrypto == offerCryptos.end()) {
        fail("answer's a=crypto matches none we offered");
        continue;
      }
      auto remote = remoteKey(theirCrypto, *suite);
      auto local = remoteKey(*ourCrypto, *suite);
      if (!remote || !local || !sessionParamsAcceptable(theirCrypto)) {
        fail("answer's a=crypto key is unusable");
        continue;
      }
      SrtpParameters p;
      p.suite = *suite;
      p.tag = theirCrypto.tag;
      p.localKey = std::move(*local);
      p.remoteKey = std::move(*remote);
      p.remoteLifetime = theirCrypto.keys.front().lifetime;
      srtp = std::move(p);
    } else if (om.isSecureProto()) {
      fail("RTP/SAVP answer without a=crypto");
      continue;
    }

    Negotiated n;
    n.answer = answer;
    n.mediaIndex = i;
    n.rtcpMux = om.rtcpMux() && am.rtcpMux();
    readRemote(answer, am, *connection, n);
    n.localDirection = answerDirection(n.remoteDirection);
    n.ptime = sendPtime(n.remotePtime, n.remoteMaxptime, om.ptime().value_or(20));
    n.srtp = std::move(srtp);
    const std::string pt = std::to_string(chosen->payloadType);
    setCodec(n, chosen->map.encoding, *chosen, am.fmtp(pt).value_or(""), om.fmtp(pt).value_or(""));
    std::vector<Codec> teRates;
    for (const auto& f : ours) {
      if (isTelephoneEvent(f.map.encoding)) {
        teRates.push_back(Codec{f.map.encoding, f.map.clockRate, 1});
      }
    }
    if (const auto te = chooseTelephoneEvent(common, teRates, chosen->map.clockRate)) {
      n.telephoneEventPayloadType = te->payloadType;
      n.telephoneEventClockRate = te->map.clockRate;
    }
    // Extensions the answer kept, with ids we offered for the same URI.
    const auto offeredExts = om.extMaps();
    for (const auto& ext : am.extMaps()) {
      const bool offered = std::any_of(offeredExts.begin(), offeredExts.end(),
                                       [&](const ExtMap& o) { return o.uri == ext.uri; });
      if (offered) {
        n.headerExtensions.push_back(ext);
      }
    }
    return n;
  }
  return firstFailure ? *firstFailure : notAcceptable("answer accepted no audio stream");
}

}  // namespace confab::sdp
