// DTMF keys from SIP INFO bodies: the bodies real phones send, and every way a body is refused.
#include <gtest/gtest.h>

#include <string>
#include <string_view>
#include <variant>

#include "focus/room/DtmfInfo.hpp"

namespace confab::room {
namespace {

constexpr std::string_view kRelay = "application/dtmf-relay";
constexpr std::string_view kDtmf = "application/dtmf";

// The key, or '?' with the reason printed, so a refusal fails the EXPECT_EQ with its cause.
char keyOf(std::string_view type, std::string_view body) {
  const auto result = parseDtmfInfo(type, body);
  if (const auto* error = std::get_if<DtmfInfoError>(&result)) {
    ADD_FAILURE() << "refused: " << error->reason;
    return '?';
  }
  return std::get<char>(result);
}

// The reason, or "" when the body was accepted.
std::string reasonOf(std::string_view type, std::string_view body) {
  const auto result = parseDtmfInfo(type, body);
  if (const auto* error = std::get_if<DtmfInfoError>(&result)) {
    return error->reason;
  }
  return "";
}

TEST(DtmfInfoRelay, CiscoCrlf) {
  EXPECT_EQ(keyOf(kRelay, "Signal=5\r\nDuration=160\r\n"), '5');
}

TEST(DtmfInfoRelay, AsteriskFormWithSpaces) {
  // Asterisk's chan_sip writes "Signal=%c\r\nDuration=%u\r\n"; others pad around '='.
  EXPECT_EQ(keyOf(kRelay, "Signal=#\r\nDuration=250\r\n"), '#');
  EXPECT_EQ(keyOf(kRelay, "Signal = 7\r\nDuration = 100\r\n"), '7');
  EXPECT_EQ(keyOf(kRelay, "  Signal\t=\t9  \r\n"), '9');
}

TEST(DtmfInfoRelay, LfOnlyAndNoFinalNewline) {
  EXPECT_EQ(keyOf(kRelay, "Signal=3\nDuration=160\n"), '3');
  EXPECT_EQ(keyOf(kRelay, "Signal=3\nDuration=160"), '3');
  EXPECT_EQ(keyOf(kRelay, "Signal=0"), '0');
}

TEST(DtmfInfoRelay, NumericStarAndHash) {
  EXPECT_EQ(keyOf(kRelay, "Signal= 11\r\nDuration= 160\r\n"), '#');
  EXPECT_EQ(keyOf(kRelay, "Signal=10\r\nDuration=160\r\n"), '*');
}

TEST(DtmfInfoRelay, EveryKey) {
  const std::string_view keys = "0123456789*#ABCD";
  for (const char k : keys) {
    EXPECT_EQ(keyOf(kRelay, "Signal=" + std::string(1, k) + "\r\n"), k) << k;
  }
}

TEST(DtmfInfoRelay, LowerCaseLettersComeBackUpperCase) {
  EXPECT_EQ(keyOf(kRelay, "Signal=a\r\n"), 'A');
  EXPECT_EQ(keyOf(kRelay, "Signal=d\r\n"), 'D');
}

TEST(DtmfInfoRelay, NamesAreCaseInsensitive) {
  EXPECT_EQ(keyOf(kRelay, "signal=4\r\nduration=160\r\n"), '4');
  EXPECT_EQ(keyOf(kRelay, "SIGNAL=*\r\nDURATION=160\r\n"), '*');
}

TEST(DtmfInfoRelay, OtherLinesAndBlankLinesAreIgnored) {
  EXPECT_EQ(keyOf(kRelay, "\r\nVolume=10\r\nSignal=6\r\n\r\nSomething else\r\n"), '6');
}

TEST(DtmfInfoRelay, DurationIsOptionalAndMayComeFirst) {
  EXPECT_EQ(keyOf(kRelay, "Signal=1"), '1');
  EXPECT_EQ(keyOf(kRelay, "Duration=160\r\nSignal=2\r\n"), '2');
}

TEST(DtmfInfoRelay, RepeatedSameSignalIsAccepted) {
  EXPECT_EQ(keyOf(kRelay, "Signal=8\r\nSignal=8\r\n"), '8');
  EXPECT_EQ(keyOf(kRelay, "Signal=#\r\nSignal=11\r\n"), '#');
}

TEST(DtmfInfoRelay, ContentTypeCaseAndParametersDoNotMatter) {
  EXPECT_EQ(keyOf("Application/DTMF-Relay", "Signal=5"), '5');
  EXPECT_EQ(keyOf("application/dtmf-relay ; charset=us-ascii", "Signal=5"), '5');
}

TEST(DtmfInfoDtmf, BareKey) {
  EXPECT_EQ(keyOf(kDtmf, "5"), '5');
  EXPECT_EQ(keyOf(kDtmf, "#"), '#');
  EXPECT_EQ(keyOf(kDtmf, "*"), '*');
  EXPECT_EQ(keyOf(kDtmf, "b"), 'B');
}

TEST(DtmfInfoDtmf, SurroundingWhitespace) {
  EXPECT_EQ(keyOf(kDtmf, "5\r\n"), '5');
  EXPECT_EQ(keyOf(kDtmf, " \t9\n"), '9');
  EXPECT_EQ(keyOf(kDtmf, "\r\n 11 \r\n"), '#');
  EXPECT_EQ(keyOf("APPLICATION/DTMF;foo=bar", "10"), '*');
}

TEST(DtmfInfoErrors, UnknownContentType) {
  EXPECT_EQ(reasonOf("application/sdp", "Signal=5"),
            "Content-Type is neither application/dtmf-relay nor application/dtmf");
  EXPECT_EQ(reasonOf("", "5"),
            "Content-Type is neither application/dtmf-relay nor application/dtmf");
  EXPECT_EQ(reasonOf("application/dtmf-relayx", "Signal=5"),
            "Content-Type is neither application/dtmf-relay nor application/dtmf");
}

TEST(DtmfInfoErrors, BodyTooLong) {
  std::string body = "Signal=5\r\n";
  body.append(kMaxDtmfInfoBody - body.size(), ' ');
  EXPECT_EQ(keyOf(kRelay, body), '5');  // exactly the limit is still read
  body.push_back(' ');
  EXPECT_EQ(reasonOf(kRelay, body), "DTMF INFO body is longer than 1024 bytes");
  EXPECT_EQ(reasonOf(kDtmf, std::string(2000, ' ') + "5"),
            "DTMF INFO body is longer than 1024 bytes");
}

TEST(DtmfInfoErrors, RelayWithoutSignal) {
  EXPECT_EQ(reasonOf(kRelay, ""), "dtmf-relay body has no Signal line");
  EXPECT_EQ(reasonOf(kRelay, "Duration=160\r\n"), "dtmf-relay body has no Signal line");
  EXPECT_EQ(reasonOf(kRelay, "5\r\n"), "dtmf-relay body has no Signal line");
  EXPECT_EQ(reasonOf(kRelay, "Signals=5\r\n"), "dtmf-relay body has no Signal line");
}

TEST(DtmfInfoErrors, RelayTwoDifferentSignals) {
  EXPECT_EQ(reasonOf(kRelay, "Signal=1\r\nSignal=2\r\n"),
            "dtmf-relay body has two different Signal lines");
  EXPECT_EQ(reasonOf(kRelay, "Signal=*\r\nSignal=11\r\n"),
            "dtmf-relay body has two different Signal lines");
}

TEST(DtmfInfoErrors, RelaySignalWithoutValue) {
  EXPECT_EQ(reasonOf(kRelay, "Signal=\r\n"), "dtmf-relay Signal has no key");
  EXPECT_EQ(reasonOf(kRelay, "Signal=  \r\n"), "dtmf-relay Signal has no key");
  EXPECT_EQ(reasonOf(kRelay, "Signal 5\r\n"), "dtmf-relay body has no Signal line");
  EXPECT_EQ(reasonOf(kRelay, "Signal\r\n"), "dtmf-relay Signal line has no '='");
}

TEST(DtmfInfoErrors, RelayUnknownKey) {
  for (const char* value : {"E", "e", "!", "/", "12", "15", "16", "05", "00"}) {
    EXPECT_EQ(reasonOf(kRelay, std::string("Signal=") + value + "\r\n"),
              "dtmf-relay Signal names an unknown key")
        << value;
  }
}

TEST(DtmfInfoErrors, RelayJunkKey) {
  for (const char* value : {"5x", "5 6", "*#", "one", "1.0", "-1"}) {
    EXPECT_EQ(reasonOf(kRelay, std::string("Signal=") + value + "\r\n"),
              "dtmf-relay Signal is not a key")
        << value;
  }
  EXPECT_EQ(reasonOf(kRelay, std::string("Signal=5\0", 9)), "dtmf-relay Signal is not a key");
}

TEST(DtmfInfoErrors, RelayBadDuration) {
  EXPECT_EQ(reasonOf(kRelay, "Signal=5\r\nDuration=abc\r\n"),
            "dtmf-relay Duration is not a number");
  EXPECT_EQ(reasonOf(kRelay, "Signal=5\r\nDuration=\r\n"), "dtmf-relay Duration is not a number");
  EXPECT_EQ(reasonOf(kRelay, "Signal=5\r\nDuration=-160\r\n"),
            "dtmf-relay Duration is not a number");
  EXPECT_EQ(reasonOf(kRelay, "Signal=5\r\nDuration=160ms\r\n"),
            "dtmf-relay Duration is not a number");
  EXPECT_EQ(reasonOf(kRelay, "Signal=5\r\nDuration\r\n"), "dtmf-relay Duration is not a number");
  EXPECT_EQ(reasonOf(kRelay, "Signal=5\r\nDuration=99999999999999999999\r\n"),
            "dtmf-relay Duration is too large");
  EXPECT_EQ(keyOf(kRelay, "Signal=5\r\nDuration=4294967295\r\n"), '5');
}

TEST(DtmfInfoErrors, DtmfBody) {
  EXPECT_EQ(reasonOf(kDtmf, ""), "dtmf body is empty");
  EXPECT_EQ(reasonOf(kDtmf, " \r\n"), "dtmf body is empty");
  EXPECT_EQ(reasonOf(kDtmf, "E"), "dtmf body names an unknown key");
  EXPECT_EQ(reasonOf(kDtmf, "16"), "dtmf body names an unknown key");
  EXPECT_EQ(reasonOf(kDtmf, "Signal=5"), "dtmf body is not a key");
  EXPECT_EQ(reasonOf(kDtmf, "5\r\n6"), "dtmf body is not a key");
}

TEST(DtmfInfoType, KnownTypes) {
  EXPECT_TRUE(isDtmfInfoType("application/dtmf-relay"));
  EXPECT_TRUE(isDtmfInfoType("application/dtmf"));
  EXPECT_TRUE(isDtmfInfoType("Application/DTMF-Relay"));
  EXPECT_TRUE(isDtmfInfoType(" application/dtmf ;x=y"));
  EXPECT_FALSE(isDtmfInfoType("application/sdp"));
  EXPECT_FALSE(isDtmfInfoType("application/dtmf-relay2"));
  EXPECT_FALSE(isDtmfInfoType("dtmf"));
  EXPECT_FALSE(isDtmfInfoType(""));
}

}  // namespace
}  // namespace confab::room
