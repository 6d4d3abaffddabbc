// config::parse: defaults, every option from the command line and from a file, precedence, and
// a refusal naming the option for each kind of bad value.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <initializer_list>
#include <string>
#include <vector>

#include "main/Config.hpp"

namespace confab::config {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::StartsWith;
namespace ip = boost::asio::ip;

Result parseArgs(std::initializer_list<std::string> args) {
  std::vector<std::string> owned{"confab"};
  owned.insert(owned.end(), args.begin(), args.end());
  std::vector<const char*> argv;
  for (const auto& arg : owned) {
    argv.push_back(arg.c_str());
  }
  return parse(static_cast<int>(argv.size()), argv.data());
}

Config expectConfig(const Result& result) {
  if (const auto* error = std::get_if<Error>(&result)) {
    ADD_FAILURE() << "unexpected error: " << error->message;
  } else if (std::holds_alternative<Exit>(result)) {
    ADD_FAILURE() << "unexpected exit: " << std::get<Exit>(result).text;
  }
  const auto* config = std::get_if<Config>(&result);
  return config != nullptr ? *config : Config{};
}

std::string expectError(const Result& result) {
  const auto* error = std::get_if<Error>(&result);
  EXPECT_NE(error, nullptr) << "expected an error";
  return error != nullptr ? error->message : std::string();
}

// A config file in the test's temporary folder, removed at the end of the test.
class TempFile {
 public:
  explicit TempFile(const std::string& text) {
    static std::atomic<int> counter{0};
    path_ =
        std::filesystem::path(::testing::TempDir()) /
        ("confab-config-" + std::to_string(::getpid()) + "-" + std::to_string(counter++) + ".ini");
    std::ofstream(path_) << text;
  }
  ~TempFile() { std::filesystem::remove(path_); }
  TempFile(const TempFile&) = delete;
  TempFile& operator=(const TempFile&) = delete;
  [[nodiscard]] std::string path() const { return path_.string(); }

 private:
  std::filesystem::path path_;
};

Endpoint endpoint(const char* address, std::uint16_t port) {
  return Endpoint{ip::make_address(address), port};
}

// Every option with a value unlike its default, once per option, in config-file syntax.
constexpr const char* kEveryOption =
    "sip-udp = 192.0.2.1:5070\n"
    "sip-udp = [::]:5070\n"
    "sip-tcp = 192.0.2.1:5071\n"
    "sip-tls = [2001:db8::1]:5072\n"
    "sip-domain = sip.example.com\n"
    "tls-cert = /etc/confab/cert.pem\n"
    "tls-key = /etc/confab/key.pem\n"
    "api = [::1]:9090\n"
    "data-dir = /var/lib/confab\n"
    "sounds-dir = /usr/share/confab/sounds\n"
    "rtp-ports = 40000-40099\n"
    "rtp-address = 192.0.2.1\n"
    "media-address = 198.51.100.7\n"
    "mixer = 192.0.2.9:7070\n"
    "mixer = 192.0.2.10:7070\n"
    "mixer-drain = 192.0.2.10:7070\n"
    "mixer-secret-file = /etc/confab/mixer.secret\n"
    "mixer-tls = yes\n"
    "log-level = debug\n"
    "stop-wait = 12\n"
    "room = sales:Sales Team\n"
    "room = 42\n"
    "sip-t1-ms = 250\n"
    "sip-t2-ms = 2000\n"
    "sip-t4-ms = 3000\n"
    "session-expires = 600\n"
    "tcp-idle-timeout = 30\n"
    "max-connections-per-source = 8\n"
    "max-message-bytes = 8192\n"
    "mixer-threads = 3\n"
    "mixer-io = epoll\n"
    "max-participants = 25\n"
    "answer-delay-ms = 1500\n"
    "require-srtp = yes\n"
    "noise-suppression = yes\n"
    "agc = on\n"
    "register = sip:7001@pbx.example.com,192.0.2.10:5080;transport=tcp,auth7001,600,sales\n"
    "register = sips:42@pbx.example.com,[2001:db8::5]\n"
    "password-file = /etc/confab/register.passwords\n";

void expectEveryOption(const Config& c) {
  EXPECT_EQ(c.sipUdp, (std::vector{endpoint("192.0.2.1", 5070), endpoint("::", 5070)}));
  EXPECT_EQ(c.sipTcp, (std::vector{endpoint("192.0.2.1", 5071)}));
  EXPECT_EQ(c.sipTls, (std::vector{endpoint("2001:db8::1", 5072)}));
  EXPECT_EQ(c.sipDomain, "sip.example.com");
  EXPECT_EQ(c.tlsCert, "/etc/confab/cert.pem");
  EXPECT_EQ(c.tlsKey, "/etc/confab/key.pem");
  EXPECT_EQ(c.api, endpoint("::1", 9090));
  EXPECT_EQ(c.dataDir, "/var/lib/confab");
  EXPECT_EQ(c.soundsDir, "/usr/share/confab/sounds");
  EXPECT_EQ(c.rtpPorts, (PortRange{40000, 40099}));
  EXPECT_EQ(c.rtpAddress, ip::make_address("192.0.2.1"));
  EXPECT_EQ(c.mediaAddress, ip::make_address("198.51.100.7"));
  EXPECT_EQ(c.mixers,
            (std::vector<Endpoint>{endpoint("192.0.2.9", 7070), endpoint("192.0.2.10", 7070)}));
  EXPECT_EQ(c.mixerDrain, (std::vector<Endpoint>{endpoint("192.0.2.10", 7070)}));
  EXPECT_EQ(c.mixerSecretFile, "/etc/confab/mixer.secret");
  EXPECT_TRUE(c.mixerTls);
  EXPECT_EQ(c.logLevel, LogLevel::kDebug);
  EXPECT_EQ(c.stopWait, std::chrono::seconds(12));
  EXPECT_EQ(c.rooms, (std::vector<Room>{{"sales", "Sales Team"}, {"42", "42"}}));
  EXPECT_EQ(c.sipT1, std::chrono::milliseconds(250));
  EXPECT_EQ(c.sipT2, std::chrono::milliseconds(2000));
  EXPECT_EQ(c.sipT4, std::chrono::milliseconds(3000));
  EXPECT_EQ(c.sessionExpires, std::chrono::seconds(600));
  EXPECT_EQ(c.tcpIdleTimeout, std::chrono::seconds(30));
  EXPECT_EQ(c.maxConnectionsPerSource, 8U);
  EXPECT_EQ(c.maxMessageBytes, 8192U);
  EXPECT_EQ(c.mixerThreads, 3U);
  EXPECT_FALSE(c.mixerIoUring);
  EXPECT_EQ(c.maxParticipants, 25U);
  EXPECT_EQ(c.answerDelay, std::chrono::milliseconds(1500));
  EXPECT_TRUE(c.requireSrtp);
  EXPECT_TRUE(c.noiseSuppression);
  EXPECT_TRUE(c.automaticGain);
  ASSERT_EQ(c.registrations.size(), 2U);
  EXPECT_EQ(c.registrations[0], (Registration{"sip:7001@pbx.example.com", "192.0.2.10", 5080,
                                              SipTransport::kTcp, "auth7001", 600, "sales"}));
  EXPECT_EQ(c.registrations[1],
            (Registration{"sips:42@pbx.example.com", "[2001:db8::5]", 0, SipTransport::kUdp, "",
                          3600, ""}));
  EXPECT_EQ(c.registrations[1].authUser(), "42");
  EXPECT_EQ(c.registrations[1].roomId(), "42");
  EXPECT_EQ(c.passwordFile, "/etc/confab/register.passwords");
}

TEST(ConfigDefaults, NoArgumentsGivesTheBuiltInDefaults) {
  Config c = expectConfig(parseArgs({}));
  // The struct's initializers and kDefaultConfig say the same thing.
  EXPECT_EQ(c, Config{});
  EXPECT_EQ(c.sipUdp, (std::vector{endpoint("0.0.0.0", 5060)}));
  EXPECT_EQ(c.sipTcp, (std::vector{endpoint("0.0.0.0", 5060)}));
  EXPECT_EQ(c.sipTls, (std::vector{endpoint("0.0.0.0", 5061)}));
  EXPECT_EQ(c.api, endpoint("127.0.0.1", 8080));
  EXPECT_EQ(c.dataDir, "./confab-data");
  EXPECT_EQ(c.rtpPorts, (PortRange{20000, 29999}));
  EXPECT_EQ(c.logLevel, LogLevel::kInfo);
  EXPECT_FALSE(c.mediaAddress.has_value());
  EXPECT_TRUE(c.mixers.empty());  // the mixer runs in-process
  EXPECT_TRUE(c.mixerDrain.empty());
  EXPECT_TRUE(c.sipDomain.empty());
  EXPECT_EQ(c.sessionExpires, std::chrono::seconds(1800));
  ASSERT_EQ(c.rooms.size(), 2U);
  EXPECT_EQ(c.rooms[0].id, "1000");
  EXPECT_EQ(c.rooms[1].id, "1001");
  EXPECT_EQ(c.lobby, "lobby");
  EXPECT_TRUE(c.configFile.empty());
}

TEST(ConfigDefaults, BuiltInDefaultsNameEveryOption) {
  // Help takes each default from kDefaultConfig, and parse() reads nothing for an option that
  // is missing there.
  for (const char* name : {"sip-udp",
                           "sip-tcp",
                           "sip-tls",
                           "sip-domain",
                           "tls-cert",
                           "tls-key",
                           "api",
                           "api-webhooks-private",
                           "data-dir",
                           "sounds-dir",
                           "rtp-ports",
                           "rtp-address",
                           "media-address",
                           "mixer",
                           "mixer-secret-file",
                           "mixer-tls",
                           "log-level",
                           "stop-wait",
                           "room",
                           "sip-t1-ms",
                           "sip-t2-ms",
                           "sip-t4-ms",
                           "session-expires",
                           "tcp-idle-timeout",
                           "max-connections-per-source",
                           "max-message-bytes",
                           "mixer-threads",
                           "mixer-io",
                           "max-participants",
                           "answer-delay-ms",
                           "require-srtp",
                           "noise-suppression",
                           "agc",
                           "lobby",
                           "invites-per-second",
                           "invite-burst",
                           "calls-per-source",
                           "wrong-pins-per-source",
                           "wrong-pins-per-room",
                           "pin-lockout-minutes",
                           "trusted-source",
                           "pin-window-minutes",
                           "room-lockout-minutes",
                           "entry-attempts",
                           "entry-key-seconds",
                           "register",
                           "password-file",
                           "factory",
                           "dial-out-user",
                           "outbound-proxy"}) {
    EXPECT_THAT(std::string(kDefaultConfig), HasSubstr(std::string("\n") + name + " =")) << name;
  }
}

TEST(ConfigCommandLine, EveryOption) {
  Config c = expectConfig(parseArgs({
      "--sip-udp",
      "192.0.2.1:5070",
      "--sip-udp=[::]:5070",
      "--sip-tcp",
      "192.0.2.1:5071",
      "--sip-tls",
      "[2001:db8::1]:5072",
      "--sip-domain",
      "sip.example.com",
      "--tls-cert",
      "/etc/confab/cert.pem",
      "--tls-key",
      "/etc/confab/key.pem",
      "--api",
      "[::1]:9090",
      "--data-dir",
      "/var/lib/confab",
      "--sounds-dir",
      "/usr/share/confab/sounds",
      "--rtp-ports",
      "40000-40099",
      "--rtp-address",
      "192.0.2.1",
      "--media-address",
      "198.51.100.7",
      "--mixer",
      "192.0.2.9:7070",
      "--mixer",
      "192.0.2.10:7070",
      "--mixer-drain",
      "192.0.2.10:7070",
      "--mixer-secret-file",
      "/etc/confab/mixer.secret",
      "--mixer-tls",
      "yes",
      "--log-level",
      "debug",
      "--stop-wait",
      "12",
      "--room",
      "sales:Sales Team",
      "--room",
      "42",
      "--sip-t1-ms",
      "250",
      "--sip-t2-ms",
      "2000",
      "--sip-t4-ms",
      "3000",
      "--session-expires",
      "600",
      "--tcp-idle-timeout",
      "30",
      "--max-connections-per-source",
      "8",
      "--max-message-bytes",
      "8192",
      "--mixer-threads",
      "3",
      "--mixer-io",
      "epoll",
      "--max-participants",
      "25",
      "--answer-delay-ms",
      "1500",
      "--require-srtp",
      "yes",
      "--noise-suppression",
      "yes",
      "--agc",
      "on",
      "--register",
      "sip:7001@pbx.example.com,192.0.2.10:5080;transport=tcp,auth7001,600,sales",
      "--register=sips:42@pbx.example.com,[2001:db8::5]",
      "--password-file",
      "/etc/confab/register.passwords",
  }));
  expectEveryOption(c);
}

TEST(ConfigFile, EveryOption) {
  TempFile file(std::string("# a comment\n\n") + kEveryOption);
  Config c = expectConfig(parseArgs({"--config", file.path()}));
  expectEveryOption(c);
  EXPECT_EQ(c.configFile, file.path());
}

TEST(ConfigFile, ShortOptionAndComments) {
  TempFile file("log-level = error   # only errors\n  room = x  \n");
  Config c = expectConfig(parseArgs({"-c", file.path()}));
  EXPECT_EQ(c.logLevel, LogLevel::kError);
  EXPECT_EQ(c.rooms, (std::vector<Room>{{"x", "x"}}));
  // What the file does not name keeps its default.
  EXPECT_EQ(c.rtpPorts, (PortRange{20000, 29999}));
}

TEST(ConfigPrecedence, CommandLineOverridesFile) {
  TempFile file("log-level = error\nroom = a\nroom = b\nrtp-ports = 30000-30099\n");
  Config c =
      expectConfig(parseArgs({"--config", file.path(), "--log-level", "trace", "--room", "c"}));
  EXPECT_EQ(c.logLevel, LogLevel::kTrace);
  // A repeatable option on the command line replaces the file's list, not adds to it.
  EXPECT_EQ(c.rooms, (std::vector<Room>{{"c", "c"}}));
  EXPECT_EQ(c.rtpPorts, (PortRange{30000, 30099}));
}

TEST(ConfigPrecedence, FileListReplacesBuiltInList) {
  TempFile file("sip-udp = [::]:5060\n");
  Config c = expectConfig(parseArgs({"--config", file.path()}));
  EXPECT_EQ(c.sipUdp, (std::vector{endpoint("::", 5060)}));
  EXPECT_EQ(c.rooms.size(), 2U);
}

// A reload (SIGHUP) applies or reports each option that changed, and only those.
TEST(ConfigReload, ChangedOptionsNamesEachDifferingOptionOnce) {
  TempFile before("log-level = info\nroom = 1000\ninvites-per-second = 10\n");
  TempFile after("log-level = debug\nroom = 1000\nroom = 2000:Sales\ninvites-per-second = 10\n"
                 "sip-udp = 127.0.0.1:5070\n");
  const Config a = expectConfig(parseArgs({"--config", before.path()}));
  const Config b = expectConfig(parseArgs({"--config", after.path()}));
  EXPECT_EQ(changedOptions(a, b), (std::vector<std::string>{"sip-udp", "room", "log-level"}));
  EXPECT_EQ(changedOptions(b, a), changedOptions(a, b));
  EXPECT_TRUE(changedOptions(a, a).empty());
  // The same settings from another file: the file's name is not an option.
  TempFile copy("log-level = info\nroom = 1000\ninvites-per-second = 10\n");
  const Config c = expectConfig(parseArgs({"--config", copy.path()}));
  EXPECT_NE(a.configFile, c.configFile);
  EXPECT_TRUE(changedOptions(a, c).empty());
}

TEST(ConfigAbuse, TrustedSourcesAndLimitsAreRead) {
  Config c = expectConfig(parseArgs({"--trusted-source", "192.0.2.7", "--trusted-source", "::1",
                                     "--invites-per-second", "0", "--lobby", "off"}));
  ASSERT_EQ(c.trustedSources.size(), 2U);
  EXPECT_EQ(c.trustedSources[0].to_string(), "192.0.2.7");
  EXPECT_EQ(c.trustedSources[1].to_string(), "::1");
  EXPECT_EQ(c.invitesPerSecond, 0U);
  EXPECT_TRUE(c.lobby.empty());
  EXPECT_TRUE(expectConfig(parseArgs({})).trustedSources.empty());
}

TEST(ConfigEndpoints, IPv6AndScopes) {
  Config c = expectConfig(parseArgs({"--sip-udp", "[::1]:0", "--sip-udp", "127.0.0.1:65535"}));
  EXPECT_EQ(c.sipUdp, (std::vector{endpoint("::1", 0), endpoint("127.0.0.1", 65535)}));
  EXPECT_EQ(toString(c.sipUdp[0]), "[::1]:0");
  EXPECT_EQ(toString(c.sipUdp[1]), "127.0.0.1:65535");
}

TEST(ConfigEndpoints, OffDisablesATransport) {
  Config c = expectConfig(
      parseArgs({"--sip-udp", "off", "--sip-tls", "off", "--api", "off", "--room", "off"}));
  EXPECT_TRUE(c.sipUdp.empty());
  EXPECT_TRUE(c.sipTls.empty());
  EXPECT_FALSE(c.sipTcp.empty());
  EXPECT_FALSE(c.api.has_value());
  EXPECT_TRUE(c.rooms.empty());
}

TEST(ConfigEndpoints, OffInFile) {
  TempFile file("sip-tcp = off\napi = off\n");
  Config c = expectConfig(parseArgs({"--config", file.path()}));
  EXPECT_TRUE(c.sipTcp.empty());
  EXPECT_FALSE(c.api.has_value());
}

struct BadValue {
  std::vector<std::string> args;
  std::string option;
  std::string reason;
};

void PrintTo(const BadValue& bad, std::ostream* out) {
  for (const auto& arg : bad.args) {
    *out << arg << ' ';
  }
}

class ConfigBadValue : public ::testing::TestWithParam<BadValue> {};

TEST_P(ConfigBadValue, RefusedNamingOptionAndValue) {
  const auto& bad = GetParam();
  std::vector<const char*> argv{"confab"};
  for (const auto& arg : bad.args) {
    argv.push_back(arg.c_str());
  }
  auto result = parse(static_cast<int>(argv.size()), argv.data());
  auto message = expectError(result);
  EXPECT_THAT(message,
              HasSubstr("invalid value for --" + bad.option + ": \"" + bad.args.back() + "\""));
  EXPECT_THAT(message, HasSubstr(bad.reason));
}

INSTANTIATE_TEST_SUITE_P(
    Values,
    ConfigBadValue,
    ::testing::Values(
        BadValue{{"--rtp-ports", "30000-20000"}, "rtp-ports", "first port is above last port"},
        BadValue{{"--rtp-ports", "20000"}, "rtp-ports", "FIRST-LAST"},
        BadValue{{"--rtp-ports", "80-90"}, "rtp-ports", "between 1024 and 65535"},
        BadValue{{"--rtp-ports", "20000-70000"}, "rtp-ports", "between 1024 and 65535"},
        BadValue{{"--rtp-ports", "20000-20000"}, "rtp-ports", "at least 2 ports"},
        BadValue{{"--rtp-ports", "a-b"}, "rtp-ports", "two port numbers"},
        BadValue{{"--sip-udp", "0.0.0.0"}, "sip-udp", "ADDRESS:PORT"},
        BadValue{{"--sip-udp", "0.0.0.0:65536"}, "sip-udp", "not a port number"},
        BadValue{{"--sip-udp", "0.0.0.0:-1"}, "sip-udp", "not a port number"},
        BadValue{{"--sip-udp", "0.0.0.0:"}, "sip-udp", "not a port number"},
        BadValue{{"--sip-udp", "localhost:5060"}, "sip-udp", "not a numeric IP address"},
        BadValue{{"--sip-udp", "300.1.1.1:5060"}, "sip-udp", "not a numeric IP address"},
        BadValue{{"--sip-udp", ":::5060"}, "sip-udp", "brackets"},
        BadValue{{"--sip-udp", "[::1:5060"}, "sip-udp", "missing ']'"},
        BadValue{{"--sip-udp", "[::1]5060"}, "sip-udp", "expected :PORT"},
        BadValue{{"--sip-udp", "[127.0.0.1]:5060"}, "sip-udp", "IPv6 addresses only"},
        BadValue{
            {"--sip-tcp", "127.0.0.1:5060", "--sip-tcp", "off"}, "sip-tcp", "cannot be combined"},
        BadValue{{"--sip-tls", "127.0.0.1:5061", "--sip-tls", "127.0.0.1:5061"},
                 "sip-tls",
                 "listed twice"},
        BadValue{{"--sip-tcp", "127.0.0.1:5070", "--sip-tls", "127.0.0.1:5070"},
                 "sip-tls",
                 "sip-tcp listens there"},
        BadValue{{"--api", "0.0.0.0:5060"}, "api", "SIP over TCP or TLS listens there"},
        BadValue{{"--api", "nowhere"}, "api", "ADDRESS:PORT"},
        BadValue{{"--sip-domain", "bad_host"}, "sip-domain", "host name"},
        BadValue{{"--sip-domain", "2001:db8::1"}, "sip-domain", "brackets"},
        BadValue{{"--sip-domain", "[zz]"}, "sip-domain", "IPv6 reference"},
        BadValue{{"--rtp-address", "eth0"}, "rtp-address", "not a numeric IP address"},
        BadValue{{"--media-address", "example.com"}, "media-address", "numeric IP"},
        BadValue{{"--media-address", "0.0.0.0"}, "media-address", "unspecified"},
        BadValue{{"--mixer", "mixer.example.com:7070"}, "mixer", "numeric IP"},
        BadValue{{"--mixer", "127.0.0.1"}, "mixer", "ADDRESS:PORT"},
        BadValue{{"--mixer", "127.0.0.1:0"}, "mixer", "address and port must be given"},
        BadValue{{"--mixer", "0.0.0.0:7070"}, "mixer", "address and port must be given"},
        BadValue{{"--log-level", "verbose"}, "log-level", "trace, debug, info, warning, error"},
        BadValue{{"--room", "has space"}, "room", "room id"},
        BadValue{{"--trusted-source", "proxy.example.com"}, "trusted-source", "numeric IP"},
        BadValue{{"--lobby", "a b"}, "lobby", "1 to 64"},
        BadValue{{"--entry-attempts", "0"}, "entry-attempts", "between 1 and 10"},
        BadValue{{"--room", ":Name"}, "room", "room id"},
        BadValue{{"--room", std::string(65, 'a')}, "room", "room id"},
        BadValue{{"--room", "a:x\ty"}, "room", "control character"},
        BadValue{{"--room", "a", "--room", "a:Again"}, "room", "listed twice"},
        BadValue{{"--sip-t1-ms", "0"}, "sip-t1-ms", "between 1 and 60000"},
        BadValue{{"--sip-t1-ms", "-5"}, "sip-t1-ms", "whole number"},
        BadValue{{"--sip-t1-ms", "1.5"}, "sip-t1-ms", "whole number"},
        BadValue{{"--sip-t1-ms", "99999999999999999999999"}, "sip-t1-ms", "whole number"},
        BadValue{{"--sip-t2-ms", "100"}, "sip-t2-ms", "below sip-t1-ms"},
        BadValue{{"--sip-t4-ms", "x"}, "sip-t4-ms", "whole number"},
        BadValue{{"--session-expires", "89"}, "session-expires", "between 90 and"},
        BadValue{{"--tcp-idle-timeout", "0"}, "tcp-idle-timeout", "between 1 and"},
        BadValue{
            {"--max-connections-per-source", "0"}, "max-connections-per-source", "between 1 and"},
        BadValue{{"--max-message-bytes", "100"}, "max-message-bytes", "between 1024 and"},
        BadValue{{"--mixer-threads", "100000"}, "mixer-threads", "between 0 and 1024"},
        BadValue{{"--mixer-io", "poll"}, "mixer-io", "io_uring or epoll"},
        BadValue{{"--max-participants", "many"}, "max-participants", "whole number"},
        BadValue{{"--require-srtp", "maybe"}, "require-srtp", "yes or no"},
        BadValue{{"--agc", "loud"}, "agc", "yes or no"},
        BadValue{{"--data-dir", ""}, "data-dir", "must not be empty"},
        BadValue{{"--tls-cert", "/c.pem"}, "tls-cert", "tls-key is needed too"},
        // The control protocol carries SRTP keys: off this machine only with the shared secret.
        BadValue{{"--mixer", "192.0.2.9:7070"}, "mixer", "needs mixer-secret-file"},
        BadValue{{"--mixer", "127.0.0.1:7070", "--mixer-tls", "yes"}, "mixer-tls",
                 "needs mixer-secret-file"},
        BadValue{{"--tls-key", "/k.pem"}, "tls-key", "tls-cert is needed too"},
        BadValue{{"--register", "sip:1000@pbx"}, "register", "AOR,REGISTRAR"},
        BadValue{{"--register", "sip:1000@pbx,h,u,60,r,extra"}, "register", "AOR,REGISTRAR"},
        BadValue{{"--register", "tel:1000,192.0.2.1"}, "register", "sip: or sips: URI"},
        BadValue{{"--register", "sip:pbx.example.com,192.0.2.1"}, "register", "a user and a host"},
        BadValue{{"--register", "sip:1000@,192.0.2.1"}, "register", "a user and a host"},
        BadValue{{"--register", "sip:a b@pbx,192.0.2.1"}, "register", "no blanks"},
        BadValue{{"--register", "sip:1000@pbx,"}, "register", "no registrar host"},
        BadValue{{"--register", "sip:1000@pbx,bad_host"}, "register", "host name"},
        BadValue{{"--register", "sip:1000@pbx,2001:db8::1"}, "register", "brackets"},
        BadValue{{"--register", "sip:1000@pbx,[2001:db8::1"}, "register", "missing ']'"},
        BadValue{{"--register", "sip:1000@pbx,pbx:0"}, "register", "not a port number"},
        BadValue{{"--register", "sip:1000@pbx,pbx:"}, "register", "expected a port number"},
        BadValue{{"--register", "sip:1000@pbx,pbx;transport=sctp"}, "register", ";transport="},
        BadValue{{"--register", "sip:1000@pbx,pbx,us:er"}, "register", "username"},
        BadValue{{"--register", "sip:1000@pbx,pbx,,0"}, "register", "EXPIRES must be between"},
        BadValue{{"--register", "sip:1000@pbx,pbx,,soon"}, "register", "EXPIRES expected"},
        BadValue{{"--register", "sip:+1%20555@pbx,pbx"}, "register", "fifth field"},
        BadValue{{"--register", "sip:1000@pbx,pbx,,,bad room"}, "register", "not a room id"},
        BadValue{{"--register", "sip:1@pbx,a", "--register", "sip:1@pbx,b"}, "register",
                 "registered twice"},
        BadValue{{"--register", "sip:1@pbx,a", "--register", "off"}, "register",
                 "cannot be combined"}));

TEST(ConfigRegister, NoneByDefaultAndDefaultsFilledIn) {
  EXPECT_TRUE(expectConfig(parseArgs({})).registrations.empty());
  Config c = expectConfig(parseArgs({"--register", " sip:1000@pbx.example.com , pbx.example.com "}));
  ASSERT_EQ(c.registrations.size(), 1U);
  const auto& r = c.registrations[0];
  EXPECT_EQ(r.aor, "sip:1000@pbx.example.com");
  EXPECT_EQ(r.registrarHost, "pbx.example.com");
  EXPECT_EQ(r.registrarPort, 0);
  EXPECT_EQ(r.transport, SipTransport::kUdp);
  EXPECT_EQ(r.expires, 3600U);
  EXPECT_EQ(r.authUser(), "1000");
  EXPECT_EQ(r.roomId(), "1000");
  // Empty middle fields keep their defaults; a user with a password part is cut at the colon.
  Config d = expectConfig(parseArgs({"--register", "sip:7001:x@pbx,pbx,,,sales"}));
  EXPECT_EQ(d.registrations[0].aorUser(), "7001");
  EXPECT_EQ(d.registrations[0].expires, 3600U);
  EXPECT_EQ(d.registrations[0].roomId(), "sales");
}

TEST(ConfigRegister, PrintConfigRoundTripsAndWritesOff) {
  auto text = std::get<Exit>(
      parseArgs({"--register", "sip:7001@pbx,192.0.2.10;transport=TLS,,120", "--register",
                 "sip:7002@pbx,pbx:5070,,,room-b", "--print-config"}))
                  .text;
  EXPECT_THAT(text, HasSubstr("\nregister = sip:7001@pbx,192.0.2.10;transport=tls,,120\n"));
  EXPECT_THAT(text, HasSubstr("\nregister = sip:7002@pbx,pbx:5070,,,room-b\n"));
  TempFile printed(text);
  Config again = expectConfig(parseArgs({"--config", printed.path()}));
  EXPECT_EQ(again.registrations,
            expectConfig(parseArgs({"--register", "sip:7001@pbx,192.0.2.10;transport=TLS,,120",
                                    "--register", "sip:7002@pbx,pbx:5070,,,room-b"}))
                .registrations);
  EXPECT_THAT(toConfigFile(Config{}), HasSubstr("\nregister = off\n"));
  EXPECT_THAT(toConfigFile(Config{}), HasSubstr("\npassword-file =\n"));
}

TEST(ConfigRegister, CommandLineReplacesTheFilesRegistrations) {
  TempFile file("register = sip:1@pbx,a\nregister = sip:2@pbx,b\npassword-file = /p\n");
  Config c = expectConfig(parseArgs({"--config", file.path(), "--register", "sip:3@pbx,c"}));
  ASSERT_EQ(c.registrations.size(), 1U);
  EXPECT_EQ(c.registrations[0].aor, "sip:3@pbx");
  EXPECT_EQ(c.passwordFile, "/p");
  EXPECT_TRUE(
      expectConfig(parseArgs({"--config", file.path(), "--register", "off"})).registrations.empty());
}

TEST(ConfigRegister, PasswordFile) {
  TempFile file("# registrations\n\n7001:s3cret:with:colons\r\n7002:\nbob:x\n");
  using Passwords = std::map<std::string, std::string>;
  auto read = readPasswordFile(file.path());
  ASSERT_TRUE(std::holds_alternative<Passwords>(read));
  const auto& passwords = std::get<Passwords>(read);
  EXPECT_EQ(passwords.size(), 3U);
  EXPECT_EQ(passwords.at("7001"), "s3cret:with:colons");
  EXPECT_EQ(passwords.at("7002"), "");

  TempFile bad("7001:first\nno-colon-secret\n");
  auto refused = readPasswordFile(bad.path());
  ASSERT_TRUE(std::holds_alternative<std::string>(refused));
  EXPECT_THAT(std::get<std::string>(refused), HasSubstr(":2: expected USER:PASSWORD"));
  // The refusal never shows a password.
  EXPECT_THAT(std::get<std::string>(refused), Not(HasSubstr("secret")));

  TempFile twice("a:1\na:2\n");
  EXPECT_THAT(std::get<std::string>(readPasswordFile(twice.path())), HasSubstr("a given twice"));
  EXPECT_THAT(std::get<std::string>(readPasswordFile("/nonexistent/confab-passwords")),
              HasSubstr("cannot read"));
}

TEST(ConfigDialOut, FactoryDialOutUserAndOutboundProxyAreReadAndPrinted) {
  Config none = expectConfig(parseArgs({}));
  EXPECT_TRUE(none.factory.empty()) << "no factory unless asked for";
  EXPECT_FALSE(none.outboundProxy);
  Config c = expectConfig(parseArgs({"--factory", "conference", "--dial-out-user", "focus",
                                     "--outbound-proxy", "[2001:db8::7]:5070;transport=tcp"}));
  EXPECT_EQ(c.factory, "conference");
  EXPECT_EQ(c.dialOutUser, "focus");
  ASSERT_TRUE(c.outboundProxy);
  EXPECT_EQ(c.outboundProxy->host, "[2001:db8::7]");
  EXPECT_EQ(c.outboundProxy->port, 5070);
  EXPECT_EQ(c.outboundProxy->transport, SipTransport::kTcp);
  const std::string text = toConfigFile(c);
  EXPECT_THAT(text, HasSubstr("\noutbound-proxy = [2001:db8::7]:5070;transport=tcp\n"));
  TempFile printed(text);
  const Config again = expectConfig(parseArgs({"--config", printed.path()}));
  EXPECT_EQ(again.factory, c.factory);
  EXPECT_EQ(again.dialOutUser, c.dialOutUser);
  EXPECT_EQ(again.outboundProxy, c.outboundProxy);
  EXPECT_FALSE(std::holds_alternative<Config>(parseArgs({"--factory", "no/slash"})));
  EXPECT_FALSE(std::holds_alternative<Config>(parseArgs({"--outbound-proxy", "a:b:c"})));
  EXPECT_FALSE(std::holds_alternative<Config>(parseArgs({"--dial-out-user", "a:b"})));
}

TEST(ConfigErrors, UnknownOptionIsNamed) {
  EXPECT_EQ(expectError(parseArgs({"--sip-udpp", "0.0.0.0:5060"})), "unknown option --sip-udpp");
}

TEST(ConfigErrors, AbbreviationsAreNotGuessed) {
  EXPECT_THAT(expectError(parseArgs({"--log", "debug"})), HasSubstr("--log"));
}

TEST(ConfigErrors, PositionalArgumentIsNamed) {
  EXPECT_THAT(expectError(parseArgs({"stray"})), HasSubstr("\"stray\""));
}

TEST(ConfigErrors, MissingArgument) {
  EXPECT_THAT(expectError(parseArgs({"--log-level"})), HasSubstr("log-level"));
}

TEST(ConfigErrors, ScalarGivenTwiceOnCommandLine) {
  EXPECT_THAT(expectError(parseArgs({"--log-level", "info", "--log-level", "debug"})),
              HasSubstr("log-level"));
}

TEST(ConfigFileErrors, UnreadableFile) {
  auto message = expectError(parseArgs({"--config", "/nonexistent/confab.ini"}));
  EXPECT_THAT(message, StartsWith("/nonexistent/confab.ini: cannot read config file"));
}

TEST(ConfigFileErrors, BadLineNamesFileAndLine) {
  TempFile file("# ok\nlog-level = info\nthis is not an option line\n");
  EXPECT_EQ(expectError(parseArgs({"--config", file.path()})),
            file.path() + ":3: expected 'name = value'");
}

TEST(ConfigFileErrors, UnknownOptionNamesFileAndLine) {
  TempFile file("\n\nsip-udpp = 0.0.0.0:5060\n");
  EXPECT_EQ(expectError(parseArgs({"--config", file.path()})),
            file.path() + ":3: unknown option 'sip-udpp'");
}

TEST(ConfigFileErrors, CommandLineOnlyOptionsAreUnknownInFile) {
  TempFile file("config = other.ini\n");
  EXPECT_THAT(expectError(parseArgs({"--config", file.path()})),
              HasSubstr(":1: unknown option 'config'"));
}

TEST(ConfigFileErrors, ScalarGivenTwice) {
  TempFile file("log-level = info\nlog-level = debug\n");
  EXPECT_EQ(expectError(parseArgs({"--config", file.path()})),
            file.path() + ":2: log-level given again (first on line 1)");
}

TEST(ConfigFileErrors, BadValueNamesFileLineAndOption) {
  TempFile file("room = a\nrtp-ports = 30000-20000\n");
  EXPECT_EQ(expectError(parseArgs({"--config", file.path()})),
            file.path() +
                ":2: invalid value for rtp-ports: \"30000-20000\": first port is above last "
                "port");
}

TEST(ConfigFileErrors, BadRepeatedValueNamesItsOwnLine) {
  TempFile file("room = a\nroom = b c\nroom = d\n");
  EXPECT_THAT(expectError(parseArgs({"--config", file.path()})),
              StartsWith(file.path() + ":2: invalid value for room: \"b c\""));
}

TEST(ConfigFileErrors, CommandLineValueMasksBadFileValue) {
  TempFile file("rtp-ports = 30000-20000\n");
  Config c = expectConfig(parseArgs({"--config", file.path(), "--rtp-ports", "30000-30001"}));
  EXPECT_EQ(c.rtpPorts, (PortRange{30000, 30001}));
}

TEST(ConfigExit, HelpMentionsEveryOptionWithItsDefault) {
  auto result = parseArgs({"--help"});
  ASSERT_TRUE(std::holds_alternative<Exit>(result));
  const auto& help = std::get<Exit>(result).text;
  for (const char* option : {"--help",
                             "--version",
                             "--config",
                             "--print-config",
                             "--sip-udp",
                             "--sip-tcp",
                             "--sip-tls",
                             "--sip-domain",
                             "--tls-cert",
                             "--tls-key",
                             "--api",
                             "--data-dir",
                             "--rtp-ports",
                             "--rtp-address",
                             "--media-address",
                             "--mixer",
                             "--mixer-secret-file",
                             "--mixer-tls",
                             "--log-level",
                             "--room",
                             "--sip-t1-ms",
                             "--sip-t2-ms",
                             "--sip-t4-ms",
                             "--session-expires",
                             "--tcp-idle-timeout",
                             "--max-connections-per-source",
                             "--max-message-bytes",
                             "--mixer-threads",
                             "--mixer-io",
                             "--max-participants",
                             "--answer-delay-ms",
                             "--require-srtp",
                             "--noise-suppression",
                             "--agc",
                             "--register",
                             "--password-file"}) {
    EXPECT_THAT(help, HasSubstr(std::string(option) + " ")) << option;
  }
  for (const char* value : {"0.0.0.0:5060", "0.0.0.0:5061", "127.0.0.1:8080", "./confab-data",
                            "20000-29999", "--lobby USER", "Default: info"}) {
    EXPECT_THAT(help, HasSubstr(value)) << value;
  }
  EXPECT_EQ(std::get<Exit>(parseArgs({"-h"})).text, help);
}

TEST(ConfigMixer, EmptyMeansInProcessAndCommandLineOverridesFile) {
  TempFile file("mixer = 127.0.0.1:7070\n");
  using Mixers = std::vector<Endpoint>;
  EXPECT_EQ(expectConfig(parseArgs({"--config", file.path()})).mixers,
            Mixers{endpoint("127.0.0.1", 7070)});
  EXPECT_TRUE(expectConfig(parseArgs({"--config", file.path(), "--mixer", ""})).mixers.empty());
  EXPECT_EQ(expectConfig(parseArgs({"--mixer", "[::1]:7071"})).mixers,
            Mixers{endpoint("::1", 7071)});
}

TEST(ConfigMixer, SeveralMixersAndTheDrainedAreAmongThem) {
  const auto both = expectConfig(
      parseArgs({"--mixer", "127.0.0.1:7070", "--mixer", "127.0.0.1:7071", "--mixer-drain",
                 "127.0.0.1:7071"}));
  EXPECT_EQ(both.mixers.size(), 2U);
  EXPECT_EQ(both.mixerDrain, std::vector<Endpoint>{endpoint("127.0.0.1", 7071)});
  for (const auto& [args, option, value] :
       std::vector<std::tuple<std::vector<std::string>, std::string, std::string>>{
           {{"--mixer", "127.0.0.1:7070", "--mixer", "127.0.0.1:7070"}, "mixer", "127.0.0.1:7070"},
           {{"--mixer", "127.0.0.1:7070", "--mixer-drain", "127.0.0.1:7072"},
            "mixer-drain",
            "127.0.0.1:7072"},
           {{"--mixer", "127.0.0.1:7070", "--mixer", "192.0.2.7:7070"}, "mixer", "192.0.2.7:7070"},
           {{"--mixer", "127.0.0.1:0"}, "mixer", "127.0.0.1:0"}}) {
    std::vector<const char*> argv{"confab"};
    for (const auto& a : args) {
      argv.push_back(a.c_str());
    }
    auto parsed = parse(static_cast<int>(argv.size()), argv.data());
    ASSERT_TRUE(std::holds_alternative<Error>(parsed)) << option << " " << value;
    EXPECT_THAT(std::get<Error>(parsed).message, HasSubstr(option)) << value;
    EXPECT_THAT(std::get<Error>(parsed).message, HasSubstr(value)) << option;
  }
}

TEST(ConfigExit, Version) {
  auto result = parseArgs({"--version"});
  ASSERT_TRUE(std::holds_alternative<Exit>(result));
  EXPECT_THAT(std::get<Exit>(result).text, StartsWith("confab "));
}

TEST(ConfigExit, PrintConfigRoundTrips) {
  TempFile file(kEveryOption);
  auto result = parseArgs({"--config", file.path(), "--print-config"});
  ASSERT_TRUE(std::holds_alternative<Exit>(result));
  const auto& text = std::get<Exit>(result).text;
  EXPECT_THAT(text, HasSubstr("\nrtp-ports = 40000-40099\n"));
  EXPECT_THAT(text, HasSubstr("\nsip-udp = [::]:5070\n"));
  EXPECT_THAT(text, HasSubstr("\nroom = sales:Sales Team\n"));

  TempFile printed(text);
  Config again = expectConfig(parseArgs({"--config", printed.path()}));
  again.configFile = file.path();
  EXPECT_EQ(again, expectConfig(parseArgs({"--config", file.path()})));
}

TEST(ConfigExit, PrintConfigOfDefaultsRoundTrips) {
  auto text = toConfigFile(Config{});
  EXPECT_THAT(text, HasSubstr("\nsip-domain =\n"));
  EXPECT_THAT(text, HasSubstr("\nmedia-address =\n"));
  TempFile printed(text);
  Config again = expectConfig(parseArgs({"--config", printed.path()}));
  again.configFile.clear();
  EXPECT_EQ(again, Config{});
}

TEST(ConfigExit, PrintConfigWritesOff) {
  auto text = std::get<Exit>(parseArgs({"--api", "off", "--sip-udp", "off", "--print-config"}));
  EXPECT_THAT(text.text, HasSubstr("\napi = off\n"));
  EXPECT_THAT(text.text, HasSubstr("\nsip-udp = off\n"));
}

TEST(ConfigExit, PrintConfigStillValidates) {
  EXPECT_THAT(expectError(parseArgs({"--rtp-ports", "1-2", "--print-config"})),
              HasSubstr("--rtp-ports"));
}

}  // namespace
}  // namespace confab::config
