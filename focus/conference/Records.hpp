// Call detail records follow the conference model (issue 12 item 1, issue 13 item 6): when a
// participant leaves, one record of their stay; when a conference ends, one of it; written to the
// policy store on the thread that changes the model. A failed write is logged and counted, never
// allowed to stop a call.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <string>

#include "focus/conference/Model.hpp"
#include "policy/Store.hpp"

namespace confab::conference {

class Records final : public Listener {
 public:
  using Log = std::function<void(const std::string& line)>;
  // Records older than 'keep' (counted from when they ended; zero: kept until their tenant goes)
  // are swept as conferences end, at most once an hour, so the table stays bounded without a
  // timer of its own.
  explicit Records(policy::Store& store,
                   Log log = {},
                   std::chrono::hours keep = std::chrono::hours::zero())
      : store_(store), log_(std::move(log)), keep_(keep) {}

  void onChange(const Change& change) override;
  [[nodiscard]] uint64_t failures() const { return failures_; }

 private:
  policy::Store& store_;
  Log log_;
  // Participants seen per running conference, for its record.
  std::map<std::string, unsigned, std::less<>> joined_;
  uint64_t failures_ = 0;
  std::chrono::hours keep_;
  int64_t lastSweep_ = 0;  // Unix ms
};

}  // namespace confab::conference
