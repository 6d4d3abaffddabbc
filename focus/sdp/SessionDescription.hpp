// An SDP session description (RFC 4566): parsed from an INVITE/200/ACK body, or built by the
// offer/answer code and printed back. Every a= line is kept verbatim and in order; the typed
// accessors read the attributes the focus acts on.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "focus/sdp/Attributes.hpp"
#include "focus/sip/Result.hpp"

namespace confab::sdp {

// Bounds on what a peer may send; a description over them is refused (400), never truncated.
struct ParseLimits {
  std::size_t maxBytes = 65536;
  std::size_t maxLines = 2048;
  std::size_t maxLineBytes = 4096;
  std::size_t maxMediaSections = 64;
  std::size_t maxFormats = 128;  // per m= line: RTP has only 128 payload types
};

// o=<username> <sess-id> <sess-version> IN <addrtype> <unicast-address> (RFC 4566 §5.2).
// The numbers stay text: RFC 4566 only says "numeric string", and 64 bits is not always enough.
struct Origin {
  std::string username = "-";
  std::string sessionId = "0";
  std::string sessionVersion = "0";
  bool ipv6 = false;
  std::string address = "0.0.0.0";
};

// c=IN <addrtype> <connection-address>[/<ttl>][/<number of addresses>] (RFC 4566 §5.7).
struct Connection {
  bool ipv6 = false;
  std::string address;
  std::optional<unsigned> ttl;           // IPv4 multicast only
  std::optional<unsigned> addressCount;  // multicast only

  // RFC 2543 §B.5 / RFC 3264 §8.4: the old way of putting a call on hold.
  [[nodiscard]] bool isHoldAddress() const { return address == "0.0.0.0" || address == "::"; }
  [[nodiscard]] bool isMulticast() const;
};

// b=<bwtype>:<bandwidth> (RFC 4566 §5.8).
struct Bandwidth {
  std::string type;  // CT, AS, TIAS (RFC 3890), RS/RR (RFC 3556), ...
  std::uint64_t value = 0;
};

// t=<start> <stop> and its r= lines (RFC 4566 §5.9, §5.10); r= kept as text (it has units).
struct Timing {
  std::uint64_t start = 0;
  std::uint64_t stop = 0;
  std::vector<std::string> repeats;
};

// a=<name>[:<value>] (RFC 4566 §5.13): a property attribute has no value.
struct Attribute {
  std::string name;
  std::optional<std::string> value;
};

// Attribute lookups shared by the session and media levels.
class AttributeList {
 public:
  std::vector<Attribute> attributes;

  [[nodiscard]] const Attribute* find(std::string_view name) const;
  [[nodiscard]] bool has(std::string_view name) const { return find(name) != nullptr; }
  // Every value of the attributes named 'name', in order (property attributes give "").
  [[nodiscard]] std::vector<std::string_view> values(std::string_view name) const;
  void add(std::string name) { attributes.push_back(Attribute{std::move(name), std::nullopt}); }
  void add(std::string name, std::string value) {
    attributes.push_back(Attribute{std::move(name), std::move(value)});
  }
  // The first sendrecv/sendonly/recvonly/inactive attribute, if any (RFC 3264 §5.1).
  [[nodiscard]] std::optional<Direction> direction() const;
};

// One m= section (RFC 4566 §5.14) with its own i=, c=, b=, k= and a= lines.
struct MediaDescription : AttributeList {
  std::string media;  // audio, video, text, application, message, image
  std::uint16_t port = 0;
  unsigned portCount = 1;
  std::string proto;                 // RTP/AVP, RTP/SAVP, RTP/AVPF, UDP/TLS/RTP/SAVPF, ...
  std::vector<std::string> formats;  // payload type numbers for RTP protos
  std::optional<std::string> title;
  std::vector<Connection> connections;
  std::vector<Bandwidth> bandwidths;
  std::optional<std::string> key;
  // Set when a known attribute of this section did not parse: the section is kept verbatim but
  // no answer accepts it (a broken line in one stream must not sink the others, RFC 4475 §3.1.1.1
  // has "a=rtpmap:31 LPC" on a video stream).
  std::optional<std::string> malformed;

  // True for RTP/AVP, RTP/SAVP, RTP/AVPF, RTP/SAVPF and their UDP/TLS/ and TCP/ variants.
  [[nodiscard]] bool isRtp() const;
  // RTP/SAVP, RTP/SAVPF (RFC 3711 §12, RFC 5124) and the DTLS ones (RFC 5764).
  [[nodiscard]] bool isSecureProto() const;

  // The typed attributes; lines that do not parse are skipped (parse() refuses them anyway).
  [[nodiscard]] std::vector<RtpMap> rtpMaps() const;
  // The rtpmap of a payload type, or the RFC 3551 §6 static assignment when there is none.
  [[nodiscard]] std::optional<RtpMap> rtpMap(std::uint8_t payloadType) const;
  [[nodiscard]] std::optional<std::string> fmtp(std::string_view format) const;
  [[nodiscard]] std::optional<unsigned> ptime() const;
  [[nodiscard]] std::optional<unsigned> maxptime() const;
  [[nodiscard]] std::optional<RtcpAttribute> rtcp() const;
  [[nodiscard]] bool rtcpMux() const { return has("rtcp-mux"); }
  [[nodiscard]] std::vector<Crypto> cryptos() const;
  [[nodiscard]] std::vector<ExtMap> extMaps() const;
};

struct SessionDescription : AttributeList {
  unsigned version = 0;
  Origin origin;
  std::string sessionName = "-";
  std::optional<std::string> information;
  std::optional<std::string> uri;
  std::vector<std::string> emails;
  std::vector<std::string> phones;
  std::optional<Connection> connection;
  std::vector<Bandwidth> bandwidths;
  std::vector<Timing> timings;  // printed as t=0 0 when empty
  std::optional<std::string> zoneAdjustments;
  std::optional<std::string> key;
  std::vector<MediaDescription> media;

  // RFC 4566 with the leniency real clients need: LF-only line ends, trailing blanks, a missing
  // s= or t=, session lines in any order before the first m=. Failures are 400 with a reason
  // naming the line ("SDP line 7 'm=audio x RTP/AVP 0': port is not 0-65535").
  static Result<SessionDescription> parse(std::string_view text, const ParseLimits& limits = {});

  // CRLF-terminated lines in RFC 4566 §5 order.
  [[nodiscard]] std::string serialize() const;

  // The connection that applies to a media section: its own c= or else the session's.
  [[nodiscard]] const Connection* connectionFor(const MediaDescription& m) const;
  // The direction of a media section: its own attribute, else the session's, else sendrecv.
  [[nodiscard]] Direction directionOf(const MediaDescription& m) const;
};

// RFC 3551 §6: the static audio payload types (0 PCMU/8000, 8 PCMA/8000, 9 G722/8000, ...).
std::optional<RtpMap> staticPayloadType(std::uint8_t payloadType);

}  // namespace confab::sdp
