// Every RFC 4475 torture message through the datagram parser: well-formed ones parse to the
// right values, malformed ones are refused with the status INDEX.md gives, none crash.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>

#include "focus/sip/Parser.hpp"
#include "focus/sip/Response.hpp"

namespace confab::sip {
namespace {

std::string readTorture(const std::string& name) {
  const std::filesystem::path path =
      std::filesystem::path(CONFAB_SHARED_DIR) / "sip-torture" / "rfc4475" / (name + ".dat");
  std::ifstream in(path, std::ios::binary);
  EXPECT_TRUE(in.good()) << "cannot read " << path;
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

Message parseOk(const std::string& name) {
  auto result = parseMessage(readTorture(name), true);
  if (auto* failure = std::get_if<ParseFailure>(&result)) {
    ADD_FAILURE() << name << " refused: " << failure->error.status << " "
                  << failure->error.reason;
    return {};
  }
  return std::get<Message>(std::move(result));
}

ParseFailure parseFails(const std::string& name) {
  auto result = parseMessage(readTorture(name), true);
  if (std::holds_alternative<Message>(result)) {
    ADD_FAILURE() << name << " was accepted";
    return {};
  }
  return std::get<ParseFailure>(std::move(result));
}

TEST(SipTortureParse, ShortTortuousInvite) {
  Message m = parseOk("wsinv");
  EXPECT_EQ(m.method, "INVITE");
  EXPECT_EQ(m.requestUri.user, "vivekg");
  EXPECT_EQ(m.requestUri.host, "chair-dnrc.example.com");
  EXPECT_EQ(m.callId(), "wsinv.ndaksdj@192.0.2.1");
  EXPECT_EQ(m.cseq()->number, 9u);
  EXPECT_EQ(m.cseq()->method, "INVITE");
  EXPECT_EQ(*m.header("Max-Forwards"), "0068");
  ASSERT_TRUE(m.to());
  EXPECT_EQ(m.to()->uri.user, "vivekg");
  EXPECT_EQ(m.to()->tag(), "1918181833n");
  EXPECT_FALSE(m.to()->displayName.has_value());
  ASSERT_TRUE(m.from());
  EXPECT_EQ(*m.from()->displayName, "J Rosenberg \\\"");
  EXPECT_EQ(m.from()->tag(), "98asjd8");
  auto vias = m.headers("Via");
  ASSERT_EQ(vias.size(), 3u);
  EXPECT_EQ(m.topVia()->host, "192.0.2.2");
  EXPECT_EQ(m.topVia()->branch(), "390skdjuw");
  EXPECT_EQ(m.headers("Subject").size(), 1u);
  EXPECT_EQ(*m.header("Subject"), "");
  EXPECT_EQ(*m.header("UnknownHeaderWithUnusualValue"), ";;,,;;,;");
  EXPECT_EQ(m.contentType(), "application/sdp");
  EXPECT_EQ(m.body.size(), 150u);
}

TEST(SipTortureParse, WideRangeOfCharacters) {
  Message m = parseOk("intmeth");
  EXPECT_EQ(m.method, "!interesting-Method0123456789_*+`.%indeed'~");
  ASSERT_TRUE(m.to());
  // The quoted display name holds raw BEL, NUL and DEL through quoted-pairs.
  EXPECT_NE(m.to()->displayName->find('\0'), std::string::npos);
}

TEST(SipTortureParse, EscapesAreKeptDistinct) {
  Message m = parseOk("esc01");
  EXPECT_EQ(m.requestUri.unescapedUser(), "sips:user@example.com");
  Message nulls = parseOk("escnull");
  auto contacts = nulls.headers("Contact");
  ASSERT_EQ(contacts.size(), 2u);
  EXPECT_EQ(NameAddr::parse(contacts[0])->uri.unescapedUser(), std::string(1, '\0'));
  EXPECT_EQ(NameAddr::parse(contacts[1])->uri.unescapedUser(), std::string(2, '\0'));
}

TEST(SipTortureParse, PercentThatIsNotAnEscape) {
  Message m = parseOk("esc02");
  EXPECT_EQ(m.method, "RE%47IST%45R");
  EXPECT_EQ(m.headers("Contact").size(), 2u);
  EXPECT_EQ(*m.from()->displayName, "%Z%45");
}

TEST(SipTortureParse, NoBlankBeforeAngleBracket) {
  Message m = parseOk("lwsdisp");
  EXPECT_EQ(*m.from()->displayName, "caller");
}

TEST(SipTortureParse, LongValues) {
  Message m = parseOk("longreq");
  EXPECT_EQ(m.headers("Via").size(), 34u);
  EXPECT_EQ(m.to()->displayName->size(), 103u);
  EXPECT_EQ(m.callId().size(), 141u);
}

TEST(SipTortureParse, TrailingOctetsInDatagramAreIgnored) {
  Message m = parseOk("dblreq");
  EXPECT_EQ(m.method, "REGISTER");
  EXPECT_TRUE(m.body.empty());
}

TEST(SipTortureParse, SemicolonInUserPart) {
  Message m = parseOk("semiuri");
  EXPECT_EQ(m.requestUri.unescapedUser(), "user;par=u@example.net");
  EXPECT_EQ(m.requestUri.host, "example.com");
}

TEST(SipTortureParse, UnknownTransports) {
  Message m = parseOk("transports");
  auto vias = m.headers("Via");
  ASSERT_EQ(vias.size(), 5u);
  EXPECT_EQ(Via::parse(vias[1])->transport, "SCTP");
  EXPECT_EQ(Via::parse(vias[3])->transport, "UNKNOWN");
}

TEST(SipTortureParse, MultipartBodyIsFramedByLength) {
  Message m = parseOk("mpart01");
  EXPECT_EQ(m.body.size(), std::stoul(std::string("553")));
  EXPECT_NE(m.body.find('\0'), std::string::npos);
}

TEST(SipTortureParse, UnusualAndEmptyReasonPhrases) {
  Message unusual = parseOk("unreason");
  EXPECT_EQ(unusual.status, 200);
  EXPECT_GT(unusual.reason.size(), 20u);
  Message empty = parseOk("noreason");
  EXPECT_EQ(empty.status, 100);
  EXPECT_EQ(empty.reason, "");
}

TEST(SipTortureParse, ApplicationLayerCasesParse) {
  // These are well formed; the element refuses them later (416, 420, 415, 405, 406...).
  for (const char* name : {"unkscm", "novelsc", "unksm2", "bext01", "invut", "regaut01", "bcast",
                           "zeromf", "cparam01", "cparam02", "regescrt", "sdp01", "inv2543",
                           "baddate"}) {
    SCOPED_TRACE(name);
    parseOk(name);
  }
}

TEST(SipTortureParse, ContactParametersBelongWhereTheBracketsSay) {
  Message outside = parseOk("cparam01");
  auto c1 = NameAddr::parse(outside.headers("Contact").front());
  EXPECT_NE(c1->param("unknownparam"), nullptr);
  EXPECT_EQ(c1->uri.param("unknownparam"), nullptr);
  Message inside = parseOk("cparam02");
  auto c2 = NameAddr::parse(inside.headers("Contact").front());
  EXPECT_EQ(c2->param("unknownparam"), nullptr);
  EXPECT_NE(c2->uri.param("unknownparam"), nullptr);
  Message escaped = parseOk("regescrt");
  auto c3 = NameAddr::parse(escaped.headers("Contact").front());
  ASSERT_EQ(c3->uri.headers.size(), 1u);
  EXPECT_EQ(c3->uri.headers[0].name, "Route");
}

TEST(SipTortureParse, Rfc2543InviteKeepsItsBody) {
  Message m = parseOk("inv2543");
  EXPECT_FALSE(m.body.empty());
  EXPECT_EQ(m.topVia()->branch(), "");
}

struct Refusal {
  const char* name;
  int status;
  bool answerable;  // a response can be built (requests with usable Via/From/To/Call-ID/CSeq)
};

class SipTortureRefuse : public ::testing::TestWithParam<Refusal> {};

TEST_P(SipTortureRefuse, RefusedWithTheRightStatus) {
  const Refusal& r = GetParam();
  ParseFailure f = parseFails(r.name);
  EXPECT_EQ(f.error.status, r.status) << f.error.reason;
  EXPECT_FALSE(f.error.reason.empty());
  EXPECT_EQ(f.partial.has_value(), r.answerable) << f.error.reason;
}

INSTANTIATE_TEST_SUITE_P(
    Rfc4475, SipTortureRefuse,
    ::testing::Values(Refusal{"badinv01", 400, true},  // its Via is broken: answered to the source
                      Refusal{"clerr", 400, true}, Refusal{"ncl", 400, true},
                      Refusal{"scalar02", 400, true}, Refusal{"scalarlg", 400, false},
                      Refusal{"quotbal", 400, true}, Refusal{"ltgtruri", 400, true},
                      Refusal{"lwsruri", 400, true}, Refusal{"lwsstart", 400, true},
                      Refusal{"trws", 400, true}, Refusal{"escruri", 400, true},
                      Refusal{"regbadct", 400, true}, Refusal{"badaspec", 400, true},
                      Refusal{"baddn", 400, true}, Refusal{"badvers", 505, true},
                      Refusal{"mismatch01", 400, true}, Refusal{"mismatch02", 501, true},
                      Refusal{"bigcode", 400, false}, Refusal{"badbranch", 400, true},
                      Refusal{"insuf", 400, true}, Refusal{"multi01", 400, true},
                      Refusal{"mcl01", 400, true}),
    [](const auto& p) { return std::string(p.param.name); });

TEST(SipTortureParse, MissingHeadersAreAllNamedAndTheRequestStaysAnswerable) {
  // RFC 4475 §3.3.1: no Call-ID, From or To, but the Via and CSeq say where and to what the 400
  // goes (RFC 3261 §18.2.2); the reason phrase names everything that is missing.
  ParseFailure f = parseFails("insuf");
  EXPECT_EQ(f.error.status, 400);
  EXPECT_EQ(f.error.reason, "missing Call-ID, From, To");
  ASSERT_TRUE(f.partial.has_value());
  Message response = errorResponse(*f.partial, f.error, "t");
  EXPECT_EQ(response.status, 400);
  EXPECT_EQ(response.reason, "Bad Request (missing Call-ID, From, To)");
  ASSERT_TRUE(response.topVia().ok());
  EXPECT_EQ(response.topVia()->branch(), "z9hG4bKkdj.insuf");
  EXPECT_EQ(response.cseq()->number, 193942U);
  EXPECT_EQ(response.method, "INVITE");
  EXPECT_EQ(response.header("From"), nullptr);
  EXPECT_EQ(response.header("To"), nullptr);
  EXPECT_EQ(response.header("Call-ID"), nullptr);
}

TEST(SipTortureParse, RequestWithoutViaOrCSeqStaysUnanswerable) {
  // Nothing to route a response by, or nothing to match it to a transaction with.
  std::string noCSeq =
      "OPTIONS sip:room@example.com SIP/2.0\r\n"
      "Via: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bKnc\r\n"
      "Content-Length: 0\r\n\r\n";
  auto result = parseMessage(noCSeq, true);
  auto* f = std::get_if<ParseFailure>(&result);
  ASSERT_NE(f, nullptr);
  EXPECT_EQ(f->error.reason, "missing Call-ID, From, To, CSeq");
  EXPECT_FALSE(f->partial.has_value());
  std::string noVia =
      "OPTIONS sip:room@example.com SIP/2.0\r\n"
      "CSeq: 1 OPTIONS\r\n"
      "Content-Length: 0\r\n\r\n";
  result = parseMessage(noVia, true);
  f = std::get_if<ParseFailure>(&result);
  ASSERT_NE(f, nullptr);
  EXPECT_FALSE(f->partial.has_value());
}

TEST(SipTortureParse, EveryMessageEitherParsesOrIsRefusedOnEveryPrefix) {
  // Truncations of every message must never crash or hang the parser.
  for (const auto& entry : std::filesystem::directory_iterator(
           std::filesystem::path(CONFAB_SHARED_DIR) / "sip-torture" / "rfc4475")) {
    if (entry.path().extension() != ".dat") {
      continue;
    }
    std::ifstream in(entry.path(), std::ios::binary);
    std::string bytes{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
    for (std::size_t n = 0; n <= bytes.size(); ++n) {
      auto result = parseMessage(std::string_view(bytes).substr(0, n), true);
      if (auto* f = std::get_if<ParseFailure>(&result)) {
        EXPECT_GE(f->error.status, 400);
      }
    }
  }
}

}  // namespace
}  // namespace confab::sip
