#include "api/Metrics.hpp"

#include <algorithm>
#include <sstream>

#include "api/Routes.hpp"

namespace confab::api::routes {

namespace {

// One metric's HELP and TYPE lines, then its samples.
class Exposition {
 public:
  void family(const char* name, const char* type, const char* help) {
    out_ << "# HELP " << name << " " << help << "\n# TYPE " << name << " " << type << "\n";
  }
  template <class V>
  void sample(const std::string& name, V value) {
    out_ << name << " " << value << "\n";
  }
  [[nodiscard]] std::string str() const { return out_.str(); }

 private:
  std::ostringstream out_;
};

// A label value, escaped as the format requires (backslash, quote, newline).
std::string label(std::string_view value) {
  std::string out;
  for (char c : value) {
    if (c == '\\' || c == '"') {
      out += '\\';
      out += c;
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

std::string threadLabel(std::size_t i) {
  return "thread=\"" + std::to_string(i) + "\"";
}

}  // namespace

Reply getMetrics(const Context& context, const Request& /*request*/, const Params& /*params*/) {
  Exposition m;
  if (context.live != nullptr) {
    const auto& focus = context.live->calls;
    m.family("confab_calls", "gauge", "SIP calls in progress.");
    m.sample("confab_calls", focus.callCount());
    std::size_t participants = 0;
    for (const auto& [id, conference] : focus.conferences().all()) {
      participants += conference.participants.size();
    }
    m.family("confab_conferences", "gauge", "Conferences running.");
    m.sample("confab_conferences", focus.conferences().all().size());
    m.family("confab_participants", "gauge", "Participants in conferences, joining included.");
    m.sample("confab_participants", participants);

    const auto threads = focus.mixerThreads();
    m.family("confab_mixer_ticks_total", "counter", "Mix ticks, per mixer thread.");
    for (std::size_t i = 0; i < threads.size(); ++i) {
      m.sample("confab_mixer_ticks_total{" + threadLabel(i) + "}", threads[i].ticks);
    }
    m.family("confab_mixer_tick_lateness_microseconds", "gauge",
             "How late the 20 ms tick ran over the last interval, per thread.");
    for (std::size_t i = 0; i < threads.size(); ++i) {
      const std::string name = "confab_mixer_tick_lateness_microseconds{" + threadLabel(i);
      m.sample(name + ",quantile=\"0.5\"}", threads[i].latenessP50Micros);
      m.sample(name + ",quantile=\"0.99\"}", threads[i].latenessP99Micros);
      m.sample(name + ",quantile=\"0.999\"}", threads[i].latenessP999Micros);
    }
    m.family("confab_mixer_faults_total", "counter",
             "Exceptions caught on a mixer thread (each ended one call).");
    for (std::size_t i = 0; i < threads.size(); ++i) {
      m.sample("confab_mixer_faults_total{" + threadLabel(i) + "}", threads[i].faults);
    }

    // The worst among live calls: what an alert wants, without one series per call.
    double worstLoss = 0;
    double worstJitterMs = 0;
    for (const auto& [key, conference] : focus.conferences().all()) {
      for (const auto* call : focus.callsIn(key)) {
        if (auto stats = focus.participantMedia(*call)) {
          worstLoss = std::max(worstLoss, stats->quality.ourFractionLost / 256.0);
          const uint32_t rate = call->media() ? call->media()->codec.clockRate : 8000;
          if (rate != 0) {
            worstJitterMs = std::max(worstJitterMs,
                                     stats->quality.ourJitter * 1000.0 / static_cast<double>(rate));
          }
        }
      }
    }
    m.family("confab_rtp_worst_fraction_lost", "gauge",
             "The highest fraction of packets lost (RFC 3550) among live calls, as received.");
    m.sample("confab_rtp_worst_fraction_lost", worstLoss);
    m.family("confab_rtp_worst_jitter_milliseconds", "gauge",
             "The highest interarrival jitter among live calls, as received.");
    m.sample("confab_rtp_worst_jitter_milliseconds", worstJitterMs);

    const auto& abuse = focus.abuseCounters();
    m.family("confab_abuse_refusals_total", "counter", "Calls and INVITEs refused as abuse.");
    for (const auto& [kind, count] : {std::pair{"invite_rate", abuse.invitesRateLimited},
                                      std::pair{"calls_per_source", abuse.callsOverSourceLimit},
                                      std::pair{"source_locked_out", abuse.refusedLockedOut},
                                      std::pair{"room_pin_locked", abuse.refusedRoomLocked}}) {
      m.sample(std::string("confab_abuse_refusals_total{kind=\"") + kind + "\"}", count);
    }
    if (const auto* t = context.live->transport) {
      // A proxy in front (deploy/kamailio) should keep "bad" at 0: it stops malformed requests.
      m.family("confab_sip_messages_total", "counter",
               "SIP messages on all transports: received (parsed and handed on), bad (did not "
               "parse; a request gets 400), oversize, framing (a stream connection closed for "
               "it), foreign_response (top Via not ours), non_sip (a datagram neither SIP nor "
               "STUN).");
      for (const auto& [outcome, count] :
           {std::pair{"received", t->messagesReceived}, std::pair{"bad", t->badMessages},
            std::pair{"oversize", t->oversizeDatagrams}, std::pair{"framing", t->framingErrors},
            std::pair{"foreign_response", t->foreignResponses},
            std::pair{"non_sip", t->nonSipDatagrams}}) {
        m.sample(std::string("confab_sip_messages_total{outcome=\"") + outcome + "\"}", count);
      }
    }
    if (const auto* transactions = focus.transactionCounts()) {
      m.family("confab_sip_transactions_total", "counter",
               "SIP transactions ended, by side (server: requests answered; client: requests "
               "sent), method and final status (408: timed out; 0: none).");
      for (const auto& [end, count] : *transactions) {
        m.sample(std::string("confab_sip_transactions_total{side=\"") +
                     (end.server ? "server" : "client") + "\",method=\"" +
                     std::string(end.method) + "\",status=\"" + std::to_string(end.status) +
                     "\"}",
                 count);
      }
    }
  }
  if (context.webhooks != nullptr && context.webhooks->counters != nullptr) {
    const auto& w = *context.webhooks->counters;
    m.family("confab_webhook_deliveries_total", "counter",
             "Webhook delivery attempts since start, by outcome: delivered (2xx), retried (failed, "
             "tried again later), failed (given up after a day), dropped (pushed out of a full "
             "outbox).");
    for (const auto& [outcome, count] :
         {std::pair{"delivered", w.delivered}, std::pair{"retried", w.retried},
          std::pair{"failed", w.failed}, std::pair{"dropped", w.dropped}}) {
      m.sample(std::string("confab_webhook_deliveries_total{outcome=\"") + outcome + "\"}", count);
    }
  }
  m.family("confab_api_requests_total", "counter", "API requests answered.");
  for (const auto& [labels, count] : *context.counts) {
    const auto& [route, method, status] = labels;
    m.sample("confab_api_requests_total{route=\"" + label(route) + "\",method=\"" + label(method) +
                 "\",status=\"" + std::to_string(status) + "\"}",
             count);
  }
  return Text{http::status::ok, "text/plain; version=0.0.4; charset=utf-8", m.str()};
}

}  // namespace confab::api::routes
