// confab as a systemd service (issue 14 item 1): the sd_notify(3) protocol of a Type=notify
// unit. READY=1 once every listening point is bound, RELOADING=1 then READY=1 around a SIGHUP
// reload, STOPPING=1 on SIGTERM, and WATCHDOG=1 pings at half the unit's WatchdogSec while the
// process is healthy. Without NOTIFY_SOCKET (not under systemd) every call does nothing.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <functional>
#include <string>

namespace confab {

class Service {
 public:
  // 'healthy' is asked before each ping; a false answer skips the ping, so systemd restarts a
  // process whose media threads stopped ticking. The pings themselves run on 'io', the signalling
  // thread: a stuck signalling thread sends none.
  Service(boost::asio::io_context& io, std::function<bool()> healthy);
  Service(const Service&) = delete;
  Service& operator=(const Service&) = delete;

  void ready(const std::string& status);
  void reloading();
  void stopping();
  // The unit's watchdog interval (WATCHDOG_USEC), zero when it has none.
  [[nodiscard]] std::chrono::microseconds watchdog() const { return watchdog_; }

 private:
  void schedulePing();

  boost::asio::steady_timer timer_;
  std::function<bool()> healthy_;
  std::chrono::microseconds watchdog_{0};
};

}  // namespace confab
