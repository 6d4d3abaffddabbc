// RFC 4475 end to end: each torture message goes through the parser, the transaction layer and
// the focus, and the answer on the wire is the verdict shared/sip-torture/rfc4475/INDEX.md
// gives an endpoint (0: nothing may be sent back).
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <iterator>

#include "tests/unit/focus/room/UasHarness.hpp"

namespace confab::test {
namespace {

struct Verdict {
  const char* name;
  int status;
};

class SipTortureVerdict : public ::testing::TestWithParam<Verdict> {};

TEST_P(SipTortureVerdict, EndpointAnswers) {
  const Verdict& v = GetParam();
  const auto path = std::filesystem::path(CONFAB_SHARED_DIR) / "sip-torture" / "rfc4475" /
                    (std::string(v.name) + ".dat");
  std::ifstream in(path, std::ios::binary);
  ASSERT_TRUE(in.good()) << path;
  const std::string bytes{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
  UasHarness h;
  // The rooms the torture messages call, so the application-layer verdicts can show.
  for (const char* id : {"user", "vivekg", "UserB"}) {
    h.rooms.put(policy::Room{id, id, 0});
  }
  h.receive(bytes);
  if (v.status == 0) {
    EXPECT_TRUE(h.wire.responses.empty()) << "answered " << h.lastStatus();
  } else {
    ASSERT_FALSE(h.wire.responses.empty()) << "no answer";
    EXPECT_EQ(h.wire.responses.front().first.status, v.status)
        << h.wire.responses.front().first.reason;
  }
  EXPECT_TRUE(h.wire.requests.empty());
}

INSTANTIATE_TEST_SUITE_P(
    Rfc4475, SipTortureVerdict,
    ::testing::Values(
        // 3.1.1 valid messages; wsinv carries a To tag, so it is a request within a dialog we
        // do not have (RFC 3261 §12.2.2). mpart01 is a MESSAGE with a multipart body: the room
        // relays text/plain only (RFC 3261 §8.2.3, 415).
        Verdict{"wsinv", 481}, Verdict{"intmeth", 501}, Verdict{"esc01", 404},
        Verdict{"escnull", 405}, Verdict{"esc02", 501}, Verdict{"lwsdisp", 200},
        Verdict{"longreq", 200}, Verdict{"dblreq", 405}, Verdict{"semiuri", 404},
        Verdict{"transports", 200}, Verdict{"mpart01", 415}, Verdict{"unreason", 0},
        Verdict{"noreason", 0},
        // 3.1.2 invalid messages
        Verdict{"badinv01", 400}, Verdict{"clerr", 400}, Verdict{"ncl", 400},
        Verdict{"scalar02", 400}, Verdict{"scalarlg", 0}, Verdict{"quotbal", 400},
        Verdict{"ltgtruri", 400}, Verdict{"lwsruri", 400}, Verdict{"lwsstart", 400},
        Verdict{"trws", 400}, Verdict{"escruri", 400}, Verdict{"baddate", 200},
        Verdict{"regbadct", 400}, Verdict{"badaspec", 400}, Verdict{"baddn", 400},
        Verdict{"badvers", 505}, Verdict{"mismatch01", 400}, Verdict{"mismatch02", 501},
        Verdict{"bigcode", 0},
        // 3.2 transaction layer
        Verdict{"badbranch", 400},
        // 3.3 application layer; insuf has a usable Via and CSeq, so its 400 can be routed
        Verdict{"insuf", 400}, Verdict{"unkscm", 416}, Verdict{"novelsc", 416},
        Verdict{"unksm2", 405}, Verdict{"bext01", 420}, Verdict{"invut", 415},
        Verdict{"regaut01", 405}, Verdict{"multi01", 400}, Verdict{"mcl01", 400},
        Verdict{"bcast", 0}, Verdict{"zeromf", 200}, Verdict{"cparam01", 405},
        Verdict{"cparam02", 405}, Verdict{"regescrt", 405}, Verdict{"sdp01", 406},
        // 3.4 backward compatibility
        Verdict{"inv2543", 200}),
    [](const auto& p) { return std::string(p.param.name); });

}  // namespace
}  // namespace confab::test
