#include "focus/dialog/SessionTimer.hpp"

#include <algorithm>

#include "focus/sip/Grammar.hpp"

namespace confab::dialog {

namespace {

// delta-seconds *( SEMI se-params ); returns the number and the refresher param if present.
struct SessionExpires {
  uint32_t seconds = 0;
  std::optional<SessionTimer::Refresher> refresher;
};

std::optional<SessionExpires> parseSessionExpires(std::string_view value) {
  value = sip::grammar::trim(value);
  const auto semi = value.find(';');
  auto number = sip::parseDecimal(sip::grammar::trim(value.substr(0, semi)), 0xFFFFFFFFull);
  if (!number) {
    return std::nullopt;
  }
  SessionExpires se{static_cast<uint32_t>(*number), std::nullopt};
  if (semi != std::string_view::npos) {
    std::string params(value.substr(semi));
    std::transform(params.begin(), params.end(), params.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    params.erase(std::remove_if(params.begin(), params.end(),
                                [](char c) { return c == ' ' || c == '\t'; }),
                 params.end());
    if (params.find("refresher=uac") != std::string::npos) {
      se.refresher = SessionTimer::Refresher::kUac;
    } else if (params.find("refresher=uas") != std::string::npos) {
      se.refresher = SessionTimer::Refresher::kUas;
    }
  }
  return se;
}

}  // namespace

sip::Result<std::optional<SessionTimer>> SessionTimer::negotiate(
    const sip::Message& request, const SessionTimerSettings& settings) {
  const bool supported = request.hasToken("Supported", "timer");
  const std::string* seHeader = request.header("Session-Expires");
  std::optional<SessionExpires> requested;
  if (seHeader != nullptr) {
    requested = parseSessionExpires(*seHeader);
    if (!requested) {
      return sip::badRequest("malformed Session-Expires");
    }
  }
  uint32_t minSe = settings.minSe;
  if (const std::string* minHeader = request.header("Min-SE")) {
    auto theirs = sip::parseDecimal(sip::grammar::trim(*minHeader), 0xFFFFFFFFull);
    if (!theirs) {
      return sip::badRequest("malformed Min-SE");
    }
    minSe = std::max(minSe, static_cast<uint32_t>(*theirs));
  }
  if (requested && requested->seconds < settings.minSe) {
    // RFC 4028 §8.1 (applied by the UAS, §9): too small an interval gets 422 with our Min-SE.
    return sip::Error{422, "Session Interval Too Small"};
  }
  SessionTimer timer;
  timer.uacSupportsTimer_ = supported;
  if (requested) {
    timer.interval_ = requested->seconds;
  } else if (supported) {
    timer.interval_ = std::max(settings.sessionExpires, minSe);
  } else {
    // Neither side asked and the UAC cannot refresh: no session timer (RFC 4028 §9 "MAY").
    return std::optional<SessionTimer>{};
  }
  if (requested && requested->refresher) {
    timer.refresher_ = *requested->refresher;
  } else {
    // RFC 4028 §9: without a choice from the UAC, the UAS picks; a UAC without timer support
    // cannot be the refresher.
    timer.refresher_ = supported ? Refresher::kUac : Refresher::kUas;
  }
  if (!supported) {
    timer.refresher_ = Refresher::kUas;
  }
  return std::optional<SessionTimer>{timer};
}

void SessionTimer::addTo(sip::Message& response) const {
  response.set("Session-Expires", std::to_string(interval_) + ";refresher=" +
                                      (refresher_ == Refresher::kUac ? "uac" : "uas"));
  if (uacSupportsTimer_) {
    // RFC 4028 §9: Require: timer in the 2xx when the UAC supports the extension.
    response.add("Require", "timer");
  }
}

}  // namespace confab::dialog
