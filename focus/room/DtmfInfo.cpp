#include "focus/room/DtmfInfo.hpp"

#include <charconv>
#include <cstdint>
#include <optional>
#include <system_error>

#include "focus/sip/Grammar.hpp"
#include "focus/sip/Message.hpp"

namespace confab::room {

namespace {

constexpr std::string_view kRelayType = "application/dtmf-relay";
constexpr std::string_view kDtmfType = "application/dtmf";

enum class BodyKind { kNone, kRelay, kDtmf };

// RFC 3261 §20.15 / RFC 2045 §5.1: the media type is case-insensitive and parameters follow ';'.
BodyKind bodyKind(std::string_view contentType) {
  const auto semicolon = contentType.find(';');
  const std::string_view media = sip::grammar::trim(contentType.substr(0, semicolon));
  if (sip::iequals(media, kRelayType)) {
    return BodyKind::kRelay;
  }
  if (sip::iequals(media, kDtmfType)) {
    return BodyKind::kDtmf;
  }
  return BodyKind::kNone;
}

bool isKeyChar(char c) {
  return (c >= '0' && c <= '9') || c == '*' || c == '#' || (c >= 'A' && c <= 'D') ||
         (c >= 'a' && c <= 'd');
}

bool allDigits(std::string_view s) {
  for (char c : s) {
    if (!sip::grammar::isDigit(c)) {
      return false;
    }
  }
  return true;
}

// A key as written in either body: one key character, or the RFC 4733 §3.2 event codes 10 and
// 11 for '*' and '#' (phones that send numbers send these; the letters always come as letters).
// 'what' starts each reason ("dtmf-relay Signal", "dtmf body").
std::variant<char, DtmfInfoError> parseKey(std::string_view value, std::string_view what) {
  if (value.empty()) {
    return DtmfInfoError{std::string(what) + " has no key"};
  }
  if (value.size() == 1) {
    const char c = value.front();
    if (!isKeyChar(c)) {
      return DtmfInfoError{std::string(what) + " names an unknown key"};
    }
    return (c >= 'a' && c <= 'd') ? static_cast<char>(c - 'a' + 'A') : c;
  }
  if (value == "10") {
    return '*';
  }
  if (value == "11") {
    return '#';
  }
  // Other numbers (12-15 for A-D, 16 for flash, leading zeros) are codes we do not take.
  if (allDigits(value)) {
    return DtmfInfoError{std::string(what) + " names an unknown key"};
  }
  return DtmfInfoError{std::string(what) + " is not a key"};
}

std::variant<char, DtmfInfoError> parseRelay(std::string_view body) {
  std::optional<char> key;
  while (!body.empty()) {
    const auto newline = body.find('\n');
    std::string_view line = body.substr(0, newline);
    body = newline == std::string_view::npos ? std::string_view{} : body.substr(newline + 1);
    if (!line.empty() && line.back() == '\r') {
      line.remove_suffix(1);
    }
    const auto equals = line.find('=');
    const std::string_view name = sip::grammar::trim(line.substr(0, equals));
    const std::string_view value = equals == std::string_view::npos
                                       ? std::string_view{}
                                       : sip::grammar::trim(line.substr(equals + 1));
    if (sip::iequals(name, "signal")) {
      if (equals == std::string_view::npos) {
        return DtmfInfoError{"dtmf-relay Signal line has no '='"};
      }
      auto parsed = parseKey(value, "dtmf-relay Signal");
      if (const auto* error = std::get_if<DtmfInfoError>(&parsed)) {
        return *error;
      }
      const char k = std::get<char>(parsed);
      // A repeated Signal line saying the same is harmless; two different keys in one INFO
      // cannot both be meant, and guessing one would press the wrong key.
      if (key && *key != k) {
        return DtmfInfoError{"dtmf-relay body has two different Signal lines"};
      }
      key = k;
    } else if (sip::iequals(name, "duration")) {
      // Milliseconds. We do not play the tone, so only its form is checked: a body whose
      // Duration is not a number was not written by a phone, and its Signal is not trusted.
      if (equals == std::string_view::npos || value.empty() || !allDigits(value)) {
        return DtmfInfoError{"dtmf-relay Duration is not a number"};
      }
      uint32_t ms = 0;
      if (std::from_chars(value.data(), value.data() + value.size(), ms).ec != std::errc{}) {
        return DtmfInfoError{"dtmf-relay Duration is too large"};
      }
    }
  }
  if (!key) {
    return DtmfInfoError{"dtmf-relay body has no Signal line"};
  }
  return *key;
}

bool isSpace(char c) {
  return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

std::variant<char, DtmfInfoError> parseDtmf(std::string_view body) {
  while (!body.empty() && isSpace(body.front())) {
    body.remove_prefix(1);
  }
  while (!body.empty() && isSpace(body.back())) {
    body.remove_suffix(1);
  }
  if (body.empty()) {
    return DtmfInfoError{"dtmf body is empty"};
  }
  return parseKey(body, "dtmf body");
}

}  // namespace

std::variant<char, DtmfInfoError> parseDtmfInfo(std::string_view contentType,
                                                std::string_view body) {
  const BodyKind kind = bodyKind(contentType);
  if (kind == BodyKind::kNone) {
    return DtmfInfoError{"Content-Type is neither application/dtmf-relay nor application/dtmf"};
  }
  if (body.size() > kMaxDtmfInfoBody) {
    return DtmfInfoError{"DTMF INFO body is longer than 1024 bytes"};
  }
  return kind == BodyKind::kRelay ? parseRelay(body) : parseDtmf(body);
}

bool isDtmfInfoType(std::string_view contentType) {
  return bodyKind(contentType) != BodyKind::kNone;
}

}  // namespace confab::room
