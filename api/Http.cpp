#include "api/Http.hpp"

#include <boost/asio/buffer.hpp>
#include <boost/beast/http/error.hpp>

namespace confab::api {

void applyLimits(http::request_parser<http::string_body>& parser, const Limits& limits) {
  parser.header_limit(static_cast<std::uint32_t>(limits.headerBytes));
  parser.body_limit(limits.bodyBytes);
}

boost::system::result<Request> parseRequest(std::string_view bytes, const Limits& limits) {
  http::request_parser<http::string_body> parser;
  applyLimits(parser, limits);
  parser.eager(true);
  boost::system::error_code ec;
  parser.put(boost::asio::buffer(bytes.data(), bytes.size()), ec);
  if (ec) {
    return ec;
  }
  if (!parser.is_done()) {
    // A body delimited by the end of the connection (no Content-Length, not chunked) cannot
    // occur in a request (RFC 9112 §6.3), so not done means more bytes were needed.
    return boost::system::error_code(http::error::need_more);
  }
  return parser.release();
}

std::vector<std::string_view> listElements(const Request& request, http::field field) {
  std::vector<std::string_view> out;
  const auto [first, last] = request.equal_range(field);
  for (auto line = first; line != last; ++line) {
    std::string_view list = line->value();
    while (!list.empty()) {
      const auto comma = list.find(',');
      const std::string_view element = list.substr(0, comma);
      list.remove_prefix(comma == std::string_view::npos ? list.size() : comma + 1);
      const auto begin = element.find_first_not_of(" \t");
      if (begin != std::string_view::npos) {
        out.push_back(element.substr(begin, element.find_last_not_of(" \t") - begin + 1));
      }
    }
  }
  return out;
}

bool isProtocolError(const boost::system::error_code& error) {
  static const auto& category = make_error_code(http::error::bad_method).category();
  return error && error.category() == category && error != http::error::end_of_stream &&
         error != http::error::need_more;
}

}  // namespace confab::api
