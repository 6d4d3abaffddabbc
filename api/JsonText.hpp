// JSON text for API bodies with numbers as people write them. Boost.JSON prints every double in
// exponent form ("gain":1E0, "roundTripMs":2.5E-1); clients and people reading a body expect 1 and
// 0.25. Doubles are written as the shortest plain decimal that reads back to the same value
// (std::to_chars, fixed), integers as integers, NaN and infinity as null (JSON has neither).
#pragma once

#include <boost/json/value.hpp>
#include <string>

namespace confab::api {

std::string jsonText(const boost::json::value& value);
// One number as jsonText writes it ("4", "0.25", "null" for NaN).
std::string decimal(double value);

}  // namespace confab::api
