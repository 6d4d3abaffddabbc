// What the focus tells the mixer about a call follows from the SDP the phone offered: the codec
// (G.722 included) and, for Opus, whether the phone asked for in-band FEC (RFC 7587 §6.1).
#include <gtest/gtest.h>

#include <string>

#include "focus/room/MediaParams.hpp"
#include "focus/sdp/OfferAnswer.hpp"
#include "tests/unit/focus/sdp/SdpTestSupport.hpp"

namespace confab::room {
namespace {

sdp::Negotiated negotiate(const std::string& mediaLines) {
  const std::string offer =
      "v=0\r\no=- 1 1 IN IP4 192.0.2.10\r\ns=-\r\nc=IN IP4 192.0.2.10\r\nt=0 0\r\n" + mediaLines;
  sdp::LocalMedia local;
  local.address = "203.0.113.5";
  local.rtpPort = 30000;
  auto negotiated = sdp::answer(sdp::test::parseOk(offer), local);
  EXPECT_TRUE(negotiated.ok());
  return negotiated.ok() ? std::move(negotiated).value() : sdp::Negotiated{};
}

TEST(MediaParams, OpusFecFollowsThePhonesUseinbandfec) {
  auto params = toMediaParams(negotiate("m=audio 4000 RTP/AVP 111\r\n"
                                        "a=rtpmap:111 opus/48000/2\r\n"
                                        "a=fmtp:111 minptime=10;useinbandfec=1\r\n"),
                              1, {});
  ASSERT_TRUE(params);
  EXPECT_EQ(params->participant.codec, mixer::Codec::kOpus);
  EXPECT_TRUE(params->participant.opusFec);

  // No fmtp (useinbandfec defaults to 0), or an explicit 0: no FEC in what we send.
  for (const char* fmtp : {"", "a=fmtp:111 useinbandfec=0\r\n"}) {
    SCOPED_TRACE(fmtp);
    params = toMediaParams(
        negotiate(std::string("m=audio 4000 RTP/AVP 111\r\na=rtpmap:111 opus/48000/2\r\n") + fmtp),
        1, {});
    ASSERT_TRUE(params);
    EXPECT_FALSE(params->participant.opusFec);
  }
}

TEST(MediaParams, ADeskPhoneOfferingG722GetsIt) {
  auto params = toMediaParams(negotiate("m=audio 4000 RTP/AVP 9 0 8 101\r\n"
                                        "a=rtpmap:101 telephone-event/8000\r\n"),
                              7, {});
  ASSERT_TRUE(params);
  EXPECT_EQ(params->participant.codec, mixer::Codec::kG722);
  EXPECT_EQ(params->participant.payloadType, 9);
  EXPECT_EQ(params->participant.telephoneEventPayloadType, 101);
  EXPECT_FALSE(params->participant.opusFec);
}

}  // namespace
}  // namespace confab::room
