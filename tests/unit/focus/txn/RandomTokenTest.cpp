// Tags, branches and Call-IDs must be unguessable (RFC 3261 §19.3): they come from OpenSSL's
// CSPRNG, every character of the alphabet equally likely.
#include <gtest/gtest.h>

#include <array>
#include <set>
#include <string>

#include "focus/timer/Timers.hpp"
#include "focus/txn/TransactionLayer.hpp"

namespace confab::txn {
namespace {

class NoWire final : public Wire {
 public:
  void sendResponse(const sip::Message&, const transport::Source&) override {}
  void sendRequest(const sip::Message&, const transport::Destination&) override {}
  [[nodiscard]] transport::SentBy sentBy(transport::Protocol) const override {
    return transport::SentBy{"UDP", "127.0.0.1", 5060};
  }
};

class NoUser final : public TransactionUser {
 public:
  void onRequest(ServerTransaction&) override {}
  void onAck(const sip::Message&, const transport::Source&) override {}
  void onCancel(ServerTransaction&) override {}
  void onServerTransactionEnded(ServerTransaction&) override {}
};

constexpr std::string_view kAlphabet = "abcdefghijklmnopqrstuvwxyz0123456789";

TEST(RandomToken, LengthAlphabetAndNoRepeats) {
  NoWire wire;
  timer::ManualTimers timers;
  NoUser user;
  TransactionLayer layer(wire, timers, Settings{}, user);
  std::set<std::string> seen;
  for (int i = 0; i < 20000; ++i) {
    const std::string tag = layer.randomToken(12);
    ASSERT_EQ(tag.size(), 12u);
    ASSERT_EQ(tag.find_first_not_of(kAlphabet), std::string::npos) << tag;
    ASSERT_TRUE(seen.insert(tag).second) << "repeated tag " << tag;
  }
  const std::string branch = layer.newBranch();
  EXPECT_EQ(branch.rfind("z9hG4bK", 0), 0u) << branch;  // RFC 3261 §8.1.1.7 magic cookie
  EXPECT_GE(branch.size(), 7u + 16u);
}

TEST(RandomToken, EveryCharacterEquallyLikely) {
  // 36 characters from bytes: a plain `byte % 36` would make the first four 8/7 as likely as the
  // rest (chi-square about 400 over this sample); uniform stays near 35, its degrees of freedom.
  NoWire wire;
  timer::ManualTimers timers;
  NoUser user;
  TransactionLayer layer(wire, timers, Settings{}, user);
  std::array<double, 36> counts{};
  constexpr int kTokens = 20000;
  constexpr int kLength = 12;
  for (int i = 0; i < kTokens; ++i) {
    for (char c : layer.randomToken(kLength)) {
      counts[kAlphabet.find(c)] += 1;
    }
  }
  const double expected = double(kTokens) * kLength / 36.0;
  double chi2 = 0;
  for (double n : counts) {
    chi2 += (n - expected) * (n - expected) / expected;
  }
  // P(chi-square with 35 degrees of freedom > 90) is below 1e-6.
  EXPECT_LT(chi2, 90.0);
}

}  // namespace
}  // namespace confab::txn
