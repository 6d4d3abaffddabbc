// Maps one parsed request to its response. A pure function of the request and of the state it
// reads, so that it is unit-tested and fuzzed without sockets; the server only moves bytes.
#pragma once

#include <string_view>

#include "api/Http.hpp"
#include "api/Live.hpp"
#include "policy/Directory.hpp"

namespace confab::api {

class Router {
 public:
  // The directory is read on every request and must outlive the router; it is not locked, so
  // whoever changes it does so on the thread that runs the server.
  // 'live', when given, adds participants, stats, recording and playback; it is used on the
  // server's thread only, like the directory.
  explicit Router(const policy::Directory& directory, Live* live = nullptr);

  // Never throws: whatever goes wrong becomes a problem response (api/Problem.hpp).
  [[nodiscard]] Response route(const Request& request) const;

  // Parses bytes as one request under the limits and answers it, or answers the parse error:
  // what the server does for one request, without the socket.
  [[nodiscard]] Response answer(std::string_view bytes, const Limits& limits) const;

 private:
  const policy::Directory& directory_;
  Live* live_;
};

}  // namespace confab::api
