#include "api/JsonText.hpp"

#include <array>
#include <boost/json/serialize.hpp>
#include <charconv>
#include <cmath>

namespace confab::api {

namespace {

void write(const boost::json::value& value, std::string& out) {
  switch (value.kind()) {
    case boost::json::kind::object: {
      out += '{';
      bool first = true;
      for (const auto& member : value.get_object()) {
        if (!first) {
          out += ',';
        }
        first = false;
        out += boost::json::serialize(boost::json::string_view(member.key()));
        out += ':';
        write(member.value(), out);
      }
      out += '}';
      return;
    }
    case boost::json::kind::array: {
      out += '[';
      bool first = true;
      for (const auto& element : value.get_array()) {
        if (!first) {
          out += ',';
        }
        first = false;
        write(element, out);
      }
      out += ']';
      return;
    }
    case boost::json::kind::double_:
      out += decimal(value.get_double());
      return;
    default:
      out += boost::json::serialize(value);  // strings (escaped), integers, booleans, null
      return;
  }
}

}  // namespace

std::string decimal(double value) {
  if (!std::isfinite(value)) {
    return "null";
  }
  std::array<char, 400> buffer{};  // the longest fixed form of a double is about 330 characters
  // Plain decimals for everything an API reports (rates, milliseconds, gains); exponent form only
  // where a fixed form would be absurdly long.
  const auto format = std::fabs(value) < 1e21 && (value == 0 || std::fabs(value) >= 1e-9)
                          ? std::chars_format::fixed
                          : std::chars_format::general;
  const auto [end, ec] = std::to_chars(buffer.data(), buffer.data() + buffer.size(), value, format);
  if (ec != std::errc{}) {
    return "null";
  }
  return std::string(buffer.data(), end);
}

std::string jsonText(const boost::json::value& value) {
  std::string out;
  write(value, out);
  return out;
}

}  // namespace confab::api
