// RFC 3263 §4 for the requests the focus originates (dial-out INVITEs): the transports,
// addresses and ports to send a request for a SIP or SIPS URI to, in the order to try them.
// DNS goes through c-ares on the io_context's thread; the NAPTR and SRV selection rules are plain
// functions below, tested without DNS.
#pragma once

#include <boost/asio/io_context.hpp>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <random>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "focus/sip/Uri.hpp"
#include "focus/transport/Addressing.hpp"

namespace confab::transport {

struct ResolverSettings {
  // "192.0.2.53", "127.0.0.1:5353", "[::1]:53". Empty: the system's (resolv.conf).
  std::vector<std::string> servers;
  // Per query and server; c-ares doubles it on each later round (ares_init_options(3)).
  std::chrono::milliseconds timeout{2000};
  int tries = 2;
  // Bound on a whole resolve(): NAPTR, SRV and A/AAAA together.
  std::chrono::milliseconds deadline{8000};
};

// A NAPTR or SRV record as c-ares parsed it off the wire, before any of our checks.
struct NaptrRecord {
  std::uint16_t order = 0;
  std::uint16_t preference = 0;
  std::string flags;
  std::string service;
  std::string regexp;
  std::string replacement;
};
struct SrvRecord {
  std::uint16_t priority = 0;
  std::uint16_t weight = 0;
  std::uint16_t port = 0;
  std::string target;
};

// An SRV owner name to look up and the transport its records are for.
struct SrvQuery {
  Protocol protocol = Protocol::kUdp;
  std::string name;
  friend bool operator==(const SrvQuery&, const SrvQuery&) = default;
};

// RFC 3263 §4.1: the NAPTR records a client can follow, best first (order, then preference):
// flag "S", no regexp, a replacement we would look up, and a service we speak (SIP+D2U, SIP+D2T,
// SIPS+D2T; only SIPS+D2T for a SIPS URI). At most a few, one per replacement.
std::vector<SrvQuery> selectNaptr(std::vector<NaptrRecord> records, bool secure);

// Uniform in [0, bound], both ends included.
using UniformPick = std::function<std::uint32_t(std::uint32_t bound)>;
// RFC 2782 "Usage rules": lowest priority first; within a priority, records drawn one by one at
// random with chances in proportion to their weight (weight 0 first in line, so rarely picked).
// Records that name no service (target ".") or cannot be used (port 0, a bad name) are dropped.
std::vector<SrvRecord> orderSrv(std::vector<SrvRecord> records, const UniformPick& pick);

// A host name we are willing to put in a query (RFC 1035 §2.3.4 sizes; letters, digits, '-',
// '_'). A trailing dot is allowed.
bool isLookupName(std::string_view name);

class Resolver {
 public:
  using Done = std::function<void(std::vector<Destination> destinations, std::string error)>;
  using LookupId = std::uint64_t;

  // Start-up code: throws std::invalid_argument for bad settings (a server that does not parse)
  // and std::runtime_error when c-ares cannot start.
  explicit Resolver(boost::asio::io_context& io, ResolverSettings settings = {});
  ~Resolver();
  Resolver(const Resolver&) = delete;
  Resolver& operator=(const Resolver&) = delete;

  // RFC 3263 §4: the places to send a request for 'uri' to, in the order to try them (and to
  // fail over to, §4.3). Hosts in the list are IP literals, ports are set. 'done' is called once,
  // later, on the io_context, possibly with an empty list and an error text; never if the
  // lookup is cancelled or the Resolver destroyed first.
  LookupId resolve(const sip::Uri& uri, Done done);
  // Cancelling a finished or unknown lookup does nothing.
  void cancel(LookupId id);
  // Lookups whose 'done' has not been called yet.
  [[nodiscard]] std::size_t pending() const { return lookups_.size(); }

 private:
  class Channel;
  struct Lookup;

  Lookup* find(LookupId id);
  void queryNaptr(Lookup& lookup);
  void querySrv(Lookup& lookup);
  void queryAddresses(Lookup& lookup);
  void afterQuery(Lookup& lookup);
  void afterStage(Lookup& lookup);
  void afterSrv(Lookup& lookup);
  void afterAddresses(Lookup& lookup);
  void finish(Lookup& lookup, std::vector<Destination> destinations, std::string error);
  std::uint32_t pick(std::uint32_t bound);

  boost::asio::io_context& io_;
  ResolverSettings settings_;
  std::unique_ptr<Channel> channel_;
  std::unordered_map<LookupId, std::unique_ptr<Lookup>> lookups_;
  LookupId nextId_ = 1;
  std::random_device random_;
  // Posted handlers and timers that outlive the Resolver check this before touching it.
  std::shared_ptr<int> alive_ = std::make_shared<int>(0);
};

}  // namespace confab::transport
