#include "focus/sdp/Attributes.hpp"

#include <charconv>
#include <limits>

#include "focus/sdp/Base64.hpp"
#include "focus/sdp/Text.hpp"

namespace confab::sdp {

std::string_view toString(Direction direction) {
  switch (direction) {
    case Direction::kSendRecv:
      return "sendrecv";
    case Direction::kSendOnly:
      return "sendonly";
    case Direction::kRecvOnly:
      return "recvonly";
    case Direction::kInactive:
      return "inactive";
  }
  return "sendrecv";
}

std::optional<Direction> directionFromName(std::string_view name) {
  if (name == "sendrecv") {
    return Direction::kSendRecv;
  }
  if (name == "sendonly") {
    return Direction::kSendOnly;
  }
  if (name == "recvonly") {
    return Direction::kRecvOnly;
  }
  if (name == "inactive") {
    return Direction::kInactive;
  }
  return std::nullopt;
}

Direction answerDirection(Direction offered) {
  switch (offered) {
    case Direction::kSendOnly:
      return Direction::kRecvOnly;
    case Direction::kRecvOnly:
      return Direction::kSendOnly;
    case Direction::kInactive:
      return Direction::kInactive;
    case Direction::kSendRecv:
      return Direction::kSendRecv;
  }
  return Direction::kSendRecv;
}

bool equalsIgnoreCase(std::string_view a, std::string_view b) {
  return text::iequals(a, b);
}

// ---- rtpmap ----------------------------------------------------------------------------------

Result<RtpMap> RtpMap::parse(std::string_view value) {
  value = text::trim(value);
  const auto words = text::splitWords(value, 3);
  if (words.size() != 2) {
    return Error{400, "rtpmap needs '<payload type> <encoding>/<clock rate>'"};
  }
  RtpMap map;
  const auto pt = text::parseNumber<unsigned>(words[0]);
  if (!pt || *pt > 127) {
    return Error{400, "rtpmap payload type is not 0-127"};
  }
  map.payloadType = static_cast<std::uint8_t>(*pt);
  const auto parts = text::split(words[1], '/');
  if (parts.size() < 2 || parts.size() > 3 || parts[0].empty()) {
    return Error{400, "rtpmap encoding is not '<name>/<rate>[/<parameters>]'"};
  }
  map.encoding = std::string(parts[0]);
  const auto rate = text::parseNumber<std::uint32_t>(parts[1]);
  if (!rate || *rate == 0) {
    return Error{400, "rtpmap clock rate is not a positive number"};
  }
  map.clockRate = *rate;
  if (parts.size() == 3) {
    const auto channels = text::parseNumber<unsigned>(parts[2]);
    if (!channels || *channels == 0 || *channels > 255) {
      return Error{400, "rtpmap channel count is not 1-255"};
    }
    map.channels = *channels;
  }
  return map;
}

std::string RtpMap::toValue() const {
  std::string out = std::to_string(payloadType) + " " + encoding + "/" + std::to_string(clockRate);
  if (channels) {
    out += "/" + std::to_string(*channels);
  }
  return out;
}

// ---- fmtp ------------------------------------------------------------------------------------

Result<Fmtp> Fmtp::parse(std::string_view value) {
  value = text::trim(value);
  const auto space = value.find_first_of(" \t");
  Fmtp fmtp;
  fmtp.format = std::string(value.substr(0, space));
  if (fmtp.format.empty()) {
    return Error{400, "fmtp has no format"};
  }
  if (space != std::string_view::npos) {
    fmtp.parameters = std::string(text::trim(value.substr(space)));
  }
  return fmtp;
}

std::string Fmtp::toValue() const {
  return parameters.empty() ? format : format + " " + parameters;
}

std::vector<std::pair<std::string, std::string>> fmtpParameters(std::string_view parameters) {
  std::vector<std::pair<std::string, std::string>> out;
  for (const auto item : text::split(parameters, ';')) {
    const auto trimmed = text::trim(item);
    if (trimmed.empty()) {
      continue;
    }
    const auto eq = trimmed.find('=');
    if (eq == std::string_view::npos) {
      out.emplace_back(std::string(trimmed), std::string());
    } else {
      out.emplace_back(std::string(text::trim(trimmed.substr(0, eq))),
                       std::string(text::trim(trimmed.substr(eq + 1))));
    }
  }
  return out;
}

std::optional<std::string> fmtpParameter(std::string_view parameters, std::string_view name) {
  for (auto& [key, value] : fmtpParameters(parameters)) {
    if (text::iequals(key, name)) {
      return std::move(value);
    }
  }
  return std::nullopt;
}

// ---- rtcp ------------------------------------------------------------------------------------

Result<RtcpAttribute> RtcpAttribute::parse(std::string_view value) {
  value = text::trim(value);
  const auto words = text::splitWords(value, 5);
  if (words.size() != 1 && words.size() != 4) {
    return Error{400, "rtcp needs '<port> [IN IP4|IP6 <address>]'"};
  }
  RtcpAttribute rtcp;
  const auto port = text::parseNumber<std::uint16_t>(words[0]);
  if (!port) {
    return Error{400, "rtcp port is not 0-65535"};
  }
  rtcp.port = *port;
  if (words.size() == 4) {
    if (words[1] != "IN") {
      return Error{400, "rtcp network type is not IN"};
    }
    if (words[2] == "IP4") {
      rtcp.ipv6 = false;
    } else if (words[2] == "IP6") {
      rtcp.ipv6 = true;
    } else {
      return Error{400, "rtcp address type is not IP4 or IP6"};
    }
    if (!text::isValidAddress(words[3], rtcp.ipv6)) {
      return Error{400, "rtcp address is not a valid address"};
    }
    rtcp.address = std::string(words[3]);
  }
  return rtcp;
}

std::string RtcpAttribute::toValue() const {
  std::string out = std::to_string(port);
  if (!address.empty()) {
    out += ipv6 ? " IN IP6 " : " IN IP4 ";
    out += address;
  }
  return out;
}

// ---- crypto ----------------------------------------------------------------------------------

std::string CryptoKey::toParam() const {
  std::string out = "inline:" + keySalt;
  if (lifetime) {
    out += "|" + *lifetime;
  }
  if (mki && mkiLength) {
    out += "|" + std::to_string(*mki) + ":" + std::to_string(*mkiLength);
  }
  return out;
}

namespace {

bool isLifetime(std::string_view text) {
  // RFC 4568 §9.1: lifetime = ["2^"] 1*(DIGIT)
  if (text.starts_with("2^")) {
    text.remove_prefix(2);
  }
  return text::parseNumber<std::uint64_t>(text).has_value();
}

Result<CryptoKey> parseCryptoKey(std::string_view param) {
  const auto colon = param.find(':');
  if (colon == std::string_view::npos || !text::iequals(param.substr(0, colon), "inline")) {
    return Error{400, "crypto key method is not inline"};
  }
  const auto parts = text::split(param.substr(colon + 1), '|');
  if (parts.empty() || parts.size() > 3 || parts[0].empty()) {
    return Error{400, "crypto key is not '<key||salt>[|lifetime][|MKI:length]'"};
  }
  CryptoKey key;
  if (!base64Decode(parts[0])) {
    return Error{400, "crypto key is not base64"};
  }
  key.keySalt = std::string(parts[0]);
  for (std::size_t i = 1; i < parts.size(); ++i) {
    const auto part = parts[i];
    const auto mkiColon = part.find(':');
    if (mkiColon == std::string_view::npos) {
      // The lifetime comes before the MKI and only once.
      if (i != 1 || !isLifetime(part)) {
        return Error{400, "crypto key lifetime is not '[2^]<number>'"};
      }
      key.lifetime = std::string(part);
      continue;
    }
    if (i + 1 != parts.size()) {
      return Error{400, "crypto MKI must be the last key field"};
    }
    const auto mki = text::parseNumber<std::uint32_t>(part.substr(0, mkiColon));
    const auto length = text::parseNumber<unsigned>(part.substr(mkiColon + 1));
    if (!mki || !length || *length == 0 || *length > 128) {
      return Error{400, "crypto MKI is not '<value>:<length 1-128>'"};
    }
    key.mki = *mki;
    key.mkiLength = *length;
  }
  return key;
}

}  // namespace

Result<Crypto> Crypto::parse(std::string_view value) {
  value = text::trim(value);
  const auto words = text::splitWords(value, 64);
  if (words.size() < 3 || words.size() >= 64) {
    return Error{400, "crypto needs '<tag> <suite> <key params>'"};
  }
  Crypto crypto;
  // RFC 4568 §9.1: tag = 1*9DIGIT
  const auto tag = text::parseNumber<std::uint32_t>(words[0]);
  if (!tag || words[0].size() > 9) {
    return Error{400, "crypto tag is not a number of 1-9 digits"};
  }
  crypto.tag = *tag;
  crypto.suite = std::string(words[1]);
  for (const auto param : text::split(words[2], ';')) {
    auto key = parseCryptoKey(param);
    if (!key) {
      return key.error();
    }
    crypto.keys.push_back(std::move(key).value());
  }
  for (std::size_t i = 3; i < words.size(); ++i) {
    crypto.sessionParams.emplace_back(words[i]);
  }
  return crypto;
}

std::string Crypto::toValue() const {
  std::string out = std::to_string(tag) + " " + suite + " ";
  for (std::size_t i = 0; i < keys.size(); ++i) {
    if (i != 0) {
      out += ";";
    }
    out += keys[i].toParam();
  }
  for (const auto& param : sessionParams) {
    out += " " + param;
  }
  return out;
}

// ---- extmap ----------------------------------------------------------------------------------

Result<ExtMap> ExtMap::parse(std::string_view value) {
  value = text::trim(value);
  const auto space = value.find_first_of(" \t");
  if (space == std::string_view::npos) {
    return Error{400, "extmap needs '<id>[/<direction>] <URI>'"};
  }
  ExtMap ext;
  auto entry = value.substr(0, space);
  const auto slash = entry.find('/');
  if (slash != std::string_view::npos) {
    ext.direction = directionFromName(entry.substr(slash + 1));
    if (!ext.direction) {
      return Error{400, "extmap direction is not sendrecv/sendonly/recvonly/inactive"};
    }
    entry = entry.substr(0, slash);
  }
  // RFC 8285 §5: 1-14 one-byte, 1-255 two-byte; §7: 4096-4351 in offers, for the answerer to map.
  const auto id = text::parseNumber<unsigned>(entry);
  if (!id || *id == 0 || (*id > 255 && *id < 4096) || *id > 4351) {
    return Error{400, "extmap id is not 1-255 or 4096-4351"};
  }
  ext.id = *id;
  auto rest = text::trim(value.substr(space));
  const auto uriEnd = rest.find_first_of(" \t");
  ext.uri = std::string(rest.substr(0, uriEnd));
  if (ext.uri.empty()) {
    return Error{400, "extmap has no URI"};
  }
  if (uriEnd != std::string_view::npos) {
    ext.attributes = std::string(text::trim(rest.substr(uriEnd)));
  }
  return ext;
}

std::string ExtMap::toValue() const {
  std::string out = std::to_string(id);
  if (direction) {
    out += "/";
    out += toString(*direction);
  }
  out += " " + uri;
  if (!attributes.empty()) {
    out += " " + attributes;
  }
  return out;
}

// ---- ptime -----------------------------------------------------------------------------------

Result<unsigned> parsePacketTime(std::string_view value) {
  value = text::trim(value);
  const auto dot = value.find('.');
  const auto whole = text::parseNumber<unsigned>(value.substr(0, dot));
  if (!whole || *whole > 100000) {
    return Error{400, "packet time is not a number of milliseconds"};
  }
  unsigned ms = *whole;
  if (dot != std::string_view::npos) {
    const auto fraction = value.substr(dot + 1);
    if (fraction.empty() || fraction.size() > 6 ||
        fraction.find_first_not_of("0123456789") != std::string_view::npos) {
      return Error{400, "packet time is not a number of milliseconds"};
    }
    if (fraction.find_first_not_of('0') != std::string_view::npos) {
      ++ms;
    }
  }
  return ms;
}

}  // namespace confab::sdp
