#include "focus/conference/Records.hpp"

#include <chrono>

namespace confab::conference {

namespace {

int64_t millis(std::chrono::system_clock::time_point at) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(at.time_since_epoch()).count();
}

}  // namespace

void Records::onChange(const Change& change) {
  const auto& c = change.conference;
  switch (change.kind) {
    case Change::Kind::kJoined:
      ++joined_[c.id];
      return;
    case Change::Kind::kLeft: {
      const Participant& p = *change.participant;
      policy::CallRecord r;
      r.tenantId = c.rules.tenantId;
      r.room = c.id;
      r.conferenceStarted = millis(c.startedAt);
      r.callId = p.callId;
      r.entity = p.entity;
      r.displayName = p.displayName;
      r.role = std::string(name(p.role));
      r.joining = std::string(name(p.joining));
      r.joined = millis(p.joinedAt);
      r.left = millis(p.leftAt);
      r.codec = p.media.codec;
      r.srtp = p.media.srtp;
      r.disconnection = std::string(name(p.disconnection.value_or(DisconnectionMethod::kDeparted)));
      r.reason = p.disconnectReason;
      r.quality = p.quality;
      if (auto written = store_.addCallRecord(r);
          std::holds_alternative<policy::StoreError>(written)) {
        ++failures_;
        if (log_) {
          log_("call record for " + p.callId + " in " + c.id +
               " not written: " + std::get<policy::StoreError>(written).message);
        }
      }
      return;
    }
    case Change::Kind::kEnded: {
      policy::ConferenceRecord r;
      r.tenantId = c.rules.tenantId;
      r.room = c.id;
      r.started = millis(c.startedAt);
      r.ended = millis(std::chrono::system_clock::now());
      auto seen = joined_.find(c.id);
      r.participants = seen == joined_.end() ? 0 : seen->second;
      if (seen != joined_.end()) {
        joined_.erase(seen);
      }
      if (auto written = store_.addConferenceRecord(r);
          std::holds_alternative<policy::StoreError>(written)) {
        ++failures_;
        if (log_) {
          log_("conference record for " + c.id +
               " not written: " + std::get<policy::StoreError>(written).message);
        }
      }
      constexpr int64_t kHourMs = 3'600'000;
      if (keep_.count() > 0 && r.ended - lastSweep_ >= kHourMs) {
        lastSweep_ = r.ended;
        const int64_t cutoff =
            r.ended - std::chrono::duration_cast<std::chrono::milliseconds>(keep_).count();
        if (auto swept = store_.deleteRecordsBefore(cutoff);
            std::holds_alternative<policy::StoreError>(swept) && log_) {
          log_("old records not swept: " + std::get<policy::StoreError>(swept).message);
        }
      }
      return;
    }
    case Change::Kind::kStarted:
    case Change::Kind::kUpdated:
    case Change::Kind::kRoom:
      return;
  }
}

}  // namespace confab::conference
