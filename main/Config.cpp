#include "main/Config.hpp"

#include <algorithm>
#include <array>
#include <boost/program_options.hpp>
#include <cerrno>
#include <charconv>
#include <exception>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <system_error>

#ifndef CONFAB_VERSION
#define CONFAB_VERSION "0.1.0"
#endif

namespace confab::config {

namespace po = boost::program_options;

namespace {

using Values = std::vector<std::string>;

// A value an option's reader refused: which one (an option may carry several) and why.
struct Refusal {
  std::string value;
  std::string reason;
};
using Check = std::optional<Refusal>;

enum class Group { kSip, kApi, kMedia, kRooms, kGeneral };

// One option: how it is documented, read into a Config and written back out. The table below is
// the single list of options; help, parsing and --print-config all walk it.
struct Setting {
  std::string_view name;
  std::string_view valueName;
  std::string_view help;
  Group group;
  bool repeatable;
  Check (*read)(Config&, const Values&);
  Values (*write)(const Config&);
};

// ---- value readers -------------------------------------------------------------------------

Check readNumber(const std::string& text,
                 std::uint64_t min,
                 std::uint64_t max,
                 std::uint64_t& out) {
  auto n = parseNumber(text);
  if (!n) {
    return Refusal{text, "expected a whole number"};
  }
  if (*n < min || *n > max) {
    return Refusal{text, "must be between " + std::to_string(min) + " and " + std::to_string(max)};
  }
  out = *n;
  return std::nullopt;
}

std::string_view trimBlanks(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) {
    s.remove_prefix(1);
  }
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) {
    s.remove_suffix(1);
  }
  return s;
}

}  // namespace

Check readYesNo(const std::string& value, bool& out) {
  if (value == "yes" || value == "true" || value == "on") {
    out = true;
  } else if (value == "no" || value == "false" || value == "off") {
    out = false;
  } else {
    return Refusal{value, "expected yes or no"};
  }
  return std::nullopt;
}

// Parses "ADDRESS:PORT" with IPv6 addresses in brackets ("[::]:5060"), as in RFC 3986 §3.2.2.
// Listening points are numeric: a name would resolve to whichever address the resolver picks.
std::variant<Endpoint, std::string> parseEndpoint(std::string_view text) {
  std::string_view host;
  std::string_view port;
  if (!text.empty() && text.front() == '[') {
    auto close = text.find(']');
    if (close == std::string_view::npos) {
      return std::string("missing ']' after the IPv6 address");
    }
    host = text.substr(1, close - 1);
    auto rest = text.substr(close + 1);
    if (rest.empty() || rest.front() != ':') {
      return std::string("expected :PORT after ']'");
    }
    port = rest.substr(1);
    if (host.find(':') == std::string_view::npos) {
      return std::string("brackets are for IPv6 addresses only");
    }
  } else {
    auto colon = text.rfind(':');
    if (colon == std::string_view::npos) {
      return std::string("expected ADDRESS:PORT");
    }
    host = text.substr(0, colon);
    port = text.substr(colon + 1);
    if (host.find(':') != std::string_view::npos) {
      return std::string("IPv6 addresses go in brackets, as in [::]:5060");
    }
  }
  boost::system::error_code ec;
  auto address = boost::asio::ip::make_address(std::string(host), ec);
  if (ec) {
    return "\"" + std::string(host) + "\" is not a numeric IP address";
  }
  auto number = parseNumber(port);
  if (!number || *number > 65535) {
    return "\"" + std::string(port) + "\" is not a port number (0 to 65535)";
  }
  return Endpoint{address, static_cast<std::uint16_t>(*number)};
}

std::variant<PortRange, std::string> parsePortRange(std::string_view value) {
  auto dash = value.find('-');
  if (dash == std::string_view::npos) {
    return std::string("expected FIRST-LAST");
  }
  auto first = parseNumber(value.substr(0, dash));
  auto last = parseNumber(value.substr(dash + 1));
  if (!first || !last) {
    return std::string("expected FIRST-LAST with two port numbers");
  }
  // Below 1024 are privileged ports and well-known services, never a media pool.
  if (*first < 1024 || *last > 65535) {
    return std::string("ports must be between 1024 and 65535");
  }
  if (*first > *last) {
    return std::string("first port is above last port");
  }
  if (*last - *first + 1 < 2) {
    return std::string("a range needs at least 2 ports (RTP and RTCP)");
  }
  return PortRange{static_cast<std::uint16_t>(*first), static_cast<std::uint16_t>(*last)};
}

namespace {

// A list of listening points, or the single word `off`.
Check readEndpoints(const Values& values, std::vector<Endpoint>& out) {
  std::vector<Endpoint> endpoints;
  for (const auto& value : values) {
    if (value == "off") {
      if (values.size() > 1) {
        return Refusal{value, "'off' cannot be combined with addresses"};
      }
      continue;
    }
    auto parsed = parseEndpoint(value);
    if (auto* reason = std::get_if<std::string>(&parsed)) {
      return Refusal{value, *reason};
    }
    const auto& endpoint = std::get<Endpoint>(parsed);
    if (std::find(endpoints.begin(), endpoints.end(), endpoint) != endpoints.end()) {
      return Refusal{value, "listed twice"};
    }
    endpoints.push_back(endpoint);
  }
  out = std::move(endpoints);
  return std::nullopt;
}

Values writeEndpoints(const std::vector<Endpoint>& endpoints) {
  if (endpoints.empty()) {
    return {"off"};
  }
  Values out;
  for (const auto& endpoint : endpoints) {
    out.push_back(toString(endpoint));
  }
  return out;
}

// confab-mixers' control addresses: none (an empty value) or each an address and a port.
Check readMixers(const Values& values, std::vector<Endpoint>& out) {
  std::vector<Endpoint> mixers;
  for (const auto& value : values) {
    if (value.empty()) {
      continue;
    }
    auto parsed = parseEndpoint(value);
    if (auto* reason = std::get_if<std::string>(&parsed)) {
      return Refusal{value, *reason};
    }
    const auto& endpoint = std::get<Endpoint>(parsed);
    if (endpoint.port == 0 || endpoint.address.is_unspecified()) {
      return Refusal{value, "the mixer's address and port must be given"};
    }
    if (std::find(mixers.begin(), mixers.end(), endpoint) != mixers.end()) {
      return Refusal{value, "listed twice"};
    }
    mixers.push_back(endpoint);
  }
  out = std::move(mixers);
  return std::nullopt;
}

Values mixerValues(const std::vector<Endpoint>& mixers) {
  if (mixers.empty()) {
    return {std::string()};
  }
  Values out;
  for (const auto& endpoint : mixers) {
    out.push_back(toString(endpoint));
  }
  return out;
}

Check readAddress(const std::string& value, boost::asio::ip::address& out) {
  boost::system::error_code ec;
  auto address = boost::asio::ip::make_address(value, ec);
  if (ec) {
    return Refusal{value, "not a numeric IP address"};
  }
  out = address;
  return std::nullopt;
}

// Room ids are what a SIP URI user part and a URL path segment both carry without escapes; the
// same rule as policy::Directory::validId (this library does not link policy).
bool validRoomId(std::string_view id) {
  return !id.empty() && id.size() <= 64 && std::all_of(id.begin(), id.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '_' || c == '.';
  });
}

constexpr std::size_t kMaxRoomNameBytes = 128;

Check readRooms(const Values& values, std::vector<Room>& out) {
  std::vector<Room> rooms;
  for (const auto& value : values) {
    if (value == "off") {
      if (values.size() > 1) {
        return Refusal{value, "'off' cannot be combined with rooms"};
      }
      continue;
    }
    auto colon = value.find(':');
    Room room;
    room.id = value.substr(0, colon);
    room.name = colon == std::string::npos ? std::string() : value.substr(colon + 1);
    if (!validRoomId(room.id)) {
      return Refusal{value, "a room id is 1 to 64 of A-Z a-z 0-9 . _ -"};
    }
    if (room.name.size() > kMaxRoomNameBytes) {
      return Refusal{value, "the display name is longer than 128 bytes"};
    }
    if (std::any_of(room.name.begin(), room.name.end(),
                    [](char c) { return static_cast<unsigned char>(c) < 0x20 || c == 0x7f; })) {
      return Refusal{value, "the display name holds a control character"};
    }
    if (room.name.empty()) {
      room.name = room.id;
    }
    if (std::any_of(rooms.begin(), rooms.end(), [&](const Room& r) { return r.id == room.id; })) {
      return Refusal{value, "room " + room.id + " is listed twice"};
    }
    rooms.push_back(std::move(room));
  }
  out = std::move(rooms);
  return std::nullopt;
}

// What may stand in Contact and Via as the host (RFC 3261 §25.1 `host`): a host name, an IPv4
// address, or an IPv6 reference in brackets.
Check readSipDomain(const std::string& value, std::string& out) {
  if (!value.empty()) {
    if (value.front() == '[') {
      boost::system::error_code ec;
      if (value.back() == ']') {
        boost::asio::ip::make_address_v6(value.substr(1, value.size() - 2), ec);
      }
      if (value.back() != ']' || ec) {
        return Refusal{value, "not an IPv6 reference"};
      }
    } else if (value.find(':') != std::string::npos) {
      return Refusal{value, "an IPv6 address goes in brackets, as in [2001:db8::1]"};
    } else {
      if (value.size() > 253) {
        return Refusal{value, "a host name is at most 253 characters"};
      }
      std::size_t label = 0;
      for (char c : value) {
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  c == '-' || c == '.';
        if (!ok) {
          return Refusal{value, "a host name is letters, digits, '-' and '.'"};
        }
        label = c == '.' ? 0 : label + 1;
        if (label > 63) {
          return Refusal{value, "a host name label is at most 63 characters"};
        }
      }
      if (value.front() == '.' || value.find("..") != std::string::npos) {
        return Refusal{value, "empty label in host name"};
      }
    }
  }
  out = value;
  return std::nullopt;
}

// ---- registrations (--register) ------------------------------------------------------------

constexpr std::uint32_t kDefaultRegisterExpires = 3600;
constexpr std::uint64_t kMaxRegisterExpires = 604800;  // a week

bool isBlankOrControl(char c) {
  return static_cast<unsigned char>(c) <= 0x20 || c == 0x7f;
}

// sip:USER@HOST or sips:USER@HOST with nothing a header would need quoting for. The focus parses
// it fully at start-up; this catches what a typo makes.
std::optional<std::string> checkAor(const std::string& aor) {
  auto colon = aor.find(':');
  std::string scheme = aor.substr(0, colon == std::string::npos ? 0 : colon);
  std::transform(scheme.begin(), scheme.end(), scheme.begin(),
                 [](char c) { return static_cast<char>(c >= 'A' && c <= 'Z' ? c + 32 : c); });
  if (scheme != "sip" && scheme != "sips") {
    return "an address of record is a sip: or sips: URI, as in sip:1000@pbx.example.com";
  }
  if (std::any_of(aor.begin(), aor.end(),
                  [](char c) { return isBlankOrControl(c) || c == '<' || c == '>' || c == '"'; })) {
    return "an address of record has no blanks, quotes or angle brackets";
  }
  auto at = aor.find('@');
  if (at == std::string::npos || at == colon + 1 || at + 1 == aor.size()) {
    return "an address of record has a user and a host (sip:USER@HOST)";
  }
  return std::nullopt;
}

// HOST[:PORT][;transport=udp|tcp|tls], HOST a name, an IPv4 address or an IPv6 reference.
Check readRegistrar(const std::string& text, Registration& out) {
  auto semicolon = text.find(';');
  std::string hostPort = text.substr(0, semicolon);
  out.transport = SipTransport::kUdp;
  if (semicolon != std::string::npos) {
    std::string param = text.substr(semicolon + 1);
    std::transform(param.begin(), param.end(), param.begin(),
                   [](char c) { return static_cast<char>(c >= 'A' && c <= 'Z' ? c + 32 : c); });
    if (param == "transport=udp") {
      out.transport = SipTransport::kUdp;
    } else if (param == "transport=tcp") {
      out.transport = SipTransport::kTcp;
    } else if (param == "transport=tls") {
      out.transport = SipTransport::kTls;
    } else {
      return Refusal{text, "the registrar takes only ;transport=udp, tcp or tls"};
    }
  }
  std::string host = hostPort;
  std::string port;
  if (!hostPort.empty() && hostPort.front() == '[') {
    auto close = hostPort.find(']');
    if (close == std::string::npos) {
      return Refusal{text, "missing ']' after the IPv6 address"};
    }
    host = hostPort.substr(0, close + 1);
    if (close + 1 < hostPort.size()) {
      if (hostPort[close + 1] != ':') {
        return Refusal{text, "expected :PORT after ']'"};
      }
      port = hostPort.substr(close + 2);
      if (port.empty()) {
        return Refusal{text, "expected a port number after ':'"};
      }
    }
  } else if (auto colon = hostPort.find(':'); colon != std::string::npos) {
    if (hostPort.find(':', colon + 1) != std::string::npos) {
      return Refusal{text, "an IPv6 address goes in brackets, as in [2001:db8::1]:5060"};
    }
    host = hostPort.substr(0, colon);
    port = hostPort.substr(colon + 1);
    if (port.empty()) {
      return Refusal{text, "expected a port number after ':'"};
    }
  }
  if (host.empty()) {
    return Refusal{text, "no registrar host"};
  }
  std::string checked;
  if (auto refusal = readSipDomain(host, checked)) {
    return Refusal{text, refusal->reason};
  }
  out.registrarHost = host;
  out.registrarPort = 0;
  if (!port.empty()) {
    auto number = parseNumber(port);
    if (!number || *number == 0 || *number > 65535) {
      return Refusal{text, "\"" + port + "\" is not a port number (1 to 65535)"};
    }
    out.registrarPort = static_cast<std::uint16_t>(*number);
  }
  return std::nullopt;
}

std::string registrarText(const Registration& r) {
  std::string out = r.registrarHost;
  if (r.registrarPort != 0) {
    out += ":" + std::to_string(r.registrarPort);
  }
  if (r.transport == SipTransport::kTcp) {
    out += ";transport=tcp";
  } else if (r.transport == SipTransport::kTls) {
    out += ";transport=tls";
  }
  return out;
}

// AOR,REGISTRAR[,USER[,EXPIRES[,ROOM]]]; empty optional fields take their defaults.
Check readRegistration(const std::string& value, Registration& out) {
  std::vector<std::string> fields;
  std::string_view rest = value;
  while (true) {
    auto comma = rest.find(',');
    fields.emplace_back(trimBlanks(rest.substr(0, comma)));
    if (comma == std::string_view::npos) {
      break;
    }
    rest = rest.substr(comma + 1);
  }
  if (fields.size() < 2 || fields.size() > 5) {
    return Refusal{value, "expected AOR,REGISTRAR[,USER[,EXPIRES[,ROOM]]]"};
  }
  Registration r;
  if (auto reason = checkAor(fields[0])) {
    return Refusal{value, *reason};
  }
  r.aor = fields[0];
  if (auto refusal = readRegistrar(fields[1], r)) {
    return Refusal{value, refusal->reason};
  }
  if (fields.size() > 2) {
    r.user = fields[2];
    if (std::any_of(r.user.begin(), r.user.end(),
                    [](char c) { return isBlankOrControl(c) || c == ':'; })) {
      return Refusal{value, "the username has a blank, a control character or a ':'"};
    }
  }
  if (fields.size() > 3 && !fields[3].empty()) {
    std::uint64_t expires = 0;
    if (auto refusal = readNumber(fields[3], 1, kMaxRegisterExpires, expires)) {
      return Refusal{value, "EXPIRES " + refusal->reason};
    }
    r.expires = static_cast<std::uint32_t>(expires);
  }
  if (fields.size() > 4) {
    r.room = fields[4];
  }
  if (!validRoomId(r.roomId())) {
    return Refusal{value, "the room \"" + r.roomId() +
                              "\" is not a room id (1 to 64 of A-Z a-z 0-9 . _ -); name the room "
                              "as the fifth field"};
  }
  out = std::move(r);
  return std::nullopt;
}

Check readRegistrations(const Values& values, std::vector<Registration>& out) {
  std::vector<Registration> registrations;
  for (const auto& value : values) {
    if (value == "off") {
      if (values.size() > 1) {
        return Refusal{value, "'off' cannot be combined with registrations"};
      }
      continue;
    }
    Registration r;
    if (auto refusal = readRegistration(value, r)) {
      return refusal;
    }
    if (std::any_of(registrations.begin(), registrations.end(),
                    [&](const Registration& other) { return other.aor == r.aor; })) {
      return Refusal{value, r.aor + " is registered twice"};
    }
    registrations.push_back(std::move(r));
  }
  out = std::move(registrations);
  return std::nullopt;
}

Values writeRegistrations(const std::vector<Registration>& registrations) {
  if (registrations.empty()) {
    return {"off"};
  }
  Values out;
  for (const auto& r : registrations) {
    std::vector<std::string> fields{
        r.aor, registrarText(r), r.user,
        r.expires == kDefaultRegisterExpires ? std::string() : std::to_string(r.expires), r.room};
    while (fields.size() > 2 && fields.back().empty()) {
      fields.pop_back();
    }
    std::string line;
    for (const auto& field : fields) {
      line += (line.empty() ? "" : ",") + field;
    }
    out.push_back(line);
  }
  return out;
}

Check readPortRange(const std::string& value, PortRange& out) {
  auto parsed = parsePortRange(value);
  if (auto* reason = std::get_if<std::string>(&parsed)) {
    return Refusal{value, *reason};
  }
  out = std::get<PortRange>(parsed);
  return std::nullopt;
}

constexpr std::array<std::pair<LogLevel, std::string_view>, 5> kLogLevels{{
    {LogLevel::kTrace, "trace"},
    {LogLevel::kDebug, "debug"},
    {LogLevel::kInfo, "info"},
    {LogLevel::kWarning, "warning"},
    {LogLevel::kError, "error"},
}};

Check readLogLevel(const std::string& value, LogLevel& out) {
  for (const auto& [level, name] : kLogLevels) {
    if (value == name) {
      out = level;
      return std::nullopt;
    }
  }
  return Refusal{value, "expected one of trace, debug, info, warning, error"};
}

template <class Duration>
Check readDuration(const std::string& value, std::uint64_t min, std::uint64_t max, Duration& out) {
  std::uint64_t n = 0;
  if (auto refusal = readNumber(value, min, max, n)) {
    return refusal;
  }
  out = Duration(static_cast<typename Duration::rep>(n));
  return std::nullopt;
}

template <class Integer>
Check readInteger(const std::string& value, std::uint64_t min, std::uint64_t max, Integer& out) {
  std::uint64_t n = 0;
  if (auto refusal = readNumber(value, min, max, n)) {
    return refusal;
  }
  out = static_cast<Integer>(n);
  return std::nullopt;
}

const std::string& single(const Values& values) {
  return values.back();
}

// ---- the options ---------------------------------------------------------------------------

const auto kSettings = std::to_array<Setting>({
    {"sip-udp", "ADDR:PORT",
     "SIP over UDP listening point; repeat for several (e.g. one IPv4, "
     "one [::]:5060), or 'off'.",
     Group::kSip, true, [](Config& c, const Values& v) { return readEndpoints(v, c.sipUdp); },
     [](const Config& c) { return writeEndpoints(c.sipUdp); }},
    {"sip-tcp", "ADDR:PORT", "SIP over TCP listening point; repeatable, or 'off'.", Group::kSip,
     true, [](Config& c, const Values& v) { return readEndpoints(v, c.sipTcp); },
     [](const Config& c) { return writeEndpoints(c.sipTcp); }},
    {"sip-tls", "ADDR:PORT", "SIP over TLS listening point; repeatable, or 'off'.", Group::kSip,
     true, [](Config& c, const Values& v) { return readEndpoints(v, c.sipTls); },
     [](const Config& c) { return writeEndpoints(c.sipTls); }},
    {"sip-domain", "HOST",
     "Public host name or address put in Contact and Via; empty: the "
     "local address the request came in on.",
     Group::kSip, false,
     [](Config& c, const Values& v) { return readSipDomain(single(v), c.sipDomain); },
     [](const Config& c) { return Values{c.sipDomain}; }},
    {"tls-cert", "FILE",
     "PEM certificate chain for SIP over TLS; empty (with tls-key empty): "
     "a self-signed one is generated in data-dir.",
     Group::kSip, false,
     [](Config& c, const Values& v) {
       c.tlsCert = single(v);
       return Check();
     },
     [](const Config& c) { return Values{c.tlsCert}; }},
    {"tls-key", "FILE", "PEM private key of tls-cert.", Group::kSip, false,
     [](Config& c, const Values& v) {
       c.tlsKey = single(v);
       return Check();
     },
     [](const Config& c) { return Values{c.tlsKey}; }},
    {"tls-verify-peer", "yes|no",
     "Check the certificate of a peer we connect to over TLS (dial-out, registration, NOTIFY): "
     "signed by tls-ca-file (or the system's store) and naming the host dialled (RFC 5922).",
     Group::kSip, false,
     [](Config& c, const Values& v) { return readYesNo(single(v), c.tlsVerifyPeer); },
     [](const Config& c) { return Values{c.tlsVerifyPeer ? "yes" : "no"}; }},
    {"tls-ca-file", "FILE",
     "PEM certificate authorities trusted by tls-verify-peer; empty: the system's store.",
     Group::kSip, false,
     [](Config& c, const Values& v) {
       c.tlsCaFile = single(v);
       return Check();
     },
     [](const Config& c) { return Values{c.tlsCaFile}; }},
    {"sip-t1-ms", "MS", "SIP timer T1, the round-trip estimate (RFC 3261 §17.1.1.1).", Group::kSip,
     false, [](Config& c, const Values& v) { return readDuration(single(v), 1, 60000, c.sipT1); },
     [](const Config& c) { return Values{std::to_string(c.sipT1.count())}; }},
    {"sip-t2-ms", "MS", "SIP timer T2, the longest retransmission interval; at least T1.",
     Group::kSip, false,
     [](Config& c, const Values& v) { return readDuration(single(v), 1, 600000, c.sipT2); },
     [](const Config& c) { return Values{std::to_string(c.sipT2.count())}; }},
    {"sip-t4-ms", "MS", "SIP timer T4, how long a message may linger in the network.", Group::kSip,
     false, [](Config& c, const Values& v) { return readDuration(single(v), 1, 600000, c.sipT4); },
     [](const Config& c) { return Values{std::to_string(c.sipT4.count())}; }},
    {"session-expires", "SECONDS", "Session timer asked for (RFC 4028); at least 90 (Min-SE).",
     Group::kSip, false,
     [](Config& c, const Values& v) {
       return readDuration(single(v), static_cast<std::uint64_t>(kMinSessionExpires.count()), 86400,
                           c.sessionExpires);
     },
     [](const Config& c) { return Values{std::to_string(c.sessionExpires.count())}; }},
    {"tcp-idle-timeout", "SECONDS",
     "Close a SIP TCP/TLS connection with no SIP message for this long (keep-alives do not "
     "count; a connection carrying a call stays).",
     Group::kSip, false,
     [](Config& c, const Values& v) { return readDuration(single(v), 1, 86400, c.tcpIdleTimeout); },
     [](const Config& c) { return Values{std::to_string(c.tcpIdleTimeout.count())}; }},
    {"max-connections-per-source", "N",
     "Most SIP TCP/TLS connections from one IP address (a share of the 4096 in all).", Group::kSip,
     false,
     [](Config& c, const Values& v) {
       return readInteger(single(v), 1, 100000, c.maxConnectionsPerSource);
     },
     [](const Config& c) { return Values{std::to_string(c.maxConnectionsPerSource)}; }},
    {"max-message-bytes", "BYTES", "Largest SIP message accepted (1024 to 1048576).", Group::kSip,
     false,
     [](Config& c, const Values& v) {
       return readInteger(single(v), 1024, 1048576, c.maxMessageBytes);
     },
     [](const Config& c) { return Values{std::to_string(c.maxMessageBytes)}; }},
    {"register", "AOR,REGISTRAR[,USER[,EXPIRES[,ROOM]]]",
     "Register a room address with a PBX or registrar, e.g. "
     "sip:7001@pbx.example.com,192.0.2.10:5060. REGISTRAR is HOST[:PORT], optionally with "
     ";transport=tcp or ;transport=tls. USER (the digest username) and ROOM default to the AOR's "
     "user part, EXPIRES to 3600 s. Repeat for several, or 'off'. Passwords come from "
     "password-file.",
     Group::kSip, true,
     [](Config& c, const Values& v) { return readRegistrations(v, c.registrations); },
     [](const Config& c) { return writeRegistrations(c.registrations); }},
    {"password-file", "FILE",
     "USER:PASSWORD lines for the digest usernames of the registrations and dial-out-user (keep "
     "it readable by confab only); empty: challenges are not answered.",
     Group::kSip, false,
     [](Config& c, const Values& v) {
       c.passwordFile = single(v);
       return Check();
     },
     [](const Config& c) { return Values{c.passwordFile}; }},
    {"dial-out-user", "USER",
     "Digest username for the calls the focus places (REFER dial-outs) from rooms whose tenant "
     "has no dial-out account of its own (confab tenant set --dial-out-user); its password is in "
     "password-file. Empty: such calls' challenges are not answered.",
     Group::kSip, false,
     [](Config& c, const Values& v) {
       c.dialOutUser = single(v);
       if (c.dialOutUser.find_first_of(":\r\n") != std::string::npos) {
         return Check(Refusal{c.dialOutUser, "a username has no ':' or line breaks"});
       }
       return Check();
     },
     [](const Config& c) { return Values{c.dialOutUser}; }},
    {"outbound-proxy", "HOST[:PORT][;transport=tcp|tls]",
     "Send the focus's own calls (dial-outs) through this proxy, or 'off' to send them to the "
     "callee's address (found through DNS, RFC 3263).",
     Group::kSip, false,
     [](Config& c, const Values& v) {
       const std::string& text = single(v);
       if (text == "off" || text.empty()) {
         c.outboundProxy.reset();
         return Check();
       }
       Registration parsed;
       if (auto refusal = readRegistrar(text, parsed)) {
         return Check(Refusal{text, refusal->reason});
       }
       c.outboundProxy = SipHop{parsed.registrarHost, parsed.registrarPort, parsed.transport};
       return Check();
     },
     [](const Config& c) {
       if (!c.outboundProxy) {
         return Values{"off"};
       }
       Registration r;
       r.registrarHost = c.outboundProxy->host;
       r.registrarPort = c.outboundProxy->port;
       r.transport = c.outboundProxy->transport;
       return Values{registrarText(r)};
     }},
    {"api", "ADDR:PORT", "REST API listening point, or 'off'.", Group::kApi, false,
     [](Config& c, const Values& v) {
       std::vector<Endpoint> endpoints;
       auto refusal = readEndpoints(v, endpoints);
       if (!refusal) {
         c.api = endpoints.empty() ? std::nullopt : std::optional<Endpoint>(endpoints.front());
       }
       return refusal;
     },
     [](const Config& c) { return Values{c.api ? toString(*c.api) : "off"}; }},
    {"api-access-log", "FILE",
     "Append a JSON line per API request to FILE ('-': standard error); empty: no access log.",
     Group::kApi, false,
     [](Config& c, const Values& v) {
       c.apiAccessLog = single(v);
       return Check();
     },
     [](const Config& c) { return Values{c.apiAccessLog}; }},
    {"api-tls", "yes|no",
     "Serve the API over HTTPS (TLS 1.2 or later; the events WebSocket as wss) with api-tls-cert, "
     "or without it the SIP TLS certificate (tls-cert, or the one generated in data-dir).",
     Group::kApi, false, [](Config& c, const Values& v) { return readYesNo(single(v), c.apiTls); },
     [](const Config& c) { return Values{c.apiTls ? "yes" : "no"}; }},
    {"api-tls-cert", "FILE", "PEM certificate chain for the API's HTTPS (with api-tls-key).",
     Group::kApi, false,
     [](Config& c, const Values& v) {
       c.apiTlsCert = single(v);
       return Check();
     },
     [](const Config& c) { return Values{c.apiTlsCert}; }},
    {"api-tls-key", "FILE", "PEM private key of api-tls-cert.", Group::kApi, false,
     [](Config& c, const Values& v) {
       c.apiTlsKey = single(v);
       return Check();
     },
     [](const Config& c) { return Values{c.apiTlsKey}; }},
    {"api-webhooks-private", "yes|no",
     "Let webhooks POST to loopback, private (RFC 1918, fc00::/7) and link-local addresses: a "
     "receiver on this machine or network. No: such URLs are refused when made and when "
     "delivered (server-side request forgery).",
     Group::kApi, false,
     [](Config& c, const Values& v) { return readYesNo(single(v), c.apiWebhooksPrivate); },
     [](const Config& c) { return Values{c.apiWebhooksPrivate ? "yes" : "no"}; }},
    {"rtp-ports", "FIRST-LAST", "UDP ports for RTP and RTCP, within 1024-65535.", Group::kMedia,
     false, [](Config& c, const Values& v) { return readPortRange(single(v), c.rtpPorts); },
     [](const Config& c) {
       return Values{std::to_string(c.rtpPorts.first) + "-" + std::to_string(c.rtpPorts.last)};
     }},
    {"rtp-address", "ADDR", "Local address the RTP sockets bind to.", Group::kMedia, false,
     [](Config& c, const Values& v) { return readAddress(single(v), c.rtpAddress); },
     [](const Config& c) { return Values{c.rtpAddress.to_string()}; }},
    {"media-address", "ADDR",
     "Address written into SDP c= lines (e.g. the public address "
     "behind NAT); empty: the local address of each call.",
     Group::kMedia, false,
     [](Config& c, const Values& v) {
       if (single(v).empty()) {
         c.mediaAddress.reset();
         return Check();
       }
       boost::asio::ip::address address;
       if (auto refusal = readAddress(single(v), address)) {
         return refusal;
       }
       if (address.is_unspecified()) {
         return Check(Refusal{single(v), "peers cannot send media to an unspecified address"});
       }
       c.mediaAddress = address;
       return Check();
     },
     [](const Config& c) {
       return Values{c.mediaAddress ? c.mediaAddress->to_string() : std::string()};
     }},
    {"mixer", "ADDR:PORT",
     "Run media on a separately started confab-mixer listening there (its --listen); repeat "
     "for several, and rooms are spread over them (the least loaded takes a new room, and its "
     "callers follow it); empty: the mixer runs inside confab. With remote mixers, rtp-ports, "
     "rtp-address, mixer-threads and mixer-io are confab-mixer's options instead.",
     Group::kMedia, true, [](Config& c, const Values& v) { return readMixers(v, c.mixers); },
     [](const Config& c) { return mixerValues(c.mixers); }},
    {"mixer-drain", "ADDR:PORT",
     "A mixer (one of --mixer) that takes no new rooms: its running rooms stay, and new callers "
     "of those rooms still go to it. Repeatable; a reload (SIGHUP) applies it, so a mixer can "
     "be emptied for maintenance without ending a call.",
     Group::kMedia, true, [](Config& c, const Values& v) { return readMixers(v, c.mixerDrain); },
     [](const Config& c) { return mixerValues(c.mixerDrain); }},
    {"mixer-secret-file", "FILE",
     "The secret shared with the confab-mixers (their --secret-file): confab proves it to each "
     "and accepts only mixers that prove it back. Needed for a mixer on another machine.",
     Group::kMedia, false,
     [](Config& c, const Values& v) {
       c.mixerSecretFile = single(v);
       return Check();
     },
     [](const Config& c) { return Values{c.mixerSecretFile}; }},
    {"mixer-tls", "yes|no",
     "Encrypt the control connection to the confab-mixers with TLS 1.3 (their --tls); needs "
     "mixer-secret-file, whose proofs are bound to the TLS session.",
     Group::kMedia, false,
     [](Config& c, const Values& v) { return readYesNo(single(v), c.mixerTls); },
     [](const Config& c) { return Values{c.mixerTls ? "yes" : "no"}; }},
    {"mixer-threads", "N", "Mixer worker threads; 0: one per core.", Group::kMedia, false,
     [](Config& c, const Values& v) { return readInteger(single(v), 0, 1024, c.mixerThreads); },
     [](const Config& c) { return Values{std::to_string(c.mixerThreads)}; }},
    {"mixer-io", "io_uring|epoll",
     "How the mixer threads read RTP: io_uring (falls back to epoll where the kernel or a seccomp "
     "filter refuses it) or epoll always.",
     Group::kMedia, false,
     [](Config& c, const Values& v) {
       const std::string& value = single(v);
       if (value != "io_uring" && value != "epoll") {
         return Check(Refusal{value, "expected io_uring or epoll"});
       }
       c.mixerIoUring = value == "io_uring";
       return Check();
     },
     [](const Config& c) { return Values{c.mixerIoUring ? "io_uring" : "epoll"}; }},
    {"room", "ID[:NAME]",
     "A room callers reach at sip:ID@host; repeat for several, or 'off' "
     "for none. ID is 1 to 64 of A-Z a-z 0-9 . _ -",
     Group::kRooms, true, [](Config& c, const Values& v) { return readRooms(v, c.rooms); },
     [](const Config& c) {
       if (c.rooms.empty()) {
         return Values{"off"};
       }
       Values out;
       for (const auto& room : c.rooms) {
         out.push_back(room.name == room.id ? room.id : room.id + ":" + room.name);
       }
       return out;
     }},
    {"factory", "USER",
     "The conference factory callers reach at sip:USER@host (RFC 4579): each call to it makes a "
     "new ad-hoc conference, whose address comes back in the answer's Contact. 'off' for none.",
     Group::kRooms, false,
     [](Config& c, const Values& v) {
       const std::string& user = single(v);
       if (user == "off" || user.empty()) {
         c.factory.clear();
         return Check();
       }
       if (!validRoomId(user)) {
         return Check(Refusal{user, "must be 1 to 64 of A-Z a-z 0-9 . _ - (or 'off')"});
       }
       c.factory = user;
       return Check();
     },
     [](const Config& c) { return Values{c.factory.empty() ? "off" : c.factory}; }},
    {"lobby", "USER",
     "The lobby callers reach at sip:USER@host: it asks for the meeting number, then the PIN. "
     "'off' for none.",
     Group::kRooms, false,
     [](Config& c, const Values& v) {
       const std::string& user = single(v);
       if (user == "off") {
         c.lobby.clear();
         return Check();
       }
       if (!validRoomId(user)) {
         return Check(Refusal{user, "must be 1 to 64 of A-Z a-z 0-9 . _ - (or 'off')"});
       }
       c.lobby = user;
       return Check();
     },
     [](const Config& c) { return Values{c.lobby.empty() ? "off" : c.lobby}; }},
    {"invites-per-second", "N",
     "New INVITEs a second from one IP address (a burst of invite-burst allowed); more get 503 "
     "with Retry-After. 0: no limit.",
     Group::kRooms, false,
     [](Config& c, const Values& v) {
       return readInteger(single(v), 0, 100000, c.invitesPerSecond);
     },
     [](const Config& c) { return Values{std::to_string(c.invitesPerSecond)}; }},
    {"invite-burst", "N",
     "INVITEs one IP address may send at once before invites-per-second applies.", Group::kRooms,
     false,
     [](Config& c, const Values& v) { return readInteger(single(v), 0, 100000, c.inviteBurst); },
     [](const Config& c) { return Values{std::to_string(c.inviteBurst)}; }},
    {"calls-per-source", "N",
     "Calls held at once from one IP address (ringing ones too); more get 503. 0: no limit.",
     Group::kRooms, false,
     [](Config& c, const Values& v) { return readInteger(single(v), 0, 100000, c.callsPerSource); },
     [](const Config& c) { return Values{std::to_string(c.callsPerSource)}; }},
    {"wrong-pins-per-source", "N",
     "Wrong PINs from one IP address within 10 minutes that lock it out (403) for "
     "pin-lockout-minutes. 0: never.",
     Group::kRooms, false,
     [](Config& c, const Values& v) {
       return readInteger(single(v), 0, 100000, c.wrongPinsPerSource);
     },
     [](const Config& c) { return Values{std::to_string(c.wrongPinsPerSource)}; }},
    {"wrong-pins-per-room", "N",
     "Wrong PINs for one room within 10 minutes, from any addresses, that close its PIN entry for "
     "5 minutes. 0: never.",
     Group::kRooms, false,
     [](Config& c, const Values& v) {
       return readInteger(single(v), 0, 1000000, c.wrongPinsPerRoom);
     },
     [](const Config& c) { return Values{std::to_string(c.wrongPinsPerRoom)}; }},
    {"pin-lockout-minutes", "N", "How long an address that guessed wrong PINs stays locked out.",
     Group::kRooms, false,
     [](Config& c, const Values& v) {
       return readInteger(single(v), 1, 10080, c.pinLockoutMinutes);
     },
     [](const Config& c) { return Values{std::to_string(c.pinLockoutMinutes)}; }},
    {"pin-window-minutes", "N",
     "The window wrong-pins-per-source and wrong-pins-per-room count in.", Group::kRooms, false,
     [](Config& c, const Values& v) {
       return readInteger(single(v), 1, 10080, c.pinWindowMinutes);
     },
     [](const Config& c) { return Values{std::to_string(c.pinWindowMinutes)}; }},
    {"room-lockout-minutes", "N",
     "How long a room's PIN entry stays closed after wrong-pins-per-room.", Group::kRooms, false,
     [](Config& c, const Values& v) {
       return readInteger(single(v), 1, 10080, c.roomLockoutMinutes);
     },
     [](const Config& c) { return Values{std::to_string(c.roomLockoutMinutes)}; }},
    {"entry-attempts", "N",
     "Wrong answers (meeting number or PIN) a caller gets before the goodbye prompt and BYE.",
     Group::kRooms, false,
     [](Config& c, const Values& v) { return readInteger(single(v), 1, 10, c.entryAttempts); },
     [](const Config& c) { return Values{std::to_string(c.entryAttempts)}; }},
    {"entry-key-seconds", "SECONDS",
     "A question with no key pressed for this long counts as a wrong answer.", Group::kRooms, false,
     [](Config& c, const Values& v) { return readInteger(single(v), 2, 120, c.entryKeySeconds); },
     [](const Config& c) { return Values{std::to_string(c.entryKeySeconds)}; }},
    {"trusted-source", "ADDR",
     "An address exempt from the per-source limits above (a SIP proxy in front sends every "
     "caller's INVITE from its own); repeat for several, or 'off' for none.",
     Group::kRooms, true,
     [](Config& c, const Values& v) {
       c.trustedSources.clear();
       for (const auto& value : v) {
         if (value == "off") {
           continue;
         }
         boost::asio::ip::address address;
         if (auto refused = readAddress(value, address)) {
           return refused;
         }
         c.trustedSources.push_back(address);
       }
       return Check();
     },
     [](const Config& c) {
       Values out;
       for (const auto& a : c.trustedSources) {
         out.push_back(a.to_string());
       }
       return out.empty() ? Values{"off"} : out;
     }},
    {"max-participants", "N", "Most participants in one room; 0: no limit.", Group::kRooms, false,
     [](Config& c, const Values& v) {
       return readInteger(single(v), 0, 100000, c.maxParticipants);
     },
     [](const Config& c) { return Values{std::to_string(c.maxParticipants)}; }},
    {"require-srtp", "yes|no",
     "Refuse calls that offer only plain RTP (SDES SRTP, RFC 4568, required in every room).",
     Group::kRooms, false,
     [](Config& c, const Values& v) { return readYesNo(single(v), c.requireSrtp); },
     [](const Config& c) { return Values{c.requireSrtp ? "yes" : "no"}; }},
    {"noise-suppression", "yes|no",
     "SpeexDSP noise suppression on every caller's voice before it is mixed.", Group::kMedia, false,
     [](Config& c, const Values& v) { return readYesNo(single(v), c.noiseSuppression); },
     [](const Config& c) { return Values{c.noiseSuppression ? "yes" : "no"}; }},
    {"agc", "yes|no", "SpeexDSP automatic gain control on every caller's voice.", Group::kMedia,
     false, [](Config& c, const Values& v) { return readYesNo(single(v), c.automaticGain); },
     [](const Config& c) { return Values{c.automaticGain ? "yes" : "no"}; }},
    {"answer-delay-ms", "MS", "Ring (180) this long before answering a call; 0 answers at once.",
     Group::kRooms, false,
     [](Config& c, const Values& v) {
       unsigned ms = 0;
       auto refusal = readInteger(single(v), 0, 60000, ms);
       if (!refusal) {
         c.answerDelay = std::chrono::milliseconds(ms);
       }
       return refusal;
     },
     [](const Config& c) { return Values{std::to_string(c.answerDelay.count())}; }},
    {"data-dir", "DIR",
     "Where state lives (generated certificates, room database); relative "
     "to the working directory.",
     Group::kGeneral, false,
     [](Config& c, const Values& v) {
       if (single(v).empty()) {
         return Check(Refusal{single(v), "must not be empty"});
       }
       c.dataDir = single(v);
       return Check();
     },
     [](const Config& c) { return Values{c.dataDir}; }},
    {"sounds-dir", "DIR",
     "The voice prompts and tones (LANG/NAME.wav, as scripts/make-prompts.sh writes them); empty: "
     "DATA-DIR/sounds. The Debian package installs them in /usr/share/confab/sounds.",
     Group::kGeneral, false,
     [](Config& c, const Values& v) {
       c.soundsDir = single(v);
       return Check();
     },
     [](const Config& c) { return Values{c.soundsDir}; }},
    {"store", "PATH|URI",
     "The policy store (tenants, rooms, keys, records): empty, DATA-DIR/policy.db; a SQLite "
     "file's path; or a PostgreSQL connection URI (postgresql://confab@db.example.com/confab, "
     "postgresql:///confab?host=/run/postgresql) that several confab nodes share. Keep a "
     "password out of the URI: libpq reads it from ~/.pgpass, PGPASSFILE or passfile=FILE.",
     Group::kGeneral, false,
     [](Config& c, const Values& v) {
       c.store = single(v);
       return Check();
     },
     [](const Config& c) { return Values{c.store}; }},
    {"records-days", "DAYS",
     "Keep call detail records this many days after they end; 0: until their tenant is removed.",
     Group::kGeneral, false,
     [](Config& c, const Values& v) { return readInteger(single(v), 0, 36500, c.recordsDays); },
     [](const Config& c) { return Values{std::to_string(c.recordsDays)}; }},
    {"store-sync", "normal|full",
     "When the policy store's writes reach the disk: 'normal' survives a crash of confab (each "
     "change is in the file before it is answered), 'full' also a power loss or an OS crash (a "
     "disk flush per change: about 300 changes/s on a disk that flushes in 3 ms).",
     Group::kGeneral, false,
     [](Config& c, const Values& v) {
       if (single(v) != "normal" && single(v) != "full") {
         return Check(Refusal{single(v), "expected normal or full"});
       }
       c.storeSyncFull = single(v) == "full";
       return Check();
     },
     [](const Config& c) { return Values{c.storeSyncFull ? "full" : "normal"}; }},
    {"log-level", "LEVEL", "One of trace, debug, info, warning, error.", Group::kGeneral, false,
     [](Config& c, const Values& v) { return readLogLevel(single(v), c.logLevel); },
     [](const Config& c) { return Values{std::string(toString(c.logLevel))}; }},
    {"stop-wait", "SECONDS",
     "On SIGTERM every call gets a BYE; confab leaves once each is answered, or after this many "
     "seconds whatever is left (a peer that never answers cannot hold a restart).",
     Group::kGeneral, false,
     [](Config& c, const Values& v) {
       unsigned seconds = 0;
       auto refusal = readInteger(single(v), 0, 300, seconds);
       if (!refusal) {
         c.stopWait = std::chrono::seconds(seconds);
       }
       return refusal;
     },
     [](const Config& c) { return Values{std::to_string(c.stopWait.count())}; }},
});

// ---- config-file text ----------------------------------------------------------------------

// One `name = value` line of a config file, read the way program_options reads it: '#' starts a
// comment anywhere, names and values are trimmed, `[section]` prefixes the names below it.
struct Line {
  int number = 0;
  std::string name;
  std::string value;
};

std::string_view trim(std::string_view s) {
  auto notSpace = [](char c) { return c != ' ' && c != '\t' && c != '\r' && c != '\n'; };
  auto begin = std::find_if(s.begin(), s.end(), notSpace);
  auto end = std::find_if(s.rbegin(), s.rend(), notSpace).base();
  return begin < end ? std::string_view(&*begin, static_cast<std::size_t>(end - begin))
                     : std::string_view();
}

// Splits config-file text into lines; on a line that is not `name = value` returns its number.
std::variant<std::vector<Line>, int> scanLines(std::string_view text) {
  std::vector<Line> lines;
  std::string prefix;
  int number = 0;
  while (!text.empty()) {
    ++number;
    auto newline = text.find('\n');
    auto raw = text.substr(0, newline);
    text = newline == std::string_view::npos ? std::string_view() : text.substr(newline + 1);
    auto content = trim(raw.substr(0, raw.find('#')));
    if (content.empty()) {
      continue;
    }
    if (content.front() == '[' && content.back() == ']') {
      prefix = std::string(trim(content.substr(1, content.size() - 2)));
      if (!prefix.empty()) {
        prefix += '.';
      }
      continue;
    }
    auto equals = content.find('=');
    if (equals == std::string_view::npos || trim(content.substr(0, equals)).empty()) {
      return number;
    }
    lines.push_back(Line{number, prefix + std::string(trim(content.substr(0, equals))),
                         std::string(trim(content.substr(equals + 1)))});
  }
  return lines;
}

const Setting* findSetting(std::string_view name) {
  for (const auto& setting : kSettings) {
    if (setting.name == name) {
      return &setting;
    }
  }
  return nullptr;
}

// Where a value came from, for error messages: {"", "--x"} on the command line, {"file:12: ",
// "x"} in a config file.
struct Origin {
  std::string prefix;
  std::string option;
};

std::string describeValueError(const Origin& origin, const Refusal& refusal) {
  return origin.prefix + "invalid value for " + origin.option + ": \"" + refusal.value +
         "\": " + refusal.reason;
}

// A config file's text with its lines, checked for syntax and unknown or repeated options.
struct ConfigText {
  std::string name;  // the path, or "built-in defaults"
  std::vector<Line> lines;

  // Where an option's value stands, naming the line that holds `value` when several do.
  [[nodiscard]] Origin where(std::string_view option, std::string_view value) const {
    const Line* found = nullptr;
    for (const auto& line : lines) {
      if (line.name == option && (found == nullptr || line.value == value)) {
        found = &line;
        if (line.value == value) {
          break;
        }
      }
    }
    return Origin{name + ":" + std::to_string(found != nullptr ? found->number : 0) + ": ",
                  std::string(option)};
  }
};

std::variant<ConfigText, Error> checkConfigText(std::string name, std::string_view text) {
  auto scanned = scanLines(text);
  if (auto* bad = std::get_if<int>(&scanned)) {
    return Error{name + ":" + std::to_string(*bad) + ": expected 'name = value'"};
  }
  ConfigText out{std::move(name), std::move(std::get<0>(scanned))};
  std::map<std::string, int> seen;
  for (const auto& line : out.lines) {
    const Setting* setting = findSetting(line.name);
    if (setting == nullptr) {
      return Error{out.name + ":" + std::to_string(line.number) + ": unknown option '" + line.name +
                   "'"};
    }
    auto [it, inserted] = seen.emplace(line.name, line.number);
    if (!inserted && !setting->repeatable) {
      return Error{out.name + ":" + std::to_string(line.number) + ": " + line.name +
                   " given again (first on line " + std::to_string(it->second) + ")"};
    }
  }
  return out;
}

std::string defaultText(const std::vector<Line>& defaults, std::string_view name) {
  std::string out;
  for (const auto& line : defaults) {
    if (line.name == name) {
      out += out.empty() ? "" : ", ";
      out += line.value;
    }
  }
  return out.empty() ? "none" : out;
}

struct Descriptions {
  po::options_description commandLine{"Command line only", 100, 50};
  po::options_description settings{"Settings"};
  po::options_description hidden;
  std::string helpText;
};

Descriptions describe() {
  Descriptions d;
  d.commandLine.add_options()                                     //
      ("help,h", "Print this help and exit.")                     //
      ("version", "Print the version and exit.")                  //
      ("config,c", po::value<std::string>()->value_name("FILE"),  //
       "Read options from FILE (INI syntax, `name = value`, same names as below) under the "
       "command line.")  //
      ("print-config", "Print the effective configuration in config-file syntax and exit.");
  d.hidden.add_options()("unexpected-argument", po::value<Values>());

  auto defaults = std::get<0>(scanLines(kDefaultConfig));
  constexpr std::array<std::pair<Group, const char*>, 5> kGroups{{
      {Group::kSip, "SIP"},
      {Group::kApi, "REST API"},
      {Group::kMedia, "Media"},
      {Group::kRooms, "Rooms"},
      {Group::kGeneral, "General"},
  }};
  // One description holding the groups, so that all of them share one column width.
  constexpr unsigned kLineLength = 100;
  po::options_description all(kLineLength, kLineLength / 2);
  all.add(d.commandLine);
  for (const auto& [group, title] : kGroups) {
    po::options_description section(title, kLineLength, kLineLength / 2);
    for (const auto& s : kSettings) {
      if (s.group != group) {
        continue;
      }
      std::string text = std::string(s.help) + " Default: " + defaultText(defaults, s.name) + ".";
      std::string name(s.name);
      std::string valueName(s.valueName);
      if (s.repeatable) {
        d.settings.add_options()(name.c_str(), po::value<Values>()->value_name(valueName),
                                 text.c_str());
        section.add_options()(name.c_str(), po::value<Values>()->value_name(valueName),
                              text.c_str());
      } else {
        d.settings.add_options()(name.c_str(), po::value<std::string>()->value_name(valueName),
                                 text.c_str());
        section.add_options()(name.c_str(), po::value<std::string>()->value_name(valueName),
                              text.c_str());
      }
    }
    all.add(section);
  }
  std::ostringstream help;
  help << "Usage: confab [OPTION...]\n"
          "       confab tenant|room|key COMMAND... [--data-dir DIR]  manage tenants, rooms and\n"
          "           API keys in DATA-DIR/policy.db (confab tenant --help, confab room --help,\n"
          "           confab key --help)\n"
          "Multipoint audio conferencing server (SIP). Options come from the built-in defaults,\n"
          "then the --config file, then the command line; a later source replaces an earlier\n"
          "one, also for repeatable options. In the file, write `name = value`, one per line.\n"
       << all;
  d.helpText = help.str();
  return d;
}

Values valuesOf(const po::variables_map& vm, const Setting& setting) {
  const auto& v = vm[std::string(setting.name)];
  if (v.empty()) {
    return {};
  }
  if (setting.repeatable) {
    return v.as<Values>();
  }
  return {v.as<std::string>()};
}

// The checks that look at two options together; returns the option at fault and why.
std::optional<std::pair<std::string_view, Refusal>> crossCheck(const Config& c) {
  if (c.sipT2 < c.sipT1) {
    return std::pair{
        std::string_view("sip-t2-ms"),
        Refusal{std::to_string(c.sipT2.count()),
                "must not be below sip-t1-ms (" + std::to_string(c.sipT1.count()) + ")"}};
  }
  if (c.tlsCert.empty() != c.tlsKey.empty()) {
    // Blame the one that is set: that is the value someone wrote.
    return c.tlsCert.empty()
               ? std::pair{std::string_view("tls-key"),
                           Refusal{c.tlsKey, "tls-cert is needed too (give both or neither)"}}
               : std::pair{std::string_view("tls-cert"),
                           Refusal{c.tlsCert, "tls-key is needed too (give both or neither)"}};
  }
  for (const auto& mixer : c.mixers) {
    if (!mixer.address.is_loopback() && c.mixerSecretFile.empty()) {
      // The control protocol carries every call's SRTP keys and steers the media: off this
      // machine, only a mixer that proves the shared secret may have them.
      return std::pair{std::string_view("mixer"),
                       Refusal{toString(mixer),
                               "a mixer on another machine needs mixer-secret-file (the secret "
                               "its --secret-file holds)"}};
    }
  }
  for (const auto& drained : c.mixerDrain) {
    if (std::find(c.mixers.begin(), c.mixers.end(), drained) == c.mixers.end()) {
      return std::pair{std::string_view("mixer-drain"),
                       Refusal{toString(drained), "not one of the mixers --mixer names"}};
    }
  }
  if (c.mixerTls && c.mixerSecretFile.empty()) {
    // The mixer's certificate is checked by nobody: the secret's proofs, bound to the session,
    // are what keeps a man in the middle out.
    return std::pair{std::string_view("mixer-tls"),
                     Refusal{"yes", "needs mixer-secret-file: the secret authenticates the mixer"}};
  }
  if (c.apiTlsCert.empty() != c.apiTlsKey.empty()) {
    return c.apiTlsCert.empty()
               ? std::pair{std::string_view("api-tls-key"),
                           Refusal{c.apiTlsKey,
                                   "api-tls-cert is needed too (give both or neither)"}}
               : std::pair{
                     std::string_view("api-tls-cert"),
                     Refusal{c.apiTlsCert, "api-tls-key is needed too (give both or neither)"}};
  }
  if (!c.apiTls && !c.apiTlsCert.empty()) {
    // A certificate given for plain HTTP is a mistake someone would not see: the API is not
    // encrypted as they think.
    return std::pair{std::string_view("api-tls-cert"),
                     Refusal{c.apiTlsCert, "api-tls is off: say api-tls = yes (or drop it)"}};
  }
  // TCP and TLS (and the API, also TCP) cannot share a port; port 0 picks distinct ones.
  auto clash = [](const std::vector<Endpoint>& a, const Endpoint& e) {
    return e.port != 0 && std::find(a.begin(), a.end(), e) != a.end();
  };
  for (const auto& e : c.sipTls) {
    if (clash(c.sipTcp, e)) {
      return std::pair{std::string_view("sip-tls"),
                       Refusal{toString(e), "sip-tcp listens there already"}};
    }
  }
  if (c.api && (clash(c.sipTcp, *c.api) || clash(c.sipTls, *c.api))) {
    return std::pair{std::string_view("api"),
                     Refusal{toString(*c.api), "SIP over TCP or TLS listens there already"}};
  }
  return std::nullopt;
}

std::string commandLineError(const po::error& e) {
  if (const auto* unknown = dynamic_cast<const po::unknown_option*>(&e)) {
    return "unknown option " + unknown->get_option_name();
  }
  if (const auto* multiple = dynamic_cast<const po::multiple_occurrences*>(&e)) {
    return multiple->get_option_name() + " given more than once";
  }
  return e.what();
}

}  // namespace

std::string toString(const Endpoint& endpoint) {
  if (endpoint.address.is_v6()) {
    return "[" + endpoint.address.to_string() + "]:" + std::to_string(endpoint.port);
  }
  return endpoint.address.to_string() + ":" + std::to_string(endpoint.port);
}

std::string_view toString(LogLevel level) {
  for (const auto& [l, name] : kLogLevels) {
    if (l == level) {
      return name;
    }
  }
  return "info";
}

std::string toConfigFile(const Config& config) {
  std::string out = "# confab effective configuration\n";
  for (const auto& setting : kSettings) {
    for (const auto& value : setting.write(config)) {
      out += std::string(setting.name) + " =";
      out += value.empty() ? "\n" : " " + value + "\n";
    }
  }
  return out;
}

std::vector<std::string> changedOptions(const Config& before, const Config& after) {
  std::vector<std::string> changed;
  for (const auto& setting : kSettings) {
    if (setting.write(before) != setting.write(after)) {
      changed.emplace_back(setting.name);
    }
  }
  return changed;
}

Result parse(int argc, const char* const* argv) {
  try {
    Descriptions d = describe();
    po::options_description commandLine;
    commandLine.add(d.commandLine).add(d.settings).add(d.hidden);
    po::positional_options_description positional;
    positional.add("unexpected-argument", -1);

    // Options must be spelled out: with guessing, a later option could change what an
    // abbreviation in someone's unit file means.
    constexpr int kStyle =
        po::command_line_style::default_style & ~po::command_line_style::allow_guessing;
    po::parsed_options fromCommandLine(&commandLine);
    try {
      fromCommandLine = po::command_line_parser(argc, const_cast<char**>(argv))
                            .options(commandLine)
                            .positional(positional)
                            .style(kStyle)
                            .run();
    } catch (const po::error& e) {
      return Error{commandLineError(e)};
    }
    std::set<std::string> givenOnCommandLine;
    for (const auto& option : fromCommandLine.options) {
      givenOnCommandLine.insert(option.string_key);
    }

    po::variables_map vm;
    try {
      po::store(fromCommandLine, vm);
    } catch (const po::error& e) {
      return Error{commandLineError(e)};
    }
    if (vm.count("unexpected-argument") != 0) {
      return Error{"unexpected argument \"" + vm["unexpected-argument"].as<Values>().front() +
                   "\" (options start with --)"};
    }
    if (vm.count("help") != 0) {
      return Exit{d.helpText};
    }
    if (vm.count("version") != 0) {
      return Exit{"confab " CONFAB_VERSION "\n"};
    }

    // Lower layers: the config file, then the built-in defaults. program_options keeps the
    // first source's value of an option, so store() runs from the highest priority down.
    std::vector<ConfigText> files;
    auto addLayer = [&](std::string name, const std::string& text) -> std::optional<Error> {
      auto checked = checkConfigText(std::move(name), text);
      if (auto* error = std::get_if<Error>(&checked)) {
        return *error;
      }
      files.push_back(std::get<ConfigText>(std::move(checked)));
      try {
        std::istringstream in(text);
        po::store(po::parse_config_file(in, d.settings), vm);
      } catch (const po::error& e) {
        return Error{files.back().name + ": " + e.what()};
      }
      return std::nullopt;
    };
    Config config;
    if (vm.count("config") != 0) {
      config.configFile = vm["config"].as<std::string>();
      std::ifstream in(config.configFile, std::ios::binary);
      if (!in) {
        return Error{config.configFile +
                     ": cannot read config file: " + std::generic_category().message(errno)};
      }
      std::ostringstream text;
      text << in.rdbuf();
      if (in.bad()) {
        return Error{config.configFile + ": cannot read config file"};
      }
      if (auto error = addLayer(config.configFile, text.str())) {
        return *error;
      }
    }
    if (auto error = addLayer("built-in defaults", std::string(kDefaultConfig))) {
      return *error;
    }

    auto whereIs = [&](std::string_view option, std::string_view value) {
      if (givenOnCommandLine.count(std::string(option)) != 0) {
        return Origin{"", "--" + std::string(option)};
      }
      for (const auto& file : files) {
        if (std::any_of(file.lines.begin(), file.lines.end(),
                        [&](const Line& line) { return line.name == option; })) {
          return file.where(option, value);
        }
      }
      return Origin{"", std::string(option)};
    };
    for (const auto& setting : kSettings) {
      auto values = valuesOf(vm, setting);
      if (values.empty()) {
        continue;  // not in the built-in defaults: a test catches that
      }
      if (auto refusal = setting.read(config, values)) {
        return Error{describeValueError(whereIs(setting.name, refusal->value), *refusal)};
      }
    }
    if (auto fault = crossCheck(config)) {
      return Error{describeValueError(whereIs(fault->first, fault->second.value), fault->second)};
    }
    if (vm.count("print-config") != 0) {
      return Exit{toConfigFile(config)};
    }
    return config;
  } catch (const std::exception& e) {
    // Start-up code: anything else program_options or the standard library throws still ends
    // as a message, not an abort.
    return Error{e.what()};
  }
}

std::string Registration::aorUser() const {
  auto colon = aor.find(':');
  auto at = aor.find('@');
  if (colon == std::string::npos || at == std::string::npos || at < colon) {
    return {};
  }
  std::string userInfo = aor.substr(colon + 1, at - colon - 1);
  return userInfo.substr(0, userInfo.find(':'));  // RFC 3261 §19.1.1: user [":" password]
}

std::variant<std::map<std::string, std::string>, std::string> readPasswordFile(
    const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return path + ": cannot read: " + std::generic_category().message(errno);
  }
  std::map<std::string, std::string> passwords;
  std::string line;
  int number = 0;
  while (std::getline(in, line)) {
    ++number;
    if (!line.empty() && line.back() == '\r') {
      line.pop_back();
    }
    if (line.empty() || line.front() == '#') {
      continue;
    }
    // Never a password in a message: only the line number and the user.
    auto colon = line.find(':');
    if (colon == std::string::npos || colon == 0) {
      return path + ":" + std::to_string(number) + ": expected USER:PASSWORD";
    }
    auto [it, inserted] = passwords.emplace(line.substr(0, colon), line.substr(colon + 1));
    if (!inserted) {
      return path + ":" + std::to_string(number) + ": " + it->first + " given twice";
    }
  }
  if (in.bad()) {
    return path + ": cannot read";
  }
  return passwords;
}

std::optional<std::uint64_t> parseNumber(std::string_view text) {
  if (text.empty() || text.size() > 19 ||
      !std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    return std::nullopt;
  }
  std::uint64_t n = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
  if (ec != std::errc() || end != text.data() + text.size()) {
    return std::nullopt;
  }
  return n;
}

}  // namespace confab::config
