#include "focus/sdp/SessionDescription.hpp"

#include <array>

#include "focus/sdp/Text.hpp"

namespace confab::sdp {
namespace {

// The reason phrase names the line, cut short and made printable: it goes into a SIP status line
// (RFC 3261 §25.1 Reason-Phrase is TEXT-UTF8, no CR or LF).
std::string describeLine(std::string_view line) {
  constexpr std::size_t kShown = 48;
  std::string out;
  for (std::size_t i = 0; i < line.size() && i < kShown; ++i) {
    const auto c = static_cast<unsigned char>(line[i]);
    out.push_back(c < 0x20 || c >= 0x7F ? '?' : static_cast<char>(c));
  }
  if (line.size() > kShown) {
    out += "...";
  }
  return out;
}

Error lineError(std::size_t lineNumber, std::string_view line, std::string_view why) {
  return Error{400, "SDP line " + std::to_string(lineNumber) + " '" + describeLine(line) +
                        "': " + std::string(why)};
}

bool isToken(std::string_view s) {
  // RFC 4566 §9 token: visible ASCII without the separators SDP uses.
  if (s.empty()) {
    return false;
  }
  for (const char c : s) {
    const auto u = static_cast<unsigned char>(c);
    if (u <= 0x20 || u >= 0x7F || c == '"' || c == '(' || c == ')' || c == ',' || c == '/' ||
        c == ':' || c == ';' || c == '<' || c == '=' || c == '>' || c == '?' || c == '@' ||
        c == '[' || c == ']' || c == '\\' || c == '{' || c == '}') {
      return false;
    }
  }
  return true;
}

bool isVisible(std::string_view s) {
  if (s.empty()) {
    return false;
  }
  for (const char c : s) {
    const auto u = static_cast<unsigned char>(c);
    if (u <= 0x20 || u == 0x7F) {
      return false;
    }
  }
  return true;
}

bool isAddressType(std::string_view word, bool& ipv6) {
  if (word == "IP4") {
    ipv6 = false;
    return true;
  }
  if (word == "IP6") {
    ipv6 = true;
    return true;
  }
  return false;
}

Result<Origin> parseOrigin(std::string_view value) {
  const auto words = text::splitWords(value, 7);
  if (words.size() != 6) {
    return Error{400, "o= needs '<user> <sess-id> <sess-version> IN IP4|IP6 <address>'"};
  }
  Origin origin;
  if (!isVisible(words[0])) {
    return Error{400, "o= username is not visible text"};
  }
  origin.username = std::string(words[0]);
  // RFC 4566 §5.2: numeric strings; 32 digits is far past any real one.
  for (const std::size_t i : {std::size_t{1}, std::size_t{2}}) {
    if (words[i].size() > 32 ||
        words[i].find_first_not_of("0123456789") != std::string_view::npos) {
      return Error{400, "o= session id and version must be numbers"};
    }
  }
  origin.sessionId = std::string(words[1]);
  origin.sessionVersion = std::string(words[2]);
  if (words[3] != "IN") {
    return Error{400, "o= network type is not IN"};
  }
  if (!isAddressType(words[4], origin.ipv6)) {
    return Error{400, "o= address type is not IP4 or IP6"};
  }
  // The origin address only names the session; clients put odd things there, so any visible
  // word will do.
  if (!isVisible(words[5])) {
    return Error{400, "o= address is missing"};
  }
  origin.address = std::string(words[5]);
  return origin;
}

Result<Connection> parseConnection(std::string_view value) {
  const auto words = text::splitWords(value, 4);
  if (words.size() != 3) {
    return Error{400, "c= needs 'IN IP4|IP6 <address>'"};
  }
  if (words[0] != "IN") {
    return Error{400, "c= network type is not IN"};
  }
  Connection connection;
  if (!isAddressType(words[1], connection.ipv6)) {
    return Error{400, "c= address type is not IP4 or IP6"};
  }
  const auto parts = text::split(words[2], '/');
  if (parts.size() > 3 || (connection.ipv6 && parts.size() > 2)) {
    return Error{400, "c= address has too many '/' parts"};
  }
  if (!text::isValidAddress(parts[0], connection.ipv6)) {
    return Error{400, connection.ipv6 ? "c= address is not an IPv6 address or host name"
                                      : "c= address is not an IPv4 address or host name"};
  }
  connection.address = std::string(parts[0]);
  // RFC 4566 §5.7: IPv4 multicast is <addr>/<ttl>[/<n>]; IPv6 multicast has no TTL: <addr>[/<n>].
  if (parts.size() >= 2) {
    const auto first = text::parseNumber<unsigned>(parts[1]);
    if (!first) {
      return Error{400, "c= TTL or address count is not a number"};
    }
    if (connection.ipv6) {
      if (*first == 0) {
        return Error{400, "c= address count is zero"};
      }
      connection.addressCount = *first;
    } else {
      if (*first > 255) {
        return Error{400, "c= TTL is not 0-255"};
      }
      connection.ttl = *first;
    }
  }
  if (parts.size() == 3) {
    const auto count = text::parseNumber<unsigned>(parts[2]);
    if (!count || *count == 0) {
      return Error{400, "c= address count is not a positive number"};
    }
    connection.addressCount = *count;
  }
  return connection;
}

Result<Bandwidth> parseBandwidth(std::string_view value) {
  const auto colon = value.find(':');
  if (colon == std::string_view::npos) {
    return Error{400, "b= needs '<type>:<bandwidth>'"};
  }
  Bandwidth bandwidth;
  const auto type = text::trim(value.substr(0, colon));
  if (!isToken(type)) {
    return Error{400, "b= type is not a token"};
  }
  const auto amount = text::parseNumber<std::uint64_t>(text::trim(value.substr(colon + 1)));
  if (!amount) {
    return Error{400, "b= bandwidth is not a number"};
  }
  bandwidth.type = std::string(type);
  bandwidth.value = *amount;
  return bandwidth;
}

Result<Timing> parseTiming(std::string_view value) {
  const auto words = text::splitWords(value, 3);
  if (words.size() != 2) {
    return Error{400, "t= needs '<start> <stop>'"};
  }
  const auto start = text::parseNumber<std::uint64_t>(words[0]);
  const auto stop = text::parseNumber<std::uint64_t>(words[1]);
  if (!start || !stop) {
    return Error{400, "t= times are not numbers"};
  }
  return Timing{*start, *stop, {}};
}

Result<Attribute> parseAttribute(std::string_view value) {
  const auto colon = value.find(':');
  Attribute attribute;
  const auto name = value.substr(0, colon);
  if (!isToken(name)) {
    return Error{400, "attribute name is not a token"};
  }
  attribute.name = std::string(name);
  if (colon != std::string_view::npos) {
    // Verbatim after the colon ("a=msid-semantic: WMS" keeps its blank); the typed parsers
    // skip leading blanks themselves.
    attribute.value = std::string(value.substr(colon + 1));
  }
  return attribute;
}

// The attributes the focus reads are checked here, so a bad one is refused with its line.
std::optional<Error> checkAttribute(const Attribute& attribute) {
  const auto& name = attribute.name;
  const std::string_view value = attribute.value ? std::string_view(*attribute.value) : "";
  const auto first = [](auto result) -> std::optional<Error> {
    if (!result) {
      return result.error();
    }
    return std::nullopt;
  };
  if (name == "rtpmap") {
    return first(RtpMap::parse(value));
  }
  if (name == "fmtp") {
    return first(Fmtp::parse(value));
  }
  if (name == "ptime" || name == "maxptime") {
    return first(parsePacketTime(value));
  }
  if (name == "rtcp") {
    return first(RtcpAttribute::parse(value));
  }
  if (name == "crypto") {
    return first(Crypto::parse(value));
  }
  if (name == "extmap") {
    return first(ExtMap::parse(value));
  }
  return std::nullopt;
}

Result<MediaDescription> parseMediaLine(std::string_view value, const ParseLimits& limits) {
  auto words = text::splitWords(value, limits.maxFormats + 4);
  if (words.size() > limits.maxFormats + 3) {
    return Error{400, "m= line has more than " + std::to_string(limits.maxFormats) + " formats"};
  }
  if (words.size() < 3) {
    return Error{400, "m= needs '<media> <port> <proto> <formats>'"};
  }
  MediaDescription m;
  if (!isToken(words[0])) {
    return Error{400, "m= media type is not a token"};
  }
  m.media = std::string(words[0]);
  const auto portParts = text::split(words[1], '/');
  if (portParts.size() > 2) {
    return Error{400, "m= port is not '<port>[/<count>]'"};
  }
  const auto port = text::parseNumber<std::uint16_t>(portParts[0]);
  if (!port) {
    return Error{400, "m= port is not 0-65535"};
  }
  m.port = *port;
  if (portParts.size() == 2) {
    const auto count = text::parseNumber<std::uint16_t>(portParts[1]);
    if (!count || *count == 0) {
      return Error{400, "m= port count is not 1-65535"};
    }
    m.portCount = *count;
  }
  if (!isVisible(words[2])) {
    return Error{400, "m= proto is missing"};
  }
  m.proto = std::string(words[2]);
  // RFC 4566 §5.14 wants at least one format; a refused stream (port 0) sometimes comes bare.
  if (words.size() == 3 && m.port != 0) {
    return Error{400, "m= line has no formats"};
  }
  const bool rtp = m.isRtp();
  for (std::size_t i = 3; i < words.size(); ++i) {
    if (rtp) {
      const auto pt = text::parseNumber<unsigned>(words[i]);
      if (!pt || *pt > 127) {
        return Error{400, "m= RTP payload type is not 0-127"};
      }
    } else if (!isVisible(words[i])) {
      return Error{400, "m= format is not visible text"};
    }
    m.formats.emplace_back(words[i]);
  }
  return m;
}

void appendConnection(std::string& out, const Connection& c) {
  out += c.ipv6 ? "c=IN IP6 " : "c=IN IP4 ";
  out += c.address;
  if (c.ttl) {
    out += "/" + std::to_string(*c.ttl);
  }
  if (c.addressCount) {
    if (!c.ipv6 && !c.ttl) {
      // IPv4 needs the TTL before the count; 0 keeps the meaning "not forwarded".
      out += "/0";
    }
    out += "/" + std::to_string(*c.addressCount);
  }
  out += "\r\n";
}

void appendAttributes(std::string& out, const AttributeList& list) {
  for (const auto& a : list.attributes) {
    out += "a=" + a.name;
    if (a.value) {
      out += ":" + *a.value;
    }
    out += "\r\n";
  }
}

void appendBandwidths(std::string& out, const std::vector<Bandwidth>& bandwidths) {
  for (const auto& b : bandwidths) {
    out += "b=" + b.type + ":" + std::to_string(b.value) + "\r\n";
  }
}

bool endsWithIgnoreCase(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && text::iequals(s.substr(s.size() - suffix.size()), suffix);
}

}  // namespace

// ---- attribute lookups -----------------------------------------------------------------------

const Attribute* AttributeList::find(std::string_view name) const {
  for (const auto& a : attributes) {
    if (a.name == name) {
      return &a;
    }
  }
  return nullptr;
}

std::vector<std::string_view> AttributeList::values(std::string_view name) const {
  std::vector<std::string_view> out;
  for (const auto& a : attributes) {
    if (a.name == name) {
      out.emplace_back(a.value ? std::string_view(*a.value) : std::string_view());
    }
  }
  return out;
}

std::optional<Direction> AttributeList::direction() const {
  for (const auto& a : attributes) {
    if (auto d = directionFromName(a.name)) {
      return d;
    }
  }
  return std::nullopt;
}

bool Connection::isMulticast() const {
  if (ipv6) {
    // RFC 4291 §2.7: ff00::/8.
    return address.size() >= 2 && text::iequals(std::string_view(address).substr(0, 2), "ff") &&
           text::isIpv6Literal(address);
  }
  if (!text::isIpv4Literal(address)) {
    return false;
  }
  // RFC 5771: 224.0.0.0/4.
  const auto firstOctet = text::parseNumber<unsigned>(text::split(address, '.')[0]);
  return firstOctet && *firstOctet >= 224 && *firstOctet <= 239;
}

// ---- media accessors -------------------------------------------------------------------------

bool MediaDescription::isRtp() const {
  return endsWithIgnoreCase(proto, "RTP/AVP") || endsWithIgnoreCase(proto, "RTP/SAVP") ||
         endsWithIgnoreCase(proto, "RTP/AVPF") || endsWithIgnoreCase(proto, "RTP/SAVPF");
}

bool MediaDescription::isSecureProto() const {
  return endsWithIgnoreCase(proto, "RTP/SAVP") || endsWithIgnoreCase(proto, "RTP/SAVPF");
}

std::vector<RtpMap> MediaDescription::rtpMaps() const {
  std::vector<RtpMap> out;
  for (const auto value : values("rtpmap")) {
    if (auto map = RtpMap::parse(value)) {
      out.push_back(std::move(map).value());
    }
  }
  return out;
}

std::optional<RtpMap> MediaDescription::rtpMap(std::uint8_t payloadType) const {
  for (const auto value : values("rtpmap")) {
    auto map = RtpMap::parse(value);
    if (map && map->payloadType == payloadType) {
      return std::move(map).value();
    }
  }
  return staticPayloadType(payloadType);
}

std::optional<std::string> MediaDescription::fmtp(std::string_view format) const {
  for (const auto value : values("fmtp")) {
    auto parsed = Fmtp::parse(value);
    if (parsed && parsed->format == format) {
      return std::move(parsed->parameters);
    }
  }
  return std::nullopt;
}

std::optional<unsigned> MediaDescription::ptime() const {
  const auto* a = find("ptime");
  if (a == nullptr || !a->value) {
    return std::nullopt;
  }
  auto ms = parsePacketTime(*a->value);
  return ms ? std::optional<unsigned>(*ms) : std::nullopt;
}

std::optional<unsigned> MediaDescription::maxptime() const {
  const auto* a = find("maxptime");
  if (a == nullptr || !a->value) {
    return std::nullopt;
  }
  auto ms = parsePacketTime(*a->value);
  return ms ? std::optional<unsigned>(*ms) : std::nullopt;
}

std::optional<RtcpAttribute> MediaDescription::rtcp() const {
  const auto* a = find("rtcp");
  if (a == nullptr || !a->value) {
    return std::nullopt;
  }
  auto rtcp = RtcpAttribute::parse(*a->value);
  return rtcp ? std::optional<RtcpAttribute>(std::move(rtcp).value()) : std::nullopt;
}

std::vector<Crypto> MediaDescription::cryptos() const {
  std::vector<Crypto> out;
  for (const auto value : values("crypto")) {
    if (auto crypto = Crypto::parse(value)) {
      out.push_back(std::move(crypto).value());
    }
  }
  return out;
}

std::vector<ExtMap> MediaDescription::extMaps() const {
  std::vector<ExtMap> out;
  for (const auto value : values("extmap")) {
    if (auto ext = ExtMap::parse(value)) {
      out.push_back(std::move(ext).value());
    }
  }
  return out;
}

std::optional<RtpMap> staticPayloadType(std::uint8_t payloadType) {
  struct Entry {
    std::uint8_t pt;
    std::string_view name;
    std::uint32_t rate;
    unsigned channels;
  };
  // RFC 3551 §6, Table 4 (audio).
  static constexpr std::array<Entry, 17> kTable{{{0, "PCMU", 8000, 1},
                                                 {3, "GSM", 8000, 1},
                                                 {4, "G723", 8000, 1},
                                                 {5, "DVI4", 8000, 1},
                                                 {6, "DVI4", 16000, 1},
                                                 {7, "LPC", 8000, 1},
                                                 {8, "PCMA", 8000, 1},
                                                 {9, "G722", 8000, 1},
                                                 {10, "L16", 44100, 2},
                                                 {11, "L16", 44100, 1},
                                                 {12, "QCELP", 8000, 1},
                                                 {13, "CN", 8000, 1},
                                                 {14, "MPA", 90000, 1},
                                                 {15, "G728", 8000, 1},
                                                 {16, "DVI4", 11025, 1},
                                                 {17, "DVI4", 22050, 1},
                                                 {18, "G729", 8000, 1}}};
  for (const auto& e : kTable) {
    if (e.pt == payloadType) {
      RtpMap map;
      map.payloadType = e.pt;
      map.encoding = std::string(e.name);
      map.clockRate = e.rate;
      if (e.channels != 1) {
        map.channels = e.channels;
      }
      return map;
    }
  }
  return std::nullopt;
}

// ---- session -----------------------------------------------------------------------------------

const Connection* SessionDescription::connectionFor(const MediaDescription& m) const {
  if (!m.connections.empty()) {
    return &m.connections.front();
  }
  return connection ? &*connection : nullptr;
}

Direction SessionDescription::directionOf(const MediaDescription& m) const {
  if (auto d = m.direction()) {
    return *d;
  }
  if (auto d = direction()) {
    return *d;
  }
  return Direction::kSendRecv;
}

Result<SessionDescription> SessionDescription::parse(std::string_view input,
                                                     const ParseLimits& limits) {
  if (input.size() > limits.maxBytes) {
    return Error{400, "SDP body is larger than " + std::to_string(limits.maxBytes) + " bytes"};
  }
  SessionDescription sd;
  sd.sessionName.clear();
  bool seenVersion = false;
  bool seenOrigin = false;
  bool seenName = false;
  bool seenSessionConnection = false;
  MediaDescription* m = nullptr;
  std::vector<std::size_t> mediaLines;  // line number of each m=, for later errors
  std::size_t lineNumber = 0;
  std::size_t pos = 0;

  while (pos < input.size()) {
    auto end = input.find('\n', pos);
    if (end == std::string_view::npos) {
      end = input.size();
    }
    std::string_view line = input.substr(pos, end - pos);
    pos = end + 1;
    ++lineNumber;
    if (lineNumber > limits.maxLines) {
      return Error{400, "SDP has more than " + std::to_string(limits.maxLines) + " lines"};
    }
    // RFC 4566 §5 says CRLF, and also that a parser should accept a bare LF.
    if (!line.empty() && line.back() == '\r') {
      line.remove_suffix(1);
    }
    if (line.size() > limits.maxLineBytes) {
      return lineError(lineNumber, line, "line is too long");
    }
    if (line.find('\r') != std::string_view::npos || line.find('\0') != std::string_view::npos) {
      return lineError(lineNumber, line, "line holds a CR or NUL");
    }
    line = text::trim(line);
    if (line.empty()) {
      continue;
    }
    if (line.size() < 2 || line[1] != '=' || line[0] < 'a' || line[0] > 'z') {
      return lineError(lineNumber, line, "not a '<type>=<value>' line");
    }
    const char type = line[0];
    const std::string_view value = text::trim(line.substr(2));
    const auto fail = [&](std::string_view why) { return lineError(lineNumber, line, why); };

    if (!seenVersion) {
      if (type != 'v') {
        return fail("an SDP body starts with v=");
      }
      if (value != "0") {
        return fail("only SDP version 0 is known");
      }
      seenVersion = true;
      continue;
    }

    // Lines that only exist at the session level.
    if (m != nullptr && (type == 'v' || type == 'o' || type == 's' || type == 'u' || type == 'e' ||
                         type == 'p' || type == 't' || type == 'r' || type == 'z')) {
      return fail("session-level line inside a media section");
    }

    switch (type) {
      case 'v':
        return fail("second v= line");
      case 'o': {
        if (seenOrigin) {
          return fail("second o= line");
        }
        auto origin = parseOrigin(value);
        if (!origin) {
          return fail(origin.error().reason);
        }
        sd.origin = std::move(origin).value();
        seenOrigin = true;
        break;
      }
      case 's':
        if (seenName) {
          return fail("second s= line");
        }
        sd.sessionName = std::string(value);
        seenName = true;
        break;
      case 'i':
        if (m != nullptr) {
          if (m->title) {
            return fail("second i= line in a media section");
          }
          m->title = std::string(value);
        } else {
          if (sd.information) {
            return fail("second i= line");
          }
          sd.information = std::string(value);
        }
        break;
      case 'u':
        if (sd.uri) {
          return fail("second u= line");
        }
        sd.uri = std::string(value);
        break;
      case 'e':
        sd.emails.emplace_back(value);
        break;
      case 'p':
        sd.phones.emplace_back(value);
        break;
      case 'c': {
        auto connection = parseConnection(value);
        if (!connection) {
          return fail(connection.error().reason);
        }
        if (m != nullptr) {
          m->connections.push_back(std::move(connection).value());
        } else {
          if (seenSessionConnection) {
            return fail("second session-level c= line");
          }
          sd.connection = std::move(connection).value();
          seenSessionConnection = true;
        }
        break;
      }
      case 'b': {
        auto bandwidth = parseBandwidth(value);
        if (!bandwidth) {
          return fail(bandwidth.error().reason);
        }
        (m != nullptr ? m->bandwidths : sd.bandwidths).push_back(std::move(bandwidth).value());
        break;
      }
      case 't': {
        auto timing = parseTiming(value);
        if (!timing) {
          return fail(timing.error().reason);
        }
        sd.timings.push_back(std::move(timing).value());
        break;
      }
      case 'r':
        if (sd.timings.empty()) {
          return fail("r= without a t= before it");
        }
        if (value.empty()) {
          return fail("empty r= line");
        }
        sd.timings.back().repeats.emplace_back(value);
        break;
      case 'z':
        if (sd.zoneAdjustments) {
          return fail("second z= line");
        }
        sd.zoneAdjustments = std::string(value);
        break;
      case 'k': {
        auto& key = m != nullptr ? m->key : sd.key;
        if (key) {
          return fail("second k= line");
        }
        key = std::string(value);
        break;
      }
      case 'a': {
        auto attribute = parseAttribute(value);
        if (!attribute) {
          return fail(attribute.error().reason);
        }
        if (auto error = checkAttribute(*attribute)) {
          if (m == nullptr) {
            return fail(error->reason);
          }
          if (!m->malformed) {
            m->malformed = "SDP line " + std::to_string(lineNumber) + ": " + error->reason;
          }
        }
        (m != nullptr ? m->attributes : sd.attributes).push_back(std::move(attribute).value());
        break;
      }
      case 'm': {
        if (sd.media.size() >= limits.maxMediaSections) {
          return fail("more than " + std::to_string(limits.maxMediaSections) + " m= lines");
        }
        auto media = parseMediaLine(value, limits);
        if (!media) {
          return fail(media.error().reason);
        }
        sd.media.push_back(std::move(media).value());
        m = &sd.media.back();
        mediaLines.push_back(lineNumber);
        break;
      }
      default:
        // RFC 4566 §5: a description with a type letter the parser does not know is ignored
        // whole.
        return fail("unknown SDP line type");
    }
  }

  if (!seenVersion) {
    return Error{400, "SDP body is empty or has no v= line"};
  }
  if (!seenOrigin) {
    return Error{400, "SDP has no o= line"};
  }
  // A missing or empty s= is common enough (RFC 4566 §5.3 asks for "s= " then) to accept.
  if (sd.sessionName.empty()) {
    sd.sessionName = "-";
  }
  // RFC 4566 §5.7: c= at session level or in every media section. A refused stream (port 0)
  // needs no address.
  for (std::size_t i = 0; i < sd.media.size(); ++i) {
    if (sd.media[i].port != 0 && sd.connectionFor(sd.media[i]) == nullptr) {
      return Error{400, "SDP line " + std::to_string(mediaLines[i]) + " '" +
                            describeLine("m=" + sd.media[i].media) +
                            "...': media section without a c= line"};
    }
  }
  return sd;
}

std::string SessionDescription::serialize() const {
  std::string out;
  out.reserve(512 + media.size() * 256);
  out += "v=" + std::to_string(version) + "\r\n";
  out += "o=" + origin.username + " " + origin.sessionId + " " + origin.sessionVersion +
         (origin.ipv6 ? " IN IP6 " : " IN IP4 ") + origin.address + "\r\n";
  out += "s=" + (sessionName.empty() ? std::string("-") : sessionName) + "\r\n";
  if (information) {
    out += "i=" + *information + "\r\n";
  }
  if (uri) {
    out += "u=" + *uri + "\r\n";
  }
  for (const auto& e : emails) {
    out += "e=" + e + "\r\n";
  }
  for (const auto& p : phones) {
    out += "p=" + p + "\r\n";
  }
  if (connection) {
    appendConnection(out, *connection);
  }
  appendBandwidths(out, bandwidths);
  if (timings.empty()) {
    out += "t=0 0\r\n";
  }
  for (const auto& t : timings) {
    out += "t=" + std::to_string(t.start) + " " + std::to_string(t.stop) + "\r\n";
    for (const auto& r : t.repeats) {
      out += "r=" + r + "\r\n";
    }
  }
  if (zoneAdjustments) {
    out += "z=" + *zoneAdjustments + "\r\n";
  }
  if (key) {
    out += "k=" + *key + "\r\n";
  }
  appendAttributes(out, *this);
  for (const auto& md : media) {
    out += "m=" + md.media + " " + std::to_string(md.port);
    if (md.portCount != 1) {
      out += "/" + std::to_string(md.portCount);
    }
    out += " " + md.proto;
    for (const auto& f : md.formats) {
      out += " " + f;
    }
    out += "\r\n";
    if (md.title) {
      out += "i=" + *md.title + "\r\n";
    }
    for (const auto& c : md.connections) {
      appendConnection(out, c);
    }
    appendBandwidths(out, md.bandwidths);
    if (md.key) {
      out += "k=" + *md.key + "\r\n";
    }
    appendAttributes(out, md);
  }
  return out;
}

}  // namespace confab::sdp
