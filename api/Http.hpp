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

namespace confab::api {

namespace http = boost::beast::http;

using Request = http::request<http::string_body>;
using Response = http::response<http::string_body>;

// Bounds on what one client can make the server hold or wait for.
struct Limits {
  std::size_t headerBytes = 8 * 1024;
  std::size_t bodyBytes = 64 * 1024;
  // Reading one request (also the idle wait for the next one on a kept-alive connection), and
  // writing one response.
  std::chrono::milliseconds requestTimeout{30000};
  // Connections served at once; more are closed as soon as they are accepted.
  std::size_t maxConnections = 256;
};

// Puts the limits on a parser before it reads anything.
void applyLimits(http::request_parser<http::string_body>& parser, const Limits& limits);

// Parses one complete request from bytes under the limits; the error is a Beast HTTP error
// (http::error::need_more when the bytes end before the request does).
boost::system::result<Request> parseRequest(std::string_view bytes, const Limits& limits);

// True when the error says the peer sent something that is not acceptable HTTP (answered with a
// problem), as opposed to a socket error or a timeout (the connection is just closed).
bool isProtocolError(const boost::system::error_code& error);

}  // namespace confab::api
