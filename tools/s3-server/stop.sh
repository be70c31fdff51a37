#!/usr/bin/env bash
# tools/s3-server/stop.sh - stop the cluster started by start.sh (beside this script) by the
# PIDs in its pid files, monitor last, and delete its state.
# Idempotent; safe when nothing runs. RGW_KEEP=1 keeps $RGW_DIR (logs) for inspection.
# Settings (env): RGW_DIR (/tmp/kloset-rgw), RGW_KEEP (0).
set -uo pipefail
RGW_DIR=${RGW_DIR:-/tmp/kloset-rgw}
RGW_DIR=${RGW_DIR%/}
log() { printf '[s3-server stop %s] %s\n' "$(date +%T)" "$*" >&2; }

# Serialise with start.sh for the same RGW_DIR (start.sh calls us with the lock already held).
if [ "${KLOSET_RGW_LOCKED:-0}" != 1 ] && [ -d "$(dirname "$RGW_DIR")" ]; then
  exec 9>"$RGW_DIR.lock"
  flock -w 300 9 || log "warning: could not lock $RGW_DIR.lock within 300 s; stopping anyway"
fi

stop_one() {   # $1 = daemon name; SIGTERM, wait up to 10 s, then SIGKILL
  local f="$RGW_DIR/run/$1.pid" pid
  [ -f "$f" ] || return 0
  pid=$(cat "$f" 2>/dev/null || true)
  if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
    log "stopping $1 (pid $pid)"
    kill -TERM "$pid" 2>/dev/null
    for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    if kill -0 "$pid" 2>/dev/null; then log "  still alive after 10 s: SIGKILL"; kill -KILL "$pid" 2>/dev/null; fi
  fi
  rm -f "$f"
}
# one at a time, monitor last: an OSD stopping while the monitor is already gone
# waits osd_mon_shutdown_timeout (5 s) for a mon acknowledgement.
stop_one client.rgw.0
stop_one osd.0
stop_one mon.a
if [ "${RGW_KEEP:-0}" != 1 ] && [ -d "$RGW_DIR" ]; then rm -rf "$RGW_DIR"; log "removed $RGW_DIR"; fi
exit 0
