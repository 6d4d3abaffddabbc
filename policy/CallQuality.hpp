// What a call detail record keeps of a call's media (issue 13 item 6): plain numbers, so that the
// store knows nothing of the mixer that measured them.
#pragma once

#include <cstdint>

namespace confab::policy {

// How a call's media went, as the mixer saw it when the call left (issue 13 item 6).
struct CallQuality {
  int64_t packetsReceived = 0;
  int64_t packetsDropped = 0;   // received and not played: late, duplicate, malformed, forged
  int64_t framesConcealed = 0;  // 20 ms gaps in their audio filled in (loss as it was heard)
  double fractionLost = 0;      // RFC 3550 §6.4.1, their stream to us, the last interval: 0 to 1
  double jitterMs = 0;          // interarrival jitter of their stream, the last estimate
  double roundTripMs = 0;       // from their receiver reports (RFC 3550 §6.4.1 LSR/DLSR); 0: none
  int64_t remoteLost = 0;       // of our packets, as their last report counted (cumulative)
};

}  // namespace confab::policy
