#include "main/Service.hpp"

#include <systemd/sd-daemon.h>

#include <cstdint>
#include <utility>

namespace confab {

Service::Service(boost::asio::io_context& io, std::function<bool()> healthy)
    : timer_(io), healthy_(std::move(healthy)) {
  uint64_t usec = 0;
  // Only for our own pid (WATCHDOG_PID): a child process started with this environment must
  // not ping for us.
  if (sd_watchdog_enabled(0, &usec) > 0) {
    watchdog_ = std::chrono::microseconds(usec);
  }
}

void Service::ready(const std::string& status) {
  // A READY=1 after a reload also ends the reload (systemd.service(5), Type=notify-reload).
  sd_notify(0, ("READY=1\nSTATUS=" + status).c_str());
  if (watchdog_.count() > 0) {
    timer_.cancel();
    schedulePing();
  }
}

void Service::reloading() {
  // MONOTONIC_USEC lets systemd 253+ tell this reload from an earlier one; older ones ignore it.
  sd_notify(0, ("RELOADING=1\nMONOTONIC_USEC=" +
                std::to_string(std::chrono::duration_cast<std::chrono::microseconds>(
                                   std::chrono::steady_clock::now().time_since_epoch())
                                   .count()))
                   .c_str());
}

void Service::stopping() {
  timer_.cancel();
  sd_notify(0, "STOPPING=1");
}

void Service::schedulePing() {
  // Half the interval, as sd_watchdog_enabled(3) advises: one late ping is not yet a restart.
  timer_.expires_after(watchdog_ / 2);
  timer_.async_wait([this](const boost::system::error_code& ec) {
    if (ec) {
      return;
    }
    if (!healthy_ || healthy_()) {
      sd_notify(0, "WATCHDOG=1");
    }
    schedulePing();
  });
}

}  // namespace confab
