#include "focus/transport/Resolver.hpp"

#include <ares.h>
#include <arpa/nameser.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <algorithm>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <climits>
#include <cstring>
#include <optional>
#include <stdexcept>
#include <utility>

namespace confab::transport {

namespace asio = boost::asio;
namespace ip = boost::asio::ip;

namespace {

// Bounds on what one answer may make us do: DNS answers are network input.
constexpr std::size_t kMaxRecordsRead = 32;  // records walked per answer
constexpr std::size_t kMaxNaptrUsed = 4;     // SRV names followed from NAPTR
constexpr std::size_t kMaxSrvUsed = 8;       // records used per SRV name
constexpr std::size_t kMaxTargets = 8;       // host names looked up for addresses
constexpr std::size_t kMaxAddressesPerName = 4;
constexpr std::size_t kMaxDestinations = 16;

bool equalsIgnoringCase(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           auto lower = [](char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c + 32) : c; };
           return lower(x) == lower(y);
         });
}

// RFC 3263 §4.1 (with RFC 3261 §26.2.2: SIPS means TLS, which runs over TCP).
constexpr Protocol defaultProtocol(bool secure) {
  return secure ? Protocol::kTls : Protocol::kUdp;
}

// RFC 3263 §4.1 and the service names it registers (§10).
std::optional<Protocol> naptrProtocol(std::string_view service) {
  if (equalsIgnoringCase(service, "SIP+D2U")) {
    return Protocol::kUdp;
  }
  if (equalsIgnoringCase(service, "SIP+D2T")) {
    return Protocol::kTcp;
  }
  if (equalsIgnoringCase(service, "SIPS+D2T")) {
    return Protocol::kTls;
  }
  return std::nullopt;  // SCTP, WebSocket and anything else: not ours
}

// RFC 3263 §4.1: "_sips" for TLS, "_sip" otherwise, and the transport's label.
std::string srvName(Protocol protocol, std::string_view domain) {
  std::string_view prefix;
  switch (protocol) {
    case Protocol::kUdp:
      prefix = "_sip._udp.";
      break;
    case Protocol::kTcp:
      prefix = "_sip._tcp.";
      break;
    case Protocol::kTls:
      prefix = "_sips._tcp.";
      break;
  }
  return std::string(prefix) + std::string(domain);
}

// RFC 2782: a target of "." means the service is decidedly not available at this domain.
// c-ares hands the root name back as "" (or ".", depending on the version).
bool namesNoService(std::string_view target) {
  return target.empty() || target == ".";
}

std::string withoutTrailingDot(std::string name) {
  if (!name.empty() && name.back() == '.') {
    name.pop_back();
  }
  return name;
}

// Whether a failure means DNS itself did not answer (so trying further names is pointless), as
// opposed to "no such records" or a broken answer for this one name.
bool dnsUnavailable(int status) {
  return status == ARES_ETIMEOUT || status == ARES_ECONNREFUSED || status == ARES_ENOMEM ||
         status == ARES_ECANCELLED || status == ARES_EDESTRUCTION;
}

// What one query gave.
template <class Record>
struct Reply {
  std::vector<Record> records;
  bool unavailable = false;  // the servers did not answer: see dnsUnavailable()
  std::string error;         // why there are no records ("" when there are)
};

void initLibraryOnce() {
  // ares_library_init is not thread-safe and only needed once per process; never cleaned up.
  static const int status = ares_library_init(ARES_LIB_INIT_ALL);
  if (status != ARES_SUCCESS) {
    throw std::runtime_error(std::string("c-ares: ") + ares_strerror(status));
  }
}

std::string joinServers(const std::vector<std::string>& servers) {
  std::string csv;
  for (const auto& server : servers) {
    if (server.empty() || server.find(',') != std::string::npos) {
      throw std::invalid_argument("DNS server '" + server + "' is not an address[:port]");
    }
    if (!csv.empty()) {
      csv += ',';
    }
    csv += server;
  }
  return csv;
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// Selection rules (RFC 3263 §4.1, RFC 2782)

bool isLookupName(std::string_view name) {
  if (!name.empty() && name.back() == '.') {
    name.remove_suffix(1);
  }
  // RFC 1035 §2.3.4: 255 octets on the wire, so 253 as text; labels of 1 to 63 octets.
  if (name.empty() || name.size() > 253) {
    return false;
  }
  std::size_t label = 0;
  for (char c : name) {
    if (c == '.') {
      if (label == 0) {
        return false;
      }
      label = 0;
      continue;
    }
    const bool allowed = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                         (c >= '0' && c <= '9') || c == '-' || c == '_';
    if (!allowed || ++label > 63) {
      return false;
    }
  }
  return label > 0;
}

std::vector<SrvQuery> selectNaptr(std::vector<NaptrRecord> records, bool secure) {
  std::stable_sort(records.begin(), records.end(), [](const auto& a, const auto& b) {
    return a.order != b.order ? a.order < b.order : a.preference < b.preference;
  });
  std::vector<SrvQuery> selected;
  for (const auto& record : records) {
    if (selected.size() == kMaxNaptrUsed) {
      break;
    }
    // RFC 3263 §4.1: the SIP services are terminal rules with flag "S" (the next lookup is
    // SRV) and an empty regexp; the replacement is the SRV owner name. Anything else would need
    // RFC 3403 rewriting we do not do.
    const auto protocol = naptrProtocol(record.service);
    if (!protocol || !equalsIgnoringCase(record.flags, "S") || !record.regexp.empty()) {
      continue;
    }
    // RFC 3263 §4.1: a SIPS URI is reached over TLS only.
    if (secure && *protocol != Protocol::kTls) {
      continue;
    }
    if (namesNoService(record.replacement) || !isLookupName(record.replacement)) {
      continue;
    }
    SrvQuery query{*protocol, withoutTrailingDot(record.replacement)};
    if (std::find(selected.begin(), selected.end(), query) == selected.end()) {
      selected.push_back(std::move(query));
    }
  }
  return selected;
}

std::vector<SrvRecord> orderSrv(std::vector<SrvRecord> records, const UniformPick& pick) {
  std::erase_if(records, [](const SrvRecord& record) {
    return record.port == 0 || namesNoService(record.target) || !isLookupName(record.target);
  });
  std::stable_sort(records.begin(), records.end(),
                   [](const auto& a, const auto& b) { return a.priority < b.priority; });
  std::vector<SrvRecord> ordered;
  ordered.reserve(records.size());
  auto group = records.begin();
  while (group != records.end()) {
    const auto groupEnd = std::find_if(group, records.end(), [&](const SrvRecord& record) {
      return record.priority != group->priority;
    });
    // RFC 2782: weight 0 first, then the running sums decide which record a uniform number in
    // [0, sum] falls on.
    std::vector<SrvRecord> remaining(group, groupEnd);
    std::stable_partition(remaining.begin(), remaining.end(),
                          [](const SrvRecord& record) { return record.weight == 0; });
    while (!remaining.empty()) {
      std::uint32_t sum = 0;
      for (const auto& record : remaining) {
        sum += record.weight;
      }
      const std::uint32_t chosen = sum == 0 ? 0 : std::min(pick(sum), sum);
      std::uint32_t running = 0;
      auto it = remaining.begin();
      for (; it != remaining.end(); ++it) {
        running += it->weight;
        if (running >= chosen) {
          break;
        }
      }
      ordered.push_back(std::move(*it));
      remaining.erase(it);
    }
    group = groupEnd;
  }
  for (auto& record : ordered) {
    record.target = withoutTrailingDot(std::move(record.target));
  }
  return ordered;
}

// ---------------------------------------------------------------------------------------------
// Resolver::Channel: c-ares on the io_context. Its sockets are watched with asio waits (c-ares
// says which through the socket-state callback), its retransmissions and timeouts with one timer
// set from ares_timeout(). c-ares calls back only from inside the ares_* calls made here, so
// always on the io_context's thread.

class Resolver::Channel {
 public:
  using NaptrHandler = std::function<void(Reply<NaptrRecord>)>;
  using SrvHandler = std::function<void(Reply<SrvRecord>)>;
  using AddressHandler = std::function<void(Reply<ip::address>)>;

  Channel(asio::io_context& io, const ResolverSettings& settings);
  ~Channel();
  Channel(const Channel&) = delete;
  Channel& operator=(const Channel&) = delete;

  // The handlers may run before these return (c-ares answers some failures at once) and never
  // run once the Channel is being destroyed.
  void naptr(const std::string& name, NaptrHandler handler);
  void srv(const std::string& name, SrvHandler handler);
  void addresses(const std::string& name, AddressHandler handler);

 private:
  // One socket c-ares opened. The descriptor is only watched: c-ares closes the socket, so it is
  // released (never closed) here.
  struct Watch {
    Watch(asio::io_context& io, ares_socket_t socket, std::uint64_t id)
        : descriptor(io, socket), generation(id) {}
    ~Watch() { descriptor.release(); }
    Watch(const Watch&) = delete;
    Watch& operator=(const Watch&) = delete;

    asio::posix::stream_descriptor descriptor;
    std::uint64_t generation;  // socket numbers are reused: tells this watch from a later one
    bool wantRead = false;
    bool wantWrite = false;
    bool readPending = false;
    bool writePending = false;
  };
  struct Query {
    Channel* channel;
    std::function<void(int status, const unsigned char* answer, int length)> parse;
  };
  struct AddressQuery {
    Channel* channel;
    AddressHandler handler;
  };

  static void onSocketState(void* data, ares_socket_t socket, int readable, int writable);
  static void onAnswer(void* arg, int status, int timeouts, unsigned char* answer, int length);
  static void onAddresses(void* arg, int status, int timeouts, ares_addrinfo* result);

  void query(const std::string& name,
             int type,
             std::function<void(int status, const unsigned char* answer, int length)> parse);
  void watch(ares_socket_t socket, bool readable, bool writable);
  void arm(Watch& watch);
  void wait(Watch& watch, asio::posix::descriptor_base::wait_type type);
  void rearmTimer();

  asio::io_context& io_;
  ares_channel channel_ = nullptr;
  bool closing_ = false;
  std::unordered_map<ares_socket_t, std::unique_ptr<Watch>> watches_;
  std::uint64_t nextGeneration_ = 1;
  asio::steady_timer timer_;
  std::shared_ptr<int> alive_ = std::make_shared<int>(0);
};

Resolver::Channel::Channel(asio::io_context& io, const ResolverSettings& settings)
    : io_(io), timer_(io) {
  if (settings.timeout.count() <= 0 || settings.timeout.count() > INT_MAX) {
    throw std::invalid_argument("DNS timeout must be positive");
  }
  if (settings.tries < 1 || settings.tries > 10) {
    throw std::invalid_argument("DNS tries must be 1 to 10");
  }
  const std::string servers = joinServers(settings.servers);
  initLibraryOnce();

  ares_options options{};
  options.sock_state_cb = &Channel::onSocketState;
  options.sock_state_cb_data = this;
  options.timeout = static_cast<int>(settings.timeout.count());
  options.tries = settings.tries;
  // A name with a dot is tried as it is before any search domain: SIP hosts are meant to be
  // fully qualified (RFC 3263 §4 looks up the URI's host itself).
  options.ndots = 1;
  const int mask = ARES_OPT_SOCK_STATE_CB | ARES_OPT_TIMEOUTMS | ARES_OPT_TRIES | ARES_OPT_NDOTS;
  if (const int status = ares_init_options(&channel_, &options, mask); status != ARES_SUCCESS) {
    throw std::runtime_error(std::string("c-ares: ") + ares_strerror(status));
  }
  if (!servers.empty()) {
    if (const int status = ares_set_servers_ports_csv(channel_, servers.c_str());
        status != ARES_SUCCESS) {
      ares_destroy(channel_);
      throw std::invalid_argument("DNS servers '" + servers + "': " + ares_strerror(status));
    }
  }
}

Resolver::Channel::~Channel() {
  alive_.reset();  // asio handlers still queued find the channel gone
  closing_ = true;
  // Ends every query (their callbacks see closing_ and only free what they carry) and reports
  // each socket closed through onSocketState, which drops its watch.
  ares_destroy(channel_);
  watches_.clear();
}

void Resolver::Channel::naptr(const std::string& name, NaptrHandler handler) {
  query(name, ns_t_naptr,
        [handler = std::move(handler)](int status, const unsigned char* answer, int length) {
          Reply<NaptrRecord> reply;
          ares_naptr_reply* head = nullptr;
          if (status == ARES_SUCCESS) {
            status = ares_parse_naptr_reply(answer, length, &head);
          }
          std::size_t walked = 0;
          for (auto* record = head; record != nullptr && walked < kMaxRecordsRead;
               record = record->next, ++walked) {
            auto text = [](const unsigned char* value) {
              return value == nullptr ? std::string()
                                      : std::string(reinterpret_cast<const char*>(value));
            };
            reply.records.push_back(
                NaptrRecord{record->order, record->preference, text(record->flags),
                            text(record->service), text(record->regexp),
                            record->replacement == nullptr ? std::string() : record->replacement});
          }
          if (head != nullptr) {
            ares_free_data(head);
          }
          if (status != ARES_SUCCESS) {
            reply.unavailable = dnsUnavailable(status);
            reply.error = ares_strerror(status);
          }
          handler(std::move(reply));
        });
}

void Resolver::Channel::srv(const std::string& name, SrvHandler handler) {
  query(name, ns_t_srv,
        [handler = std::move(handler)](int status, const unsigned char* answer, int length) {
          Reply<SrvRecord> reply;
          ares_srv_reply* head = nullptr;
          if (status == ARES_SUCCESS) {
            status = ares_parse_srv_reply(answer, length, &head);
          }
          std::size_t walked = 0;
          for (auto* record = head; record != nullptr && walked < kMaxRecordsRead;
               record = record->next, ++walked) {
            reply.records.push_back(SrvRecord{record->priority, record->weight, record->port,
                                              record->host == nullptr ? "" : record->host});
          }
          if (head != nullptr) {
            ares_free_data(head);
          }
          if (status != ARES_SUCCESS) {
            reply.unavailable = dnsUnavailable(status);
            reply.error = ares_strerror(status);
          }
          handler(std::move(reply));
        });
}

void Resolver::Channel::query(
    const std::string& name,
    int type,
    std::function<void(int status, const unsigned char* answer, int length)> parse) {
  auto* arg = new Query{this, std::move(parse)};
  // ares_query: no search domains; NAPTR and SRV owner names are absolute.
  ares_query(channel_, name.c_str(), ns_c_in, type, &Channel::onAnswer, arg);
  rearmTimer();
}

void Resolver::Channel::addresses(const std::string& name, AddressHandler handler) {
  ares_addrinfo_hints hints{};
  hints.ai_family = AF_UNSPEC;  // A and AAAA
  auto* arg = new AddressQuery{this, std::move(handler)};
  ares_getaddrinfo(channel_, name.c_str(), nullptr, &hints, &Channel::onAddresses, arg);
  rearmTimer();
}

void Resolver::Channel::onAnswer(
    void* arg, int status, int /*timeouts*/, unsigned char* answer, int length) {
  const std::unique_ptr<Query> query(static_cast<Query*>(arg));
  if (query->channel->closing_) {
    return;
  }
  query->parse(status, answer, length);
}

void Resolver::Channel::onAddresses(void* arg,
                                    int status,
                                    int /*timeouts*/,
                                    ares_addrinfo* result) {
  const std::unique_ptr<AddressQuery> query(static_cast<AddressQuery*>(arg));
  const std::unique_ptr<ares_addrinfo, decltype(&ares_freeaddrinfo)> owned(result,
                                                                           &ares_freeaddrinfo);
  if (query->channel->closing_) {
    return;
  }
  Reply<ip::address> reply;
  std::size_t walked = 0;
  for (auto* node = result == nullptr ? nullptr : result->nodes;
       node != nullptr && walked < kMaxRecordsRead && reply.records.size() < kMaxAddressesPerName;
       node = node->ai_next, ++walked) {
    std::optional<ip::address> address;
    if (node->ai_family == AF_INET && node->ai_addr != nullptr &&
        node->ai_addrlen >= sizeof(sockaddr_in)) {
      sockaddr_in in{};
      std::memcpy(&in, node->ai_addr, sizeof in);
      ip::address_v4::bytes_type bytes{};
      std::memcpy(bytes.data(), &in.sin_addr, bytes.size());
      address = ip::address_v4(bytes);
    } else if (node->ai_family == AF_INET6 && node->ai_addr != nullptr &&
               node->ai_addrlen >= sizeof(sockaddr_in6)) {
      sockaddr_in6 in6{};
      std::memcpy(&in6, node->ai_addr, sizeof in6);
      ip::address_v6::bytes_type bytes{};
      std::memcpy(bytes.data(), &in6.sin6_addr, bytes.size());
      address = ip::address_v6(bytes);
    }
    if (address &&
        std::find(reply.records.begin(), reply.records.end(), *address) == reply.records.end()) {
      reply.records.push_back(*address);
    }
  }
  if (status != ARES_SUCCESS) {
    reply.unavailable = dnsUnavailable(status);
    reply.error = ares_strerror(status);
  } else if (reply.records.empty()) {
    reply.error = "no address";
  }
  query->handler(std::move(reply));
}

void Resolver::Channel::onSocketState(void* data,
                                      ares_socket_t socket,
                                      int readable,
                                      int writable) {
  static_cast<Channel*>(data)->watch(socket, readable != 0, writable != 0);
}

void Resolver::Channel::watch(ares_socket_t socket, bool readable, bool writable) {
  if (!readable && !writable) {
    // c-ares is about to close the socket: stop watching it first.
    watches_.erase(socket);
    return;
  }
  if (closing_) {
    return;
  }
  auto& slot = watches_[socket];
  if (!slot) {
    slot = std::make_unique<Watch>(io_, socket, nextGeneration_++);
  }
  slot->wantRead = readable;
  slot->wantWrite = writable;
  arm(*slot);
}

void Resolver::Channel::arm(Watch& watch) {
  if (watch.wantRead && !watch.readPending) {
    wait(watch, asio::posix::descriptor_base::wait_read);
  }
  if (watch.wantWrite && !watch.writePending) {
    wait(watch, asio::posix::descriptor_base::wait_write);
  }
}

void Resolver::Channel::wait(Watch& watch, asio::posix::descriptor_base::wait_type type) {
  const bool read = type == asio::posix::descriptor_base::wait_read;
  (read ? watch.readPending : watch.writePending) = true;
  watch.descriptor.async_wait(
      type, [this, alive = std::weak_ptr<int>(alive_), socket = watch.descriptor.native_handle(),
             generation = watch.generation, read](const boost::system::error_code& ec) {
        if (alive.expired()) {
          return;
        }
        auto it = watches_.find(socket);
        if (it == watches_.end() || it->second->generation != generation) {
          return;  // c-ares closed this socket meanwhile
        }
        (read ? it->second->readPending : it->second->writePending) = false;
        if (ec) {
          return;  // cancelled; c-ares times the query out if the socket is truly lost
        }
        ares_process_fd(channel_, read ? socket : ARES_SOCKET_BAD, read ? ARES_SOCKET_BAD : socket);
        // Processing may have closed the socket, or closed it and opened another with the same
        // number.
        it = watches_.find(socket);
        if (it != watches_.end() && it->second->generation == generation) {
          arm(*it->second);
        }
        rearmTimer();
      });
}

void Resolver::Channel::rearmTimer() {
  if (closing_) {
    return;
  }
  timeval until{};
  if (ares_timeout(channel_, nullptr, &until) == nullptr) {
    timer_.cancel();  // no query out
    return;
  }
  // Rounded up, so that the timer does not fire just before c-ares considers the query due.
  const auto delay = std::chrono::milliseconds(static_cast<std::int64_t>(until.tv_sec) * 1000 +
                                               (until.tv_usec + 999) / 1000);
  timer_.expires_after(delay);
  timer_.async_wait(
      [this, alive = std::weak_ptr<int>(alive_)](const boost::system::error_code& ec) {
        if (ec || alive.expired()) {
          return;
        }
        // No socket ready: c-ares only retransmits and expires what is due.
        ares_process_fd(channel_, ARES_SOCKET_BAD, ARES_SOCKET_BAD);
        rearmTimer();
      });
}

// ---------------------------------------------------------------------------------------------
// Resolver: the RFC 3263 §4 steps, one stage of queries at a time (NAPTR, SRV, A/AAAA).

namespace {

// What the URI itself says, before any DNS (RFC 3263 §4, §4.1).
struct Plan {
  std::string target;  // the maddr parameter or the host, without IPv6 brackets
  bool secure = false;
  std::optional<Protocol> transport;  // from a transport parameter
  std::optional<std::uint16_t> port;
  std::optional<ip::address> numeric;
};

sip::Result<Plan> planFor(const sip::Uri& uri) {
  if (!uri.isSip()) {
    return sip::Error{416, "only sip: and sips: URIs can be resolved"};
  }
  Plan plan;
  plan.secure = uri.scheme == sip::Uri::Scheme::kSips;
  // RFC 3263 §4: "If the URI contains an maddr parameter, the TARGET is the maddr".
  const auto* maddr = uri.param("maddr");
  plan.target = maddr != nullptr && maddr->value ? *maddr->value : uri.host;
  plan.numeric = parseIpLiteral(plan.target);
  if (plan.numeric) {
    plan.target = plan.numeric->to_string();
  } else if (!isLookupName(plan.target)) {
    return sip::badRequest("'" + plan.target + "' is neither an IP address nor a host name");
  }
  if (const auto* transport = uri.param("transport")) {
    const std::string value = transport->value.value_or("");
    if (equalsIgnoringCase(value, "udp")) {
      if (plan.secure) {
        // RFC 3261 §26.2.2: a SIPS URI is reached over TLS, and TLS does not run over UDP.
        return sip::badRequest("a sips: URI cannot use transport=udp");
      }
      plan.transport = Protocol::kUdp;
    } else if (equalsIgnoringCase(value, "tcp")) {
      // RFC 3263 §4.1: TCP for a SIPS URI means TLS over TCP.
      plan.transport = plan.secure ? Protocol::kTls : Protocol::kTcp;
    } else if (equalsIgnoringCase(value, "tls")) {
      plan.transport = Protocol::kTls;
    } else {
      return sip::badRequest("transport=" + value + " is not supported (UDP, TCP and TLS only)");
    }
  }
  if (uri.port) {
    if (*uri.port == 0) {
      return sip::badRequest("port 0 in " + uri.str());
    }
    plan.port = uri.port;
  }
  return plan;
}

std::vector<Destination> appendUnique(std::vector<Destination> list, Destination destination) {
  const bool seen = std::any_of(list.begin(), list.end(), [&](const Destination& d) {
    return d.protocol == destination.protocol && d.host == destination.host &&
           d.port == destination.port;
  });
  if (!seen && list.size() < kMaxDestinations) {
    list.push_back(std::move(destination));
  }
  return list;
}

}  // namespace

struct Resolver::Lookup {
  // A host name whose addresses the request goes to, with the transport and port to use.
  struct Target {
    Protocol protocol = Protocol::kUdp;
    std::string host;
    std::uint16_t port = 0;
  };
  enum class Stage { kNaptr, kSrv, kAddresses };

  explicit Lookup(asio::io_context& io) : deadline(io) {}

  LookupId id = 0;
  Done done;
  std::string uri;  // for error texts
  Plan plan;
  asio::steady_timer deadline;
  Stage stage = Stage::kNaptr;
  // Queries out in this stage, and whether they are still being sent (c-ares may answer some
  // before ares_query returns; the stage ends only once all are sent and all are back).
  std::size_t outstanding = 0;
  bool sending = false;
  bool finished = false;

  std::vector<SrvQuery> srvQueries;
  std::vector<Reply<SrvRecord>> srvReplies;  // by srvQueries index
  Protocol fallback = Protocol::kUdp;        // for A/AAAA at the default port (RFC 3263 §4.2)
  std::vector<Target> targets;
  std::vector<std::string> hosts;               // distinct targets[].host
  std::vector<Reply<ip::address>> hostReplies;  // by hosts index

  std::vector<Destination> destinations;
  std::string error;
};

Resolver::Resolver(asio::io_context& io, ResolverSettings settings)
    : io_(io), settings_(std::move(settings)), channel_(std::make_unique<Channel>(io, settings_)) {
  if (settings_.deadline.count() <= 0) {
    throw std::invalid_argument("DNS deadline must be positive");
  }
}

Resolver::~Resolver() {
  alive_.reset();
  channel_.reset();  // no DNS callback after this
  lookups_.clear();
}

Resolver::LookupId Resolver::resolve(const sip::Uri& uri, Done done) {
  auto lookup = std::make_unique<Lookup>(io_);
  lookup->id = nextId_++;
  lookup->done = std::move(done);
  lookup->uri = uri.str();
  const LookupId id = lookup->id;
  Lookup& ref = *lookup;
  lookups_.emplace(id, std::move(lookup));

  auto plan = planFor(uri);
  if (!plan) {
    finish(ref, {}, "cannot resolve " + ref.uri + ": " + plan.error().reason);
    return id;
  }
  ref.plan = std::move(plan).value();
  const Plan& p = ref.plan;
  // RFC 3263 §4.1: a numeric target needs no lookup; UDP for SIP, TLS for SIPS unless a
  // transport parameter says otherwise. §4.2: the URI's port, else the transport's default.
  if (p.numeric) {
    const Protocol protocol = p.transport.value_or(defaultProtocol(p.secure));
    finish(ref, {Destination{protocol, p.target, p.port.value_or(defaultPort(protocol))}}, "");
    return id;
  }
  ref.deadline.expires_after(settings_.deadline);
  ref.deadline.async_wait(
      [this, alive = std::weak_ptr<int>(alive_), id](const boost::system::error_code& ec) {
        if (ec || alive.expired()) {
          return;
        }
        if (auto* late = find(id)) {
          finish(*late, {},
                 "cannot resolve " + late->uri + ": no answer within " +
                     std::to_string(settings_.deadline.count()) + " ms");
        }
      });
  if (p.port) {
    // RFC 3263 §4.2: an explicit port means no SRV (and §4.1: no NAPTR); UDP for SIP, TLS for
    // SIPS unless a transport parameter says otherwise.
    const Protocol protocol = p.transport.value_or(defaultProtocol(p.secure));
    ref.targets.push_back({protocol, p.target, *p.port});
    queryAddresses(ref);
  } else if (p.transport) {
    // RFC 3263 §4.2: a transport given explicitly means SRV for that transport only.
    ref.srvQueries.push_back({*p.transport, srvName(*p.transport, p.target)});
    ref.fallback = *p.transport;
    querySrv(ref);
  } else {
    queryNaptr(ref);
  }
  return id;
}

void Resolver::cancel(LookupId id) {
  lookups_.erase(id);
}

Resolver::Lookup* Resolver::find(LookupId id) {
  const auto it = lookups_.find(id);
  return it == lookups_.end() || it->second->finished ? nullptr : it->second.get();
}

void Resolver::queryNaptr(Lookup& lookup) {
  lookup.stage = Lookup::Stage::kNaptr;
  lookup.sending = true;
  ++lookup.outstanding;
  channel_->naptr(lookup.plan.target, [this, id = lookup.id](Reply<NaptrRecord> reply) {
    auto* current = find(id);
    if (current == nullptr) {
      return;
    }
    if (reply.unavailable) {
      finish(*current, {},
             "cannot resolve " + current->uri + ": NAPTR " + current->plan.target + ": " +
                 reply.error);
      return;
    }
    current->srvQueries = selectNaptr(std::move(reply.records), current->plan.secure);
    if (!current->srvQueries.empty()) {
      // RFC 3263 §4.2: if no SRV record is found, A/AAAA with the transport NAPTR chose.
      current->fallback = current->srvQueries.front().protocol;
    } else {
      // RFC 3263 §4.1: no (usable) NAPTR records: SRV for each transport we support, SIPS over
      // TLS only; if none, UDP for SIP and TLS for SIPS.
      current->fallback = defaultProtocol(current->plan.secure);
      if (!current->plan.secure) {
        current->srvQueries.push_back(
            {Protocol::kUdp, srvName(Protocol::kUdp, current->plan.target)});
        current->srvQueries.push_back(
            {Protocol::kTcp, srvName(Protocol::kTcp, current->plan.target)});
      }
      current->srvQueries.push_back(
          {Protocol::kTls, srvName(Protocol::kTls, current->plan.target)});
    }
    afterQuery(*current);
  });
  lookup.sending = false;
  // The callback above may have run already; 'lookup' is still in lookups_ either way (only
  // cancel() and the posted completion erase).
  if (lookup.outstanding == 0 && !lookup.finished) {
    afterStage(lookup);
  }
}

void Resolver::querySrv(Lookup& lookup) {
  lookup.stage = Lookup::Stage::kSrv;
  lookup.srvReplies.assign(lookup.srvQueries.size(), {});
  lookup.sending = true;
  for (std::size_t i = 0; i < lookup.srvQueries.size(); ++i) {
    ++lookup.outstanding;
    channel_->srv(lookup.srvQueries[i].name, [this, id = lookup.id, i](Reply<SrvRecord> reply) {
      if (auto* current = find(id)) {
        current->srvReplies[i] = std::move(reply);
        afterQuery(*current);
      }
    });
  }
  lookup.sending = false;
  if (lookup.outstanding == 0 && !lookup.finished) {
    afterStage(lookup);
  }
}

void Resolver::queryAddresses(Lookup& lookup) {
  lookup.stage = Lookup::Stage::kAddresses;
  lookup.hosts.clear();
  for (const auto& target : lookup.targets) {
    if (std::find(lookup.hosts.begin(), lookup.hosts.end(), target.host) == lookup.hosts.end()) {
      lookup.hosts.push_back(target.host);
    }
  }
  lookup.hostReplies.assign(lookup.hosts.size(), {});
  lookup.sending = true;
  for (std::size_t i = 0; i < lookup.hosts.size(); ++i) {
    ++lookup.outstanding;
    channel_->addresses(lookup.hosts[i], [this, id = lookup.id, i](Reply<ip::address> reply) {
      if (auto* current = find(id)) {
        current->hostReplies[i] = std::move(reply);
        afterQuery(*current);
      }
    });
  }
  lookup.sending = false;
  if (lookup.outstanding == 0 && !lookup.finished) {
    afterStage(lookup);
  }
}

void Resolver::afterQuery(Lookup& lookup) {
  --lookup.outstanding;
  if (lookup.outstanding == 0 && !lookup.sending && !lookup.finished) {
    afterStage(lookup);
  }
}

void Resolver::afterStage(Lookup& lookup) {
  switch (lookup.stage) {
    case Lookup::Stage::kNaptr:
      querySrv(lookup);
      break;
    case Lookup::Stage::kSrv:
      afterSrv(lookup);
      break;
    case Lookup::Stage::kAddresses:
      afterAddresses(lookup);
      break;
  }
}

void Resolver::afterSrv(Lookup& lookup) {
  bool anyRecord = false;
  bool unavailable = false;
  std::string error;
  for (std::size_t i = 0; i < lookup.srvQueries.size(); ++i) {
    auto& reply = lookup.srvReplies[i];
    anyRecord = anyRecord || !reply.records.empty();
    unavailable = unavailable || reply.unavailable;
    if (error.empty() && !reply.error.empty()) {
      error = "SRV " + lookup.srvQueries[i].name + ": " + reply.error;
    }
    auto ordered =
        orderSrv(std::move(reply.records), [this](std::uint32_t bound) { return pick(bound); });
    for (std::size_t n = 0; n < ordered.size() && n < kMaxSrvUsed; ++n) {
      if (lookup.targets.size() == kMaxTargets) {
        break;
      }
      lookup.targets.push_back(
          {lookup.srvQueries[i].protocol, std::move(ordered[n].target), ordered[n].port});
    }
  }
  if (lookup.targets.empty()) {
    if (anyRecord) {
      // RFC 2782: records were found, and they say "no service here" (target ".") or cannot be
      // used; this is not "no SRV records", so no A/AAAA fallback.
      finish(
          lookup, {},
          "cannot resolve " + lookup.uri + ": no SIP service at " + lookup.plan.target + " (SRV)");
      return;
    }
    if (unavailable) {
      finish(lookup, {}, "cannot resolve " + lookup.uri + ": " + error);
      return;
    }
    // RFC 3263 §4.2: no SRV records: the domain's own A/AAAA records, the default port.
    lookup.targets.push_back({lookup.fallback, lookup.plan.target, defaultPort(lookup.fallback)});
  }
  queryAddresses(lookup);
}

void Resolver::afterAddresses(Lookup& lookup) {
  std::vector<Destination> destinations;
  std::string error;
  for (const auto& target : lookup.targets) {
    const auto at = std::find(lookup.hosts.begin(), lookup.hosts.end(), target.host);
    const auto& reply = lookup.hostReplies[static_cast<std::size_t>(at - lookup.hosts.begin())];
    if (error.empty() && !reply.error.empty()) {
      error = "no address for " + target.host + ": " + reply.error;
    }
    for (const auto& address : reply.records) {
      destinations = appendUnique(std::move(destinations),
                                  {target.protocol, address.to_string(), target.port});
    }
  }
  if (destinations.empty()) {
    finish(lookup, {}, "cannot resolve " + lookup.uri + ": " + error);
    return;
  }
  finish(lookup, std::move(destinations), "");
}

void Resolver::finish(Lookup& lookup, std::vector<Destination> destinations, std::string error) {
  lookup.finished = true;
  lookup.deadline.cancel();
  lookup.destinations = std::move(destinations);
  lookup.error = std::move(error);
  // Always later, from the io_context: never from inside resolve() or a c-ares callback, so
  // 'done' may destroy the Resolver or start another lookup.
  asio::post(io_, [this, alive = std::weak_ptr<int>(alive_), id = lookup.id] {
    if (alive.expired()) {
      return;
    }
    const auto it = lookups_.find(id);
    if (it == lookups_.end()) {
      return;  // cancelled
    }
    const std::unique_ptr<Lookup> over = std::move(it->second);
    lookups_.erase(it);
    over->done(std::move(over->destinations), std::move(over->error));
  });
}

std::uint32_t Resolver::pick(std::uint32_t bound) {
  std::uniform_int_distribution<std::uint32_t> uniform(0, bound);
  return uniform(random_);
}

}  // namespace confab::transport
