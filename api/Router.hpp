// Maps one parsed request to its response. A pure function of the request and of the state it
// reads, so that it is unit-tested and fuzzed without sockets; the server only moves bytes.
#pragma once

#include <string_view>
#include <utility>
#include <vector>

#include "api/AccessLog.hpp"
#include "api/Auth.hpp"
#include "api/Http.hpp"
#include "api/Live.hpp"
#include "api/Metrics.hpp"
#include "api/Webhook.hpp"
#include "policy/Store.hpp"

namespace confab::api {

class Router {
 public:
  // 'store' holds tenants, rooms and keys (what the routes read and change) and 'auth' says who
  // each request is (every route but /health needs a key); both are used on the server's thread
  // only, and must outlive the router.
  // 'live', when given, adds participants, stats, recording and playback; it is used on the
  // server's thread only, like the store.
  // 'webhooks' says which webhook URLs may be registered, and counts deliveries for /metrics.
  Router(policy::Store& store, Auth& auth, Live* live = nullptr, WebhookOptions webhooks = {});

  // Each request answered from now on is a line in 'log' (null: none), which must outlive the
  // router.
  void logTo(AccessLog* log) { log_ = log; }

  // Every route the router answers: its pattern ("/v1/rooms/{id}") and method (GET also answers
  // HEAD). For the test that holds the OpenAPI document to them.
  static std::vector<std::pair<std::string_view, http::verb>> routes();

  // Never throws: whatever goes wrong becomes a problem response (api/Problem.hpp). 'source' is
  // the client's address, for the lockout of those presenting bad keys. A file (a recording) is
  // answered as a FileResponse holding the open file, which the server streams; to a HEAD, as
  // its header only.
  [[nodiscard]] Answer serve(const Request& request, const boost::asio::ip::address& source) const;

  // serve() with every answer in memory, for tests and the fuzzer: a file answer comes back as
  // its header (status, Content-Length, Content-Range...) with an empty body, as to a HEAD.
  [[nodiscard]] Response route(const Request& request,
                               const boost::asio::ip::address& source) const;

  // Parses bytes as one request under the limits and answers it, or answers the parse error:
  // what the server does for one request, without the socket.
  [[nodiscard]] Response answer(std::string_view bytes,
                                const Limits& limits,
                                const boost::asio::ip::address& source) const;

 private:
  policy::Store& store_;
  Auth& auth_;
  Live* live_;
  AccessLog* log_ = nullptr;
  WebhookOptions webhooks_;
  // Requests answered, by route pattern, method and status (for /metrics).
  mutable RequestCounts counts_;
};

}  // namespace confab::api
