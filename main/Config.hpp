// Start-up configuration of the confab binary: every option, its default, and the one parser that
// reads them from the built-in defaults, a config file and the command line (in rising priority).
#pragma once

#include <boost/asio/ip/address.hpp>
#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace confab::config {

// A numeric address and port to listen on. Port 0 asks the system for a free port (tests use it).
struct Endpoint {
  boost::asio::ip::address address;
  std::uint16_t port = 0;

  friend bool operator==(const Endpoint&, const Endpoint&) = default;
};

// An inclusive range of UDP ports for RTP; always holds at least two ports (RTP and RTCP).
struct PortRange {
  std::uint16_t first = 20000;
  std::uint16_t last = 29999;

  friend bool operator==(const PortRange&, const PortRange&) = default;
};

enum class LogLevel { kTrace, kDebug, kInfo, kWarning, kError };

enum class SipTransport { kUdp, kTcp, kTls };

// A room address the focus registers with a PBX or registrar (--register), so that calls to it
// reach the room. The password is never an option: it comes from passwordFile.
struct Registration {
  std::string aor;                  // sip:USER@DOMAIN, the address of record
  std::string registrarHost;        // IP address (IPv6 in brackets) or host name
  std::uint16_t registrarPort = 0;  // 0: the transport's default
  SipTransport transport = SipTransport::kUdp;
  std::string user;              // digest username; empty: the AOR's user part
  std::uint32_t expires = 3600;  // seconds asked for
  std::string room;              // the room calls reach; empty: the AOR's user part

  // The AOR's user part (what user and room default to).
  [[nodiscard]] std::string aorUser() const;
  [[nodiscard]] std::string authUser() const { return user.empty() ? aorUser() : user; }
  [[nodiscard]] std::string roomId() const { return room.empty() ? aorUser() : room; }
  friend bool operator==(const Registration&, const Registration&) = default;
};

// Where requests go on their way (an outbound proxy, RFC 3261 §8.1.2).
struct SipHop {
  std::string host;        // IP address (IPv6 in brackets) or host name
  std::uint16_t port = 0;  // 0: the transport's default
  SipTransport transport = SipTransport::kUdp;
  friend bool operator==(const SipHop&, const SipHop&) = default;
};

// A room served from configuration: callers dial sip:ID@host.
struct Room {
  std::string id;
  std::string name;  // shown to people; the id when the configuration gives none

  friend bool operator==(const Room&, const Room&) = default;
};

// Every option of the binary. A default-constructed Config equals what `confab` with no arguments
// runs with (the built-in defaults, kDefaultConfig); a test keeps the two in step.
struct Config {
  // --config: the INI file read underneath the command line; empty when none was given.
  std::string configFile;

  // SIP listening points per transport; an empty list means the transport is off.
  std::vector<Endpoint> sipUdp{{boost::asio::ip::address_v4::any(), 5060}};
  std::vector<Endpoint> sipTcp{{boost::asio::ip::address_v4::any(), 5060}};
  std::vector<Endpoint> sipTls{{boost::asio::ip::address_v4::any(), 5061}};
  // Host name (or address) put in Contact and Via; empty: derived from the local address.
  std::string sipDomain;
  // PEM certificate chain and private key for SIP over TLS; both empty: a self-signed pair is
  // generated in dataDir.
  std::string tlsCert;
  std::string tlsKey;
  // Our outgoing TLS (dial-out, registration, NOTIFY) checks the peer's certificate against
  // tlsCaFile (PEM; empty: the system's trust store) and the host it names (RFC 5922 §7.2).
  bool tlsVerifyPeer = false;
  std::string tlsCaFile;

  // REST API listening point; nullopt means off.
  std::optional<Endpoint> api = Endpoint{boost::asio::ip::make_address_v4("127.0.0.1"), 8080};
  // The API's access log, one JSON object per line (api/AccessLog.hpp): a file, "-" for standard
  // error, empty for none.
  std::string apiAccessLog;
  // The API over HTTPS (TLS 1.2 or later) instead of plain HTTP, presenting apiTlsCert and
  // apiTlsKey, or, both empty, the SIP TLS identity (tlsCert/tlsKey or the generated one). Off by
  // default: a proxy in front (nginx, Kamailio) often terminates TLS itself.
  bool apiTls = false;
  std::string apiTlsCert;
  std::string apiTlsKey;
  // Webhooks may POST to loopback, private and link-local addresses (a receiver on this machine
  // or network); off, such URLs are refused, so a tenant cannot reach into the operator's network.
  bool apiWebhooksPrivate = false;

  // Where state lives (generated certificates, the room database). Relative paths, here and in
  // tlsCert/tlsKey, are taken from the working directory, not from the config file's folder.
  std::string dataDir = "./confab-data";
  std::string soundsDir;  // the voice prompts; empty: DATA-DIR/sounds
  // The policy store: empty, DATA-DIR/policy.db; else a SQLite file's path or a PostgreSQL
  // connection URI (policy::Store::open), which several nodes may share.
  std::string store;
  // The policy store flushes each change to the disk (SQLite synchronous=FULL), not only to the
  // operating system (NORMAL, in WAL mode: safe from a crash of confab, not of the machine).
  bool storeSyncFull = false;
  // Call detail records are swept this many days after they end; 0 keeps them.
  unsigned recordsDays = 400;

  PortRange rtpPorts;
  // Local address the RTP sockets bind to.
  boost::asio::ip::address rtpAddress = boost::asio::ip::address_v4::any();
  // Address written into SDP c= lines; nullopt: derived from the local address of each call.
  std::optional<boost::asio::ip::address> mediaAddress;
  // The confab-mixers' control addresses (their --listen); none: the mixer runs in this process.
  // Several: rooms are spread over them (mixer/remote/MixerSet.hpp). With remote mixers,
  // rtpPorts, rtpAddress and mixerThreads are unused (each mixer has its own).
  std::vector<Endpoint> mixers;
  // Those of 'mixers' that take no new rooms (their running rooms stay); reloadable.
  std::vector<Endpoint> mixerDrain;
  // The file holding the secret shared with the confab-mixers (docs/mixer-protocol.md,
  // "Authentication"); empty: none, which only a mixer on a loopback address accepts.
  std::string mixerSecretFile;
  // TLS 1.3 on the control connection (confab-mixer --tls); needs mixerSecretFile.
  bool mixerTls = false;

  LogLevel logLevel = LogLevel::kInfo;
  // On SIGTERM: how long to wait for the answers to the BYEs before leaving anyway.
  std::chrono::seconds stopWait{5};

  std::vector<Room> rooms{{"1000", "1000"}, {"1001", "1001"}};
  // The user part of the lobby (sip:LOBBY@host): a voice menu asks for the meeting number.
  // Empty: no lobby.
  std::string lobby = "lobby";
  // The conference factory's user part (RFC 4579 §5.3): an INVITE to sip:FACTORY@host makes an
  // ad-hoc conference. Empty: no factory.
  std::string factory;

  // RFC 3261 §17.1.1.1 timer values.
  std::chrono::milliseconds sipT1{500};
  std::chrono::milliseconds sipT2{4000};
  std::chrono::milliseconds sipT4{5000};
  // RFC 4028 session timer we ask for; never below Min-SE, 90 s (RFC 4028 §4).
  std::chrono::seconds sessionExpires{1800};
  // A SIP TCP/TLS connection that carries no SIP message for this long is closed (keep-alives do
  // not count; a connection under a call is kept).
  std::chrono::seconds tcpIdleTimeout{120};
  // Connections from one address: 256 addresses are needed to fill the 4096 in all.
  unsigned maxConnectionsPerSource = 16;
  // Abuse controls (focus/room/Abuse.hpp), per source IP address; 0 turns one off.
  unsigned invitesPerSecond = 10;
  unsigned inviteBurst = 20;
  unsigned callsPerSource = 20;
  unsigned wrongPinsPerSource = 10;  // within 10 minutes: that address is locked out
  unsigned wrongPinsPerRoom = 50;    // within 10 minutes, from anywhere: PIN entry closes
  unsigned pinLockoutMinutes = 15;
  unsigned pinWindowMinutes = 10;   // the window the wrong PINs above are counted in
  unsigned roomLockoutMinutes = 5;  // how long a room's PIN entry stays closed
  unsigned entryAttempts = 3;       // wrong answers (meeting number, PIN) before goodbye
  unsigned entryKeySeconds = 10;    // no key for this long counts as a wrong answer
  // Addresses exempt from the per-source limits: a SIP proxy in front (Kamailio) sends every
  // caller's INVITE from its own address.
  std::vector<boost::asio::ip::address> trustedSources;
  std::size_t maxMessageBytes = 65535;

  unsigned mixerThreads = 0;     // 0: one per core
  // The mixer threads read RTP through io_uring where the kernel allows it; false: epoll always.
  bool mixerIoUring = true;
  unsigned maxParticipants = 0;  // per room; 0: no limit
  // Ring this long with 180 before answering (lets a caller hear ringback, and CANCEL); 0: none.
  std::chrono::milliseconds answerDelay{0};
  // Room addresses registered with a PBX or registrar; none by default.
  std::vector<Registration> registrations;
  // Lines of USER:PASSWORD for the registrations' digest authentication; empty: none.
  std::string passwordFile;
  // The digest username for the focus's own calls (REFER dial-outs) from rooms whose tenant has
  // no dial-out account in the store; its password in passwordFile. Empty: challenges to those
  // dial-outs are not answered.
  std::string dialOutUser;
  // Dial-outs go through this proxy; none: straight to the callee's address (RFC 3263 DNS).
  std::optional<SipHop> outboundProxy;

  // Every room refuses plain RTP.
  bool requireSrtp = false;
  // SpeexDSP noise suppression and automatic gain on every caller's voice before it is mixed.
  bool noiseSuppression = false;
  bool automaticGain = false;

  friend bool operator==(const Config&, const Config&) = default;
};

// RFC 4028 §4: the smallest Session-Expires a UA may ask for.
inline constexpr std::chrono::seconds kMinSessionExpires{90};

// The built-in defaults, in config-file syntax and read by the same parser as a config file: what
// a fresh laptop start runs with, including rooms so that a first call gets answered.
inline constexpr std::string_view kDefaultConfig = R"(# confab built-in defaults
sip-udp = 0.0.0.0:5060
sip-tcp = 0.0.0.0:5060
sip-tls = 0.0.0.0:5061
sip-domain =
tls-cert =
tls-key =
tls-verify-peer = no
tls-ca-file =
api = 127.0.0.1:8080
api-access-log =
api-tls = no
api-tls-cert =
api-tls-key =
api-webhooks-private = no
data-dir = ./confab-data
sounds-dir =
store =
store-sync = normal
records-days = 400
rtp-ports = 20000-29999
rtp-address = 0.0.0.0
media-address =
mixer =
mixer-drain =
mixer-secret-file =
mixer-tls = no
log-level = info
stop-wait = 5
room = 1000
room = 1001
lobby = lobby
factory = off
sip-t1-ms = 500
sip-t2-ms = 4000
sip-t4-ms = 5000
session-expires = 1800
tcp-idle-timeout = 120
max-connections-per-source = 16
invites-per-second = 10
invite-burst = 20
calls-per-source = 20
wrong-pins-per-source = 10
wrong-pins-per-room = 50
pin-lockout-minutes = 15
pin-window-minutes = 10
room-lockout-minutes = 5
entry-attempts = 3
entry-key-seconds = 10
trusted-source = off
max-message-bytes = 65535
mixer-threads = 0
mixer-io = io_uring
max-participants = 0
answer-delay-ms = 0
register = off
password-file =
dial-out-user =
outbound-proxy = off
require-srtp = no
noise-suppression = no
agc = no
)";

// --help, --version or --print-config: print text on standard output and exit successfully.
struct Exit {
  std::string text;
};

// Why the options were refused, naming the option and the value (and the file and line when they
// came from a config file). Print it on standard error and exit with status 2.
struct Error {
  std::string message;
};

using Result = std::variant<Config, Exit, Error>;

// Reads the built-in defaults, then the file named by --config, then the command line; a later
// source replaces what an earlier one said for the same option (repeatable options included:
// `--room x` on the command line replaces every room of the file). Never throws.
Result parse(int argc, const char* const* argv);

// The configuration in config-file syntax; parsing it back gives the same Config.
std::string toConfigFile(const Config& config);

// The names of the options whose values differ between two configurations (each once, in the
// order --help lists them): what a reload has to apply or report.
std::vector<std::string> changedOptions(const Config& before, const Config& after);

// "0.0.0.0:5060", "[::1]:8080".
std::string toString(const Endpoint& endpoint);

// Reads "ADDRESS:PORT" (IPv6 in brackets, numeric only) and "FIRST-LAST"; the reason otherwise.
// Shared with confab-mixer's options (main/MixerOptions.hpp).
std::variant<Endpoint, std::string> parseEndpoint(std::string_view text);
std::variant<PortRange, std::string> parsePortRange(std::string_view text);
// A whole decimal number (digits only, no sign or spaces), or nothing.
std::optional<std::uint64_t> parseNumber(std::string_view text);
std::string_view toString(LogLevel level);

// Reads a --password-file: one USER:PASSWORD per line (the password is the rest of the
// line, colons included); blank lines and lines starting with '#' are skipped. The passwords by
// user, or why the file was refused.
std::variant<std::map<std::string, std::string>, std::string> readPasswordFile(
    const std::string& path);

}  // namespace confab::config
