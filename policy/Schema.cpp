// The store's schema in the two dialects it runs on. SQLite files carry their history: each
// migration since the first, applied in order. A PostgreSQL database starts at the current
// version in one step and takes the later ones as they come. A change to the schema is a new
// entry in both lists, side by side here, and StoreTest runs on both.
#include "policy/Schema.hpp"

namespace confab::policy::schema {

// A file at version N gets N+1.. applied, each in its own transaction with the version bump, so a
// crash leaves a consistent version.
const std::array<const char*, Store::kSchemaVersion> kSqliteMigrations = {
    R"(CREATE TABLE tenants (
         id INTEGER PRIMARY KEY,
         name TEXT NOT NULL UNIQUE CHECK (length(name) BETWEEN 1 AND 128),
         max_rooms INTEGER NOT NULL DEFAULT 0 CHECK (max_rooms >= 0),
         max_participants INTEGER NOT NULL DEFAULT 0 CHECK (max_participants >= 0),
         recording_allowed INTEGER NOT NULL DEFAULT 1);
       CREATE TABLE tenant_domains (
         domain TEXT PRIMARY KEY CHECK (domain = lower(domain) AND length(domain) >= 1),
         tenant_id INTEGER NOT NULL REFERENCES tenants(id) ON DELETE CASCADE);
       CREATE INDEX tenant_domains_by_tenant ON tenant_domains(tenant_id);
       CREATE TABLE rooms (
         id INTEGER PRIMARY KEY,
         tenant_id INTEGER NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
         user TEXT NOT NULL CHECK (length(user) BETWEEN 1 AND 64),
         name TEXT NOT NULL,
         participant_pin TEXT,
         moderator_pin TEXT,
         max_participants INTEGER NOT NULL DEFAULT 0 CHECK (max_participants >= 0),
         mute_on_entry INTEGER NOT NULL DEFAULT 0,
         wait_for_moderator INTEGER NOT NULL DEFAULT 0,
         end_when_last_moderator_leaves INTEGER NOT NULL DEFAULT 0,
         entry_exit_tones INTEGER NOT NULL DEFAULT 1,
         announce_count INTEGER NOT NULL DEFAULT 0,
         locked INTEGER NOT NULL DEFAULT 0,
         language TEXT NOT NULL DEFAULT 'en',
         UNIQUE (tenant_id, user));)",
    // 2: the listener PIN (issue 11); rooms of version 1 have none.
    R"(ALTER TABLE rooms ADD COLUMN listener_pin TEXT;)",
    // 3: who may watch the roster and who may invite (issue 12); version 2 rooms keep the
    // defaults: participants only for a PIN room's roster, moderators only to invite.
    R"(ALTER TABLE rooms ADD COLUMN public_roster INTEGER NOT NULL DEFAULT 0;
       ALTER TABLE rooms ADD COLUMN participants_invite INTEGER NOT NULL DEFAULT 0;)",
    // 4: each tenant's dial-out account (issue 12); version 3 tenants have none, and their
    // dial-outs use the focus's --dial-out-user.
    R"(CREATE TABLE tenant_dial_out (
         tenant_id INTEGER PRIMARY KEY REFERENCES tenants(id) ON DELETE CASCADE,
         username TEXT NOT NULL CHECK (length(username) BETWEEN 1 AND 256),
         password TEXT NOT NULL CHECK (length(password) BETWEEN 1 AND 256),
         realm TEXT NOT NULL DEFAULT '');)",
    // 5: REST API keys (issue 13), kept as hashes; a tenant's go with it.
    R"(CREATE TABLE api_keys (
         id INTEGER PRIMARY KEY,
         hash TEXT NOT NULL UNIQUE CHECK (length(hash) = 64),
         name TEXT NOT NULL DEFAULT '',
         tenant_id INTEGER REFERENCES tenants(id) ON DELETE CASCADE,
         read_only INTEGER NOT NULL DEFAULT 0,
         created INTEGER NOT NULL);
       CREATE INDEX api_keys_by_tenant ON api_keys(tenant_id);)",
    // 6: call detail records (issue 13 item 6); an ad-hoc conference's have no tenant.
    R"(CREATE TABLE call_records (
         id INTEGER PRIMARY KEY,
         tenant_id INTEGER REFERENCES tenants(id) ON DELETE CASCADE,
         room TEXT NOT NULL,
         conference_started INTEGER NOT NULL,
         call_id TEXT NOT NULL,
         entity TEXT NOT NULL,
         display_name TEXT NOT NULL,
         role TEXT NOT NULL,
         joining TEXT NOT NULL,
         joined_at INTEGER NOT NULL,
         left_at INTEGER NOT NULL,
         codec TEXT NOT NULL,
         srtp INTEGER NOT NULL,
         disconnection TEXT NOT NULL,
         reason TEXT NOT NULL);
       CREATE INDEX call_records_by_tenant ON call_records(tenant_id, id);
       CREATE TABLE conference_records (
         id INTEGER PRIMARY KEY,
         tenant_id INTEGER REFERENCES tenants(id) ON DELETE CASCADE,
         room TEXT NOT NULL,
         started INTEGER NOT NULL,
         ended INTEGER NOT NULL,
         participants INTEGER NOT NULL);
       CREATE INDEX conference_records_by_tenant ON conference_records(tenant_id, id);)",
    // 7: answers kept for Idempotency-Key (issue 13 item 2), per API key, for a day.
    R"(CREATE TABLE idempotent_answers (
         api_key_id INTEGER NOT NULL REFERENCES api_keys(id) ON DELETE CASCADE,
         idempotency_key TEXT NOT NULL,
         request_hash TEXT NOT NULL,
         status INTEGER NOT NULL,
         location TEXT NOT NULL,
         body TEXT NOT NULL,
         created INTEGER NOT NULL,
         PRIMARY KEY (api_key_id, idempotency_key));
       CREATE INDEX idempotent_answers_by_age ON idempotent_answers(created);)",
    // 8: call quality in the call detail records (issue 13 item 6); NULL for calls without media
    // and for the records written before.
    R"(ALTER TABLE call_records ADD COLUMN packets_received INTEGER;
       ALTER TABLE call_records ADD COLUMN packets_dropped INTEGER;
       ALTER TABLE call_records ADD COLUMN frames_concealed INTEGER;
       ALTER TABLE call_records ADD COLUMN fraction_lost REAL;
       ALTER TABLE call_records ADD COLUMN jitter_ms REAL;
       ALTER TABLE call_records ADD COLUMN round_trip_ms REAL;
       ALTER TABLE call_records ADD COLUMN remote_lost INTEGER;)",
    // 9: webhooks and their outbox (issue 13 item 3). A webhook without a tenant is the
    // operator's; its outbox rows go with it (and so with its tenant). Times in the outbox and
    // the delivery status are Unix milliseconds; 'events' is a comma-separated list of types.
    R"(CREATE TABLE webhooks (
         id INTEGER PRIMARY KEY,
         tenant_id INTEGER REFERENCES tenants(id) ON DELETE CASCADE,
         url TEXT NOT NULL CHECK (length(url) BETWEEN 1 AND 2000),
         secret TEXT NOT NULL,
         events TEXT NOT NULL DEFAULT '',
         created INTEGER NOT NULL,
         dropped INTEGER NOT NULL DEFAULT 0,
         last_success INTEGER NOT NULL DEFAULT 0,
         last_failure INTEGER NOT NULL DEFAULT 0,
         last_error TEXT NOT NULL DEFAULT '');
       CREATE INDEX webhooks_by_tenant ON webhooks(tenant_id);
       CREATE TABLE webhook_outbox (
         id INTEGER PRIMARY KEY,
         webhook_id INTEGER NOT NULL REFERENCES webhooks(id) ON DELETE CASCADE,
         event TEXT NOT NULL,
         created INTEGER NOT NULL,
         attempts INTEGER NOT NULL DEFAULT 0,
         next_attempt INTEGER NOT NULL,
         failed INTEGER NOT NULL DEFAULT 0,
         last_error TEXT NOT NULL DEFAULT '');
       CREATE INDEX webhook_outbox_by_webhook ON webhook_outbox(webhook_id, failed, id);)",
    // 10: a webhook's secret rotated keeps the old one signing for a while (Unix seconds).
    R"(ALTER TABLE webhooks ADD COLUMN old_secret TEXT NOT NULL DEFAULT '';
       ALTER TABLE webhooks ADD COLUMN old_secret_until INTEGER NOT NULL DEFAULT 0;)",
    // 11: which node delivers a webhook's events, until when (Unix milliseconds): with several
    // nodes on one store, one at a time, so that each event goes once and in order.
    R"(ALTER TABLE webhooks ADD COLUMN lease_owner TEXT NOT NULL DEFAULT '';
       ALTER TABLE webhooks ADD COLUMN lease_until INTEGER NOT NULL DEFAULT 0;)",
};

// The same tables as the SQLite migrations leave them, in PostgreSQL's types: 64-bit ids, times
// and counts (Unix milliseconds do not fit 32 bits), flags as 0/1 integers as in SQLite, and text
// compared and sorted byte by byte (COLLATE "C"), as SQLite does, so that both order lists the
// same way. The version is a one-row table.
const std::vector<PostgresStep> kPostgresSteps = {
    {0, 10,
     R"(CREATE TABLE tenants (
          id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
          name TEXT COLLATE "C" NOT NULL UNIQUE CHECK (length(name) BETWEEN 1 AND 128),
          max_rooms BIGINT NOT NULL DEFAULT 0 CHECK (max_rooms >= 0),
          max_participants BIGINT NOT NULL DEFAULT 0 CHECK (max_participants >= 0),
          recording_allowed BIGINT NOT NULL DEFAULT 1);
        CREATE TABLE tenant_domains (
          domain TEXT COLLATE "C" PRIMARY KEY CHECK (domain = lower(domain) AND length(domain) >= 1),
          tenant_id BIGINT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE);
        CREATE INDEX tenant_domains_by_tenant ON tenant_domains(tenant_id);
        CREATE TABLE rooms (
          id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
          tenant_id BIGINT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
          "user" TEXT COLLATE "C" NOT NULL CHECK (length("user") BETWEEN 1 AND 64),
          name TEXT COLLATE "C" NOT NULL,
          participant_pin TEXT,
          moderator_pin TEXT,
          max_participants BIGINT NOT NULL DEFAULT 0 CHECK (max_participants >= 0),
          mute_on_entry BIGINT NOT NULL DEFAULT 0,
          wait_for_moderator BIGINT NOT NULL DEFAULT 0,
          end_when_last_moderator_leaves BIGINT NOT NULL DEFAULT 0,
          entry_exit_tones BIGINT NOT NULL DEFAULT 1,
          announce_count BIGINT NOT NULL DEFAULT 0,
          locked BIGINT NOT NULL DEFAULT 0,
          language TEXT NOT NULL DEFAULT 'en',
          listener_pin TEXT,
          public_roster BIGINT NOT NULL DEFAULT 0,
          participants_invite BIGINT NOT NULL DEFAULT 0,
          UNIQUE (tenant_id, "user"));
        CREATE TABLE tenant_dial_out (
          tenant_id BIGINT PRIMARY KEY REFERENCES tenants(id) ON DELETE CASCADE,
          username TEXT NOT NULL CHECK (length(username) BETWEEN 1 AND 256),
          password TEXT NOT NULL CHECK (length(password) BETWEEN 1 AND 256),
          realm TEXT NOT NULL DEFAULT '');
        CREATE TABLE api_keys (
          id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
          hash TEXT COLLATE "C" NOT NULL UNIQUE CHECK (length(hash) = 64),
          name TEXT NOT NULL DEFAULT '',
          tenant_id BIGINT REFERENCES tenants(id) ON DELETE CASCADE,
          read_only BIGINT NOT NULL DEFAULT 0,
          created BIGINT NOT NULL);
        CREATE INDEX api_keys_by_tenant ON api_keys(tenant_id);
        CREATE TABLE call_records (
          id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
          tenant_id BIGINT REFERENCES tenants(id) ON DELETE CASCADE,
          room TEXT COLLATE "C" NOT NULL,
          conference_started BIGINT NOT NULL,
          call_id TEXT NOT NULL,
          entity TEXT NOT NULL,
          display_name TEXT NOT NULL,
          role TEXT NOT NULL,
          joining TEXT NOT NULL,
          joined_at BIGINT NOT NULL,
          left_at BIGINT NOT NULL,
          codec TEXT NOT NULL,
          srtp BIGINT NOT NULL,
          disconnection TEXT NOT NULL,
          reason TEXT NOT NULL,
          packets_received BIGINT,
          packets_dropped BIGINT,
          frames_concealed BIGINT,
          fraction_lost DOUBLE PRECISION,
          jitter_ms DOUBLE PRECISION,
          round_trip_ms DOUBLE PRECISION,
          remote_lost BIGINT);
        CREATE INDEX call_records_by_tenant ON call_records(tenant_id, id);
        CREATE TABLE conference_records (
          id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
          tenant_id BIGINT REFERENCES tenants(id) ON DELETE CASCADE,
          room TEXT COLLATE "C" NOT NULL,
          started BIGINT NOT NULL,
          ended BIGINT NOT NULL,
          participants BIGINT NOT NULL);
        CREATE INDEX conference_records_by_tenant ON conference_records(tenant_id, id);
        CREATE TABLE idempotent_answers (
          api_key_id BIGINT NOT NULL REFERENCES api_keys(id) ON DELETE CASCADE,
          idempotency_key TEXT COLLATE "C" NOT NULL,
          request_hash TEXT NOT NULL,
          status BIGINT NOT NULL,
          location TEXT NOT NULL,
          body TEXT NOT NULL,
          created BIGINT NOT NULL,
          PRIMARY KEY (api_key_id, idempotency_key));
        CREATE INDEX idempotent_answers_by_age ON idempotent_answers(created);
        CREATE TABLE webhooks (
          id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
          tenant_id BIGINT REFERENCES tenants(id) ON DELETE CASCADE,
          url TEXT NOT NULL CHECK (length(url) BETWEEN 1 AND 2000),
          secret TEXT NOT NULL,
          events TEXT NOT NULL DEFAULT '',
          created BIGINT NOT NULL,
          dropped BIGINT NOT NULL DEFAULT 0,
          last_success BIGINT NOT NULL DEFAULT 0,
          last_failure BIGINT NOT NULL DEFAULT 0,
          last_error TEXT NOT NULL DEFAULT '',
          old_secret TEXT NOT NULL DEFAULT '',
          old_secret_until BIGINT NOT NULL DEFAULT 0);
        CREATE INDEX webhooks_by_tenant ON webhooks(tenant_id);
        CREATE TABLE webhook_outbox (
          id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
          webhook_id BIGINT NOT NULL REFERENCES webhooks(id) ON DELETE CASCADE,
          event TEXT NOT NULL,
          created BIGINT NOT NULL,
          attempts BIGINT NOT NULL DEFAULT 0,
          next_attempt BIGINT NOT NULL,
          failed BIGINT NOT NULL DEFAULT 0,
          last_error TEXT NOT NULL DEFAULT '');
        CREATE INDEX webhook_outbox_by_webhook ON webhook_outbox(webhook_id, failed, id);)"},
    {10, 11,
     R"(ALTER TABLE webhooks ADD COLUMN lease_owner TEXT NOT NULL DEFAULT '';
        ALTER TABLE webhooks ADD COLUMN lease_until BIGINT NOT NULL DEFAULT 0;)"},
};

}  // namespace confab::policy::schema
