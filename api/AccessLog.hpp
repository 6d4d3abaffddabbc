// The API's access log (issue 13 item 6): one JSON object per line for each request answered,
// for an operator's log shipper (jq, Loki, Elasticsearch) rather than for eyes. It never holds a
// credential: the key that asked is named by its id, never by its token.
#pragma once

#include <boost/asio/ip/address.hpp>
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "api/Http.hpp"

namespace confab::api {

// What one line says.
struct AccessEntry {
  std::chrono::system_clock::time_point at;  // when the request had been read
  boost::asio::ip::address source;
  std::string_view method;
  std::string_view target;  // as sent, query included (capped, escaped)
  std::string_view route;   // the route pattern it matched, "unmatched" for none
  unsigned status = 0;
  std::size_t bytes = 0;  // of the response body
  std::chrono::microseconds took{0};
  std::optional<int64_t> keyId;     // the API key, when one was accepted
  std::optional<int64_t> tenantId;  // its tenant, when it is a tenant's (not the operator's)
  std::string_view userAgent;
};

class AccessLog {
 public:
  // Appends to 'path' ("-": standard error), creating it mode 0640. The file is opened with
  // O_APPEND and each line goes out in one write(2), so logrotate's copytruncate loses nothing
  // and lines from two processes never interleave. Nothing when it cannot be opened: the error.
  static std::optional<std::string> open(const std::string& path, AccessLog& log);

  AccessLog() = default;
  ~AccessLog();
  AccessLog(const AccessLog&) = delete;
  AccessLog& operator=(const AccessLog&) = delete;

  void write(const AccessEntry& entry);
  // The line write() would write (for tests).
  static std::string line(const AccessEntry& entry);

 private:
  int fd_ = -1;
  bool ownsFd_ = false;
};

}  // namespace confab::api
