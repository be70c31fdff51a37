# Shared helpers for the benchmark scripts (sourced).
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
WORK=${KLOSET_BENCH_DIR:-/tmp/kloset-bench}
GEN=${KLOSET_BENCH_GEN:-$ROOT/../shared/bench/gen-dataset.py}
export PATH="$ROOT/node_modules/.bin:$PATH"
KLOSET=(node "$ROOT/packages/cli/bin/kloset.js")
export KLOSET_PASSPHRASE=${KLOSET_PASSPHRASE:-bench-passphrase}
export RESTIC_PASSWORD=$KLOSET_PASSPHRASE
mkdir -p "$WORK"
RESULTS="$WORK/results.tsv"
# Rounds of each comparison: this machine class is noisy (+-5-15% run to run), so the ratios are
# of medians; the tools take turns going first.
ROUNDS=${KLOSET_BENCH_ROUNDS:-3}

# bench_start NAME RESULTS: empties the RESULTS file (HISTORY: $WORK/NAME-history.tsv, every run's
# rows), builds the CLI unless KLOSET_BENCH_BUILD=0, and gives kloset a configuration of its own
# (named sources: nothing of the user's) and an index cache of its own, $WORK/NAME-config and -cache.
bench_start() {
  RESULTS=$2
  HISTORY="$WORK/$1-history.tsv"
  : >"$RESULTS"
  if [ "${KLOSET_BENCH_BUILD:-1}" != 0 ]; then ( cd "$ROOT" && nx run-many -t build --output-style=static >/dev/null ); fi
  export XDG_CONFIG_HOME="$WORK/$1-config" XDG_CACHE_HOME="$WORK/$1-cache"
}

need_apt() { # need_apt BINARY PACKAGE
  command -v "$1" >/dev/null 2>&1 && return 0
  echo "[bench] installing $2" >&2
  DEBIAN_FRONTEND=noninteractive apt-get update -q >/dev/null
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "$2" >/dev/null
}

dataset() { # dataset SCALE -> prints the directory
  local scale=$1 dir="$WORK/data-$1"
  if [ ! -f "$dir.done" ]; then
    [ -f "$GEN" ] || { echo "[bench] data generator $GEN not found (set KLOSET_BENCH_GEN)" >&2; exit 1; }
    rm -rf "$dir"; echo "[bench] generating data set (scale $scale) in $dir" >&2
    python3 "$GEN" "$dir" "$scale" >&2; touch "$dir.done"
  fi
  echo "$dir"
}

bytes_of() { du -sb "$1" | cut -f1; }

# measure LABEL TOOL BYTES -- command...: runs the command under /usr/bin/time -v, appends a row
measure() {
  local label=$1 tool=$2 bytes=$3; shift 4
  local tf; tf=$(mktemp)
  sync; echo 3 > /proc/sys/vm/drop_caches 2>/dev/null || true
  if ! /usr/bin/time -v -o "$tf" "$@" >"$WORK/last.out" 2>"$WORK/last.err"; then
    echo "[bench] FAILED: $label $tool: $*" >&2; tail -5 "$WORK/last.err" >&2; rm -f "$tf"; return 1
  fi
  local wall rss cpu
  wall=$(awk -F': ' '/Elapsed \(wall clock\)/ {n=split($2,a,":"); s=0; for(i=1;i<=n;i++) s=s*60+a[i]; print s}' "$tf")
  rss=$(awk -F': ' '/Maximum resident set size/ {print int($2/1024)}' "$tf")
  # CPU time (user + system, all threads): steadier than wall time on a loaded machine.
  cpu=$(awk -F': ' '/User time \(seconds\)|System time \(seconds\)/ {s+=$2} END {printf "%.2f", s}' "$tf")
  local mbs; mbs=$(awk -v b="$bytes" -v w="$wall" 'BEGIN { printf "%.0f", (w > 0 ? b / 1048576 / w : 0) }')
  printf '%s\t%s\t%.2f\t%s\t%s\t%s\n' "$label" "$tool" "$wall" "$mbs" "$rss" "$cpu" | tee -a "$RESULTS"
  rm -f "$tf"
}

# ratio LABEL A B: time(A)/time(B), peak RSS and CPU likewise, for one label. With several rounds
# (the tools taking turns), each round's ratio and their median (the rounds are pairs: a slow
# minute slows both tools of a round), and the ratio of the medians as well.
ratio() {
  awk -F'\t' -v l="$1" -v a="$2" -v b="$3" '
    function median(arr, n,   i, j, t, c) {
      for (i = 1; i <= n; i++) c[i] = arr[i]
      for (i = 2; i <= n; i++) for (j = i; j > 1 && c[j-1] > c[j]; j--) { t = c[j]; c[j] = c[j-1]; c[j-1] = t }
      return n % 2 ? c[(n+1)/2] : (c[n/2] + c[n/2+1]) / 2
    }
    $1==l && $2==a {na++; wa[na]=$3; ra[na]=$5; ca[na]=$6}
    $1==l && $2==b {nb++; wb[nb]=$3; rb[nb]=$5; cb[nb]=$6}
    END {
      if (!na || !nb) exit
      if (na == 1 || na != nb) {
        printf "%-34s %s/%s  time x%.2f  peak RSS x%.2f  CPU x%.2f\n", l, a, b, median(wa, na) / median(wb, nb), median(ra, na) / median(rb, nb), median(ca, na) / median(cb, nb)
        exit
      }
      for (i = 1; i <= na; i++) { tw[i] = wa[i] / wb[i]; tr[i] = ra[i] / rb[i]; tc[i] = ca[i] / cb[i]; rounds = rounds sprintf(" x%.2f", tw[i]) }
      printf "%-34s %s/%s  time x%.2f  peak RSS x%.2f  CPU x%.2f  (median of %d rounds:%s; ratio of the medians x%.2f)\n", l, a, b, median(tw, na), median(tr, na), median(tc, na), na, rounds, median(wa, na) / median(wb, nb)
    }' "$RESULTS"
}

# cpu_of_processes NAME...: summed user+system CPU seconds of the running processes with these names
cpu_of_processes() {
  local total=0 pid t
  for pid in $(pgrep -x "$(IFS='|'; echo "$*")" || true); do
    t=$(awk '{ print ($14 + $15) }' "/proc/$pid/stat" 2>/dev/null || echo 0)
    total=$((total + t))
  done
  awk -v t="$total" -v hz="$(getconf CLK_TCK)" 'BEGIN { printf "%.2f", t / hz }'
}

# rgw_for_rclone: starts the S3 test server (tools/s3-server/start.sh) and sets HOSTPORT, its
# credentials in AWS_*, an rclone remote `rgw:` for it (environment only) and RC, rclone's command.
rgw_for_rclone() {
  eval "$(bash "$ROOT/tools/s3-server/start.sh")"
  # shellcheck disable=SC1090
  source "$KLOSET_S3_ENV"
  HOSTPORT=${S3_ENDPOINT#http://}
  unset AWS_CA_BUNDLE   # rclone refuses to start with it set
  export RCLONE_CONFIG_RGW_TYPE=s3 RCLONE_CONFIG_RGW_PROVIDER=Ceph RCLONE_CONFIG_RGW_ENDPOINT=$S3_ENDPOINT \
    RCLONE_CONFIG_RGW_ACCESS_KEY_ID=$AWS_ACCESS_KEY_ID RCLONE_CONFIG_RGW_SECRET_ACCESS_KEY=$AWS_SECRET_ACCESS_KEY \
    RCLONE_CONFIG_RGW_FORCE_PATH_STYLE=true
  RC=(rclone --config /dev/null --transfers 32 --checkers 32 -q)
}
