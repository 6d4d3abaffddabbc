// RFC 4733 telephone-event payloads and key-press detection.
#include <gtest/gtest.h>

#include <array>
#include <string>
#include <vector>

#include "mixer/rtp/TelephoneEvent.hpp"
#include "tests/unit/mixer/rtp/HexBytes.hpp"

namespace confab::rtp {
namespace {

using test::fromHex;

class RecordingListener : public DtmfDetector::Listener {
 public:
  void onDtmfPress(const DtmfPress& press) override {
    digits += press.digit;
    timestamps.push_back(press.timestamp);
  }
  std::string digits;
  std::vector<uint32_t> timestamps;
};

std::array<uint8_t, 4> block(uint8_t event, bool end, uint16_t duration, uint8_t volume = 10) {
  std::array<uint8_t, 4> out{};
  writeTelephoneEvent(out, TelephoneEvent{event, end, volume, duration});
  return out;
}

// One key press as a sender transmits it (RFC 4733 §2.5.1): marker on the first packet,
// duration updates every 20 ms, then the end packet three times.
void press(DtmfDetector& d, uint8_t event, uint32_t ts) {
  d.onPacket(block(event, false, 160), ts, true);
  d.onPacket(block(event, false, 320), ts, false);
  d.onPacket(block(event, false, 480), ts, false);
  for (int i = 0; i < 3; ++i) {
    d.onPacket(block(event, true, 800), ts, false);
  }
}

TEST(TelephoneEvent, ParsesGoldenBlock) {
  // Digit 5, E set, R set (ignored), volume 10, duration 800.
  const auto bytes = fromHex("05 ca 03 20");
  const auto p = TelephoneEventPayload::parse(bytes);
  ASSERT_TRUE(p);
  EXPECT_EQ(p->blockCount(), 1U);
  const TelephoneEvent e = p->first();
  EXPECT_EQ(e.event, 5);
  EXPECT_TRUE(e.end);
  EXPECT_EQ(e.volume, 10);
  EXPECT_EQ(e.duration, 800);
}

TEST(TelephoneEvent, ParsesPackedEvents) {
  const auto bytes = fromHex("01 8a 03 20  02 0a 01 40");
  const auto p = TelephoneEventPayload::parse(bytes);
  ASSERT_TRUE(p);
  ASSERT_EQ(p->blockCount(), 2U);
  EXPECT_EQ(p->block(0), (TelephoneEvent{1, true, 10, 800}));
  EXPECT_EQ(p->block(1), (TelephoneEvent{2, false, 10, 320}));
}

TEST(TelephoneEvent, RefusesPartialBlocks) {
  EXPECT_FALSE(TelephoneEventPayload::parse({}));
  EXPECT_FALSE(TelephoneEventPayload::parse(fromHex("05 0a 03")));
  EXPECT_FALSE(TelephoneEventPayload::parse(fromHex("05 0a 03 20 01")));
}

TEST(TelephoneEvent, WriterRoundTripsAndChecks) {
  std::array<uint8_t, 4> out{};
  EXPECT_EQ(writeTelephoneEvent(out, TelephoneEvent{11, true, 63, 0xffff}), 4U);
  EXPECT_EQ(std::vector<uint8_t>(out.begin(), out.end()), fromHex("0b bf ff ff"));
  EXPECT_EQ(writeTelephoneEvent(out, TelephoneEvent{1, false, 64, 0}), 0U);
  EXPECT_EQ(writeTelephoneEvent(std::span(out).first(3), TelephoneEvent{}), 0U);
}

TEST(TelephoneEvent, DigitNames) {
  std::string all;
  for (uint8_t e = 0; e < 20; ++e) {
    if (const auto c = dtmfDigit(e)) {
      all += *c;
    }
  }
  EXPECT_EQ(all, "0123456789*#ABCD");
}

TEST(DtmfDetector, OnePressGivesOneDigit) {
  RecordingListener l;
  DtmfDetector d(l);
  press(d, 5, 16000);
  EXPECT_EQ(l.digits, "5");
  EXPECT_EQ(l.timestamps, (std::vector<uint32_t>{16000}));
}

TEST(DtmfDetector, SameKeyTwiceGivesTwoDigits) {
  RecordingListener l;
  DtmfDetector d(l);
  press(d, 1, 16000);
  press(d, 1, 17600);
  EXPECT_EQ(l.digits, "11");
}

TEST(DtmfDetector, ASequence) {
  RecordingListener l;
  DtmfDetector d(l);
  uint32_t ts = 0xFFFFF000U;  // crosses the 32-bit timestamp wrap on the way
  for (const uint8_t e : std::array<uint8_t, 6>{10, 11, 12, 15, 0, 9}) {
    press(d, e, ts);
    ts += 1600;
  }
  EXPECT_EQ(l.digits, "*#AD09");
}

TEST(DtmfDetector, EndPacketsAloneStillReportOnce) {
  // The start and updates were lost; only the three end packets arrive.
  RecordingListener l;
  DtmfDetector d(l);
  for (int i = 0; i < 3; ++i) {
    d.onPacket(block(7, true, 800), 4000, false);
  }
  EXPECT_EQ(l.digits, "7");
}

TEST(DtmfDetector, LatePacketOfTheEarlierPressIsIgnored) {
  RecordingListener l;
  DtmfDetector d(l);
  press(d, 3, 1000);
  d.onPacket(block(3, false, 160), 2600, true);
  // A retransmitted end packet of the first press arrives after the second began.
  d.onPacket(block(3, true, 800), 1000, false);
  EXPECT_EQ(l.digits, "33");
}

TEST(DtmfDetector, LongEventContinuesWithoutANewPress) {
  // RFC 4733 §2.5.1.3: past 0xFFFF units the sender starts a new segment with a new timestamp
  // and no marker.
  RecordingListener l;
  DtmfDetector d(l);
  d.onPacket(block(8, false, 0xFFFF), 0, true);
  d.onPacket(block(8, false, 160), 0xFFFF, false);
  d.onPacket(block(8, true, 480), 0xFFFF, false);
  EXPECT_EQ(l.digits, "8");
}

TEST(DtmfDetector, AnEventWhoseEndNeverCameEndsAfter200Ms) {
  // '5' pressed, its end packets all lost; 200 ms later '5' again with its first packet (the
  // marker) lost too: the second press must still be reported.
  RecordingListener l;
  DtmfDetector d(l);
  d.onPacket(block(5, false, 160), 1000, true);
  d.onPacket(block(5, false, 320), 1000, false);
  for (int i = 0; i < DtmfDetector::kEndAfterTicks; ++i) {
    d.tick();
  }
  d.onPacket(block(5, false, 320), 5000, false);
  EXPECT_EQ(l.digits, "55");
  EXPECT_EQ(l.timestamps, (std::vector<uint32_t>{1000, 5000}));
}

TEST(DtmfDetector, ALongPressWithUpdatesWithin200MsStaysOnePress) {
  // Updates every 60 ms (delayed, not lost): the press goes on, and its §2.5.1.3 continuation
  // under a new timestamp is no new press.
  RecordingListener l;
  DtmfDetector d(l);
  d.onPacket(block(8, false, 160), 0, true);
  for (int i = 0; i < 10; ++i) {
    for (int t = 0; t < 3; ++t) {
      d.tick();
    }
    d.onPacket(block(8, false, static_cast<uint16_t>(160 * (i + 2))), 0, false);
  }
  for (int t = 0; t < DtmfDetector::kEndAfterTicks - 1; ++t) {
    d.tick();
  }
  d.onPacket(block(8, false, 160), 0xFFFF, false);
  EXPECT_EQ(l.digits, "8");
}

TEST(DtmfDetector, PackedEventsReportEach) {
  RecordingListener l;
  DtmfDetector d(l);
  // "1" ended, then "2" starting where it stopped, in one packet; then "2" continues.
  const auto packed = fromHex("01 8a 03 20  02 0a 00 a0");
  EXPECT_TRUE(d.onPacket(packed, 8000, true));
  EXPECT_TRUE(d.onPacket(packed, 8000, false));  // retransmitted
  d.onPacket(block(2, true, 800), 8000 + 800, false);
  EXPECT_EQ(l.digits, "12");
  EXPECT_EQ(l.timestamps, (std::vector<uint32_t>{8000, 8800}));
}

TEST(DtmfDetector, NonDtmfEventsAreNotDigits) {
  RecordingListener l;
  DtmfDetector d(l);
  press(d, 16, 100);  // hook flash
  EXPECT_TRUE(l.digits.empty());
  press(d, 4, 2000);
  EXPECT_EQ(l.digits, "4");
}

TEST(DtmfDetector, RefusesBadPayloadAndResets) {
  RecordingListener l;
  DtmfDetector d(l);
  EXPECT_FALSE(d.onPacket(fromHex("05 0a 03"), 0, true));
  press(d, 6, 500);
  d.reset();
  // After a reset (new SSRC) the same timestamp is a new press.
  press(d, 6, 500);
  EXPECT_EQ(l.digits, "66");
}

}  // namespace
}  // namespace confab::rtp
