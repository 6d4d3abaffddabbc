// /metrics (issue 13 item 6): the bridge in the Prometheus text exposition format (version
// 0.0.4): calls, conferences, participants, the mixer threads' tick lateness and faults, the
// worst RTP loss and jitter among live participants, abuse refusals, API requests.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <tuple>

namespace confab::api {

// API requests answered: (route pattern, method, status) -> count.
using RequestCounts = std::map<std::tuple<std::string, std::string, unsigned>, uint64_t>;

}  // namespace confab::api
