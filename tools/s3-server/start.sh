#!/usr/bin/env bash
# tools/s3-server/start.sh - throw-away single-node Ceph RADOS Gateway (S3) for kloset tests.
#   1 monitor + 1 OSD (memstore = RAM, or bluestore on a sparse file) + radosgw (beast),
#   all bound to 127.0.0.1, all state under $RGW_DIR, no systemd, no cephx.
# Idempotent: if the cluster in $RGW_DIR is already up and answering S3 it exits 0;
# stale/partial state is torn down (via stop.sh beside this script) and recreated.
# Installs the Debian packages if missing (as root, non-interactive). Tested: Debian 12, Ceph 16.2.
# On success writes $RGW_DIR/env (AWS_* + S3_ENDPOINT, for `source`) and prints exactly one
# line on stdout:  KLOSET_S3_ENV=<path of that env file>. All logging goes to stderr.
#
# Settings (env): RGW_DIR (/tmp/kloset-rgw), RGW_PORT (7480), RGW_MON_PORT (40789),
#   RGW_OBJECTSTORE (memstore | bluestore), RGW_MEMSTORE_BYTES (4 GiB), RGW_BLUESTORE_BYTES (20 GiB),
#   RGW_ACCESS_KEY, RGW_SECRET_KEY, RGW_UID.
set -euo pipefail

RGW_DIR=${RGW_DIR:-/tmp/kloset-rgw}
RGW_DIR=${RGW_DIR%/}
RGW_PORT=${RGW_PORT:-7480}
MON_PORT=${RGW_MON_PORT:-40789}                 # msgr2 only; msgr1 (6789) disabled
OBJECTSTORE=${RGW_OBJECTSTORE:-memstore}        # memstore | bluestore
MEMSTORE_BYTES=${RGW_MEMSTORE_BYTES:-$((4 * 1024 * 1024 * 1024))}   # capacity the OSD reports
BLUESTORE_BYTES=${RGW_BLUESTORE_BYTES:-$((20 * 1024 * 1024 * 1024))} # sparse file size
ACCESS_KEY=${RGW_ACCESS_KEY:-TESTACCESSKEY0000001}
SECRET_KEY=${RGW_SECRET_KEY:-testsecretkey0000000000000000000000000001}
S3_UID=${RGW_UID:-testuser}
ENDPOINT="http://127.0.0.1:${RGW_PORT}"
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
PACKAGES=(ceph-mon ceph-osd ceph-common radosgw curl uuid-runtime)

case "$OBJECTSTORE" in memstore|bluestore) ;; *) echo "RGW_OBJECTSTORE must be memstore or bluestore" >&2; exit 2;; esac

log() { printf '[s3-server start %s] %s\n' "$(date +%T.%3N)" "$*" >&2; }
ms_since() { echo $(( ($(date +%s%N) - $1) / 1000000 )); }
dump_logs() {
  for f in "$RGW_DIR"/log/*.log; do
    [ -f "$f" ] || continue
    printf -- '----- last lines of %s\n' "$f" >&2; tail -n 25 "$f" >&2 || true
  done
}
stop_cluster() { KLOSET_RGW_LOCKED=1 RGW_DIR="$RGW_DIR" bash "$HERE/stop.sh" </dev/null >&2; }
die() {
  log "ERROR: $*"; dump_logs
  # do not leave half-started daemons behind; keep $RGW_DIR for inspection
  RGW_KEEP=1 stop_cluster || true
  exit 1
}
pid_alive() { [ -f "$1" ] && kill -0 "$(cat "$1" 2>/dev/null)" 2>/dev/null; }
s3_up() { curl -fs -o /dev/null -m 2 "$ENDPOINT/"; }
# wait_for <seconds> <pidfile|-> <description> <command...>
wait_for() {
  local secs=$1 pidf=$2 what=$3; shift 3
  local end=$((SECONDS + secs))
  while [ $SECONDS -lt $end ]; do
    "$@" >/dev/null 2>&1 && return 0
    if [ "$pidf" != - ] && [ -f "$pidf" ] && ! pid_alive "$pidf"; then die "$what: daemon died"; fi
    sleep 0.25
  done
  die "$what: not ready after ${secs}s"
}
# Daemons must not inherit the caller's stdout/stderr (a `$(start.sh)` or a pipe would never
# see EOF) nor the lock fd 9 (the lock would be held for as long as the daemons live).
daemon() { local logf=$1; shift; "$@" </dev/null >>"$logf" 2>&1 9>&-; }

# ------------------------------------------------------------------ one start at a time
# (several engineers / test runs may call this concurrently for the same RGW_DIR)
mkdir -p "$(dirname "$RGW_DIR")"
exec 9>"$RGW_DIR.lock"
if ! flock -w 300 9; then log "ERROR: could not lock $RGW_DIR.lock within 300 s"; exit 1; fi

# ------------------------------------------------------------------ install
missing=()
for b in ceph-mon ceph-osd radosgw radosgw-admin ceph monmaptool curl uuidgen; do
  command -v "$b" >/dev/null 2>&1 || missing+=("$b")
done
if [ ${#missing[@]} -gt 0 ]; then
  [ "$(id -u)" = 0 ] || die "missing ${missing[*]} and not root: run as root, or: apt-get install ${PACKAGES[*]}"
  log "installing Debian packages ${PACKAGES[*]} (missing: ${missing[*]})"
  t_inst=$(date +%s%N)
  export DEBIAN_FRONTEND=noninteractive NEEDRESTART_MODE=a
  apt_log=$(mktemp /tmp/kloset-rgw-apt.XXXXXX)
  apt_opts=(-y -q -o DPkg::Lock::Timeout=300 -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold)
  if ! apt-get update -q </dev/null >"$apt_log" 2>&1 \
     || ! apt-get install "${apt_opts[@]}" --no-install-recommends "${PACKAGES[@]}" </dev/null >>"$apt_log" 2>&1; then
    tail -n 40 "$apt_log" >&2
    die "apt-get failed (full log: $apt_log)"
  fi
  rm -f "$apt_log"
  log "install done ($(ms_since "$t_inst") ms)"
fi

# ------------------------------------------------------------------ already up?
if pid_alive "$RGW_DIR/run/mon.a.pid" && pid_alive "$RGW_DIR/run/osd.0.pid" \
   && pid_alive "$RGW_DIR/run/client.rgw.0.pid" && s3_up && [ -f "$RGW_DIR/env" ]; then
  log "already running at $ENDPOINT"
  echo "KLOSET_S3_ENV=$RGW_DIR/env"
  exit 0
fi
if [ -e "$RGW_DIR" ]; then
  log "tearing down stale state in $RGW_DIR"
  stop_cluster
fi
if s3_up; then die "something else already listens on $ENDPOINT"; fi

t0=$(date +%s%N)
mkdir -p "$RGW_DIR"/{mon.a,osd.0,rgw,run,log,crash}
CONF="$RGW_DIR/ceph.conf"
export CEPH_CONF="$CONF"
FSID=$(uuidgen)

cat > "$CONF" <<EOF
[global]
fsid = $FSID
mon host = [v2:127.0.0.1:$MON_PORT]
public addr = 127.0.0.1
cluster addr = 127.0.0.1
ms bind msgr1 = false
ms bind ipv6 = false
# no cephx: no keyrings to create/distribute
auth cluster required = none
auth service required = none
auth client required = none
keyring = /dev/null
run dir = $RGW_DIR/run
admin socket = $RGW_DIR/run/\$name.asok
pid file = $RGW_DIR/run/\$name.pid
crash dir = $RGW_DIR/crash
log file = /dev/null
log to stderr = false
err to stderr = true
client mount timeout = 30
# single OSD: replica size 1. rgw creates 7 pools; at the default 32 PGs each that is
# 224 of the 250 allowed per OSD (mon_max_pg_per_osd), so one more pool would fail:
# use 8 PGs and raise the limit for headroom.
osd pool default size = 1
osd pool default min size = 1
osd pool default pg num = 8
osd pool default pgp num = 8
osd pool default pg autoscale mode = off
osd crush chooseleaf type = 0
# only needed for a later 'ceph osd pool set <pool> size 1', not for pool creation
mon allow pool size one = true
mon allow pool delete = true
mon max pg per osd = 1000
mon warn on pool no redundancy = false
mon data avail warn = 1
mon data avail crit = 0

[mon]
mon data = $RGW_DIR/mon.a
log file = $RGW_DIR/log/mon.log
mon cluster log file = $RGW_DIR/log/mon-cluster.log
paxos propose interval = 0.05
paxos min wait = 0.01

[osd]
osd data = $RGW_DIR/osd.0
log file = $RGW_DIR/log/osd.log
osd objectstore = $OBJECTSTORE
memstore device bytes = $MEMSTORE_BYTES
# must NOT be \$osd_data/block: bluestore symlinks osd_data/block -> this path (ELOOP)
bluestore block path = $RGW_DIR/osd.0.block
bluestore block create = true
bluestore block size = $BLUESTORE_BYTES
bluestore fsck on mount = false
osd memory target = 939524096
osd crush update on start = true
osd class load list = *
osd class default list = *

[client.rgw.0]
log file = $RGW_DIR/log/rgw.log
rgw data = $RGW_DIR/rgw
# tcp_nodelay: without it beast sends a response's headers and body in two segments and the
# second waits for the client's delayed ACK: ~40 ms per small GET (1 KiB, one at a time: 22 ms
# per request -> 0.9 ms; AWS and other S3 servers do not wait so).
rgw frontends = beast endpoint=127.0.0.1:$RGW_PORT tcp_nodelay=1
rgw thread pool size = 64
rgw init timeout = 60
# radosgw hard-codes defaults ms_mon_client_mode=secure + auth_client_required=cephx.
# auth 'none' only works in crc mode -> without this: 'get_initial_auth_request
# returned -13' forever and 'failed to fetch mon config' after client_mount_timeout.
ms mon client mode = crc secure
# deleted/overwritten data is only freed by RGW's GC (defaults: 2h min wait,
# processed every 1h); with memstore that garbage sits in OSD RAM.
rgw gc obj min wait = 0
rgw gc processor period = 10
EOF

# ------------------------------------------------------------------ monitor
log "mon.a: mkfs + start (127.0.0.1:$MON_PORT)"
monmaptool --create --fsid "$FSID" --addv a "[v2:127.0.0.1:$MON_PORT]" "$RGW_DIR/monmap" >/dev/null
ceph-mon -i a --mkfs --monmap "$RGW_DIR/monmap" --keyring /dev/null </dev/null >&2 9>&-
daemon "$RGW_DIR/log/mon-stderr.log" ceph-mon -i a    # daemonizes, writes run/mon.a.pid
wait_for 30 "$RGW_DIR/run/mon.a.pid" "mon.a" ceph -s --connect-timeout 2

# ------------------------------------------------------------------ osd
OSD_UUID=$(uuidgen)
OSD_ID=$(ceph osd new "$OSD_UUID" </dev/null 9>&-)
[ "$OSD_ID" = 0 ] || die "unexpected osd id '$OSD_ID'"
log "osd.0: mkfs ($OBJECTSTORE) + start"
ceph-osd -i 0 --mkfs --osd-uuid "$OSD_UUID" </dev/null >"$RGW_DIR/log/osd-mkfs.out" 2>&1 9>&- \
  || { cat "$RGW_DIR/log/osd-mkfs.out" >&2; die "osd mkfs failed"; }
daemon "$RGW_DIR/log/osd-stderr.log" ceph-osd -i 0
osd_up() { ceph osd dump 2>/dev/null | grep -q '^osd.0 up'; }
wait_for 60 "$RGW_DIR/run/osd.0.pid" "osd.0" osd_up

# ------------------------------------------------------------------ radosgw
log "radosgw: start ($ENDPOINT)"
daemon "$RGW_DIR/log/rgw-stderr.log" timeout 120 radosgw -n client.rgw.0 || die "radosgw failed to start"
wait_for 90 "$RGW_DIR/run/client.rgw.0.pid" "radosgw" s3_up

log "S3 user '$S3_UID'"
if ! radosgw-admin user info --uid "$S3_UID" </dev/null >/dev/null 2>&1 9>&-; then
  radosgw-admin user create --uid "$S3_UID" --display-name "kloset test user" \
    --access-key "$ACCESS_KEY" --secret-key "$SECRET_KEY" </dev/null >/dev/null 9>&- \
    || die "radosgw-admin user create failed"
fi

cat > "$RGW_DIR/env.tmp" <<EOF
export AWS_ACCESS_KEY_ID=$ACCESS_KEY
export AWS_SECRET_ACCESS_KEY=$SECRET_KEY
export AWS_DEFAULT_REGION=us-east-1
export AWS_REGION=us-east-1
export S3_ENDPOINT=$ENDPOINT
EOF
mv -f "$RGW_DIR/env.tmp" "$RGW_DIR/env"
log "ready: $ENDPOINT  access=$ACCESS_KEY  ($(ms_since "$t0") ms); env in $RGW_DIR/env"
echo "KLOSET_S3_ENV=$RGW_DIR/env"
