// auth: digest challenges read and answered. Known answers from RFC 7616 §3.9.1 and RFC 2617
// §3.5; the other expected responses were computed independently with Python's hashlib.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "focus/auth/Digest.hpp"

namespace confab::auth {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

// The value of one parameter in an Authorization value we wrote, without quotes.
std::string param(const std::string& value, const std::string& name) {
  for (const std::string& prefix : {"Digest " + name + "=", ", " + name + "="}) {
    auto at = value.find(prefix);
    if (at == std::string::npos) {
      continue;
    }
    at += prefix.size();
    if (value[at] == '"') {
      return value.substr(at + 1, value.find('"', at + 1) - at - 1);
    }
    return value.substr(at, value.find(',', at) - at);
  }
  return "<absent>";
}

sip::Message request(const std::string& method, const std::string& uri) {
  auto parsed = sip::Uri::parse(uri);
  EXPECT_TRUE(parsed.ok()) << uri;
  return sip::Message::request(method, parsed.ok() ? *parsed : sip::Uri{});
}

sip::Message challenge(int status, const std::vector<std::string>& values) {
  sip::Message m = sip::Message::response(status, status == 401 ? "Unauthorized"
                                                                  : "Proxy Authentication Required");
  for (const auto& value : values) {
    m.add(status == 407 ? "Proxy-Authenticate" : "WWW-Authenticate", value);
  }
  return m;
}

Challenge parsed(std::string_view value) {
  auto c = parseChallenge(value);
  EXPECT_TRUE(c.ok()) << value << ": " << (c.ok() ? "" : c.error().reason);
  return c.ok() ? *c : Challenge{};
}

constexpr const char* kBiloxiNonce = "dcd98b7102dd2f0e8b11d0f600bfb0c093";
const Credentials kBob{"bob", "zanzibar", ""};

Client fixedClient(Credentials credentials = kBob) {
  return Client(std::move(credentials), [] { return std::string("0a4f113b"); });
}

// ---- RFC 7616 §3.9.1 -------------------------------------------------------------------------

constexpr const char* kRfc7616Sha256 =
    "Digest realm=\"http-auth@example.org\", qop=\"auth, auth-int\", algorithm=SHA-256, "
    "nonce=\"7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v\", "
    "opaque=\"FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS\"";
constexpr const char* kRfc7616Md5 =
    "Digest realm=\"http-auth@example.org\", qop=\"auth, auth-int\", algorithm=MD5, "
    "nonce=\"7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v\", "
    "opaque=\"FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS\"";
constexpr const char* kRfc7616Cnonce = "f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ";
const Credentials kMufasa{"Mufasa", "Circle of Life", ""};

TEST(Digest, Rfc7616ExampleMd5) {
  const Challenge c = parsed(kRfc7616Md5);
  EXPECT_EQ(c.realm, "http-auth@example.org");
  EXPECT_EQ(c.algorithm, Algorithm::kMd5);
  EXPECT_TRUE(c.qopAuth);
  EXPECT_TRUE(c.qopAuthInt);
  auto value = authorizationValue(c, kMufasa, {"GET", "/dir/index.html", ""}, kRfc7616Cnonce, 1);
  ASSERT_TRUE(value.ok()) << value.error().reason;
  EXPECT_EQ(param(*value, "response"), "8ca523f5e9506fed4657c9700eebdbec");
  EXPECT_EQ(param(*value, "username"), "Mufasa");
  EXPECT_EQ(param(*value, "realm"), "http-auth@example.org");
  EXPECT_EQ(param(*value, "uri"), "/dir/index.html");
  EXPECT_EQ(param(*value, "nc"), "00000001");
  EXPECT_EQ(param(*value, "qop"), "auth");
  EXPECT_EQ(param(*value, "cnonce"), kRfc7616Cnonce);
  EXPECT_EQ(param(*value, "opaque"), "FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS");
  EXPECT_EQ(param(*value, "algorithm"), "MD5");
}

TEST(Digest, Rfc7616ExampleSha256) {
  const Challenge c = parsed(kRfc7616Sha256);
  EXPECT_EQ(c.algorithm, Algorithm::kSha256);
  auto value = authorizationValue(c, kMufasa, {"GET", "/dir/index.html", ""}, kRfc7616Cnonce, 1);
  ASSERT_TRUE(value.ok()) << value.error().reason;
  EXPECT_EQ(param(*value, "response"),
            "753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1");
  EXPECT_EQ(param(*value, "algorithm"), "SHA-256");
}

// ---- RFC 2617 ------------------------------------------------------------------------------

constexpr const char* kRfc2617NoQop =
    "Digest realm=\"testrealm@host.com\", nonce=\"dcd98b7102dd2f0e8b11d0f600bfb0c093\", "
    "opaque=\"5ccc069c403ebaf9f0171e9517f40e41\"";
const Credentials kMufasa2617{"Mufasa", "Circle Of Life", ""};

TEST(Digest, Rfc2617WithQop) {
  // RFC 2617 §3.5's example, with its qop="auth,auth-int" written without a blank.
  const Challenge c = parsed(
      "Digest realm=\"testrealm@host.com\", qop=\"auth,auth-int\", "
      "nonce=\"dcd98b7102dd2f0e8b11d0f600bfb0c093\", opaque=\"5ccc069c403ebaf9f0171e9517f40e41\"");
  auto value = authorizationValue(c, kMufasa2617, {"GET", "/dir/index.html", ""}, "0a4f113b", 1);
  ASSERT_TRUE(value.ok());
  EXPECT_EQ(param(*value, "response"), "6629fae49393a05397450978507c4ef1");
  // No algorithm in the challenge: none in the answer.
  EXPECT_THAT(*value, Not(HasSubstr("algorithm=")));
}

TEST(Digest, Rfc2069FormWithoutQop) {
  const Challenge c = parsed(kRfc2617NoQop);
  EXPECT_FALSE(c.qopGiven);
  auto value = authorizationValue(c, kMufasa2617, {"GET", "/dir/index.html", ""}, "ignored", 7);
  ASSERT_TRUE(value.ok());
  EXPECT_EQ(param(*value, "response"), "670fd8c2df070c60b045671b8b24ff02");
  EXPECT_THAT(*value, Not(HasSubstr("cnonce")));
  EXPECT_THAT(*value, Not(HasSubstr("nc=")));
  EXPECT_THAT(*value, Not(HasSubstr("qop")));
  EXPECT_EQ(param(*value, "opaque"), "5ccc069c403ebaf9f0171e9517f40e41");
}

// ---- other hashes and forms (expected values from Python hashlib) --------------------------

TEST(Digest, AuthIntHashesTheBody) {
  Challenge c = parsed(std::string("Digest realm=\"biloxi.com\", nonce=\"") + kBiloxiNonce +
                       "\", qop=\"auth-int\", algorithm=SHA-256");
  auto value = authorizationValue(c, kBob, {"MESSAGE", "sip:bob@biloxi.com", "hello"}, "abc", 1);
  ASSERT_TRUE(value.ok());
  EXPECT_EQ(param(*value, "qop"), "auth-int");
  EXPECT_EQ(param(*value, "response"),
            "9103d46626fb69e74e09f1e2a079442de3c6453980df9ce8fdd2c375a66a2f5c");
}

TEST(Digest, UserhashSessionAndSha512) {
  const std::string base =
      std::string("Digest realm=\"biloxi.com\", nonce=\"") + kBiloxiNonce + "\", qop=\"auth\"";
  const DigestRequest reg{"REGISTER", "sip:biloxi.com", ""};

  auto hashed = authorizationValue(parsed(base + ", algorithm=SHA-256, userhash=true"), kBob, reg,
                                   "0a4f113b", 1);
  ASSERT_TRUE(hashed.ok());
  EXPECT_EQ(param(*hashed, "username"),
            "aafc60b9fa3e13876262208200cd6aebf77f59d79e854061f632f35f6cb30e0c");
  EXPECT_EQ(param(*hashed, "userhash"), "true");
  EXPECT_EQ(param(*hashed, "response"),
            "93e0e23c30bf2e3b139a3410a7edc9a5b15b1cfd8fd557ca8ee303e4372339a1");

  auto sess = authorizationValue(parsed(base + ", algorithm=MD5-sess"), kBob, reg, "0a4f113b", 1);
  ASSERT_TRUE(sess.ok());
  EXPECT_EQ(param(*sess, "response"), "d20652dbd76d31d860900c50052719f5");

  auto sha512 =
      authorizationValue(parsed(base + ", algorithm=SHA-512-256"), kBob, reg, "0a4f113b", 1);
  ASSERT_TRUE(sha512.ok());
  EXPECT_EQ(param(*sha512, "response"),
            "4bf969d821d66b375c5b96ab92a04ea44a9f7a2a259b9351753b177ccd0cd062");
}

TEST(Digest, SessionOrUserhashWithoutQopIsRefused) {
  const std::string base =
      std::string("Digest realm=\"biloxi.com\", nonce=\"") + kBiloxiNonce + "\"";
  const DigestRequest reg{"REGISTER", "sip:biloxi.com", ""};
  auto sess = authorizationValue(parsed(base + ", algorithm=MD5-sess"), kBob, reg, "c", 1);
  ASSERT_FALSE(sess.ok());
  EXPECT_THAT(sess.error().reason, HasSubstr("without qop"));
  auto qop = authorizationValue(parsed(base + ", qop=\"auth-conf\""), kBob, reg, "c", 1);
  ASSERT_FALSE(qop.ok());
  EXPECT_THAT(qop.error().reason, HasSubstr("neither auth nor auth-int"));
}

// ---- Client ----------------------------------------------------------------------------------

std::string biloxi(const std::string& extra, const std::string& nonce = kBiloxiNonce) {
  return "Digest realm=\"biloxi.com\", nonce=\"" + nonce + "\", qop=\"auth\"" + extra;
}

TEST(DigestClient, AnswersA401ForTheRequestAsSent) {
  Client client = fixedClient();
  auto answer = client.respond(challenge(401, {biloxi("")}), request("REGISTER", "sip:biloxi.com"));
  ASSERT_TRUE(answer.ok()) << answer.error().reason;
  EXPECT_EQ(answer->name, "Authorization");
  EXPECT_EQ(param(answer->value, "uri"), "sip:biloxi.com");
  EXPECT_EQ(param(answer->value, "nc"), "00000001");
  EXPECT_EQ(param(answer->value, "response"), "9e2d1006810044fd79f39476209ae31a");
}

TEST(DigestClient, Answers407WithProxyAuthorization) {
  Client client = fixedClient();
  auto answer = client.respond(challenge(407, {biloxi("")}), request("INVITE", "sip:b@biloxi.com"));
  ASSERT_TRUE(answer.ok());
  EXPECT_EQ(answer->name, "Proxy-Authorization");
}

TEST(DigestClient, ReusedCredentialsCountNc) {
  Client client = fixedClient();
  const auto reg = request("REGISTER", "sip:biloxi.com");
  ASSERT_TRUE(client.respond(challenge(401, {biloxi("")}), reg).ok());
  auto again = client.authorize(reg);
  ASSERT_EQ(again.size(), 1U);
  EXPECT_EQ(again[0].name, "Authorization");
  EXPECT_EQ(param(again[0].value, "nc"), "00000002");
  EXPECT_EQ(param(again[0].value, "response"), "bef6c26ce562c084baeb1c500569a239");
  EXPECT_TRUE(client.authorize(reg, "Authorization").empty());
  client.reset();
  EXPECT_TRUE(client.authorize(reg).empty());
}

TEST(DigestClient, PrefersTheStrongerHashThenTheTopmost) {
  const auto reg = request("REGISTER", "sip:biloxi.com");
  {
    Client client = fixedClient();
    auto answer = client.respond(
        challenge(401, {biloxi(", algorithm=MD5"), biloxi(", algorithm=SHA-256")}), reg);
    ASSERT_TRUE(answer.ok());
    EXPECT_EQ(param(answer->value, "algorithm"), "SHA-256");
  }
  {
    Client client = fixedClient();
    auto answer =
        client.respond(challenge(401, {biloxi(", algorithm=SHA-256"), biloxi(", algorithm=MD5"),
                                       biloxi(", algorithm=SHA-512-256")}),
                       reg);
    ASSERT_TRUE(answer.ok());
    EXPECT_EQ(param(answer->value, "algorithm"), "SHA-512-256");
  }
  {
    // Unsupported and unanswerable ones are skipped; the topmost of equals wins.
    Client client = fixedClient();
    auto answer = client.respond(
        challenge(401, {"Digest realm=\"biloxi.com\", nonce=\"x\", algorithm=AKAv1-MD5",
                        "Basic realm=\"biloxi.com\"",
                        "Digest realm=\"biloxi.com\", nonce=\"y\", algorithm=SHA-256-sess",
                        biloxi(", algorithm=MD5", "first"), biloxi(", algorithm=MD5", "second")}),
        reg);
    ASSERT_TRUE(answer.ok());
    EXPECT_EQ(param(answer->value, "nonce"), "first");
  }
}

TEST(DigestClient, SameNonceTwiceIsRefusedUnlessStale) {
  Client client = fixedClient();
  const auto reg = request("REGISTER", "sip:biloxi.com");
  ASSERT_TRUE(client.respond(challenge(401, {biloxi("")}), reg).ok());
  // The same nonce again: the password was wrong; answering again would loop.
  auto again = client.respond(challenge(401, {biloxi("")}), reg);
  ASSERT_FALSE(again.ok());
  EXPECT_THAT(again.error().reason, HasSubstr("refused"));
  // stale=true: the credentials were right but the nonce old; tried once for the same nonce.
  auto stale = client.respond(challenge(401, {biloxi(", stale=TRUE")}), reg);
  ASSERT_TRUE(stale.ok()) << stale.error().reason;
  EXPECT_EQ(param(stale->value, "nc"), "00000001");
  EXPECT_FALSE(client.respond(challenge(401, {biloxi(", stale=true")}), reg).ok());
  // A fresh nonce, stale or not, is answered.
  auto fresh = client.respond(challenge(401, {biloxi(", stale=true", "n2")}), reg);
  ASSERT_TRUE(fresh.ok());
  EXPECT_EQ(param(fresh->value, "nonce"), "n2");
}

TEST(DigestClient, RealmMustMatchTheCredentials) {
  const auto reg = request("REGISTER", "sip:biloxi.com");
  Client other = fixedClient(Credentials{"bob", "zanzibar", "atlanta.com"});
  auto refused = other.respond(challenge(401, {biloxi("")}), reg);
  ASSERT_FALSE(refused.ok());
  EXPECT_THAT(refused.error().reason, HasSubstr("no credentials for realm \"biloxi.com\""));

  Client mine = fixedClient(Credentials{"bob", "zanzibar", "biloxi.com"});
  auto answer = mine.respond(
      challenge(401, {"Digest realm=\"atlanta.com\", nonce=\"a\"", biloxi("", "b")}), reg);
  ASSERT_TRUE(answer.ok());
  EXPECT_EQ(param(answer->value, "realm"), "biloxi.com");
}

TEST(DigestClient, NothingToAnswer) {
  const auto reg = request("REGISTER", "sip:biloxi.com");
  Client client = fixedClient();
  auto ok = client.respond(sip::Message::response(200, "OK"), reg);
  ASSERT_FALSE(ok.ok());
  EXPECT_THAT(ok.error().reason, HasSubstr("not a challenge"));
  auto bare = client.respond(challenge(401, {}), reg);
  ASSERT_FALSE(bare.ok());
  EXPECT_THAT(bare.error().reason, HasSubstr("without WWW-Authenticate"));
  auto broken = client.respond(challenge(401, {"Digest realm=\"x\""}), reg);
  ASSERT_FALSE(broken.ok());
  EXPECT_THAT(broken.error().reason, HasSubstr("no nonce"));
  // A 407's challenges are in Proxy-Authenticate; WWW-Authenticate there is not read.
  sip::Message mixed = challenge(407, {});
  mixed.add("WWW-Authenticate", biloxi(""));
  EXPECT_FALSE(client.respond(mixed, reg).ok());
  Client anonymous(Credentials{});
  EXPECT_FALSE(anonymous.respond(challenge(401, {biloxi("")}), reg).ok());
}

TEST(DigestClient, RandomCnonceDiffers) {
  Client client(kBob);
  const auto reg = request("REGISTER", "sip:biloxi.com");
  auto first = client.respond(challenge(401, {biloxi("", "one")}), reg);
  auto second = client.respond(challenge(401, {biloxi("", "two")}), reg);
  ASSERT_TRUE(first.ok() && second.ok());
  EXPECT_EQ(param(first->value, "cnonce").size(), 32U);
  EXPECT_NE(param(first->value, "cnonce"), param(second->value, "cnonce"));
}

// ---- parsing hostile input -----------------------------------------------------------------

TEST(DigestParse, QuotedStringsWithEscapesAndLenientSyntax) {
  Challenge c = parsed(
      "dIgEsT  REALM=\"a \\\"quoted\\\" \\\\ realm\" nonce=abc/def+== ,,, "
      "Opaque=\"o\",unknown-param=\"whatever, with comma\", stale=false, domain=\"sip:a sip:b\"");
  EXPECT_EQ(c.realm, "a \"quoted\" \\ realm");
  EXPECT_EQ(c.nonce, "abc/def+==");
  EXPECT_EQ(c.opaque, "o");
  EXPECT_EQ(c.domain, "sip:a sip:b");
  EXPECT_FALSE(c.stale);
  EXPECT_FALSE(c.qopGiven);
  // The realm goes back out escaped.
  auto value = authorizationValue(c, kBob, {"REGISTER", "sip:x", ""}, "c", 1);
  ASSERT_TRUE(value.ok());
  EXPECT_THAT(*value, HasSubstr("realm=\"a \\\"quoted\\\" \\\\ realm\""));
  // A token qop and a second challenge in the same value.
  Challenge two = parsed("Digest realm=r, nonce=n, qop=auth, Digest realm=s, nonce=m");
  EXPECT_EQ(two.realm, "r");
  EXPECT_TRUE(two.qopAuth);
}

struct Malformed {
  std::string value;
  std::string reason;
};

class DigestMalformed : public ::testing::TestWithParam<Malformed> {};

TEST_P(DigestMalformed, RefusedWithAReason) {
  auto c = parseChallenge(GetParam().value);
  ASSERT_FALSE(c.ok()) << GetParam().value;
  EXPECT_THAT(c.error().reason, HasSubstr(GetParam().reason));
  EXPECT_EQ(c.error().reason.find_first_of("\r\n"), std::string::npos);
}

INSTANTIATE_TEST_SUITE_P(
    Values,
    DigestMalformed,
    ::testing::Values(
        Malformed{"", "no scheme"},
        Malformed{"   ", "no scheme"},
        Malformed{"Basic realm=\"x\"", "is not Digest"},
        Malformed{"Digest", "no realm"},
        Malformed{"Digest realm=\"x\"", "no nonce"},
        Malformed{"Digest realm=\"x\", nonce=\"\"", "no nonce"},
        Malformed{"Digest nonce=\"n\"", "no realm"},
        Malformed{"Digest nonce=n, realm=\"x", "no closing quote"},
        Malformed{"Digest realm=\"x\\", "no closing quote"},
        Malformed{"Digest realm=\"x\", realm=\"y\", nonce=n", "given twice"},
        Malformed{"Digest REALM=\"x\", realm=\"y\", nonce=n", "given twice"},
        Malformed{"Digest realm=\"x\", nonce=n, algorithm=SHA-1", "unsupported algorithm"},
        Malformed{"Digest realm=\"x\ny\", nonce=n", "control character"},
        Malformed{std::string("Digest realm=\"x\0y\", nonce=n", 27), "control character"},
        Malformed{"Digest realm=\"" + std::string(2000, 'r') + "\", nonce=n", "longer than 1024"},
        Malformed{"Digest realm=x, nonce=" + std::string(2000, 'n'), "longer than 1024"},
        Malformed{"Digest realm=x, nonce=n, " + std::string(5000, ' '), "longer than 4096"},
        Malformed{"Digest =x", "expected a parameter name"},
        Malformed{"Digest realm", "expected '='"},
        Malformed{"Digest realm=", "has no value"},
        Malformed{"Digest realm=,nonce=n", "has no value"},
        Malformed{"DigestX realm=x, nonce=n", "is not Digest"},
        Malformed{"Digest,realm=x", "expected a blank"},
        Malformed{"Digest realm=x, nonce=n, \"junk\"", "expected a parameter name"}));

TEST(DigestParse, TooManyParameters) {
  std::string value = "Digest realm=x, nonce=n";
  for (int i = 0; i < 40; ++i) {
    value += ", p" + std::to_string(i) + "=v";
  }
  auto c = parseChallenge(value);
  ASSERT_FALSE(c.ok());
  EXPECT_THAT(c.error().reason, HasSubstr("more than 32 parameters"));
}

TEST(DigestParse, EveryPrefixParsesOrIsRefused) {
  // Cut anywhere, a challenge never crashes the parser, and what parses is answerable or refused
  // with a reason.
  const std::string value = std::string(kRfc7616Sha256) + ", stale=true, userhash=true";
  for (std::size_t cut = 0; cut <= value.size(); ++cut) {
    auto c = parseChallenge(std::string_view(value).substr(0, cut));
    if (c.ok()) {
      auto answer = authorizationValue(*c, kMufasa, {"GET", "/", ""}, "c", 1);
      EXPECT_TRUE(answer.ok() || !answer.error().reason.empty());
    } else {
      EXPECT_FALSE(c.error().reason.empty());
    }
  }
}

}  // namespace
}  // namespace confab::auth
