// API bodies write numbers as plain decimals (issue 10 item 13): Boost.JSON alone writes 1E0.
#include <gtest/gtest.h>

#include <boost/json/parse.hpp>
#include <cmath>
#include <limits>

#include "api/JsonText.hpp"

namespace confab::api {
namespace {

TEST(JsonText, DoublesArePlainDecimals) {
  EXPECT_EQ(decimal(1.0), "1");
  EXPECT_EQ(decimal(0.25), "0.25");
  EXPECT_EQ(decimal(1.5), "1.5");
  EXPECT_EQ(decimal(-2.0), "-2");
  EXPECT_EQ(decimal(0.0), "0");
  EXPECT_EQ(decimal(0.1), "0.1");
  EXPECT_EQ(decimal(12.345), "12.345");
  EXPECT_EQ(decimal(1e-5), "0.00001");
  EXPECT_EQ(decimal(std::nan("")), "null");
  EXPECT_EQ(decimal(std::numeric_limits<double>::infinity()), "null");
}

TEST(JsonText, AWholeBodyReadsBackTheSame) {
  const boost::json::value body = {
      {"gain", 1.0},
      {"media", {{"fractionLost", 0.0078125}, {"jitterMs", 2.5}, {"packets", 120}}},
      {"name", "A \"quoted\" \\ name\n"},
      {"list", {1, 2.5, true, nullptr}}};
  const std::string text = jsonText(body);
  EXPECT_EQ(text.find('E'), std::string::npos) << text;
  EXPECT_NE(text.find("\"gain\":1,"), std::string::npos) << text;
  EXPECT_NE(text.find("\"jitterMs\":2.5"), std::string::npos) << text;
  // Same values read back (1 comes back an integer, which JSON does not tell from 1.0).
  const boost::json::value back = boost::json::parse(text);
  EXPECT_EQ(back.at("gain").to_number<double>(), 1.0);
  EXPECT_EQ(back.at("media").at("fractionLost").to_number<double>(), 0.0078125);
  EXPECT_EQ(back.at("media").at("packets"), 120);
  EXPECT_EQ(back.at("name"), body.at("name"));
  EXPECT_EQ(back.at("list").at(1).to_number<double>(), 2.5);
  EXPECT_TRUE(back.at("list").at(3).is_null());
}

}  // namespace
}  // namespace confab::api
