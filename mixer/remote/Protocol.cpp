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

constexpr std::array<Named<Codec>, 4> kCodecs{{
    {Codec::kOpus, "opus"},
    {Codec::kPcmu, "pcmu"},
    {Codec::kPcma, "pcma"},
    {Codec::kG722, "g722"},
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

// RFC 4733 §3.2 events 0-15 as the Control interface reports them.
constexpr std::string_view kDtmfDigits = "0123456789*#ABCD";
// SRTP master key and salt are 30 bytes at most today; leave room, refuse anything absurd.
constexpr std::size_t kMaxKeySaltBytes = 64;
constexpr std::size_t kMaxLatchSources = 8;
constexpr double kMaxMeasure = 1e15;

// The names of each enum on the wire.
template <class Enum>
constexpr const auto& namesOf();
template <>
constexpr const auto& namesOf<Codec>() {
  return kCodecs;
}
template <>
constexpr const auto& namesOf<srtp::Suite>() {
  return kSuites;
}
template <>
constexpr const auto& namesOf<RecordingFormat>() {
  return kFormats;
}
template <>
constexpr const auto& namesOf<MediaFileEnd>() {
  return kEnds;
}

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

// ---- what each nested object holds (both directions) -------------------------------------------

// S is T, or const T (the writer reads it, the reader fills it).
template <class S, class T>
concept Is = std::same_as<std::remove_const_t<S>, T>;

template <class V, Is<RoomSettings> S>
void describe(V& v, S& s) {
  v.number("maxTalkers", s.maxTalkers, kOptional, 64);
  v.integer("opusBitrate", s.opusBitrate, 6000, 510000, kOptional);  // RFC 6716 §2.1.1
  v.number("silentLevel", s.silentLevel, kOptional, 127);  // RFC 6464 §3: 0-127 -dBov
  v.real("talkerStickinessDb", s.talkerStickinessDb, 0.0, 100.0, kOptional);
  v.integer("talkerOpusComplexity", s.talkerOpusComplexity, 0, 10, kOptional);  // libopus 0..10
  v.flag("talkerOpusCeltOnly", s.talkerOpusCeltOnly, kOptional);
  v.integer("listenerOpusComplexity", s.listenerOpusComplexity, 0, 10, kOptional);
  v.integer("plainListenerOpusComplexity", s.plainListenerOpusComplexity, 0, 10, kOptional);
  v.flag("plainListenerOpusCeltOnly", s.plainListenerOpusCeltOnly, kOptional);
  v.real("quietListenerDbov", s.quietListenerDbov, -127.0, 0.0, kOptional);
}

template <class V, Is<ParticipantSettings> S>
void describe(V& v, S& s) {
  v.choice("codec", s.codec, kRequired);
  v.number("payloadType", s.payloadType, kRequired, 127);
  v.optionalNumber("telephoneEventPayloadType", s.telephoneEventPayloadType, 127);
  v.optionalNumber("comfortNoisePayloadType", s.comfortNoisePayloadType, 127);
  v.number("audioLevelId", s.audioLevelId, kOptional, 255);  // RFC 8285 ids
  v.number("csrcLevelsId", s.csrcLevelsId, kOptional, 255);
  v.number("ssrc", s.ssrc, kOptional);
  v.flag("noiseSuppression", s.noiseSuppression, kOptional);
  v.flag("automaticGain", s.automaticGain, kOptional);
  v.flag("opusFec", s.opusFec, kOptional);
  v.nested("controls", s.controls, kOptional);
}

// A participant's live controls, in a join's or an update's participant settings and in
// setControls. Each absent field takes its default: setControls replaces them all.
template <class V, Is<Controls> S>
void describe(V& v, S& s) {
  v.flag("muted", s.muted, kOptional);
  v.flag("deaf", s.deaf, kOptional);
  v.real("gain", s.gain, 0.0, kMaxGain, kOptional);  // the one gain range (issue 10)
}

template <class V, Is<SrtpKeys> S>
void describe(V& v, S& s) {
  v.choice("suite", s.suite, kRequired);
  v.hexBytes("localKeySalt", s.localKeySalt);
  v.hexBytes("remoteKeySalt", s.remoteKeySalt);
}

template <class V, Is<EndpointSettings> S>
void describe(V& v, S& s) {
  v.flag("rtcpMux", s.rtcpMux, kOptional);
  v.optionalNested("srtp", s.srtp);
  v.address("remoteRtp", s.remoteRtp);
  v.address("remoteRtcp", s.remoteRtcp);
  v.addresses("latchSources", s.latchSources, kMaxLatchSources);
}

template <class V, Is<MediaParams> S>
void describe(V& v, S& s) {
  v.nested("participant", s.participant, kRequired);
  v.nested("endpoint", s.endpoint, kRequired);
  v.flag("sending", s.sending, kOptional);
  v.flag("receiving", s.receiving, kOptional);
}

template <class V, Is<MixStats> S>
void describe(V& v, S& s) {
  v.number("participants", s.participants, kOptional);
  v.number("encodesLastTick", s.encodesLastTick, kOptional);
  v.flag("recording", s.recording, kOptional);
  v.flag("playing", s.playing, kOptional);
  v.number("playbackUnderruns", s.playbackUnderruns, kOptional);
  v.number("recordingDrops", s.recordingDrops, kOptional);
}

template <class V, Is<MediaQuality> S>
void describe(V& v, S& q) {
  v.number("ourFractionLost", q.ourFractionLost, kOptional);
  v.number("ourJitter", q.ourJitter, kOptional);
  v.number("theirFractionLost", q.theirFractionLost, kOptional);
  // RFC 3550 §6.4.1: cumulative lost is a signed 24-bit count.
  v.integer("theirCumulativeLost", q.theirCumulativeLost, -(1 << 23), (1 << 23) - 1, kOptional);
  v.number("theirJitter", q.theirJitter, kOptional);
  v.number("roundTripMicros", q.roundTripMicros, kOptional);
}

template <class V, Is<MediaStats> S>
void describe(V& v, S& s) {
  v.number("packetsReceived", s.packetsReceived, kOptional);
  v.number("packetsDropped", s.packetsDropped, kOptional);
  v.number("packetsLate", s.packetsLate, kOptional);
  v.number("packetsDuplicate", s.packetsDuplicate, kOptional);
  v.number("packetsMalformed", s.packetsMalformed, kOptional);
  v.number("packetsUnauthenticated", s.packetsUnauthenticated, kOptional);
  v.number("packetsRefused", s.packetsRefused, kOptional);
  v.number("packetsNotMedia", s.packetsNotMedia, kOptional);
  v.number("framesDecoded", s.framesDecoded, kOptional);
  v.number("framesConcealed", s.framesConcealed, kOptional);
  v.number("packetsSent", s.packetsSent, kOptional);
  v.flag("talking", s.talking, kOptional);
  v.nested("quality", s.quality, kOptional);
}

template <class V, Is<EngineThreadStats> S>
void describe(V& v, S& t) {
  v.number("ticks", t.ticks, kOptional);
  v.real("latenessP50Micros", t.latenessP50Micros, 0.0, kMaxMeasure, kOptional);
  v.real("latenessP99Micros", t.latenessP99Micros, 0.0, kMaxMeasure, kOptional);
  v.real("latenessP999Micros", t.latenessP999Micros, 0.0, kMaxMeasure, kOptional);
  v.real("cpuSeconds", t.cpuSeconds, 0.0, kMaxMeasure, kOptional);
  v.number("mixes", t.mixes, kOptional);
  v.number("participants", t.participants, kOptional);
  v.number("faults", t.faults, kOptional);
}

// ---- writing: each field into a JSON object ------------------------------------------------------

class Writer {
 public:
  void requestId(const RequestId& id) { out_["id"] = id; }
  template <class Unsigned>
  void number(std::string_view key, const Unsigned& value, Need /*need*/, uint64_t /*max*/ = 0) {
    out_[key] = static_cast<uint64_t>(value);
  }
  template <class Signed>
  void integer(std::string_view key, const Signed& value, int64_t /*min*/, int64_t /*max*/, Need) {
    out_[key] = static_cast<int64_t>(value);
  }
  template <class Real>
  void real(std::string_view key, const Real& value, double /*min*/, double /*max*/, Need) {
    out_[key] = finite(static_cast<double>(value));
  }
  void flag(std::string_view key, const bool& value, Need /*need*/) { out_[key] = value; }
  void text(std::string_view key, const std::string& value, std::size_t maxBytes, Need need) {
    // An empty optional text is left out: the reader gives it back as empty.
    if (need == kRequired || !value.empty()) {
      out_[key] = std::string_view(value).substr(0, maxBytes);
    }
  }
  template <class Enum>
  void choice(std::string_view key, const Enum& value, Need /*need*/) {
    out_[key] = nameOf(namesOf<Enum>(), value);
  }
  void digit(std::string_view key, const char& value) { out_[key] = std::string(1, value); }
  template <class T>
  void nested(std::string_view key, const T& value, Need /*need*/) {
    Writer inner;
    describe(inner, value);
    out_[key] = std::move(inner.out_);
  }
  template <class T>
  void optionalNested(std::string_view key, const std::optional<T>& value) {
    if (value) {
      nested(key, *value, kOptional);
    } else {
      out_[key] = nullptr;
    }
  }
  template <class T>
  void list(std::string_view key, const std::vector<T>& values, std::size_t max, Need) {
    json::array items;
    for (std::size_t i = 0; i < values.size() && i < max; ++i) {
      Writer inner;
      describe(inner, values[i]);
      items.push_back(std::move(inner.out_));
    }
    out_[key] = std::move(items);
  }
  template <class Unsigned>
  void optionalNumber(std::string_view key, const std::optional<Unsigned>& value, uint64_t) {
    out_[key] = value ? json::value(static_cast<uint64_t>(*value)) : json::value();
  }
  void address(std::string_view key, const std::optional<sockaddr_storage>& value) {
    out_[key] = addressValue(value);
  }
  void addresses(std::string_view key, const std::vector<sockaddr_storage>& values,
                 std::size_t max) {
    json::array items;
    for (std::size_t i = 0; i < values.size() && i < max; ++i) {
      items.push_back(addressValue(values[i]));
    }
    out_[key] = std::move(items);
  }
  void hexBytes(std::string_view key, const std::vector<uint8_t>& bytes) { out_[key] = hex(bytes); }

  json::object& out() { return out_; }

 private:
  json::object out_;
};

// ---- reading: each field from a JSON object, checked ---------------------------------------------

class Reader {
 public:
  Reader(const json::object& object, std::string where) : f_(object, std::move(where)) {}

  // Request ids: non-zero (0 means "no request" in a Failed).
  void requestId(RequestId& id) {
    f_.unsignedNumber("id", id, true);
    if (!f_.error() && id == 0) {
      f_.fail("id", "must not be 0");
    }
  }
  template <class Unsigned>
  void number(std::string_view key,
              Unsigned& out,
              Need need,
              uint64_t max = std::numeric_limits<Unsigned>::max()) {
    f_.unsignedNumber(key, out, need == kRequired, max);
  }
  template <class Signed>
  void integer(std::string_view key, Signed& out, int64_t min, int64_t max, Need need) {
    if (need == kRequired && !f_.has(key)) {
      f_.fail(key, "missing");
      return;
    }
    f_.signedNumber(key, out, min, max);
  }
  template <class Real>
  void real(std::string_view key, Real& out, double min, double max, Need need) {
    if (need == kRequired && !f_.has(key)) {
      f_.fail(key, "missing");
      return;
    }
    f_.real(key, out, min, max);
  }
  void flag(std::string_view key, bool& out, Need need) { f_.boolean(key, out, need == kRequired); }
  void text(std::string_view key, std::string& out, std::size_t maxBytes, Need need) {
    f_.text(key, out, maxBytes, need == kRequired);
  }
  template <class Enum>
  void choice(std::string_view key, Enum& out, Need need) {
    f_.named(key, namesOf<Enum>(), out, need == kRequired);
  }
  void digit(std::string_view key, char& out) {
    if (const json::string* s = f_.string(key, 1, true)) {
      if (s->size() != 1 || kDtmfDigits.find((*s)[0]) == std::string_view::npos) {
        f_.fail(key, "expected one of " + std::string(kDtmfDigits));
      } else {
        out = (*s)[0];
      }
    }
  }
  template <class T>
  void nested(std::string_view key, T& out, Need need) {
    if (const json::object* o = f_.object(key, need == kRequired)) {
      Reader inner(*o, f_.path(key));
      describe(inner, out);
      f_.adopt(inner.error());
    }
  }
  template <class T>
  void optionalNested(std::string_view key, std::optional<T>& out) {
    if (const json::object* o = f_.object(key)) {
      Reader inner(*o, f_.path(key));
      T value;
      describe(inner, value);
      f_.adopt(inner.error());
      out = std::move(value);
    } else {
      out.reset();
    }
  }
  template <class T>
  void list(std::string_view key, std::vector<T>& out, std::size_t max, Need need) {
    const json::array* items = f_.array(key, need == kRequired);
    if (items == nullptr) {
      return;
    }
    if (items->size() > max) {
      f_.fail(key, "more than " + std::to_string(max));
    }
    for (std::size_t i = 0; i < items->size() && !f_.error(); ++i) {
      const json::value& item = (*items)[i];
      if (!item.is_object()) {
        f_.fail(key, "expected objects");
        break;
      }
      Reader inner(item.get_object(), std::string(key) + "[" + std::to_string(i) + "].");
      T value;
      describe(inner, value);
      f_.adopt(inner.error());
      out.push_back(std::move(value));
    }
  }
  template <class Unsigned>
  void optionalNumber(std::string_view key, std::optional<Unsigned>& out, uint64_t max) {
    if (f_.has(key)) {
      Unsigned value = 0;
      f_.unsignedNumber(key, value, true, max);
      out = value;
    } else {
      out.reset();
    }
  }
  void address(std::string_view key, std::optional<sockaddr_storage>& out) {
    readAddress(f_, key, out);
  }
  void addresses(std::string_view key, std::vector<sockaddr_storage>& out, std::size_t max) {
    out.clear();
    const json::array* items = f_.array(key);
    if (items == nullptr) {
      return;
    }
    if (items->size() > max) {
      f_.fail(key, "more than " + std::to_string(max));
    }
    for (std::size_t i = 0; i < items->size() && !f_.error(); ++i) {
      const json::value& item = (*items)[i];
      std::optional<sockaddr_storage> address;
      if (item.is_string()) {
        address = parseAddress(std::string_view(item.get_string().data(), item.get_string().size()));
      }
      if (!address) {
        f_.fail(key, "expected ADDRESS:PORT strings");
        break;
      }
      out.push_back(*address);
    }
  }
  void hexBytes(std::string_view key, std::vector<uint8_t>& out) { readKey(f_, key, out); }

  void fail(std::string_view key, const std::string& why) { f_.fail(key, why); }
  [[nodiscard]] const std::optional<std::string>& error() const { return f_.error(); }

 private:
  Fields f_;
};

// The message whose kType is 'type', read by its own visit(); nothing for an unknown type.
template <std::size_t I = 0>
std::optional<Message> readMessage(std::string_view type, Reader& reader) {
  if constexpr (I < std::variant_size_v<Message>) {
    using T = std::variant_alternative_t<I, Message>;
    if (type == T::kType) {
      T message;
      T::visit(reader, message);
      return Message(std::move(message));
    }
    return readMessage<I + 1>(type, reader);
  } else {
    reader.fail("type", "unknown message type \"" + std::string(type.substr(0, 64)) + "\"");
    return std::nullopt;
  }
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
  Reader reader(object, "");
  const json::string& name = type->get_string();
  auto message = readMessage(std::string_view(name.data(), name.size()), reader);
  if (reader.error() || !message) {
    return ParseError{id, reader.error().value_or("unreadable")};
  }
  return std::move(*message);
}

std::string serialize(const Message& message) {
  json::object object = std::visit(
      [](const auto& m) {
        using T = std::decay_t<decltype(m)>;
        Writer writer;
        writer.out()["type"] = T::kType;
        T::visit(writer, m);
        return std::move(writer.out());
      },
      message);
  std::string line = json::serialize(object);
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

