// The HTTP messages the REST API speaks and the limits every request is read under. Shared by
// the socket server and by the fuzz target, which parses bytes without a socket.
#pragma once

#include <boost/beast/http/message.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/system/result.hpp>
#include <chrono>
#include <cstddef>
#include <string_view>
#include <variant>
#include <vector>

#include "api/FileBody.hpp"

namespace confab::api {

namespace http = boost::beast::http;

using Request = http::request<http::string_body>;
using Response = http::response<http::string_body>;
// A response whose body is streamed from a file (a recording download).
using FileResponse = http::response<FileBody>;
// What the server writes for a request: a response held in memory, or a file's.
using Answer = std::variant<Response, FileResponse>;

// Bounds on what one client can make the server hold or wait for.
struct Limits {
  std::size_t headerBytes = 8 * 1024;
  std::size_t bodyBytes = 64 * 1024;
  // From the start of a read (the idle wait on a kept-alive connection included) to the end of
  // the request's header section: short, so that a client sending its header a byte at a time
  // holds a connection for seconds, not for the whole request timeout.
  std::chrono::milliseconds headerTimeout{5000};
  // Reading one whole request, and writing one response.
  std::chrono::milliseconds requestTimeout{30000};
  // Connections served at once. When all are taken, a new one replaces the one that has waited
  // longest for its next header (idle or slow), so that clients holding connections open cannot
  // lock everyone else out; when none waits, the new one is closed.
  std::size_t maxConnections = 256;
  // Connections from one address (an IPv6 /64 counts as one) at once; more are closed.
  std::size_t maxConnectionsPerAddress = 32;
  // How often the keys of open /v1/events streams are looked up again: a stream whose key was
  // revoked since (or whose tenant was deleted) is closed by then.
  std::chrono::milliseconds keyRecheck{2000};
};

// Puts the limits on a parser before it reads anything.
void applyLimits(http::request_parser<http::string_body>& parser, const Limits& limits);

// Parses one complete request from bytes under the limits; the error is a Beast HTTP error
// (http::error::need_more when the bytes end before the request does).
boost::system::result<Request> parseRequest(std::string_view bytes, const Limits& limits);

// The elements of a list-valued header (RFC 9110 §5.6.1: comma-separated, over any number of
// field lines, spaces around each trimmed, empty elements skipped), in order. They view the
// request, which must outlive them.
std::vector<std::string_view> listElements(const Request& request, http::field field);

// True when the error says the peer sent something that is not acceptable HTTP (answered with a
// problem), as opposed to a socket error or a timeout (the connection is just closed).
bool isProtocolError(const boost::system::error_code& error);

}  // namespace confab::api
