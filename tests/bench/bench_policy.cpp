// What a call costs the SIP thread in the policy store (issue 11): finding the room a
// Request-URI names (the tenant owning the domain, then its room: one query since 2026-12-06) and
// checking a PIN (PBKDF2-HMAC-SHA256, Store::kPinIterations). A store of TENANTS tenants with a
// domain each (plus the default tenant owning '*') and ROOMS rooms each, in a real SQLite file in
// DIR, or in the PostgreSQL database a postgresql:// URI names; and what writing a room costs (one
// transaction, as the API's POST /v1/rooms makes it).
// Prints a markdown table: median, p99 and max per operation in microseconds.
//   bench_policy DIR|URI [TENANTS] [ROOMS-PER-TENANT] [LOOKUPS]
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include "policy/Store.hpp"
#include "policy/StoreRooms.hpp"

using namespace confab::policy;
using Clock = std::chrono::steady_clock;

namespace {

struct Row {
  const char* what;
  std::vector<double> micros;
};

void print(Row& row) {
  std::sort(row.micros.begin(), row.micros.end());
  const auto at = [&](double q) {
    return row
        .micros[std::min(row.micros.size() - 1,
                         static_cast<std::size_t>(q * static_cast<double>(row.micros.size())))];
  };
  std::printf("| %s | %zu | %.1f | %.1f | %.1f |\n", row.what, row.micros.size(), at(0.5), at(0.99),
              row.micros.back());
}

template <class T>
T must(StoreResult<T> r, const char* what) {
  if (auto* e = std::get_if<StoreError>(&r)) {
    std::fprintf(stderr, "bench_policy: %s: %s\n", what, e->message.c_str());
    std::exit(1);
  }
  return std::get<T>(std::move(r));
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: bench_policy DIR|URI [TENANTS] [ROOMS] [LOOKUPS]\n");
    return 2;
  }
  const std::string path = Store::isPostgres(argv[1])
                               ? std::string(argv[1])
                               : (std::filesystem::path(argv[1]) / "policy.db").string();
  const int tenants = argc > 2 ? std::atoi(argv[2]) : 100;
  const int rooms = argc > 3 ? std::atoi(argv[3]) : 100;
  const int lookups = argc > 4 ? std::atoi(argv[4]) : 100000;
  auto store = must(Store::open(path), "open");
  const Tenant fallback = must(store->seedDefault({{"1000", "1000"}}, 0), "seed");
  Row written{"create a room (one transaction)", {}};
  for (int t = 0; t < tenants; ++t) {
    Tenant tenant;
    tenant.name = "tenant" + std::to_string(t);
    tenant.domains = {"t" + std::to_string(t) + ".example.com"};
    const Tenant made = must(store->createTenant(tenant), "tenant");
    for (int r = 0; r < rooms; ++r) {
      RoomChange change;
      change.room.tenantId = made.id;
      change.room.user = std::to_string(4000 + r);
      change.room.name = "room";
      if (r == 0) {
        change.participantPin = "123456";
        change.moderatorPin = "654321";
      }
      const auto start = Clock::now();
      must(store->createRoom(change), "room");
      if (r != 0) {  // the first hashes two PINs (PBKDF2): not the store's cost
        written.micros.push_back(
            std::chrono::duration<double, std::micro>(Clock::now() - start).count());
      }
    }
  }
  StoreRooms source(*store, fallback.id);
  Row found{"find a room (domain -> tenant -> room)", {}};
  Row missing{"find a room that does not exist", {}};
  Row pinRight{"check a right PIN", {}};
  Row pinWrong{"check a wrong PIN", {}};
  unsigned seen = 0;
  for (int i = 0; i < lookups; ++i) {
    const std::string domain = "t" + std::to_string(i % tenants) + ".example.com";
    const std::string user = std::to_string(4000 + (i * 7) % rooms);
    auto start = Clock::now();
    auto room = source.find(user, domain);
    found.micros.push_back(std::chrono::duration<double, std::micro>(Clock::now() - start).count());
    seen += room ? 1U : 0U;
    start = Clock::now();
    auto none = source.find("99999", domain);
    missing.micros.push_back(
        std::chrono::duration<double, std::micro>(Clock::now() - start).count());
    seen += none ? 1U : 0U;
  }
  auto pinRoom = source.find("4000", "t0.example.com");
  for (int i = 0; i < 200 && pinRoom; ++i) {
    auto start = Clock::now();
    auto role = source.checkPin(*pinRoom, i % 2 == 0 ? "654321" : "123456");
    pinRight.micros.push_back(
        std::chrono::duration<double, std::micro>(Clock::now() - start).count());
    start = Clock::now();
    auto wrong = source.checkPin(*pinRoom, "111111");
    pinWrong.micros.push_back(
        std::chrono::duration<double, std::micro>(Clock::now() - start).count());
    seen += (role ? 1U : 0U) + (wrong ? 1U : 0U);
  }
  std::printf(
      "| operation | runs | median (us) | p99 (us) | max (us) |\n|---|---:|---:|---:|---:|\n");
  print(found);
  print(missing);
  print(pinRight);
  print(pinWrong);
  print(written);
  std::fprintf(stderr, "bench_policy: %u found\n", seen);
  return 0;
}
