// The RFC 3263 resolver against a real DNS server (dnsmasq on loopback, started by the test):
// NAPTR, SRV and A/AAAA in the RFC's order and fallbacks, transport parameters and explicit
// ports, names that do not exist, servers that do not answer, and lookups that end early. The
// selection rules (NAPTR filtering, RFC 2782 weighting) are also tested alone, with chosen
// random numbers.
#include <gtest/gtest.h>

#include <algorithm>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/udp.hpp>
#include <chrono>
#include <cstdint>
#include <iostream>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "focus/transport/Resolver.hpp"
#include "tests/unit/focus/transport/DnsmasqServer.hpp"

namespace confab::transport {
namespace {

namespace asio = boost::asio;
using namespace std::chrono_literals;
using test::DnsmasqServer;

// ---------------------------------------------------------------------------------------------
// Selection rules alone

NaptrRecord naptr(std::uint16_t order,
                  std::uint16_t preference,
                  std::string flags,
                  std::string service,
                  std::string replacement,
                  std::string regexp = "") {
  return NaptrRecord{order,
                     preference,
                     std::move(flags),
                     std::move(service),
                     std::move(regexp),
                     std::move(replacement)};
}

TEST(ResolverSelection, NaptrByOrderThenPreferenceOnlyOurServices) {
  const auto selected =
      selectNaptr({naptr(20, 10, "S", "SIPS+D2T", "_sips._tcp.example.test"),
                   naptr(10, 50, "s", "sip+d2t", "_sip._tcp.example.test."),
                   naptr(10, 10, "S", "SIP+D2U", "_sip._udp.example.test"),
                   naptr(1, 1, "S", "SIP+D2S", "_sip._sctp.example.test"),        // SCTP: not ours
                   naptr(1, 1, "S", "SIPS+D2W", "_sips._ws.example.test"),        // WebSocket
                   naptr(1, 1, "U", "SIP+D2U", "", "!^.*$!sip:x@example.test!"),  // rewriting
                   naptr(1, 2, "S", "SIP+D2U", "."),                              // no service
                   naptr(1, 3, "S", "SIP+D2U", "bad name.example.test")},
                  false);
  const std::vector<SrvQuery> expected = {{Protocol::kUdp, "_sip._udp.example.test"},
                                          {Protocol::kTcp, "_sip._tcp.example.test"},
                                          {Protocol::kTls, "_sips._tcp.example.test"}};
  EXPECT_EQ(selected, expected);
}

TEST(ResolverSelection, NaptrForSipsKeepsOnlyTls) {
  const auto selected = selectNaptr({naptr(10, 10, "S", "SIP+D2U", "_sip._udp.example.test"),
                                     naptr(10, 20, "S", "SIP+D2T", "_sip._tcp.example.test"),
                                     naptr(30, 10, "S", "SIPS+D2T", "_sips._tcp.example.test")},
                                    true);
  const std::vector<SrvQuery> expected = {{Protocol::kTls, "_sips._tcp.example.test"}};
  EXPECT_EQ(selected, expected);
}

TEST(ResolverSelection, NaptrFollowsAtMostAFewRecords) {
  std::vector<NaptrRecord> many;
  for (std::uint16_t i = 0; i < 200; ++i) {
    many.push_back(naptr(i, 0, "S", "SIP+D2U", "_sip._udp.n" + std::to_string(i) + ".test"));
  }
  EXPECT_LE(selectNaptr(many, false).size(), 4U);
}

std::vector<std::string> targets(const std::vector<SrvRecord>& records) {
  std::vector<std::string> names;
  names.reserve(records.size());
  for (const auto& record : records) {
    names.push_back(record.target);
  }
  return names;
}

TEST(ResolverSelection, SrvByPriorityThenRunningSumOfWeights) {
  const std::vector<SrvRecord> records = {{20, 5, 5060, "late.example.test"},
                                          {10, 10, 5060, "ten.example.test"},
                                          {10, 0, 5060, "zero.example.test"},
                                          {10, 30, 5060, "thirty.example.test"}};
  // RFC 2782: weight 0 first, running sums 0 (zero), 10 (ten), 40 (thirty) for [0, 40].
  std::vector<std::uint32_t> bounds;
  auto pickThen = [&bounds](std::vector<std::uint32_t> values) {
    return [&bounds, values, next = std::size_t{0}](std::uint32_t bound) mutable {
      bounds.push_back(bound);
      return values.at(next++);
    };
  };
  // 11 falls past ten's running sum (10): thirty; then 0 of [0, 10]: zero; then ten.
  EXPECT_EQ(targets(orderSrv(records, pickThen({11, 0, 10, 0}))),
            (std::vector<std::string>{"thirty.example.test", "zero.example.test",
                                      "ten.example.test", "late.example.test"}));
  EXPECT_EQ(bounds, (std::vector<std::uint32_t>{40, 10, 10, 5}));
  bounds.clear();
  // 0 of [0, 40] lands on the zero-weight record, which leads the list.
  EXPECT_EQ(targets(orderSrv(records, pickThen({0, 10, 0, 0}))),
            (std::vector<std::string>{"zero.example.test", "ten.example.test",
                                      "thirty.example.test", "late.example.test"}));
}

TEST(ResolverSelection, SrvWeightsSetTheOdds) {
  std::random_device random;
  const UniformPick pick = [&random](std::uint32_t bound) {
    return std::uniform_int_distribution<std::uint32_t>(0, bound)(random);
  };
  // RFC 2782 draws from [0, sum] inclusive, so the first record in line gets one extra value:
  // weights 100 and 300 give the heavy one 300 chances in 401.
  const std::vector<SrvRecord> records = {{10, 100, 5060, "light.example.test"},
                                          {10, 300, 5060, "heavy.example.test"}};
  int heavyFirst = 0;
  constexpr int kRuns = 4000;
  for (int i = 0; i < kRuns; ++i) {
    heavyFirst += orderSrv(records, pick).front().target == "heavy.example.test" ? 1 : 0;
  }
  // About 2992 expected, standard deviation about 27: 65% to 85% is over 10 of them either side.
  EXPECT_GT(heavyFirst, kRuns * 65 / 100);
  EXPECT_LT(heavyFirst, kRuns * 85 / 100);
}

TEST(ResolverSelection, SrvDropsWhatCannotBeUsed) {
  const auto ordered = orderSrv({{10, 0, 0, "port-zero.example.test"},
                                 {10, 0, 5060, "."},
                                 {10, 0, 5060, ""},
                                 {10, 0, 5060, "semi;colon.example.test"},
                                 {10, 0, 5060, std::string(300, 'a')},
                                 {20, 0, 5062, "good.example.test."}},
                                [](std::uint32_t) { return 0U; });
  EXPECT_EQ(targets(ordered), (std::vector<std::string>{"good.example.test"}));
}

TEST(ResolverSelection, LookupNames) {
  EXPECT_TRUE(isLookupName("example.test"));
  EXPECT_TRUE(isLookupName("_sip._udp.example.test."));
  EXPECT_TRUE(isLookupName("localhost"));
  EXPECT_FALSE(isLookupName(""));
  EXPECT_FALSE(isLookupName("."));
  EXPECT_FALSE(isLookupName("a..b"));
  EXPECT_FALSE(isLookupName(".a"));
  EXPECT_FALSE(isLookupName("a b"));
  EXPECT_FALSE(isLookupName(std::string(64, 'a') + ".test"));
  EXPECT_TRUE(isLookupName(std::string(63, 'a') + ".test"));
  EXPECT_FALSE(isLookupName(std::string(250, 'a') + ".test"));
}

// ---------------------------------------------------------------------------------------------
// Against dnsmasq

// The zone every test below reads. Addresses are loopback ones nobody is sent to: the tests
// only look at where the resolver says to send.
const std::vector<std::string> kZone = {
    // NAPTR → SRV → A: UDP (order 10, preference 10), TCP (10, 50), TLS (20); an SCTP rule and a
    // rewriting rule come first by order but are not ours.
    "--naptr-record=naptr.example.test,20,10,S,SIPS+D2T,,_sips._tcp.naptr.example.test",
    "--naptr-record=naptr.example.test,10,50,S,SIP+D2T,,_sip._tcp.naptr.example.test",
    "--naptr-record=naptr.example.test,10,10,S,SIP+D2U,,_sip._udp.naptr.example.test",
    "--naptr-record=naptr.example.test,5,10,S,SIP+D2S,,_sip._sctp.naptr.example.test",
    "--naptr-record=naptr.example.test,5,20,U,SIP+D2U,!^.*$!sip:trap@example.test!",
    "--srv-host=_sip._udp.naptr.example.test,udp.naptr.example.test,5070,0,0",
    "--srv-host=_sip._tcp.naptr.example.test,tcp.naptr.example.test,5071,0,0",
    "--srv-host=_sips._tcp.naptr.example.test,tls.naptr.example.test,5072,0,0",
    "--srv-host=_sip._sctp.naptr.example.test,trap.example.test,5073,0,0",
    "--host-record=udp.naptr.example.test,127.0.0.2",
    "--host-record=tcp.naptr.example.test,127.0.0.3",
    "--host-record=tls.naptr.example.test,127.0.0.4",
    "--host-record=naptr.example.test,127.0.0.7",
    "--host-record=trap.example.test,127.0.0.99",
    // SRV only, priority then weight; a record with port 0 must be dropped.
    "--srv-host=_sip._udp.srv.example.test,b.srv.example.test,5080,20,100",
    "--srv-host=_sip._udp.srv.example.test,a.srv.example.test,5081,10,0",
    "--srv-host=_sip._udp.srv.example.test,c.srv.example.test,5082,10,65535",
    "--srv-host=_sip._udp.srv.example.test,trap.example.test,0,1,100",
    "--host-record=a.srv.example.test,127.0.1.1",
    "--host-record=b.srv.example.test,127.0.1.2",
    "--host-record=c.srv.example.test,127.0.1.3",
    // No NAPTR: SRV for TCP and TLS (none for UDP); the name's own A record for explicit ports.
    "--srv-host=_sip._tcp.srvonly.example.test,h.srvonly.example.test,5062,10,0",
    "--srv-host=_sips._tcp.srvonly.example.test,h.srvonly.example.test,5063,10,0",
    "--host-record=h.srvonly.example.test,127.0.2.1",
    "--host-record=srvonly.example.test,127.0.2.9",
    // Neither NAPTR nor SRV: A and AAAA at the default port.
    "--host-record=plain.example.test,127.0.3.1,fd00::31",
    // NAPTR and SRV records an explicit port must not make us ask for.
    "--naptr-record=ported.example.test,10,10,S,SIP+D2U,,_sip._udp.ported.example.test",
    "--srv-host=_sip._udp.ported.example.test,trap.example.test,5074,0,0",
    "--host-record=ported.example.test,127.0.5.1",
    // SRV target "." (RFC 2782: decidedly no service), though the name has an address.
    "--srv-host=_sip._udp.dot.example.test",
    "--host-record=dot.example.test,127.0.4.1",
};

std::string describe(const Destination& destination) {
  return std::string(protocolName(destination.protocol)) + " " + destination.host + ":" +
         std::to_string(destination.port);
}

struct Outcome {
  bool called = false;
  std::vector<std::string> destinations;  // describe()d
  std::string error;
};

// Runs the io_context until 'done' holds or 'limit' passes.
template <class Predicate>
bool runUntil(asio::io_context& io, Predicate done, std::chrono::milliseconds limit = 5s) {
  const auto end = std::chrono::steady_clock::now() + limit;
  while (!done() && std::chrono::steady_clock::now() < end) {
    io.restart();
    io.run_for(5ms);
  }
  return done();
}

sip::Uri uri(const std::string& text) {
  auto parsed = sip::Uri::parse(text);
  EXPECT_TRUE(parsed) << text;
  return parsed ? *parsed : sip::Uri{};
}

class ResolverTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { dns_ = new DnsmasqServer(kZone); }
  static void TearDownTestSuite() {
    delete dns_;
    dns_ = nullptr;
  }
  void SetUp() override {
    ASSERT_TRUE(dns_->running()) << dns_->error();
    resolver_ = std::make_unique<Resolver>(io_, settingsFor(dns_->address()));
  }
  void TearDown() override {
    if (HasFailure()) {
      std::cerr << "--- dnsmasq log ---\n" << dns_->log();
    }
  }

  static ResolverSettings settingsFor(const std::string& server) {
    ResolverSettings settings;
    settings.servers = {server};
    settings.timeout = 500ms;
    settings.tries = 2;
    settings.deadline = 4s;
    return settings;
  }

  Outcome resolve(const std::string& text, Resolver* resolver = nullptr) {
    Outcome outcome;
    (resolver != nullptr ? *resolver : *resolver_)
        .resolve(uri(text),
                 [&outcome](const std::vector<Destination>& destinations, std::string error) {
                   EXPECT_FALSE(outcome.called) << "called twice";
                   outcome.called = true;
                   for (const auto& destination : destinations) {
                     outcome.destinations.push_back(describe(destination));
                   }
                   outcome.error = std::move(error);
                 });
    EXPECT_FALSE(outcome.called) << "called from inside resolve()";
    EXPECT_TRUE(runUntil(io_, [&] { return outcome.called; })) << text;
    return outcome;
  }

  static DnsmasqServer* dns_;
  asio::io_context io_;
  std::unique_ptr<Resolver> resolver_;
};

DnsmasqServer* ResolverTest::dns_ = nullptr;

using List = std::vector<std::string>;

// A UDP port that takes queries in and never answers.
class SilentServer {
 public:
  explicit SilentServer(asio::io_context& io)
      : socket_(io, asio::ip::udp::endpoint(asio::ip::make_address_v4("127.0.0.1"), 0)) {}
  [[nodiscard]] std::string address() const {
    return "127.0.0.1:" + std::to_string(socket_.local_endpoint().port());
  }
  [[nodiscard]] std::size_t queued() const { return socket_.available(); }

 private:
  asio::ip::udp::socket socket_;
};

TEST_F(ResolverTest, IpLiteralNeedsNoQuery) {
  SilentServer silent(io_);
  Resolver resolver(io_, settingsFor(silent.address()));
  EXPECT_EQ(resolve("sip:room@192.0.2.1", &resolver).destinations, (List{"UDP 192.0.2.1:5060"}));
  EXPECT_EQ(resolve("sips:room@192.0.2.1", &resolver).destinations, (List{"TLS 192.0.2.1:5061"}));
  EXPECT_EQ(resolve("sip:room@192.0.2.1:5070;transport=TCP", &resolver).destinations,
            (List{"TCP 192.0.2.1:5070"}));
  EXPECT_EQ(resolve("sip:room@[2001:db8::1]:5080", &resolver).destinations,
            (List{"UDP 2001:db8::1:5080"}));
  // RFC 3263 §4: maddr, when present, is the target.
  EXPECT_EQ(resolve("sip:room@naptr.example.test;maddr=192.0.2.9", &resolver).destinations,
            (List{"UDP 192.0.2.9:5060"}));
  EXPECT_EQ(silent.queued(), 0U) << "a query went out";
}

TEST_F(ResolverTest, NaptrThenSrvThenAddresses) {
  const auto outcome = resolve("sip:room@naptr.example.test");
  EXPECT_EQ(outcome.error, "");
  EXPECT_EQ(outcome.destinations,
            (List{"UDP 127.0.0.2:5070", "TCP 127.0.0.3:5071", "TLS 127.0.0.4:5072"}));
}

TEST_F(ResolverTest, SipsFollowsOnlySipsD2t) {
  EXPECT_EQ(resolve("sips:room@naptr.example.test").destinations, (List{"TLS 127.0.0.4:5072"}));
}

TEST_F(ResolverTest, SrvPriorityThenWeight) {
  // Priority 10 (a with weight 0, c with 65535) before priority 20 (b); port 0 dropped.
  int heavyFirst = 0;
  constexpr int kRuns = 10;
  for (int i = 0; i < kRuns; ++i) {
    const auto outcome = resolve("sip:room@srv.example.test");
    ASSERT_EQ(outcome.destinations.size(), 3U) << outcome.error;
    List first(outcome.destinations.begin(), outcome.destinations.begin() + 2);
    heavyFirst += first.front() == "UDP 127.0.1.3:5082" ? 1 : 0;
    std::sort(first.begin(), first.end());
    EXPECT_EQ(first, (List{"UDP 127.0.1.1:5081", "UDP 127.0.1.3:5082"}));
    EXPECT_EQ(outcome.destinations.back(), "UDP 127.0.1.2:5080");
  }
  // RFC 2782: weight 0 against 65535 leads one time in 65536.
  EXPECT_GE(heavyFirst, kRuns - 1);
}

TEST_F(ResolverTest, NoNaptrFallsBackToSrvForEachTransport) {
  EXPECT_EQ(resolve("sip:room@srvonly.example.test").destinations,
            (List{"TCP 127.0.2.1:5062", "TLS 127.0.2.1:5063"}));
  EXPECT_EQ(resolve("sips:room@srvonly.example.test").destinations, (List{"TLS 127.0.2.1:5063"}));
}

TEST_F(ResolverTest, NoSrvFallsBackToAddressesAtTheDefaultPort) {
  auto sip = resolve("sip:room@plain.example.test").destinations;
  std::sort(sip.begin(), sip.end());
  EXPECT_EQ(sip, (List{"UDP 127.0.3.1:5060", "UDP fd00::31:5060"}));
  auto sips = resolve("sips:room@plain.example.test").destinations;
  std::sort(sips.begin(), sips.end());
  EXPECT_EQ(sips, (List{"TLS 127.0.3.1:5061", "TLS fd00::31:5061"}));
}

TEST_F(ResolverTest, TransportParameterQueriesThatSrvOnly) {
  EXPECT_EQ(resolve("sip:room@srvonly.example.test;transport=tcp").destinations,
            (List{"TCP 127.0.2.1:5062"}));
  // No NAPTR for a given transport: only _sip._udp, so one UDP destination.
  EXPECT_EQ(resolve("sip:room@naptr.example.test;transport=udp").destinations,
            (List{"UDP 127.0.0.2:5070"}));
  // RFC 3263 §4.1: transport=tcp in a SIPS URI is TLS.
  EXPECT_EQ(resolve("sips:room@naptr.example.test;transport=tcp").destinations,
            (List{"TLS 127.0.0.4:5072"}));
  // No SRV for that transport: the A record at the transport's default port.
  EXPECT_EQ(resolve("sip:room@srvonly.example.test;transport=udp").destinations,
            (List{"UDP 127.0.2.9:5060"}));
}

TEST_F(ResolverTest, ExplicitPortSkipsNaptrAndSrv) {
  EXPECT_EQ(resolve("sip:room@naptr.example.test:5099").destinations, (List{"UDP 127.0.0.7:5099"}));
  EXPECT_EQ(resolve("sips:room@naptr.example.test:5099").destinations,
            (List{"TLS 127.0.0.7:5099"}));
  EXPECT_EQ(resolve("sip:room@srvonly.example.test:5098;transport=tcp").destinations,
            (List{"TCP 127.0.2.9:5098"}));
}

TEST_F(ResolverTest, ExplicitPortAsksOnlyForAddresses) {
  EXPECT_EQ(resolve("sip:room@ported.example.test:5099").destinations,
            (List{"UDP 127.0.5.1:5099"}));
  // dnsmasq logs each query as it takes it in, before answering.
  const std::string log = dns_->log();
  EXPECT_NE(log.find("query[A] ported.example.test"), std::string::npos);
  EXPECT_EQ(log.find("query[NAPTR] ported.example.test"), std::string::npos);
  EXPECT_EQ(log.find("query[SRV] _sip._udp.ported.example.test"), std::string::npos);
}

TEST_F(ResolverTest, SrvTargetDotMeansNoServiceAndNoFallback) {
  const auto outcome = resolve("sip:room@dot.example.test");
  EXPECT_TRUE(outcome.destinations.empty());
  EXPECT_NE(outcome.error.find("no SIP service"), std::string::npos) << outcome.error;
}

TEST_F(ResolverTest, NameThatDoesNotExistIsAnError) {
  const auto outcome = resolve("sip:room@nope.example.test");
  EXPECT_TRUE(outcome.destinations.empty());
  EXPECT_NE(outcome.error.find("nope.example.test"), std::string::npos) << outcome.error;
}

TEST_F(ResolverTest, UriTheResolverCannotServeIsAnError) {
  for (const char* text :
       {"sip:room@example.test;transport=sctp", "sips:room@example.test;transport=udp",
        "tel:+15551234567", "sip:room@example.test:0"}) {
    const auto outcome = resolve(text);
    EXPECT_TRUE(outcome.destinations.empty()) << text;
    EXPECT_FALSE(outcome.error.empty()) << text;
  }
}

TEST_F(ResolverTest, ServerThatDoesNotAnswerFailsWithinTheTimeout) {
  SilentServer silent(io_);
  auto settings = settingsFor(silent.address());
  settings.timeout = 200ms;
  settings.tries = 1;
  Resolver resolver(io_, settings);
  const auto start = std::chrono::steady_clock::now();
  const auto outcome = resolve("sip:room@naptr.example.test", &resolver);
  const auto took = std::chrono::steady_clock::now() - start;
  EXPECT_TRUE(outcome.destinations.empty());
  EXPECT_NE(outcome.error.find("NAPTR"), std::string::npos) << outcome.error;
  EXPECT_GE(took, 150ms);
  EXPECT_LT(took, 1500ms);
  EXPECT_GE(silent.queued(), 1U) << "no query reached the server";
}

TEST_F(ResolverTest, NoServerOnThePortFailsQuickly) {
  // A port nobody listens on: ICMP port unreachable ends the query before any timeout.
  const std::uint16_t port = [this] {
    SilentServer taken(io_);
    const auto address = taken.address();
    return static_cast<std::uint16_t>(std::stoi(address.substr(address.find(':') + 1)));
  }();
  Resolver resolver(io_, settingsFor("127.0.0.1:" + std::to_string(port)));
  const auto start = std::chrono::steady_clock::now();
  const auto outcome = resolve("sip:room@naptr.example.test", &resolver);
  EXPECT_TRUE(outcome.destinations.empty());
  EXPECT_FALSE(outcome.error.empty());
  EXPECT_LT(std::chrono::steady_clock::now() - start, 2s);
}

TEST_F(ResolverTest, DeadlineBoundsTheWholeLookup) {
  SilentServer silent(io_);
  auto settings = settingsFor(silent.address());
  settings.timeout = 2000ms;
  settings.deadline = 300ms;
  Resolver resolver(io_, settings);
  const auto start = std::chrono::steady_clock::now();
  const auto outcome = resolve("sip:room@naptr.example.test", &resolver);
  const auto took = std::chrono::steady_clock::now() - start;
  EXPECT_TRUE(outcome.destinations.empty());
  EXPECT_NE(outcome.error.find("within 300 ms"), std::string::npos) << outcome.error;
  EXPECT_LT(took, 1s);
}

TEST_F(ResolverTest, DestroyingTheResolverMidQueryCallsNothing) {
  SilentServer silent(io_);
  bool called = false;
  auto resolver = std::make_unique<Resolver>(io_, settingsFor(silent.address()));
  resolver->resolve(
      uri("sip:room@naptr.example.test"),
      [&called](const std::vector<Destination>&, const std::string&) { called = true; });
  // Against the live server too, with its answer possibly already on the way.
  resolver_->resolve(
      uri("sip:room@srv.example.test"),
      [&called](const std::vector<Destination>&, const std::string&) { called = true; });
  EXPECT_TRUE(runUntil(io_, [&] { return silent.queued() > 0; }));
  resolver.reset();
  resolver_.reset();
  io_.restart();
  io_.run_for(300ms);
  EXPECT_FALSE(called);
}

TEST_F(ResolverTest, CancelledLookupCallsNothing) {
  bool called = false;
  const auto id = resolver_->resolve(
      uri("sip:room@naptr.example.test"),
      [&called](const std::vector<Destination>&, const std::string&) { called = true; });
  const auto literal = resolver_->resolve(
      uri("sip:room@192.0.2.1"),
      [&called](const std::vector<Destination>&, const std::string&) { called = true; });
  EXPECT_EQ(resolver_->pending(), 2U);
  resolver_->cancel(id);
  resolver_->cancel(literal);  // finished, its 'done' not yet called
  resolver_->cancel(12345);
  io_.restart();
  io_.run_for(300ms);
  EXPECT_FALSE(called);
  EXPECT_EQ(resolver_->pending(), 0U);
}

TEST_F(ResolverTest, DoneMayDestroyTheResolverAndOthersStillComplete) {
  int calls = 0;
  resolver_->resolve(uri("sip:room@naptr.example.test"),
                     [this, &calls](const std::vector<Destination>&, const std::string&) {
                       ++calls;
                       resolver_.reset();
                     });
  resolver_->resolve(uri("sip:room@srv.example.test"),
                     [&calls](const std::vector<Destination>&, const std::string&) { ++calls; });
  EXPECT_TRUE(runUntil(io_, [&] { return resolver_ == nullptr; }));
  io_.restart();
  io_.run_for(100ms);
  // The first to finish destroyed the Resolver, so the other is never called.
  EXPECT_EQ(calls, 1);
}

TEST_F(ResolverTest, ManyLookupsAtOnce) {
  int done = 0;
  for (int i = 0; i < 50; ++i) {
    resolver_->resolve(
        uri(i % 2 == 0 ? "sip:room@naptr.example.test" : "sip:room@srv.example.test"),
        [&done](const std::vector<Destination>& destinations, const std::string& error) {
          EXPECT_EQ(destinations.size(), 3U) << error;
          ++done;
        });
  }
  EXPECT_TRUE(runUntil(io_, [&] { return done == 50; }));
  EXPECT_EQ(resolver_->pending(), 0U);
}

}  // namespace
}  // namespace confab::transport
