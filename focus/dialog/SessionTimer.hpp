// RFC 4028 session timers, the UAS side: negotiate the interval and refresher from a request,
// write the response headers, and say when the session should be refreshed or torn down.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>

#include "focus/sip/Message.hpp"
#include "focus/sip/Result.hpp"

namespace confab::dialog {

struct SessionTimerSettings {
  uint32_t sessionExpires = 1800;  // what we ask for when the UAC supports timers (§9)
  uint32_t minSe = 90;             // RFC 4028 §5: never below 90 seconds
};

class SessionTimer {
 public:
  enum class Refresher { kUac, kUas };

  // RFC 4028 §9: reads Session-Expires, Min-SE and Supported from a session refresh or the
  // initial INVITE. Error 422 (with the caller adding Min-SE) when the interval is too small.
  static sip::Result<std::optional<SessionTimer>> negotiate(const sip::Message& request,
                                                            const SessionTimerSettings& settings);

  // Adds Session-Expires (and Require: timer when the UAC supports it) to a 2xx.
  void addTo(sip::Message& response) const;

  [[nodiscard]] uint32_t interval() const { return interval_; }
  [[nodiscard]] Refresher refresher() const { return refresher_; }
  // When we should send a refresh (we are the refresher): half the interval (§10).
  [[nodiscard]] std::chrono::seconds refreshAfter() const {
    return std::chrono::seconds(interval_ / 2);
  }
  // When, without a refresh, we tear the session down (§10): the interval minus the lesser of
  // 32 seconds and one third of it.
  [[nodiscard]] std::chrono::seconds expireAfter() const {
    return std::chrono::seconds(interval_ - std::min<uint32_t>(32, interval_ / 3));
  }

 private:
  uint32_t interval_ = 0;
  Refresher refresher_ = Refresher::kUac;
  bool uacSupportsTimer_ = false;
};

}  // namespace confab::dialog
