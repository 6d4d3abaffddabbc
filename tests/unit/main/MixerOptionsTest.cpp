// config::parseMixerOptions: confab-mixer's defaults, each option, the advertised media address
// and a refusal naming the option for each kind of bad value.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <initializer_list>
#include <string>
#include <vector>

#include "main/MixerOptions.hpp"

namespace confab::config {
namespace {

using ::testing::HasSubstr;
namespace ip = boost::asio::ip;

MixerOptionsResult parseArgs(std::initializer_list<std::string> args) {
  std::vector<std::string> owned{"confab-mixer"};
  owned.insert(owned.end(), args.begin(), args.end());
  std::vector<const char*> argv;
  for (const auto& arg : owned) {
    argv.push_back(arg.c_str());
  }
  return parseMixerOptions(static_cast<int>(argv.size()), argv.data());
}

MixerOptions expectOptions(const MixerOptionsResult& result) {
  if (const auto* error = std::get_if<Error>(&result)) {
    ADD_FAILURE() << "unexpected error: " << error->message;
  }
  const auto* options = std::get_if<MixerOptions>(&result);
  return options != nullptr ? *options : MixerOptions{};
}

std::string expectError(const MixerOptionsResult& result) {
  const auto* error = std::get_if<Error>(&result);
  EXPECT_NE(error, nullptr) << "expected an error";
  return error != nullptr ? error->message : std::string();
}

TEST(MixerOptions, DefaultsListenOnLoopback) {
  MixerOptions o = expectOptions(parseArgs({}));
  EXPECT_EQ(o, MixerOptions{});
  EXPECT_EQ(o.listen, (Endpoint{ip::make_address("127.0.0.1"), 7070}));
  EXPECT_EQ(o.rtpPorts, (PortRange{20000, 29999}));
  EXPECT_TRUE(o.rtpAddress.is_unspecified());
  EXPECT_EQ(o.rtpTimeout, std::chrono::seconds(60));
  EXPECT_TRUE(o.ioUring);
  // A wildcard bind says nothing about where peers reach us: confab picks.
  EXPECT_EQ(o.advertisedMediaAddress(), "");
}

TEST(MixerOptions, EveryOption) {
  MixerOptions o = expectOptions(
      parseArgs({"--listen", "[::1]:7100", "--rtp-address", "192.0.2.5", "--rtp-ports",
                 "30000-30099", "--media-address", "198.51.100.9", "--mixer-threads", "3",
                 "--mixer-io", "epoll", "--rtp-timeout", "15", "--secret-file", "/etc/confab/mixer.secret",
                 "--tls"}));
  EXPECT_EQ(o.secretFile, "/etc/confab/mixer.secret");
  EXPECT_TRUE(o.tls);
  EXPECT_EQ(o.listen, (Endpoint{ip::make_address("::1"), 7100}));
  EXPECT_EQ(o.rtpAddress, ip::make_address("192.0.2.5"));
  EXPECT_EQ(o.rtpPorts, (PortRange{30000, 30099}));
  EXPECT_EQ(o.mediaAddress, ip::make_address("198.51.100.9"));
  EXPECT_EQ(o.mixerThreads, 3U);
  EXPECT_FALSE(o.ioUring);
  EXPECT_EQ(o.rtpTimeout, std::chrono::seconds(15));
  EXPECT_EQ(o.advertisedMediaAddress(), "198.51.100.9");
}

TEST(MixerOptions, MediaAddressDefaultsToASpecificRtpAddress) {
  EXPECT_EQ(expectOptions(parseArgs({"--rtp-address", "192.0.2.5"})).advertisedMediaAddress(),
            "192.0.2.5");
  EXPECT_EQ(expectOptions(parseArgs({"--rtp-address", "::"})).advertisedMediaAddress(), "");
}

TEST(MixerOptions, BadValuesNameTheOption) {
  EXPECT_THAT(expectError(parseArgs({"--listen", "nowhere"})), HasSubstr("--listen"));
  EXPECT_THAT(expectError(parseArgs({"--rtp-address", "eth0"})), HasSubstr("--rtp-address"));
  EXPECT_THAT(expectError(parseArgs({"--rtp-ports", "100-200"})), HasSubstr("1024 and 65535"));
  EXPECT_THAT(expectError(parseArgs({"--media-address", "0.0.0.0"})), HasSubstr("unspecified"));
  EXPECT_THAT(expectError(parseArgs({"--mixer-threads", "many"})), HasSubstr("--mixer-threads"));
  EXPECT_THAT(expectError(parseArgs({"--mixer-io", "poll"})), HasSubstr("--mixer-io"));
  EXPECT_THAT(expectError(parseArgs({"--rtp-timeout", "0"})), HasSubstr("--rtp-timeout"));
  EXPECT_THAT(expectError(parseArgs({"--bogus"})), HasSubstr("bogus"));
  EXPECT_THAT(expectError(parseArgs({"--secret-file", ""})), HasSubstr("--secret-file"));
}

// The protocol steers the media and carries SRTP keys: off loopback, only with a secret.
TEST(MixerOptions, ListeningBeyondLoopbackNeedsASecret) {
  EXPECT_THAT(expectError(parseArgs({"--listen", "0.0.0.0:7070"})),
              HasSubstr("only a loopback address may go without --secret-file"));
  EXPECT_THAT(expectError(parseArgs({"--listen", "192.0.2.5:7070"})), HasSubstr("--listen"));
  EXPECT_EQ(expectOptions(parseArgs({"--listen", "192.0.2.5:7070", "--secret-file", "/s"})).listen,
            (Endpoint{ip::make_address("192.0.2.5"), 7070}));
  EXPECT_EQ(expectOptions(parseArgs({"--listen", "[::1]:7070"})).secretFile, "");
  EXPECT_THAT(expectError(parseArgs({"--tls"})), HasSubstr("--tls needs --secret-file"));
}

TEST(MixerOptions, HelpAndVersion) {
  auto help = parseArgs({"--help"});
  ASSERT_TRUE(std::holds_alternative<Exit>(help));
  for (const char* option :
       {"--listen", "--rtp-address", "--rtp-ports", "--media-address", "--mixer-threads",
        "--mixer-io", "--rtp-timeout", "--secret-file", "--tls", "127.0.0.1:7070"}) {
    EXPECT_THAT(std::get<Exit>(help).text, HasSubstr(option)) << option;
  }
  auto version = parseArgs({"--version"});
  ASSERT_TRUE(std::holds_alternative<Exit>(version));
  EXPECT_THAT(std::get<Exit>(version).text, HasSubstr("confab-mixer"));
}

}  // namespace
}  // namespace confab::config
