#!/usr/bin/env bash
# The operator's commands, `confab tenant …` and `confab room …`, run as the real binary on a
# policy store in a scratch folder: tenants with domains, rooms with PINs that are never shown,
# changes and removals that later invocations see, the exit status and message of each kind of
# refusal; then writers killed with SIGKILL in the middle of their work, after which the store
# still reads and takes writes, and a write that waits for another process's write instead of
# failing.
source "$(dirname "$0")/lib.sh"
integ_init "$@"
require_tool pgrep

DATA="$WORK/data"
OUT="$WORK/out"
ERR="$WORK/err"
ADMIN_STATUS=""

# admin ARGS...: `confab ARGS... --data-dir DATA`, bounded in time; output in $OUT and $ERR, exit
# status in ADMIN_STATUS.
admin() {
  ADMIN_STATUS=0
  timeout -k 5 30 "$CONFAB_BIN" "$@" --data-dir "$DATA" >"$OUT" 2>"$ERR" || ADMIN_STATUS=$?
}

# ok ARGS...: admin, which must succeed and say nothing on standard error.
ok() {
  admin "$@"
  [[ $ADMIN_STATUS == 0 ]] || fail "confab $*: exit status $ADMIN_STATUS: $(cat "$ERR")"
  [[ ! -s "$ERR" ]] || fail "confab $*: unexpected standard error: $(cat "$ERR")"
}

# refused STATUS PATTERN ARGS...: admin, which must exit with STATUS, print nothing on standard
# output and a line matching PATTERN on standard error.
refused() {
  local want=$1 pattern=$2
  shift 2
  admin "$@"
  assert_eq "$want" "$ADMIN_STATUS" "exit status of confab $*"
  assert_file_contains "$ERR" "$pattern" "standard error of confab $*"
  [[ ! -s "$OUT" ]] || fail "confab $*: printed on standard output when refused: $(cat "$OUT")"
}

# lines PATTERN: how many lines of $OUT match the extended regex.
lines() {
  grep -Ec -- "$1" "$OUT" || true
}

# --- help ------------------------------------------------------------------------------------
# (Into a file, not a pipe: with pipefail, grep -q leaving early would fail the pipeline.)
"$CONFAB_BIN" --help >"$OUT" || fail "confab --help failed"
assert_file_contains "$OUT" 'confab tenant\|room\|key COMMAND' "confab --help"
for noun in tenant room; do
  "$CONFAB_BIN" "$noun" --help >"$OUT" || fail "confab $noun --help failed"
  for verb in add list show set remove; do
    assert_file_contains "$OUT" "confab $noun $verb" "confab $noun --help"
  done
done
[[ ! -e "$DATA" ]] || fail "--help created the data directory"

# --- a store only `tenant add` creates --------------------------------------------------------
refused 1 'no policy store at .*/data/policy\.db' tenant list
[[ ! -e "$DATA" ]] || fail "a read on a missing store created the data directory"

# --- tenants and rooms ------------------------------------------------------------------------
ok tenant add acme --domain acme.example --domain Conf.Acme.Example --max-rooms 300
assert_file_contains "$OUT" '^domains: acme\.example conf\.acme\.example$' "tenant add's summary"
[[ -f "$DATA/policy.db" ]] || fail "no $DATA/policy.db after tenant add"
ok tenant add default --domain '*' --no-recording
ok room add acme 4000 --name "Board room" --pin 1234 --moderator-pin 98765 --mute-on-entry
assert_file_contains "$OUT" '^pin: set$' "room add's summary"
ok room add acme lobby --no-tones

# Every invocation is a new process: each sees what the ones before it wrote.
ok tenant list
assert_eq 2 "$(lines '.')" "tenants listed"
assert_file_contains "$OUT" '^[0-9]+ acme domains=acme\.example,conf\.acme\.example max-rooms=300 max-participants=unlimited recording=yes rooms=2 dial-out=none$' \
  "tenant list"
assert_file_contains "$OUT" '^[0-9]+ default domains=\* .* recording=no rooms=0 dial-out=none$' "tenant list"
ok room list acme
assert_eq 2 "$(lines '.')" "rooms listed"
assert_file_contains "$OUT" '^4000 name="Board room" pin=set moderator-pin=set .*flags=mute-on-entry$' "room list"
assert_file_contains "$OUT" '^lobby name=lobby pin=none moderator-pin=none .*flags=no-tones$' "room list"
! grep -Eq '1234|98765' "$OUT" || fail "room list shows a PIN: $(cat "$OUT")"
ok room show acme 4000
assert_file_contains "$OUT" '^moderator-pin: set$' "room show"
assert_file_contains "$OUT" '^mute-on-entry: yes$' "room show"
! grep -Eq '1234|98765' "$OUT" || fail "room show shows a PIN: $(cat "$OUT")"
! grep -aq '98765' "$DATA/policy.db" || fail "the moderator PIN is in the file in clear"

ok room set acme 4000 --no-pin --locked --language pt-BR
assert_file_contains "$OUT" '^pin: none$' "room set"
assert_file_contains "$OUT" '^moderator-pin: set$' "room set (untouched)"
assert_file_contains "$OUT" '^locked: yes$' "room set"
ok room show acme 4000
assert_file_contains "$OUT" '^language: pt-BR$' "room show after set"
assert_file_contains "$OUT" '^name: Board room$' "room show after set (untouched)"
# The listener PIN (muted, cannot unmute): set, shown only as set, never equal to another PIN.
ok room set acme 4000 --listener-pin 55555
assert_file_contains "$OUT" '^listener-pin: set$' "room set --listener-pin"
refused 2 '^confab: --listener-pin and --moderator-pin: the same PIN' room set acme 4000 --listener-pin 98765
! grep -q '98765' "$ERR" || fail "a PIN was echoed in a refusal"
ok room list acme
assert_file_contains "$OUT" '^4000 .* moderator-pin=set listener-pin=set ' "room list"
! grep -aq '55555' "$DATA/policy.db" || fail "the listener PIN is in the file in clear"

ok tenant set acme --domain new.acme.example --max-participants 40
ok tenant show acme
assert_file_contains "$OUT" '^domains: new\.acme\.example$' "tenant show after set (domains replaced)"
assert_file_contains "$OUT" '^max-rooms: 300$' "tenant show after set (untouched)"
assert_file_contains "$OUT" '^max-participants: 40$' "tenant show after set"

# --- refusals ---------------------------------------------------------------------------------
refused 1 'room 4000 already' room add acme 4000
refused 2 '^confab: --pin: a PIN is 4 to 16 digits' room add acme 4001 --pin 12a4
! grep -q '12a4' "$ERR" || fail "a PIN, even a wrong one, was echoed"
refused 2 'unknown option --colour' room add acme 4001 --colour red
refused 2 '--domain "bad_domain\.example"' tenant add beta --domain bad_domain.example
refused 2 '--max-rooms: "lots"' tenant add beta --max-rooms lots
refused 2 'room add: expected TENANT USER' room add acme
refused 1 'domain new\.acme\.example: tenant "acme" owns it already' tenant add beta --domain new.acme.example
refused 1 'no tenant "nobody"' room list nobody
refused 1 'no room "9999"' room show acme 9999
ok room list acme
assert_eq 2 "$(lines '.')" "rooms after the refusals (nothing added)"

# --- removal ----------------------------------------------------------------------------------
ok room remove acme lobby
ok room list acme
assert_eq 1 "$(lines '.')" "rooms after room remove"
ok tenant remove default
assert_file_contains "$OUT" '^removed tenant default and its 0 rooms$' "tenant remove"
ok tenant list
assert_eq 1 "$(lines '.')" "tenants after tenant remove"

# --- writers killed mid-way -------------------------------------------------------------------
# A loop of 200 `room add` (each hashing two PINs, then one transaction), whose running confab is
# killed with SIGKILL again and again: whatever a killed writer left half done, the store must
# read and take writes afterwards (SQLite ignores a WAL transaction without its commit record).
# The loop stops at the next round once $WORK/stop exists (so that no writer is left behind); the
# subshell's own "Killed" notices go nowhere.
(
  for i in $(seq 1 200); do
    [[ ! -e "$WORK/stop" ]] || break
    "$CONFAB_BIN" room add acme "k$i" --pin 24680 --moderator-pin 13579 --data-dir "$DATA" \
      >/dev/null 2>&1 || true
  done
) 2>/dev/null &
LOOP_PID=$!
HELPER_PIDS+=("$LOOP_PID")
# Readers meanwhile see the rooms committed so far; kill only once there is one.
deadline=$((SECONDS + 20))
until admin room list acme && [[ $ADMIN_STATUS == 0 ]] && (($(lines '^k') > 0)); do
  ((SECONDS < deadline)) || fail "the writers' loop added no room in 20 s: $(cat "$ERR")"
  sleep 0.1
done
# While the loop writes, another writer waits for its turn (the busy timeout) instead of failing.
ok tenant add other --domain other.example
kills=0
deadline=$((SECONDS + 20))
while ((kills < 15 && SECONDS < deadline)) && kill -0 "$LOOP_PID" 2>/dev/null; do
  sleep 0.0$((RANDOM % 9 + 1))
  for child in $(pgrep -P "$LOOP_PID" || true); do
    kill -KILL "$child" 2>/dev/null && kills=$((kills + 1))
  done
done
touch "$WORK/stop"
for child in $(pgrep -P "$LOOP_PID" || true); do
  kill -KILL "$child" 2>/dev/null && kills=$((kills + 1))
done
timeout 30 tail --pid="$LOOP_PID" -f /dev/null || fail "the writers' loop did not stop"
wait "$LOOP_PID" 2>/dev/null || true
log "killed $kills writers mid-way"
((kills > 0)) || fail "no writer was running to be killed"

ok room list acme
added=$(lines '^k[0-9]+ name=k[0-9]+ pin=set moderator-pin=set ')
total=$(lines '.')
log "$added rooms written by the loop before it was killed"
assert_eq $((added + 1)) "$total" "rooms listed after the kills (each well formed)"
((added >= 1 && added < 200)) || fail "the loop wrote $added rooms: not stopped mid-way"
ok room add acme after-kill --pin 11223344
ok room show acme after-kill
assert_file_contains "$OUT" '^pin: set$' "a write after the kills"
ok tenant show other
assert_file_contains "$OUT" '^domains: other\.example$' "the tenant added while the loop wrote"

log "PASS"
