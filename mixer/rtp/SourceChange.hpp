// When a participant's stream has really moved to a new SSRC. Phones start a new RTP source on
// hold and resume, transfer, a re-INVITE or a restart (RFC 3550 §8.2: a new SSRC for a new
// source, often with no signalling to say so); a stream that kept refusing it would leave the
// caller unheard for the rest of the call. Only packets that came through the endpoint's strict
// latching (the latched address, or with SRTP an authenticated packet) are ever asked about, so a
// stranger elsewhere still changes nothing.
//
// A new SSRC takes over only when both hold:
//  - kInSequence packets of it in sequence (one forged or stray packet is not a source), and
//  - nothing of the current SSRC for kQuietTime (two live sources on one address, a forger
//    interleaving packets with the real ones, never take the stream from the one being played).
// So the switch takes about 3 packet times after the old source stopped: 60 ms at 20 ms ptime.
#pragma once

#include <chrono>
#include <cstdint>

namespace confab::rtp {

class SourceChange {
 public:
  static constexpr uint8_t kInSequence = 3;
  static constexpr std::chrono::milliseconds kQuietTime{60};

  using TimePoint = std::chrono::steady_clock::time_point;

  // A packet of the current source: the quiet time starts again from here.
  void onCurrent(TimePoint now) {
    lastCurrent_ = now;
    count_ = 0;
  }
  // A packet of another SSRC. True: switch to it now (this packet is the new source's first
  // played); false: not yet (the packet is not played).
  bool onOther(uint32_t ssrc, uint16_t sequence, TimePoint now) {
    if (count_ > 0 && ssrc == ssrc_ && sequence == next_) {
      ++count_;
    } else {
      count_ = 1;
      ssrc_ = ssrc;
    }
    next_ = static_cast<uint16_t>(sequence + 1);
    if (count_ < kInSequence || now - lastCurrent_ < kQuietTime) {
      return false;
    }
    count_ = 0;
    lastCurrent_ = now;
    return true;
  }

 private:
  TimePoint lastCurrent_{};
  uint32_t ssrc_ = 0;
  uint16_t next_ = 0;
  uint8_t count_ = 0;
};

}  // namespace confab::rtp
