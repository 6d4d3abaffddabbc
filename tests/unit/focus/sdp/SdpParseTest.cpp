// SDP parsing and printing (RFC 4566), typed attributes and base64.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

#include "focus/sdp/Attributes.hpp"
#include "focus/sdp/Base64.hpp"
#include "focus/sdp/SessionDescription.hpp"
#include "tests/unit/focus/sdp/SdpTestSupport.hpp"

namespace confab::sdp {
namespace {

using test::lines;
using test::parseOk;

const std::string kSimple = lines({
    "v=0",
    "o=alice 2890844526 2890842807 IN IP4 192.0.2.10",
    "s=Call",
    "c=IN IP4 192.0.2.10",
    "t=0 0",
    "a=tool:example",
    "m=audio 49170 RTP/AVP 0 8 101",
    "a=rtpmap:0 PCMU/8000",
    "a=rtpmap:101 telephone-event/8000",
    "a=fmtp:101 0-15",
    "a=ptime:20",
    "a=X-custom:Some Thing",
    "a=ice-lite",
    "a=sendrecv",
});

// The reason phrase goes into a SIP status line: printable ASCII only.
void expectPrintable(const std::string& reason) {
  for (const char c : reason) {
    EXPECT_TRUE(c >= 0x20 && c < 0x7F) << "unprintable byte in reason: " << reason;
  }
}

Error parseError(std::string_view text, const ParseLimits& limits = {}) {
  auto parsed = SessionDescription::parse(text, limits);
  EXPECT_FALSE(parsed.ok()) << text;
  if (parsed.ok()) {
    return Error{};
  }
  EXPECT_EQ(parsed.error().status, 400);
  expectPrintable(parsed.error().reason);
  return parsed.error();
}

TEST(SdpParse, ReadsEveryFieldOfASimpleOffer) {
  const auto sd = parseOk(kSimple);
  EXPECT_EQ(sd.version, 0U);
  EXPECT_EQ(sd.origin.username, "alice");
  EXPECT_EQ(sd.origin.sessionId, "2890844526");
  EXPECT_EQ(sd.origin.sessionVersion, "2890842807");
  EXPECT_FALSE(sd.origin.ipv6);
  EXPECT_EQ(sd.origin.address, "192.0.2.10");
  EXPECT_EQ(sd.sessionName, "Call");
  ASSERT_TRUE(sd.connection.has_value());
  EXPECT_EQ(sd.connection->address, "192.0.2.10");
  ASSERT_EQ(sd.timings.size(), 1U);
  EXPECT_EQ(sd.timings[0].start, 0U);
  ASSERT_EQ(sd.attributes.size(), 1U);
  EXPECT_EQ(sd.attributes[0].name, "tool");
  ASSERT_EQ(sd.media.size(), 1U);
  const auto& m = sd.media[0];
  EXPECT_EQ(m.media, "audio");
  EXPECT_EQ(m.port, 49170);
  EXPECT_EQ(m.portCount, 1U);
  EXPECT_EQ(m.proto, "RTP/AVP");
  EXPECT_EQ(m.formats, (std::vector<std::string>{"0", "8", "101"}));
  EXPECT_TRUE(m.isRtp());
  EXPECT_FALSE(m.isSecureProto());
  EXPECT_EQ(m.ptime(), 20U);
  EXPECT_EQ(m.fmtp("101"), "0-15");
  EXPECT_EQ(sd.directionOf(m), Direction::kSendRecv);
  // PCMA has no rtpmap: the RFC 3551 static assignment stands in.
  const auto pcma = m.rtpMap(8);
  ASSERT_TRUE(pcma.has_value());
  EXPECT_EQ(pcma->encoding, "PCMA");
  EXPECT_EQ(pcma->clockRate, 8000U);
  EXPECT_EQ(m.rtpMap(101)->encoding, "telephone-event");
  EXPECT_FALSE(m.rtpMap(99).has_value());
}

TEST(SdpParse, KeepsUnknownAttributesVerbatimAndInOrder) {
  const auto sd = parseOk(kSimple);
  const auto& attrs = sd.media[0].attributes;
  ASSERT_EQ(attrs.size(), 7U);
  EXPECT_EQ(attrs[4].name, "X-custom");
  EXPECT_EQ(attrs[4].value, "Some Thing");
  EXPECT_EQ(attrs[5].name, "ice-lite");
  EXPECT_FALSE(attrs[5].value.has_value());
  EXPECT_EQ(sd.serialize(), kSimple);
}

TEST(SdpParse, AcceptsLfOnlyTrailingBlanksAndMissingSessionName) {
  const std::string text =
      "v=0\no=- 1 1 IN IP4 10.0.0.1 \nc=IN IP4 10.0.0.1\t\nt=0 0\n\nm=audio 4000 RTP/AVP 0  \n"
      "a=rtpmap:0 PCMU/8000   \n";
  const auto sd = parseOk(text);
  EXPECT_EQ(sd.sessionName, "-");
  EXPECT_EQ(sd.origin.address, "10.0.0.1");
  ASSERT_EQ(sd.media.size(), 1U);
  EXPECT_EQ(sd.media[0].formats, (std::vector<std::string>{"0"}));
  EXPECT_EQ(sd.media[0].values("rtpmap").at(0), "0 PCMU/8000");
  // Printed back canonically: CRLF, s= present.
  EXPECT_EQ(sd.serialize(), lines({"v=0", "o=- 1 1 IN IP4 10.0.0.1", "s=-", "c=IN IP4 10.0.0.1",
                                   "t=0 0", "m=audio 4000 RTP/AVP 0", "a=rtpmap:0 PCMU/8000"}));
}

TEST(SdpParse, AcceptsMissingTimingAndPrintsTZeroZero) {
  const auto sd = parseOk(lines(
      {"v=0", "o=- 1 1 IN IP4 10.0.0.1", "s=-", "c=IN IP4 10.0.0.1", "m=audio 4000 RTP/AVP 0"}));
  EXPECT_TRUE(sd.timings.empty());
  EXPECT_NE(sd.serialize().find("\r\nt=0 0\r\n"), std::string::npos);
}

TEST(SdpParse, AcceptsSessionLinesOutOfOrder) {
  // a= before c= and t= before c=: seen from real stacks, harmless.
  const auto sd = parseOk(lines({"v=0", "o=- 1 1 IN IP4 10.0.0.1", "s=-", "a=recvonly", "t=0 0",
                                 "c=IN IP4 10.0.0.1", "m=audio 4000 RTP/AVP 0"}));
  EXPECT_EQ(sd.directionOf(sd.media[0]), Direction::kRecvOnly);
}

TEST(SdpParse, Ipv6OriginAndConnection) {
  const auto sd = parseOk(
      lines({"v=0", "o=- 1 1 IN IP6 2001:db8::1", "s=-", "c=IN IP6 2001:db8::1", "t=0 0",
             "m=audio 4000 RTP/AVP 0", "c=IN IP6 fe80::2", "a=rtcp:4001 IN IP6 2001:db8::3"}));
  EXPECT_TRUE(sd.origin.ipv6);
  EXPECT_TRUE(sd.connection->ipv6);
  EXPECT_EQ(sd.connection->address, "2001:db8::1");
  // The media-level c= wins over the session one (RFC 4566 §5.7).
  EXPECT_EQ(sd.connectionFor(sd.media[0])->address, "fe80::2");
  const auto rtcp = sd.media[0].rtcp();
  ASSERT_TRUE(rtcp.has_value());
  EXPECT_EQ(rtcp->port, 4001);
  EXPECT_TRUE(rtcp->ipv6);
  EXPECT_EQ(rtcp->address, "2001:db8::3");
  EXPECT_EQ(parseOk(sd.serialize()).serialize(), sd.serialize());
}

TEST(SdpParse, MulticastTtlAndAddressCount) {
  const auto sd =
      parseOk(lines({"v=0", "o=- 1 1 IN IP4 10.0.0.1", "s=-", "c=IN IP4 233.252.0.1/127/3", "t=0 0",
                     "m=audio 4000 RTP/AVP 0", "c=IN IP6 ff15::101/3"}));
  EXPECT_EQ(sd.connection->ttl, 127U);
  EXPECT_EQ(sd.connection->addressCount, 3U);
  EXPECT_TRUE(sd.connection->isMulticast());
  EXPECT_EQ(sd.media[0].connections[0].addressCount, 3U);
  EXPECT_FALSE(sd.media[0].connections[0].ttl.has_value());
  EXPECT_TRUE(sd.media[0].connections[0].isMulticast());
  const auto text = sd.serialize();
  EXPECT_NE(text.find("c=IN IP4 233.252.0.1/127/3\r\n"), std::string::npos);
  EXPECT_NE(text.find("c=IN IP6 ff15::101/3\r\n"), std::string::npos);
}

TEST(SdpParse, HostNameConnectionAddressAndHoldAddress) {
  const auto sd =
      parseOk(lines({"v=0", "o=- 1 1 IN IP4 pbx.example.com", "s=-", "c=IN IP4 media.example.com",
                     "t=0 0", "m=audio 4000 RTP/AVP 0", "c=IN IP4 0.0.0.0"}));
  EXPECT_EQ(sd.connection->address, "media.example.com");
  EXPECT_FALSE(sd.connection->isHoldAddress());
  EXPECT_TRUE(sd.media[0].connections[0].isHoldAddress());
}

TEST(SdpParse, PortCountBandwidthKeyTitleAndTimingFields) {
  const std::string text = lines({
      "v=0",
      "o=jdoe 1 2 IN IP4 198.51.100.4",
      "s=Seminar",
      "i=About things",
      "u=http://www.example.org/s.pdf",
      "e=j.doe@example.org (Jane Doe)",
      "p=+1 617 555-6011",
      "c=IN IP4 198.51.100.4",
      "b=CT:256",
      "t=2873397496 2873404696",
      "r=7d 1h 0 25h",
      "z=2882844526 -1h 2898848070 0",
      "k=prompt",
      "a=recvonly",
      "m=audio 49170/2 RTP/AVP 0",
      "i=main audio",
      "b=AS:64",
      "b=TIAS:64000",
      "k=clear:secret",
      "m=video 51372 RTP/AVP 99",
      "a=rtpmap:99 h263-1998/90000",
  });
  const auto sd = parseOk(text);
  EXPECT_EQ(sd.information, "About things");
  EXPECT_EQ(sd.uri, "http://www.example.org/s.pdf");
  EXPECT_EQ(sd.emails.at(0), "j.doe@example.org (Jane Doe)");
  EXPECT_EQ(sd.phones.at(0), "+1 617 555-6011");
  EXPECT_EQ(sd.bandwidths.at(0).type, "CT");
  EXPECT_EQ(sd.bandwidths.at(0).value, 256U);
  EXPECT_EQ(sd.timings.at(0).start, 2873397496U);
  EXPECT_EQ(sd.timings.at(0).repeats.at(0), "7d 1h 0 25h");
  EXPECT_EQ(sd.zoneAdjustments, "2882844526 -1h 2898848070 0");
  EXPECT_EQ(sd.key, "prompt");
  EXPECT_EQ(sd.media[0].portCount, 2U);
  EXPECT_EQ(sd.media[0].title, "main audio");
  EXPECT_EQ(sd.media[0].bandwidths.size(), 2U);
  EXPECT_EQ(sd.media[0].key, "clear:secret");
  // Session direction applies to media without their own.
  EXPECT_EQ(sd.directionOf(sd.media[1]), Direction::kRecvOnly);
  EXPECT_EQ(sd.serialize(), text);
}

TEST(SdpParse, RefusedStreamWithoutFormatsOrConnection) {
  const auto sd = parseOk(lines({"v=0", "o=- 1 1 IN IP4 10.0.0.1", "s=-", "t=0 0",
                                 "m=audio 0 RTP/AVP", "m=video 0 RTP/AVP 31"}));
  EXPECT_EQ(sd.media.size(), 2U);
  EXPECT_TRUE(sd.media[0].formats.empty());
}

TEST(SdpParse, NonRtpFormatsAreTokens) {
  const auto sd = parseOk(
      lines({"v=0", "o=- 1 1 IN IP4 10.0.0.1", "s=-", "c=IN IP4 10.0.0.1", "t=0 0",
             "m=application 9 UDP/DTLS/SCTP webrtc-datachannel", "m=image 5000 udptl t38"}));
  EXPECT_FALSE(sd.media[0].isRtp());
  EXPECT_EQ(sd.media[1].formats.at(0), "t38");
}

// ---- malformed input ------------------------------------------------------------------------

TEST(SdpParseError, EmptyBody) {
  EXPECT_NE(parseError("").reason.find("v="), std::string::npos);
  EXPECT_NE(parseError("\r\n\r\n").reason.find("v="), std::string::npos);
}

TEST(SdpParseError, MustStartWithVersionZero) {
  const auto e = parseError(lines({"o=- 1 1 IN IP4 10.0.0.1", "v=0"}));
  EXPECT_NE(e.reason.find("line 1"), std::string::npos) << e.reason;
  EXPECT_NE(parseError(lines({"v=1", "o=- 1 1 IN IP4 10.0.0.1"})).reason.find("version"),
            std::string::npos);
}

TEST(SdpParseError, NamesTheBadMediaLine) {
  const auto e = parseError(lines({"v=0", "o=- 1 1 IN IP4 10.0.0.1", "s=-", "c=IN IP4 10.0.0.1",
                                   "t=0 0", "m=audio 99999 RTP/AVP 0"}));
  EXPECT_NE(e.reason.find("line 6"), std::string::npos) << e.reason;
  EXPECT_NE(e.reason.find("m=audio 99999 RTP/AVP 0"), std::string::npos) << e.reason;
  EXPECT_NE(e.reason.find("port"), std::string::npos) << e.reason;
}

TEST(SdpParseError, BadMediaLines) {
  const auto withMedia = [](std::string_view m) {
    return lines({"v=0", "o=- 1 1 IN IP4 10.0.0.1", "s=-", "c=IN IP4 10.0.0.1", "t=0 0", m});
  };
  parseError(withMedia("m=audio 4000 RTP/AVP 128"));
  parseError(withMedia("m=audio 4000 RTP/AVP abc"));
  parseError(withMedia("m=audio 4000 RTP/AVP"));
  parseError(withMedia("m=audio -1 RTP/AVP 0"));
  parseError(withMedia("m=audio 4000/0 RTP/AVP 0"));
  parseError(withMedia("m=audio 4000/2/3 RTP/AVP 0"));
  parseError(withMedia("m=audio"));
  parseError(withMedia("m="));
}

TEST(SdpParseError, BadLinesNameTheirNumber) {
  struct Case {
    std::string_view line;
    std::string_view why;
  };
  const Case cases[] = {
      {"x=unknown", "unknown"},
      {"this is not sdp", "<type>=<value>"},
      {"A=upper", "<type>=<value>"},
      {"a=rtpmap:abc", "rtpmap"},
      {"a=rtpmap:96 opus", "rtpmap"},
      {"a=rtpmap:96 opus/0", "clock rate"},
      {"a=rtpmap:200 opus/48000", "payload type"},
      {"a=ptime:fast", "packet time"},
      {"a=rtcp:70000", "rtcp"},
      {"a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:!!!notbase64!!!", "base64"},
      {"a=crypto:1 AES_CM_128_HMAC_SHA1_80", "crypto"},
      {"a=extmap:0 urn:x", "extmap"},
      {"a=", "attribute"},
      {"c=IN IP4 999.1.1.1", "IPv4"},
      {"c=IN IP5 10.0.0.1", "address type"},
      {"c=ATM NSAP 47.0005", "network type"},
      {"b=AS", "b="},
      {"b=AS:lots", "bandwidth"},
      {"o=- 2 2 IN IP4 10.0.0.2", "second o="},
      {"s=again", "second s="},
      {"v=0", "second v="},
  };
  for (const auto& c : cases) {
    const auto text = lines({"v=0", "o=- 1 1 IN IP4 10.0.0.1", "s=-", "c=IN IP4 10.0.0.1", "t=0 0",
                             c.line, "m=audio 4000 RTP/AVP 0"});
    const auto e = parseError(text);
    EXPECT_NE(e.reason.find("line 6"), std::string::npos) << c.line << ": " << e.reason;
    EXPECT_NE(e.reason.find(c.why), std::string::npos) << c.line << ": " << e.reason;
  }
}

TEST(SdpParseError, SessionLineInsideMediaSection) {
  const auto e = parseError(lines({"v=0", "o=- 1 1 IN IP4 10.0.0.1", "s=-", "c=IN IP4 10.0.0.1",
                                   "m=audio 4000 RTP/AVP 0", "t=0 0"}));
  EXPECT_NE(e.reason.find("line 6"), std::string::npos) << e.reason;
}

TEST(SdpParseError, MissingOriginOrConnection) {
  EXPECT_NE(parseError(lines({"v=0", "s=-", "c=IN IP4 10.0.0.1"})).reason.find("o="),
            std::string::npos);
  const auto e = parseError(
      lines({"v=0", "o=- 1 1 IN IP4 10.0.0.1", "s=-", "t=0 0", "m=audio 4000 RTP/AVP 0"}));
  EXPECT_NE(e.reason.find("c= line"), std::string::npos) << e.reason;
  EXPECT_NE(e.reason.find("line 5"), std::string::npos) << e.reason;
}

TEST(SdpParseError, ControlBytesAndGarbageGiveAPrintableReason) {
  std::string text = "v=0\r\no=- 1 1 IN IP4 10.0.0.1\r\ns=\x01\x02";
  text.push_back('\0');
  text += "\xff\xfe\r\n";
  const auto e = parseError(text);
  EXPECT_NE(e.reason.find("line 3"), std::string::npos) << e.reason;
  parseError(std::string("v=0\r\no=- 1 1 IN IP4 10.0.0.1\r\ns=a\rb\r\n"));
  parseError("\x89PNG\r\n\x1a\n");
}

TEST(SdpParseError, SizeLimits) {
  std::string many = lines({"v=0", "o=- 1 1 IN IP4 10.0.0.1", "s=-", "c=IN IP4 10.0.0.1"});
  for (int i = 0; i < 64; ++i) {
    many += "m=audio 0 RTP/AVP 0\r\n";
  }
  EXPECT_EQ(parseOk(many).media.size(), 64U);
  many += "m=audio 0 RTP/AVP 0\r\n";
  EXPECT_NE(parseError(many).reason.find("m= lines"), std::string::npos);

  ParseLimits small;
  small.maxLines = 10;
  std::string longBody = lines({"v=0", "o=- 1 1 IN IP4 10.0.0.1", "s=-", "c=IN IP4 10.0.0.1"});
  for (int i = 0; i < 10; ++i) {
    longBody += "a=x\r\n";
  }
  EXPECT_NE(parseError(longBody, small).reason.find("lines"), std::string::npos);

  small = ParseLimits{};
  small.maxBytes = 100;
  EXPECT_NE(parseError(std::string(101, 'a'), small).reason.find("larger"), std::string::npos);

  const std::string hugeLine = "v=0\r\na=" + std::string(5000, 'x') + "\r\n";
  EXPECT_NE(parseError(hugeLine).reason.find("too long"), std::string::npos);

  std::string formats = "m=audio 4000 RTP/AVP";
  for (int i = 0; i < 129; ++i) {
    formats += " 0";
  }
  parseError(lines({"v=0", "o=- 1 1 IN IP4 10.0.0.1", "s=-", "c=IN IP4 10.0.0.1", formats}));
}

// ---- real clients -----------------------------------------------------------------------------

TEST(SdpParse, EveryRealClientOfferParsesAndPrintsBackIdentically) {
  int files = 0;
  for (const auto& entry : std::filesystem::directory_iterator(test::corpusDir())) {
    const auto name = entry.path().filename().string();
    const auto text = test::readCorpus(name);
    SCOPED_TRACE(name);
    const auto sd = parseOk(text);
    const auto printed = sd.serialize();
    // Bodies already in canonical form (CRLF, RFC 4566 order) come back byte for byte; the
    // lenient ones at least print stably.
    if (name != "sipp_lf_only.sdp") {
      EXPECT_EQ(printed, text);
    }
    EXPECT_EQ(parseOk(printed).serialize(), printed);
    ++files;
  }
  EXPECT_GE(files, 10);
}

TEST(SdpParse, ChromeOfferAttributes) {
  const auto sd = parseOk(test::readCorpus("chrome_sdes_opus.sdp"));
  const auto& m = sd.media.at(0);
  EXPECT_TRUE(m.rtcpMux());
  EXPECT_TRUE(m.isSecureProto());
  const auto exts = m.extMaps();
  ASSERT_EQ(exts.size(), 3U);
  EXPECT_EQ(exts[0].id, 1U);
  EXPECT_EQ(exts[0].uri, kSsrcAudioLevelUri);
  const auto cryptos = m.cryptos();
  ASSERT_EQ(cryptos.size(), 1U);
  EXPECT_EQ(cryptos[0].suite, "AES_CM_128_HMAC_SHA1_80");
  EXPECT_EQ(m.rtpMaps().size(), 13U);
  EXPECT_EQ(m.fmtp("111"), "minptime=10;useinbandfec=1");
}

// ---- typed attributes ---------------------------------------------------------------------------

TEST(SdpAttributes, RtpMap) {
  auto map = RtpMap::parse("111 opus/48000/2");
  ASSERT_TRUE(map.ok());
  EXPECT_EQ(map->payloadType, 111);
  EXPECT_EQ(map->encoding, "opus");
  EXPECT_EQ(map->clockRate, 48000U);
  EXPECT_EQ(map->channels, 2U);
  EXPECT_EQ(map->toValue(), "111 opus/48000/2");
  auto pcmu = RtpMap::parse("0  PCMU/8000");
  ASSERT_TRUE(pcmu.ok());
  EXPECT_FALSE(pcmu->channels.has_value());
  EXPECT_EQ(pcmu->toValue(), "0 PCMU/8000");
  EXPECT_FALSE(RtpMap::parse("96 opus/48000/2/1").ok());
  EXPECT_FALSE(RtpMap::parse("96 /8000").ok());
  EXPECT_FALSE(RtpMap::parse("96 opus/48000/0").ok());
  EXPECT_FALSE(RtpMap::parse("96 opus/48000 extra").ok());
}

TEST(SdpAttributes, FmtpParameters) {
  const auto fmtp = Fmtp::parse("106 sprop-maxcapturerate=16000; minptime=20; useinbandfec=1");
  ASSERT_TRUE(fmtp.ok());
  EXPECT_EQ(fmtp->format, "106");
  const auto params = fmtpParameters(fmtp->parameters);
  ASSERT_EQ(params.size(), 3U);
  EXPECT_EQ(params[1].first, "minptime");
  EXPECT_EQ(params[1].second, "20");
  EXPECT_EQ(fmtpParameter(fmtp->parameters, "USEINBANDFEC"), "1");
  EXPECT_FALSE(fmtpParameter(fmtp->parameters, "stereo").has_value());
  EXPECT_EQ(fmtpParameters("0-15").at(0).first, "0-15");
  EXPECT_FALSE(Fmtp::parse("").ok());
}

TEST(SdpAttributes, CryptoWithLifetimeMkiAndSessionParams) {
  const auto crypto = Crypto::parse(
      "1 AES_CM_128_HMAC_SHA1_80 inline:PUtFgW290u28Qkz00olD8Eo/6vpoMd8TI1j4nleH|2^20|1:4 KDR=1 "
      "WSH=64");
  ASSERT_TRUE(crypto.ok()) << crypto.error().reason;
  EXPECT_EQ(crypto->tag, 1U);
  EXPECT_EQ(crypto->suite, "AES_CM_128_HMAC_SHA1_80");
  ASSERT_EQ(crypto->keys.size(), 1U);
  EXPECT_EQ(crypto->keys[0].keySalt, "PUtFgW290u28Qkz00olD8Eo/6vpoMd8TI1j4nleH");
  EXPECT_EQ(crypto->keys[0].lifetime, "2^20");
  EXPECT_EQ(crypto->keys[0].mki, 1U);
  EXPECT_EQ(crypto->keys[0].mkiLength, 4U);
  EXPECT_EQ(crypto->sessionParams, (std::vector<std::string>{"KDR=1", "WSH=64"}));
  EXPECT_EQ(crypto->toValue(),
            "1 AES_CM_128_HMAC_SHA1_80 inline:PUtFgW290u28Qkz00olD8Eo/6vpoMd8TI1j4nleH|2^20|1:4 "
            "KDR=1 WSH=64");
}

TEST(SdpAttributes, CryptoVariants) {
  // MKI without lifetime, and two keys.
  auto two = Crypto::parse(
      "2 AES_CM_128_HMAC_SHA1_32 inline:PUtFgW290u28Qkz00olD8Eo/6vpoMd8TI1j4nleH|5:2;"
      "inline:9CgyH00X7fTXRkWaJ8oIW6E1w/9iaEsTIQj94bxk|1048576");
  ASSERT_TRUE(two.ok()) << two.error().reason;
  ASSERT_EQ(two->keys.size(), 2U);
  EXPECT_FALSE(two->keys[0].lifetime.has_value());
  EXPECT_EQ(two->keys[0].mki, 5U);
  EXPECT_EQ(two->keys[1].lifetime, "1048576");
  const char* bad[] = {
      "1234567890 AES_CM_128_HMAC_SHA1_80 inline:PUtFgW290u28Qkz00olD8Eo/6vpoMd8TI1j4nleH",
      "x AES_CM_128_HMAC_SHA1_80 inline:PUtFgW290u28Qkz00olD8Eo/6vpoMd8TI1j4nleH",
      "1 AES_CM_128_HMAC_SHA1_80 uri:sip:keys@example.com",
      "1 AES_CM_128_HMAC_SHA1_80 inline:",
      "1 AES_CM_128_HMAC_SHA1_80 inline:PUtFgW290u28Qkz00olD8Eo/6vpoMd8TI1j4nleH|1:0",
      "1 AES_CM_128_HMAC_SHA1_80 inline:PUtFgW290u28Qkz00olD8Eo/6vpoMd8TI1j4nleH|1:129",
      "1 AES_CM_128_HMAC_SHA1_80 inline:PUtFgW290u28Qkz00olD8Eo/6vpoMd8TI1j4nleH|1:4|2^20",
      "1 AES_CM_128_HMAC_SHA1_80 inline:PUtFgW290u28Qkz00olD8Eo/6vpoMd8TI1j4nleH|3^20",
  };
  for (const char* value : bad) {
    EXPECT_FALSE(Crypto::parse(value).ok()) << value;
  }
}

TEST(SdpAttributes, ExtMap) {
  auto ext = ExtMap::parse("1/sendonly urn:ietf:params:rtp-hdrext:ssrc-audio-level vad=on");
  ASSERT_TRUE(ext.ok());
  EXPECT_EQ(ext->id, 1U);
  EXPECT_EQ(ext->direction, Direction::kSendOnly);
  EXPECT_EQ(ext->uri, kSsrcAudioLevelUri);
  EXPECT_EQ(ext->attributes, "vad=on");
  EXPECT_EQ(ext->toValue(), "1/sendonly urn:ietf:params:rtp-hdrext:ssrc-audio-level vad=on");
  EXPECT_TRUE(ExtMap::parse("4096 urn:x").ok());
  EXPECT_TRUE(ExtMap::parse("255 urn:x").ok());
  EXPECT_FALSE(ExtMap::parse("0 urn:x").ok());
  EXPECT_FALSE(ExtMap::parse("256 urn:x").ok());
  EXPECT_FALSE(ExtMap::parse("4352 urn:x").ok());
  EXPECT_FALSE(ExtMap::parse("1/upward urn:x").ok());
  EXPECT_FALSE(ExtMap::parse("1").ok());
}

TEST(SdpAttributes, RtcpAndPacketTime) {
  auto rtcp = RtcpAttribute::parse("53020 IN IP4 126.16.64.4");
  ASSERT_TRUE(rtcp.ok());
  EXPECT_EQ(rtcp->port, 53020);
  EXPECT_EQ(rtcp->address, "126.16.64.4");
  EXPECT_EQ(rtcp->toValue(), "53020 IN IP4 126.16.64.4");
  EXPECT_EQ(RtcpAttribute::parse("53021")->address, "");
  EXPECT_FALSE(RtcpAttribute::parse("53020 IN IP4").ok());
  EXPECT_EQ(*parsePacketTime("20"), 20U);
  EXPECT_EQ(*parsePacketTime("20.0"), 20U);
  EXPECT_EQ(*parsePacketTime("2.5"), 3U);
  EXPECT_FALSE(parsePacketTime("").ok());
  EXPECT_FALSE(parsePacketTime("20.").ok());
  EXPECT_FALSE(parsePacketTime("-20").ok());
}

TEST(SdpAttributes, DirectionsAndStaticPayloadTypes) {
  EXPECT_EQ(answerDirection(Direction::kSendOnly), Direction::kRecvOnly);
  EXPECT_EQ(answerDirection(Direction::kRecvOnly), Direction::kSendOnly);
  EXPECT_EQ(answerDirection(Direction::kInactive), Direction::kInactive);
  EXPECT_EQ(answerDirection(Direction::kSendRecv), Direction::kSendRecv);
  EXPECT_EQ(directionFromName("inactive"), Direction::kInactive);
  EXPECT_FALSE(directionFromName("SENDONLY").has_value());
  EXPECT_EQ(staticPayloadType(0)->encoding, "PCMU");
  EXPECT_EQ(staticPayloadType(8)->encoding, "PCMA");
  EXPECT_EQ(staticPayloadType(9)->clockRate, 8000U);  // RFC 3551 §4.5.2: G.722 says 8000
  EXPECT_FALSE(staticPayloadType(96).has_value());
  EXPECT_FALSE(staticPayloadType(2).has_value());
}

// ---- base64
// ---------------------------------------------------------------------------------------

TEST(SdpBase64, Rfc4648Vectors) {
  const std::pair<std::string_view, std::string_view> vectors[] = {
      {"", ""},
      {"f", "Zg=="},
      {"fo", "Zm8="},
      {"foo", "Zm9v"},
      {"foob", "Zm9vYg=="},
      {"fooba", "Zm9vYmE="},
      {"foobar", "Zm9vYmFy"},
  };
  for (const auto& [plain, encoded] : vectors) {
    const std::vector<std::uint8_t> bytes(plain.begin(), plain.end());
    EXPECT_EQ(base64Encode(bytes), encoded);
    EXPECT_EQ(base64Decode(encoded), bytes) << encoded;
  }
}

TEST(SdpBase64, RoundTripsEveryLengthAndAcceptsMissingPadding) {
  for (std::size_t n = 0; n < 48; ++n) {
    std::vector<std::uint8_t> bytes(n);
    for (std::size_t i = 0; i < n; ++i) {
      bytes[i] = static_cast<std::uint8_t>(i * 37 + 11);
    }
    auto encoded = base64Encode(bytes);
    EXPECT_EQ(base64Decode(encoded), bytes);
    while (!encoded.empty() && encoded.back() == '=') {
      encoded.pop_back();
    }
    EXPECT_EQ(base64Decode(encoded), bytes);
  }
  EXPECT_FALSE(base64Decode("A").has_value());
  EXPECT_FALSE(base64Decode("Zg===").has_value());
  EXPECT_FALSE(base64Decode("Zg=a").has_value());
  EXPECT_FALSE(base64Decode("Z g=").has_value());
  EXPECT_FALSE(base64Decode("Zm9v-_").has_value());
}

}  // namespace
}  // namespace confab::sdp
