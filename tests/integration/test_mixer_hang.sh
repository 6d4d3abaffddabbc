#!/usr/bin/env bash
# test_mixer_failover.sh with the mixer frozen (SIGSTOP) rather than killed: its connection stays
# open, and confab must tell it is gone from its silence (no stats line for 3.5 s) and move the
# room to the other mixer all the same.
FAILOVER_SIGNAL=STOP exec bash "$(dirname "$0")/test_mixer_failover.sh" "$@"
