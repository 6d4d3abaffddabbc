// RFC 3261 §17 timer values; T1, T2 and T4 come from configuration, the rest derive from them.
#pragma once

#include <chrono>

namespace confab::txn {

struct Settings {
  std::chrono::milliseconds t1{500};   // RTT estimate
  std::chrono::milliseconds t2{4000};  // longest retransmit interval for non-INVITE and responses
  std::chrono::milliseconds t4{5000};  // how long the network may hold a message
  [[nodiscard]] std::chrono::milliseconds timeout() const { return 64 * t1; }  // B, F, H, J, L, M
};

}  // namespace confab::txn
