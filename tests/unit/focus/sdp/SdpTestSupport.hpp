// Helpers for the SDP tests: build bodies line by line, read the real-client corpus.
#pragma once

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <initializer_list>
#include <iterator>
#include <string>
#include <string_view>

#include "focus/sdp/SessionDescription.hpp"

namespace confab::sdp::test {

// Joins lines with CRLF, each line terminated, as a SIP body carries them.
inline std::string lines(std::initializer_list<std::string_view> items) {
  std::string out;
  for (const auto item : items) {
    out += item;
    out += "\r\n";
  }
  return out;
}

inline SessionDescription parseOk(std::string_view text) {
  auto parsed = SessionDescription::parse(text);
  EXPECT_TRUE(parsed.ok()) << (parsed.ok() ? "" : parsed.error().reason) << "\n" << text;
  return parsed.ok() ? std::move(parsed).value() : SessionDescription{};
}

inline std::filesystem::path corpusDir() {
  // tests/data may not exist yet, so go up by name rather than through it.
  return std::filesystem::path(CONFAB_TEST_DATA_DIR).parent_path() / "fuzz" / "corpus" / "sdp";
}

inline std::string readCorpus(std::string_view name) {
  std::ifstream in(corpusDir() / name, std::ios::binary);
  EXPECT_TRUE(in.good()) << "missing corpus file " << name;
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

}  // namespace confab::sdp::test
