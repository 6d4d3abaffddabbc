// Call detail records in the policy store (issue 13 item 6): one row per participant's stay and
// one per conference, written as they end, read in pages by id.
#include <string>

#include "policy/Sql.hpp"
#include "policy/Store.hpp"

namespace confab::policy {

namespace {

using sql::failure;
using sql::inTransaction;
using sql::Statement;

void bindTenant(Statement& s, int i, int64_t tenantId) {
  if (tenantId != 0) {
    s.bind(i, tenantId);
  } else {
    s.bindNull(i);
  }
}

// "WHERE id > ?1 [AND tenant_id = ?2 | IS NULL] [AND room = ?3] ORDER BY id LIMIT ?4", bound.
std::string where(const RecordQuery& query) {
  std::string sql = " WHERE id > ?1";
  if (query.tenantId) {
    sql += *query.tenantId == 0 ? " AND tenant_id IS NULL" : " AND tenant_id = ?2";
  }
  if (!query.room.empty()) {
    sql += " AND room = ?3";
  }
  return sql + " ORDER BY id LIMIT ?4";
}

void bindQuery(Statement& s, const RecordQuery& query) {
  s.bind(1, query.afterId);
  if (query.tenantId && *query.tenantId != 0) {
    s.bind(2, *query.tenantId);
  }
  if (!query.room.empty()) {
    s.bind(3, query.room);
  }
  s.bind(4, static_cast<int64_t>(query.limit));
}

}  // namespace

StoreResult<int64_t> Store::addCallRecord(const CallRecord& r) {
  Statement s(
      *db_,
      "INSERT INTO call_records (tenant_id, room, conference_started, call_id, entity, "
      "display_name, role, joining, joined_at, left_at, codec, srtp, disconnection, "
      "reason, packets_received, packets_dropped, frames_concealed, fraction_lost, "
      "jitter_ms, round_trip_ms, remote_lost) "
      "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id");
  bindTenant(s, 1, r.tenantId);
  s.bind(2, r.room)
      .bind(3, r.conferenceStarted)
      .bind(4, r.callId)
      .bind(5, r.entity)
      .bind(6, r.displayName)
      .bind(7, r.role)
      .bind(8, r.joining)
      .bind(9, r.joined)
      .bind(10, r.left)
      .bind(11, r.codec)
      .bind(12, int64_t{r.srtp ? 1 : 0})
      .bind(13, r.disconnection)
      .bind(14, r.reason);
  if (r.quality) {
    const CallQuality& q = *r.quality;
    s.bind(15, q.packetsReceived)
        .bind(16, q.packetsDropped)
        .bind(17, q.framesConcealed)
        .bind(18, q.fractionLost)
        .bind(19, q.jitterMs)
        .bind(20, q.roundTripMs)
        .bind(21, q.remoteLost);
  } else {
    for (int i = 15; i <= 21; ++i) {
      s.bindNull(i);
    }
  }
  return sql::insertedId(*db_, s);
}

StoreResult<int64_t> Store::addConferenceRecord(const ConferenceRecord& r) {
  Statement s(*db_,
              "INSERT INTO conference_records (tenant_id, room, started, ended, participants) "
              "VALUES (?, ?, ?, ?, ?) RETURNING id");
  bindTenant(s, 1, r.tenantId);
  s.bind(2, r.room).bind(3, r.started).bind(4, r.ended).bind(5, int64_t{r.participants});
  return sql::insertedId(*db_, s);
}

StoreResult<int64_t> Store::deleteRecordsBefore(int64_t unixMillis) {
  return inTransaction<int64_t>(*db_, [&]() -> StoreResult<int64_t> {
    int64_t removed = 0;
    for (const char* sql : {"DELETE FROM call_records WHERE left_at < ?",
                            "DELETE FROM conference_records WHERE ended < ?"}) {
      Statement s(*db_, sql);
      s.bind(1, unixMillis);
      if (s.step() != sql::kDone) {
        return failure(*db_);
      }
      removed += s.changes();
    }
    return removed;
  });
}

std::vector<CallRecord> Store::callRecords(const RecordQuery& query) const {
  Statement s(*db_, ("SELECT id, tenant_id, room, conference_started, call_id, entity, "
                     "display_name, role, joining, joined_at, left_at, codec, srtp, disconnection, "
                     "reason, packets_received, packets_dropped, frames_concealed, fraction_lost, "
                     "jitter_ms, round_trip_ms, remote_lost FROM call_records" +
                     where(query))
                        .c_str());
  bindQuery(s, query);
  std::vector<CallRecord> out;
  while (s.step() == sql::kRow) {
    CallRecord r;
    r.id = s.integer(0);
    r.tenantId = s.isNull(1) ? 0 : s.integer(1);
    r.room = s.text(2);
    r.conferenceStarted = s.integer(3);
    r.callId = s.text(4);
    r.entity = s.text(5);
    r.displayName = s.text(6);
    r.role = s.text(7);
    r.joining = s.text(8);
    r.joined = s.integer(9);
    r.left = s.integer(10);
    r.codec = s.text(11);
    r.srtp = s.integer(12) != 0;
    r.disconnection = s.text(13);
    r.reason = s.text(14);
    if (!s.isNull(15)) {
      r.quality = CallQuality{s.integer(15), s.integer(16), s.integer(17), s.real(18),
                              s.real(19),    s.real(20),    s.integer(21)};
    }
    out.push_back(std::move(r));
  }
  return out;
}

std::vector<ConferenceRecord> Store::conferenceRecords(const RecordQuery& query) const {
  Statement s(*db_, ("SELECT id, tenant_id, room, started, ended, participants "
                     "FROM conference_records" +
                     where(query))
                        .c_str());
  bindQuery(s, query);
  std::vector<ConferenceRecord> out;
  while (s.step() == sql::kRow) {
    ConferenceRecord r;
    r.id = s.integer(0);
    r.tenantId = s.isNull(1) ? 0 : s.integer(1);
    r.room = s.text(2);
    r.started = s.integer(3);
    r.ended = s.integer(4);
    r.participants = static_cast<unsigned>(s.integer(5));
    out.push_back(std::move(r));
  }
  return out;
}

}  // namespace confab::policy
