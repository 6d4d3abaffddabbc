#include "mixer/remote/Protocol.hpp"

#include <arpa/inet.h>

#include <array>
#include <boost/json/monotonic_resource.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>
#include <cmath>
#include <cstring>
#include <limits>
#include <type_traits>

namespace confab::mixer::remote {

namespace json = boost::json;

namespace {

// ---- names on the wire -----------------------------------------------------------------------

template <class Enum>
struct Named {
  Enum value;
  std::string_view name;
};

constexpr std::array<Named<Codec>, 3> kCodecs{{
    {Codec::kOpus, "opus"},
    {Codec::kPcmu, "pcmu"},
    {Codec::kPcma, "pcma"},
}};
constexpr std::array<Named<srtp::Suite>, 3> kSuites{{
    {srtp::Suite::kAesCm128HmacSha1_80, srtp::toString(srtp::Suite::kAesCm128HmacSha1_80)},
    {srtp::Suite::kAesCm128HmacSha1_32, srtp::toString(srtp::Suite::kAesCm128HmacSha1_32)},
    {srtp::Suite::kAeadAes128Gcm, srtp::toString(srtp::Suite::kAeadAes128Gcm)},
}};
constexpr std::array<Named<RecordingFormat>, 2> kFormats{{
    {RecordingFormat::kWav, "wav"},
    {RecordingFormat::kOggOpus, "ogg-opus"},
}};
constexpr std::array<Named<MediaFileEnd>, 3> kEnds{{
    {MediaFileEnd::kFinished, "finished"},
    {MediaFileEnd::kStopped, "stopped"},
    {MediaFileEnd::kError, "error"},
}};

template <class Enum, std::size_t N>
std::string_view nameOf(const std::array<Named<Enum>, N>& table, Enum value) {
  for (const auto& entry : table) {
    if (entry.value == value) {
      return entry.name;
    }
  }
  return table.front().name;
}

template <class Enum, std::size_t N>
std::optional<Enum> valueOf(const std::array<Named<Enum>, N>& table, std::string_view name) {
  for (const auto& entry : table) {
    if (entry.name == name) {
      return entry.value;
    }
  }
  return std::nullopt;
}

// RFC 4733 §3.2 events 0-15 as the Control interface reports them.
constexpr std::string_view kDtmfDigits = "0123456789*#ABCD";
// SRTP master key and salt are 30 bytes at most today; leave room, refuse anything absurd.
constexpr std::size_t kMaxKeySaltBytes = 64;
// Paths name files on the mixer's machine; PATH_MAX is 4096.
constexpr std::size_t kMaxPathBytes = 4096;
constexpr std::size_t kMaxAddressBytes = 128;
constexpr std::size_t kMaxLatchSources = 8;
constexpr std::size_t kMaxMessageBytes = 1024;
// Engine stats for more threads than this would not fit a line (about 240 bytes each); a
// machine with more mixer threads reports the first ones.
constexpr std::size_t kMaxThreads = 128;

// ---- writing -----------------------------------------------------------------------------------

// JSON has no NaN or infinity; a broken measurement goes out as 0.
double finite(double d) {
  return std::isfinite(d) ? d : 0.0;
}

std::string hex(const std::vector<uint8_t>& bytes) {
  static constexpr std::string_view kDigits = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (uint8_t b : bytes) {
    out += kDigits[b >> 4];
    out += kDigits[b & 0x0F];
  }
  return out;
}

json::value addressValue(const std::optional<sockaddr_storage>& address) {
  if (!address) {
    return nullptr;
  }
  std::string text = addressText(*address);
  if (text.empty()) {
    return nullptr;
  }
  return json::string(text);
}

json::object roomSettingsObject(const RoomSettings& s) {
  return {{"maxTalkers", s.maxTalkers},
          {"opusBitrate", s.opusBitrate},
          {"silentLevel", s.silentLevel},
          {"talkerStickinessDb", finite(s.talkerStickinessDb)},
          {"talkerOpusComplexity", s.talkerOpusComplexity},
          {"listenerOpusComplexity", s.listenerOpusComplexity},
          {"quietListenerDbov", finite(s.quietListenerDbov)}};
}

json::object mediaObject(const MediaParams& m) {
  const ParticipantSettings& p = m.participant;
  json::object participant{
      {"codec", nameOf(kCodecs, p.codec)},
      {"payloadType", p.payloadType},
      {"telephoneEventPayloadType",
       p.telephoneEventPayloadType ? json::value(*p.telephoneEventPayloadType) : json::value()},
      {"comfortNoisePayloadType",
       p.comfortNoisePayloadType ? json::value(*p.comfortNoisePayloadType) : json::value()},
      {"audioLevelId", p.audioLevelId},
      {"csrcLevelsId", p.csrcLevelsId},
      {"ssrc", p.ssrc},
      {"muted", p.muted},
      {"deaf", p.deaf},
      {"gain", finite(p.gain)},
      {"noiseSuppression", p.noiseSuppression},
      {"automaticGain", p.automaticGain}};
  const EndpointSettings& e = m.endpoint;
  json::value srtpValue;
  if (e.srtp) {
    srtpValue = json::object{{"suite", nameOf(kSuites, e.srtp->suite)},
                             {"localKeySalt", hex(e.srtp->localKeySalt)},
                             {"remoteKeySalt", hex(e.srtp->remoteKeySalt)}};
  }
  json::object endpoint{{"rtcpMux", e.rtcpMux},
                        {"srtp", std::move(srtpValue)},
                        {"remoteRtp", addressValue(e.remoteRtp)},
                        {"remoteRtcp", addressValue(e.remoteRtcp)}};
  json::array latchSources;
  for (std::size_t i = 0; i < e.latchSources.size() && i < kMaxLatchSources; ++i) {
    latchSources.push_back(addressValue(e.latchSources[i]));
  }
  endpoint["latchSources"] = std::move(latchSources);
  return {{"participant", std::move(participant)},
          {"endpoint", std::move(endpoint)},
          {"sending", m.sending},
          {"receiving", m.receiving}};
}

json::object mixStatsObject(const MixStats& s) {
  return {{"participants", s.participants},
          {"encodesLastTick", s.encodesLastTick},
          {"recording", s.recording},
          {"playing", s.playing}};
}

json::object mediaStatsObject(const MediaStats& s) {
  const MediaQuality& q = s.quality;
  return {{"packetsReceived", s.packetsReceived},
          {"packetsDropped", s.packetsDropped},
          {"packetsLate", s.packetsLate},
          {"packetsDuplicate", s.packetsDuplicate},
          {"packetsMalformed", s.packetsMalformed},
          {"packetsUnauthenticated", s.packetsUnauthenticated},
          {"packetsRefused", s.packetsRefused},
          {"packetsNotMedia", s.packetsNotMedia},
          {"framesDecoded", s.framesDecoded},
          {"framesConcealed", s.framesConcealed},
          {"packetsSent", s.packetsSent},
          {"talking", s.talking},
          {"quality",
           {{"ourFractionLost", q.ourFractionLost},
            {"ourJitter", q.ourJitter},
            {"theirFractionLost", q.theirFractionLost},
            {"theirCumulativeLost", q.theirCumulativeLost},
            {"theirJitter", q.theirJitter},
            {"roundTripMicros", q.roundTripMicros}}}};
}

json::object threadObject(const EngineThreadStats& t) {
  return {{"ticks", t.ticks},
          {"latenessP50Micros", finite(t.latenessP50Micros)},
          {"latenessP99Micros", finite(t.latenessP99Micros)},
          {"latenessP999Micros", finite(t.latenessP999Micros)},
          {"cpuSeconds", finite(t.cpuSeconds)},
          {"mixes", t.mixes},
          {"faults", t.faults}};
}

struct Writer {
  json::object operator()(const Hello& m) const {
    return {{"type", "hello"}, {"version", m.version}, {"mediaAddress", m.mediaAddress}};
  }
  json::object operator()(const CreateMix& m) const {
    return {{"type", "createMix"},
            {"id", m.id},
            {"mix", m.mix},
            {"settings", roomSettingsObject(m.settings)}};
  }
  json::object operator()(const DestroyMix& m) const {
    return {{"type", "destroyMix"}, {"id", m.id}, {"mix", m.mix}};
  }
  json::object operator()(const Reserve& m) const { return {{"type", "reserve"}, {"id", m.id}}; }
  json::object operator()(const Join& m) const {
    return {{"type", "join"},
            {"id", m.id},
            {"endpoint", m.endpoint},
            {"mix", m.mix},
            {"media", mediaObject(m.media)}};
  }
  json::object operator()(const Update& m) const {
    return {{"type", "update"},
            {"id", m.id},
            {"endpoint", m.endpoint},
            {"media", mediaObject(m.media)}};
  }
  json::object operator()(const Move& m) const {
    return {{"type", "move"}, {"id", m.id}, {"endpoint", m.endpoint}, {"mix", m.mix}};
  }
  json::object operator()(const Release& m) const {
    return {{"type", "release"}, {"id", m.id}, {"endpoint", m.endpoint}};
  }
  json::object operator()(const SetMuted& m) const {
    return {{"type", "setMuted"}, {"id", m.id}, {"endpoint", m.endpoint}, {"muted", m.muted}};
  }
  json::object operator()(const SetDeaf& m) const {
    return {{"type", "setDeaf"}, {"id", m.id}, {"endpoint", m.endpoint}, {"deaf", m.deaf}};
  }
  json::object operator()(const SetGain& m) const {
    return {{"type", "setGain"}, {"id", m.id}, {"endpoint", m.endpoint}, {"gain", finite(m.gain)}};
  }
  json::object operator()(const StartRecording& m) const {
    return {{"type", "startRecording"},
            {"id", m.id},
            {"mix", m.mix},
            {"path", m.path},
            {"format", nameOf(kFormats, m.format)}};
  }
  json::object operator()(const StopRecording& m) const {
    return {{"type", "stopRecording"}, {"id", m.id}, {"mix", m.mix}};
  }
  json::object operator()(const Play& m) const {
    return {{"type", "play"}, {"id", m.id}, {"mix", m.mix}, {"path", m.path}};
  }
  json::object operator()(const StopPlaying& m) const {
    return {{"type", "stopPlaying"}, {"id", m.id}, {"mix", m.mix}};
  }
  json::object operator()(const Ok& m) const { return {{"type", "ok"}, {"id", m.id}}; }
  json::object operator()(const Reserved& m) const {
    return {{"type", "reserved"}, {"id", m.id}, {"endpoint", m.endpoint}, {"rtpPort", m.rtpPort}};
  }
  json::object operator()(const Failed& m) const {
    return {{"type", "failed"},
            {"id", m.id},
            {"message", std::string_view(m.message).substr(0, kMaxMessageBytes)}};
  }
  json::object operator()(const DtmfEvent& m) const {
    return {{"type", "dtmf"}, {"endpoint", m.endpoint}, {"digit", std::string(1, m.digit)}};
  }
  json::object operator()(const RtpTimeoutEvent& m) const {
    return {{"type", "rtpTimeout"}, {"endpoint", m.endpoint}};
  }
  json::object operator()(const EndpointFailedEvent& m) const {
    return {{"type", "endpointFailed"}, {"endpoint", m.endpoint}};
  }
  json::object operator()(const TalkingEvent& m) const {
    return {{"type", "talking"}, {"endpoint", m.endpoint}, {"talking", m.talking}};
  }
  json::object operator()(const SourceEvent& m) const {
    return {{"type", "source"},
            {"endpoint", m.endpoint},
            {"latched", m.source.latched},
            {"address", std::string_view(m.source.address).substr(0, kMaxAddressBytes)},
            {"refused", m.source.refused}};
  }
  json::object operator()(const PlaybackEndedEvent& m) const {
    return {{"type", "playbackEnded"}, {"mix", m.mix}, {"how", nameOf(kEnds, m.how)}};
  }
  json::object operator()(const RecordingEndedEvent& m) const {
    return {{"type", "recordingEnded"}, {"mix", m.mix}, {"how", nameOf(kEnds, m.how)}};
  }
  json::object operator()(const MixStatsEvent& m) const {
    return {{"type", "mixStats"}, {"mix", m.mix}, {"stats", mixStatsObject(m.stats)}};
  }
  json::object operator()(const EndpointStatsEvent& m) const {
    return {
        {"type", "endpointStats"}, {"endpoint", m.endpoint}, {"stats", mediaStatsObject(m.stats)}};
  }
  json::object operator()(const EngineStatsEvent& m) const {
    json::array threads;
    for (std::size_t i = 0; i < m.threads.size() && i < kMaxThreads; ++i) {
      threads.push_back(threadObject(m.threads[i]));
    }
    return {{"type", "engineStats"}, {"threads", std::move(threads)}};
  }
};

// ---- reading -----------------------------------------------------------------------------------

// Reads the fields of one JSON object, keeping the first problem. Absent optional fields leave
// the default in place, so a later protocol version may add fields (docs/mixer-protocol.md).
class Fields {
 public:
  Fields(const json::object& object, std::string where)
      : object_(object), where_(std::move(where)) {}

  template <class Unsigned>
  void unsignedNumber(std::string_view key,
                      Unsigned& out,
                      bool required = false,
                      uint64_t max = std::numeric_limits<Unsigned>::max()) {
    static_assert(std::is_unsigned_v<Unsigned>);
    const json::value* v = find(key, required);
    if (v == nullptr) {
      return;
    }
    uint64_t n = 0;
    if (v->is_uint64()) {
      n = v->get_uint64();
    } else if (v->is_int64() && v->get_int64() >= 0) {
      n = static_cast<uint64_t>(v->get_int64());
    } else {
      fail(key, "expected an unsigned integer");
      return;
    }
    if (n > max) {
      fail(key, "above " + std::to_string(max));
      return;
    }
    out = static_cast<Unsigned>(n);
  }

  template <class Signed>
  void signedNumber(std::string_view key, Signed& out, int64_t min, int64_t max) {
    static_assert(std::is_signed_v<Signed> && std::is_integral_v<Signed>);
    const json::value* v = find(key, false);
    if (v == nullptr) {
      return;
    }
    int64_t n = 0;
    if (v->is_int64()) {
      n = v->get_int64();
    } else if (v->is_uint64() &&
               v->get_uint64() <= static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
      n = static_cast<int64_t>(v->get_uint64());
    } else {
      fail(key, "expected an integer");
      return;
    }
    if (n < min || n > max) {
      fail(key, "must be between " + std::to_string(min) + " and " + std::to_string(max));
      return;
    }
    out = static_cast<Signed>(n);
  }

  template <class Real>
  void real(std::string_view key, Real& out, double min, double max) {
    const json::value* v = find(key, false);
    if (v == nullptr) {
      return;
    }
    double d = 0;
    if (v->is_double()) {
      d = v->get_double();
    } else if (v->is_int64()) {
      d = static_cast<double>(v->get_int64());
    } else if (v->is_uint64()) {
      d = static_cast<double>(v->get_uint64());
    } else {
      fail(key, "expected a number");
      return;
    }
    if (!(d >= min && d <= max)) {
      fail(key, "must be between " + std::to_string(min) + " and " + std::to_string(max));
      return;
    }
    out = static_cast<Real>(d);
  }

  void boolean(std::string_view key, bool& out, bool required = false) {
    const json::value* v = find(key, required);
    if (v == nullptr) {
      return;
    }
    if (!v->is_bool()) {
      fail(key, "expected true or false");
      return;
    }
    out = v->get_bool();
  }

  // A string field; nullptr when absent (and not required) or wrong.
  const json::string* string(std::string_view key, std::size_t maxBytes, bool required = false) {
    const json::value* v = find(key, required);
    if (v == nullptr) {
      return nullptr;
    }
    if (!v->is_string()) {
      fail(key, "expected a string");
      return nullptr;
    }
    if (v->get_string().size() > maxBytes) {
      fail(key, "longer than " + std::to_string(maxBytes) + " bytes");
      return nullptr;
    }
    return &v->get_string();
  }

  void text(std::string_view key, std::string& out, std::size_t maxBytes, bool required = false) {
    if (const json::string* s = string(key, maxBytes, required)) {
      out.assign(s->data(), s->size());
    }
  }

  template <class Enum, std::size_t N>
  void named(std::string_view key,
             const std::array<Named<Enum>, N>& table,
             Enum& out,
             bool required = false) {
    const json::string* s = string(key, 64, required);
    if (s == nullptr) {
      return;
    }
    if (auto value = valueOf(table, std::string_view(s->data(), s->size()))) {
      out = *value;
    } else {
      fail(key, "unknown value \"" + std::string(s->data(), s->size()) + "\"");
    }
  }

  // An object field; nullptr when absent, null (and not required) or wrong.
  const json::object* object(std::string_view key, bool required = false) {
    const json::value* v = find(key, required);
    if (v == nullptr || (v->is_null() && !required)) {
      return nullptr;
    }
    if (!v->is_object()) {
      fail(key, "expected an object");
      return nullptr;
    }
    return &v->get_object();
  }

  const json::array* array(std::string_view key, bool required = false) {
    const json::value* v = find(key, required);
    if (v == nullptr) {
      return nullptr;
    }
    if (!v->is_array()) {
      fail(key, "expected an array");
      return nullptr;
    }
    return &v->get_array();
  }

  // Present and not null.
  bool has(std::string_view key) const {
    const json::value* v = object_.if_contains(key);
    return v != nullptr && !v->is_null();
  }

  void fail(std::string_view key, const std::string& why) {
    if (!error_) {
      error_ = "field '" + where_ + std::string(key) + "': " + why;
    }
  }
  void adopt(const std::optional<std::string>& error) {
    if (!error_ && error) {
      error_ = error;
    }
  }
  [[nodiscard]] const std::optional<std::string>& error() const { return error_; }
  [[nodiscard]] std::string path(std::string_view key) const {
    return where_ + std::string(key) + ".";
  }

 private:
  const json::value* find(std::string_view key, bool required) {
    if (error_) {
      return nullptr;
    }
    const json::value* v = object_.if_contains(key);
    if (v == nullptr && required) {
      fail(key, "missing");
    }
    return v;
  }

  const json::object& object_;
  std::string where_;
  std::optional<std::string> error_;
};

std::optional<std::vector<uint8_t>> unhex(std::string_view text) {
  if (text.size() % 2 != 0) {
    return std::nullopt;
  }
  auto nibble = [](char c) -> int {
    if (c >= '0' && c <= '9') {
      return c - '0';
    }
    if (c >= 'a' && c <= 'f') {
      return c - 'a' + 10;
    }
    if (c >= 'A' && c <= 'F') {
      return c - 'A' + 10;
    }
    return -1;
  };
  std::vector<uint8_t> out;
  out.reserve(text.size() / 2);
  for (std::size_t i = 0; i < text.size(); i += 2) {
    const int hi = nibble(text[i]);
    const int lo = nibble(text[i + 1]);
    if (hi < 0 || lo < 0) {
      return std::nullopt;
    }
    out.push_back(static_cast<uint8_t>(hi * 16 + lo));
  }
  return out;
}

// "192.0.2.1:5004" or "[2001:db8::1]:5004", numeric only.
std::optional<sockaddr_storage> parseAddress(std::string_view text) {
  std::string host;
  std::string_view port;
  if (!text.empty() && text.front() == '[') {
    const auto close = text.find(']');
    if (close == std::string_view::npos || close + 1 >= text.size() || text[close + 1] != ':') {
      return std::nullopt;
    }
    host = std::string(text.substr(1, close - 1));
    port = text.substr(close + 2);
  } else {
    const auto colon = text.rfind(':');
    if (colon == std::string_view::npos) {
      return std::nullopt;
    }
    host = std::string(text.substr(0, colon));
    port = text.substr(colon + 1);
  }
  if (port.empty() || port.size() > 5) {
    return std::nullopt;
  }
  unsigned number = 0;
  for (char c : port) {
    if (c < '0' || c > '9') {
      return std::nullopt;
    }
    number = number * 10 + static_cast<unsigned>(c - '0');
  }
  if (number > 65535) {
    return std::nullopt;
  }
  sockaddr_storage out{};
  if (text.front() != '[') {
    sockaddr_in in{};
    in.sin_family = AF_INET;
    in.sin_port = htons(static_cast<uint16_t>(number));
    if (::inet_pton(AF_INET, host.c_str(), &in.sin_addr) != 1) {
      return std::nullopt;
    }
    std::memcpy(&out, &in, sizeof(in));
  } else {
    sockaddr_in6 in6{};
    in6.sin6_family = AF_INET6;
    in6.sin6_port = htons(static_cast<uint16_t>(number));
    if (::inet_pton(AF_INET6, host.c_str(), &in6.sin6_addr) != 1) {
      return std::nullopt;
    }
    std::memcpy(&out, &in6, sizeof(in6));
  }
  return out;
}

void readAddress(Fields& f, std::string_view key, std::optional<sockaddr_storage>& out) {
  if (!f.has(key)) {
    out.reset();
    return;
  }
  const json::string* s = f.string(key, kMaxAddressBytes);
  if (s == nullptr) {
    return;
  }
  out = parseAddress(std::string_view(s->data(), s->size()));
  if (!out) {
    f.fail(key, "expected ADDRESS:PORT, an IPv6 address in brackets");
  }
}

void readKey(Fields& f, std::string_view key, std::vector<uint8_t>& out) {
  const json::string* s = f.string(key, 2 * kMaxKeySaltBytes, true);
  if (s == nullptr) {
    return;
  }
  auto bytes = unhex(std::string_view(s->data(), s->size()));
  if (!bytes) {
    f.fail(key, "expected hexadecimal bytes");
    return;
  }
  out = std::move(*bytes);
}

void readRoomSettings(const json::object& o,
                      const std::string& where,
                      RoomSettings& s,
                      Fields& parent) {
  Fields f(o, where);
  f.unsignedNumber("maxTalkers", s.maxTalkers, false, 64);
  f.signedNumber("opusBitrate", s.opusBitrate, 6000, 510000);  // RFC 6716 §2.1.1
  f.unsignedNumber("silentLevel", s.silentLevel, false, 127);  // RFC 6464 §3: 0-127 -dBov
  f.real("talkerStickinessDb", s.talkerStickinessDb, 0.0, 100.0);
  f.signedNumber("talkerOpusComplexity", s.talkerOpusComplexity, 0, 10);  // libopus 0..10
  f.signedNumber("listenerOpusComplexity", s.listenerOpusComplexity, 0, 10);
  f.real("quietListenerDbov", s.quietListenerDbov, -127.0, 0.0);
  parent.adopt(f.error());
}

void readMedia(const json::object& o, const std::string& where, MediaParams& m, Fields& parent) {
  Fields f(o, where);
  if (const json::object* p = f.object("participant", true)) {
    Fields pf(*p, f.path("participant"));
    ParticipantSettings& s = m.participant;
    pf.named("codec", kCodecs, s.codec, true);
    pf.unsignedNumber("payloadType", s.payloadType, true, 127);
    if (pf.has("telephoneEventPayloadType")) {
      uint8_t pt = 0;
      pf.unsignedNumber("telephoneEventPayloadType", pt, true, 127);
      s.telephoneEventPayloadType = pt;
    } else {
      s.telephoneEventPayloadType.reset();
    }
    if (pf.has("comfortNoisePayloadType")) {
      uint8_t pt = 0;
      pf.unsignedNumber("comfortNoisePayloadType", pt, true, 127);
      s.comfortNoisePayloadType = pt;
    } else {
      s.comfortNoisePayloadType.reset();
    }
    pf.unsignedNumber("audioLevelId", s.audioLevelId, false, 255);  // RFC 8285 ids
    pf.unsignedNumber("csrcLevelsId", s.csrcLevelsId, false, 255);
    pf.unsignedNumber("ssrc", s.ssrc);
    pf.boolean("muted", s.muted);
    pf.boolean("deaf", s.deaf);
    pf.real("gain", s.gain, 0.0, kMaxGain);
    pf.boolean("noiseSuppression", s.noiseSuppression);
    pf.boolean("automaticGain", s.automaticGain);
    f.adopt(pf.error());
  }
  if (const json::object* e = f.object("endpoint", true)) {
    Fields ef(*e, f.path("endpoint"));
    EndpointSettings& s = m.endpoint;
    ef.boolean("rtcpMux", s.rtcpMux);
    if (const json::object* k = ef.object("srtp")) {
      Fields kf(*k, ef.path("srtp"));
      SrtpKeys keys;
      kf.named("suite", kSuites, keys.suite, true);
      readKey(kf, "localKeySalt", keys.localKeySalt);
      readKey(kf, "remoteKeySalt", keys.remoteKeySalt);
      ef.adopt(kf.error());
      s.srtp = std::move(keys);
    } else {
      s.srtp.reset();
    }
    readAddress(ef, "remoteRtp", s.remoteRtp);
    readAddress(ef, "remoteRtcp", s.remoteRtcp);
    s.latchSources.clear();
    if (const json::array* sources = ef.array("latchSources")) {
      if (sources->size() > kMaxLatchSources) {
        ef.fail("latchSources", "more than " + std::to_string(kMaxLatchSources));
      }
      for (std::size_t i = 0; i < sources->size() && !ef.error(); ++i) {
        const json::value& v = (*sources)[i];
        std::optional<sockaddr_storage> address;
        if (v.is_string()) {
          address = parseAddress(std::string_view(v.get_string().data(), v.get_string().size()));
        }
        if (!address) {
          ef.fail("latchSources", "expected ADDRESS:PORT strings");
          break;
        }
        s.latchSources.push_back(*address);
      }
    }
    f.adopt(ef.error());
  }
  f.boolean("sending", m.sending);
  f.boolean("receiving", m.receiving);
  parent.adopt(f.error());
}

void readMixStats(const json::object& o, const std::string& where, MixStats& s, Fields& parent) {
  Fields f(o, where);
  f.unsignedNumber("participants", s.participants);
  f.unsignedNumber("encodesLastTick", s.encodesLastTick);
  f.boolean("recording", s.recording);
  f.boolean("playing", s.playing);
  parent.adopt(f.error());
}

void readMediaStats(const json::object& o,
                    const std::string& where,
                    MediaStats& s,
                    Fields& parent) {
  Fields f(o, where);
  f.unsignedNumber("packetsReceived", s.packetsReceived);
  f.unsignedNumber("packetsDropped", s.packetsDropped);
  f.unsignedNumber("packetsLate", s.packetsLate);
  f.unsignedNumber("packetsDuplicate", s.packetsDuplicate);
  f.unsignedNumber("packetsMalformed", s.packetsMalformed);
  f.unsignedNumber("packetsUnauthenticated", s.packetsUnauthenticated);
  f.unsignedNumber("packetsRefused", s.packetsRefused);
  f.unsignedNumber("packetsNotMedia", s.packetsNotMedia);
  f.unsignedNumber("framesDecoded", s.framesDecoded);
  f.unsignedNumber("framesConcealed", s.framesConcealed);
  f.unsignedNumber("packetsSent", s.packetsSent);
  f.boolean("talking", s.talking);
  if (const json::object* q = f.object("quality")) {
    Fields qf(*q, f.path("quality"));
    qf.unsignedNumber("ourFractionLost", s.quality.ourFractionLost);
    qf.unsignedNumber("ourJitter", s.quality.ourJitter);
    qf.unsignedNumber("theirFractionLost", s.quality.theirFractionLost);
    // RFC 3550 §6.4.1: cumulative lost is a signed 24-bit count.
    qf.signedNumber("theirCumulativeLost", s.quality.theirCumulativeLost, -(1 << 23),
                    (1 << 23) - 1);
    qf.unsignedNumber("theirJitter", s.quality.theirJitter);
    qf.unsignedNumber("roundTripMicros", s.quality.roundTripMicros);
    f.adopt(qf.error());
  }
  parent.adopt(f.error());
}

constexpr double kMaxMeasure = 1e15;

void readThread(const json::object& o,
                const std::string& where,
                EngineThreadStats& t,
                Fields& parent) {
  Fields f(o, where);
  f.unsignedNumber("ticks", t.ticks);
  f.real("latenessP50Micros", t.latenessP50Micros, 0.0, kMaxMeasure);
  f.real("latenessP99Micros", t.latenessP99Micros, 0.0, kMaxMeasure);
  f.real("latenessP999Micros", t.latenessP999Micros, 0.0, kMaxMeasure);
  f.real("cpuSeconds", t.cpuSeconds, 0.0, kMaxMeasure);
  f.unsignedNumber("mixes", t.mixes);
  f.unsignedNumber("faults", t.faults);
  parent.adopt(f.error());
}

// Reads the message of 'type' from the fields; nullopt with the reason in 'f' otherwise.
std::optional<Message> readMessage(std::string_view type, Fields& f, const json::object& o) {
  // Request ids: non-zero (0 means "no request" in a Failed).
  auto requestId = [&f](RequestId& id) {
    f.unsignedNumber("id", id, true);
    if (!f.error() && id == 0) {
      f.fail("id", "must not be 0");
    }
  };
  auto sub = [&o](std::string_view key) -> const json::object* {
    const json::value* v = o.if_contains(key);
    return v != nullptr && v->is_object() ? &v->get_object() : nullptr;
  };
  if (type == "hello") {
    Hello m;
    f.signedNumber("version", m.version, 0, std::numeric_limits<int64_t>::max());
    if (!f.has("version")) {
      f.fail("version", "missing");
    }
    f.text("mediaAddress", m.mediaAddress, kMaxAddressBytes);
    return m;
  }
  if (type == "createMix") {
    CreateMix m;
    requestId(m.id);
    f.unsignedNumber("mix", m.mix, true);
    if (f.object("settings") != nullptr) {
      readRoomSettings(*sub("settings"), "settings.", m.settings, f);
    }
    return m;
  }
  if (type == "destroyMix") {
    DestroyMix m;
    requestId(m.id);
    f.unsignedNumber("mix", m.mix, true);
    return m;
  }
  if (type == "reserve") {
    Reserve m;
    requestId(m.id);
    return m;
  }
  if (type == "join" || type == "update") {
    RequestId id = 0;
    EndpointId endpoint = 0;
    MixId mix = 0;
    MediaParams media;
    requestId(id);
    f.unsignedNumber("endpoint", endpoint, true);
    if (type == "join") {
      f.unsignedNumber("mix", mix, true);
    }
    if (f.object("media", true) != nullptr) {
      readMedia(*sub("media"), "media.", media, f);
    }
    if (type == "join") {
      return Join{id, endpoint, mix, std::move(media)};
    }
    return Update{id, endpoint, std::move(media)};
  }
  if (type == "move") {
    Move m;
    requestId(m.id);
    f.unsignedNumber("endpoint", m.endpoint, true);
    f.unsignedNumber("mix", m.mix, true);
    return m;
  }
  if (type == "release") {
    Release m;
    requestId(m.id);
    f.unsignedNumber("endpoint", m.endpoint, true);
    return m;
  }
  if (type == "setMuted") {
    SetMuted m;
    requestId(m.id);
    f.unsignedNumber("endpoint", m.endpoint, true);
    f.boolean("muted", m.muted, true);
    return m;
  }
  if (type == "setDeaf") {
    SetDeaf m;
    requestId(m.id);
    f.unsignedNumber("endpoint", m.endpoint, true);
    f.boolean("deaf", m.deaf, true);
    return m;
  }
  if (type == "setGain") {
    SetGain m;
    requestId(m.id);
    f.unsignedNumber("endpoint", m.endpoint, true);
    if (!f.has("gain")) {
      f.fail("gain", "missing");
    }
    f.real("gain", m.gain, 0.0, kMaxGain);
    return m;
  }
  if (type == "startRecording") {
    StartRecording m;
    requestId(m.id);
    f.unsignedNumber("mix", m.mix, true);
    f.text("path", m.path, kMaxPathBytes, true);
    f.named("format", kFormats, m.format, true);
    return m;
  }
  if (type == "stopRecording") {
    StopRecording m;
    requestId(m.id);
    f.unsignedNumber("mix", m.mix, true);
    return m;
  }
  if (type == "play") {
    Play m;
    requestId(m.id);
    f.unsignedNumber("mix", m.mix, true);
    f.text("path", m.path, kMaxPathBytes, true);
    return m;
  }
  if (type == "stopPlaying") {
    StopPlaying m;
    requestId(m.id);
    f.unsignedNumber("mix", m.mix, true);
    return m;
  }
  if (type == "ok") {
    Ok m;
    requestId(m.id);
    return m;
  }
  if (type == "reserved") {
    Reserved m;
    requestId(m.id);
    f.unsignedNumber("endpoint", m.endpoint, true);
    f.unsignedNumber("rtpPort", m.rtpPort, true);
    return m;
  }
  if (type == "failed") {
    Failed m;
    f.unsignedNumber("id", m.id, true);  // 0: about the line, not a request
    f.text("message", m.message, kMaxMessageBytes, true);
    return m;
  }
  if (type == "dtmf") {
    DtmfEvent m;
    f.unsignedNumber("endpoint", m.endpoint, true);
    if (const json::string* s = f.string("digit", 1, true)) {
      if (s->size() != 1 || kDtmfDigits.find((*s)[0]) == std::string_view::npos) {
        f.fail("digit", "expected one of " + std::string(kDtmfDigits));
      } else {
        m.digit = (*s)[0];
      }
    }
    return m;
  }
  if (type == "rtpTimeout") {
    RtpTimeoutEvent m;
    f.unsignedNumber("endpoint", m.endpoint, true);
    return m;
  }
  if (type == "endpointFailed") {
    EndpointFailedEvent m;
    f.unsignedNumber("endpoint", m.endpoint, true);
    return m;
  }
  if (type == "talking") {
    TalkingEvent m;
    f.unsignedNumber("endpoint", m.endpoint, true);
    f.boolean("talking", m.talking, true);
    return m;
  }
  if (type == "source") {
    SourceEvent m;
    f.unsignedNumber("endpoint", m.endpoint, true);
    f.boolean("latched", m.source.latched, true);
    f.text("address", m.source.address, kMaxAddressBytes, true);
    f.unsignedNumber("refused", m.source.refused);
    return m;
  }
  if (type == "playbackEnded" || type == "recordingEnded") {
    MixId mix = 0;
    MediaFileEnd how = MediaFileEnd::kFinished;
    f.unsignedNumber("mix", mix, true);
    f.named("how", kEnds, how, true);
    if (type == "playbackEnded") {
      return PlaybackEndedEvent{mix, how};
    }
    return RecordingEndedEvent{mix, how};
  }
  if (type == "mixStats") {
    MixStatsEvent m;
    f.unsignedNumber("mix", m.mix, true);
    if (f.object("stats", true) != nullptr) {
      readMixStats(*sub("stats"), "stats.", m.stats, f);
    }
    return m;
  }
  if (type == "endpointStats") {
    EndpointStatsEvent m;
    f.unsignedNumber("endpoint", m.endpoint, true);
    if (f.object("stats", true) != nullptr) {
      readMediaStats(*sub("stats"), "stats.", m.stats, f);
    }
    return m;
  }
  if (type == "engineStats") {
    EngineStatsEvent m;
    if (const json::array* threads = f.array("threads", true)) {
      if (threads->size() > kMaxThreads) {
        f.fail("threads", "more than " + std::to_string(kMaxThreads));
      }
      for (std::size_t i = 0; i < threads->size() && !f.error(); ++i) {
        const json::value& t = (*threads)[i];
        if (!t.is_object()) {
          f.fail("threads", "expected objects");
          break;
        }
        EngineThreadStats stats;
        readThread(t.get_object(), "threads[" + std::to_string(i) + "].", stats, f);
        m.threads.push_back(stats);
      }
    }
    return m;
  }
  f.fail("type", "unknown message type \"" + std::string(type.substr(0, 64)) + "\"");
  return std::nullopt;
}

}  // namespace

ParseResult parse(std::string_view line) {
  if (line.size() >= kMaxLineBytes) {
    return ParseError{0, "line longer than " + std::to_string(kMaxLineBytes - 1) + " bytes"};
  }
  if (!line.empty() && line.back() == '\r') {
    line.remove_suffix(1);
  }
  // Everything the line becomes lives in one arena, freed with it.
  std::array<unsigned char, 4096> initial{};
  json::monotonic_resource arena(initial.data(), initial.size());
  boost::system::error_code ec;
  json::parse_options options;
  options.max_depth = 8;  // the deepest message nests 4 objects
  const json::value value = json::parse(line, ec, &arena, options);
  if (ec) {
    return ParseError{0, "not JSON: " + ec.message()};
  }
  if (!value.is_object()) {
    return ParseError{0, "not a JSON object"};
  }
  const json::object& object = value.get_object();
  // The id first, so that a refusal can name the request it refuses.
  RequestId id = 0;
  if (const json::value* v = object.if_contains("id"); v != nullptr && v->is_uint64()) {
    id = v->get_uint64();
  } else if (v != nullptr && v->is_int64() && v->get_int64() > 0) {
    id = static_cast<uint64_t>(v->get_int64());
  }
  const json::value* type = object.if_contains("type");
  if (type == nullptr || !type->is_string()) {
    return ParseError{id, "field 'type': missing or not a string"};
  }
  Fields fields(object, "");
  const json::string& name = type->get_string();
  auto message = readMessage(std::string_view(name.data(), name.size()), fields, object);
  if (fields.error() || !message) {
    return ParseError{id, fields.error().value_or("unreadable")};
  }
  return std::move(*message);
}

std::string serialize(const Message& message) {
  std::string line = json::serialize(std::visit(Writer{}, message));
  line += '\n';
  return line;
}

RequestId requestIdOf(const Message& message) {
  return std::visit(
      [](const auto& m) -> RequestId {
        if constexpr (requires { m.id; }) {
          return m.id;
        } else {
          return 0;
        }
      },
      message);
}

}  // namespace confab::mixer::remote
