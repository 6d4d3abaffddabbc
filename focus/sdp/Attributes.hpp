// Typed views of the SDP attributes the focus acts on. The session description keeps every a= line
// verbatim; these parse one attribute value (the text after "name:") and print it back.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "focus/sip/Result.hpp"

namespace confab::sdp {

using sip::Error;
using sip::Result;

// RFC 4566 §6 / RFC 3264 §5.1: the direction attributes; sendrecv when none is given.
enum class Direction { kSendRecv, kSendOnly, kRecvOnly, kInactive };

std::string_view toString(Direction direction);
std::optional<Direction> directionFromName(std::string_view name);
// RFC 3264 §6.1: the answer's direction for an offered one (sendonly <-> recvonly).
Direction answerDirection(Direction offered);

// a=rtpmap:<payload type> <encoding name>/<clock rate>[/<encoding parameters>] (RFC 4566 §6).
struct RtpMap {
  std::uint8_t payloadType = 0;
  std::string encoding;
  std::uint32_t clockRate = 0;
  std::optional<unsigned> channels;  // the encoding parameters of an audio stream

  static Result<RtpMap> parse(std::string_view value);
  [[nodiscard]] std::string toValue() const;
};

// a=fmtp:<format> <format specific parameters> (RFC 4566 §6). The parameters stay as text;
// fmtpParameters() reads the common "k=v;k=v" shape.
struct Fmtp {
  std::string format;
  std::string parameters;

  static Result<Fmtp> parse(std::string_view value);
  [[nodiscard]] std::string toValue() const;
};

// "a=1;b;c=3" -> {a,1},{b,""},{c,3}; blanks around names and values dropped.
std::vector<std::pair<std::string, std::string>> fmtpParameters(std::string_view parameters);
// The value of one parameter (name compared case-insensitively), if present.
std::optional<std::string> fmtpParameter(std::string_view parameters, std::string_view name);

// a=rtcp:<port> [<nettype> <addrtype> <connection-address>] (RFC 3605 §2.1).
struct RtcpAttribute {
  std::uint16_t port = 0;
  std::string address;  // empty: the stream's connection address
  bool ipv6 = false;

  static Result<RtcpAttribute> parse(std::string_view value);
  [[nodiscard]] std::string toValue() const;
};

// One key of an a=crypto line: inline:<key||salt base64>[|<lifetime>][|<MKI>:<MKI length>]
// (RFC 4568 §9.1, §6.1).
struct CryptoKey {
  std::string keySalt;                  // base64 as sent
  std::optional<std::string> lifetime;  // "2^31" or "1048576" as sent
  std::optional<std::uint32_t> mki;
  std::optional<unsigned> mkiLength;  // bytes, 1..128

  [[nodiscard]] std::string toParam() const;
};

// a=crypto:<tag> <crypto-suite> <key-params> [<session-params>] (RFC 4568 §9.1). Keys of a
// method other than "inline" are refused: RFC 4568 defines no other.
struct Crypto {
  std::uint32_t tag = 0;
  std::string suite;
  std::vector<CryptoKey> keys;  // at least one
  std::vector<std::string> sessionParams;

  static Result<Crypto> parse(std::string_view value);
  [[nodiscard]] std::string toValue() const;
};

// a=extmap:<id>[/<direction>] <URI> [<extension attributes>] (RFC 8285 §7).
struct ExtMap {
  unsigned id = 0;
  std::optional<Direction> direction;
  std::string uri;
  std::string attributes;  // the rest of the line, verbatim

  static Result<ExtMap> parse(std::string_view value);
  [[nodiscard]] std::string toValue() const;
};

// RFC 6464 / RFC 6465 header extensions the mixer reads and writes.
inline constexpr std::string_view kSsrcAudioLevelUri =
    "urn:ietf:params:rtp-hdrext:ssrc-audio-level";
inline constexpr std::string_view kCsrcAudioLevelUri =
    "urn:ietf:params:rtp-hdrext:csrc-audio-level";

// a=ptime / a=maxptime value in milliseconds (RFC 4566 §6). A fraction ("20.0", "2.5") is
// accepted and rounded up: the packet must hold at least that much.
Result<unsigned> parsePacketTime(std::string_view value);

// ASCII case-insensitive equality, for encoding names (RFC 4855 §3: case-insensitive).
bool equalsIgnoreCase(std::string_view a, std::string_view b);

}  // namespace confab::sdp
