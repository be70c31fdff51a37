#!/usr/bin/env bash
# Many object versions (issue 16: "memory stays bounded with many versions: a key with 10,000
# versions; 100,000 versions in all"). For each TOTAL (default 10000 and 100000) a versioned bucket
# bench-versions-TOTAL on the local RGW (versions-seed.mjs: one key, hot/k.txt, with TOTAL / 10
# versions, the rest over keys of 1-5 versions with delete markers, user metadata and tags), made
# once and kept (the memstore loses it when RGW restarts). Then, under GNU time, kloset's commands
# that read versions, on that bucket:
#   backup, first          the bucket into a new local store with the S3 source's versions=all
#   backup, unchanged      the same again (every version recorded: reused from the parent)
#   ls -versions hot key   `ls -versions -json` of the key with TOTAL / 10 versions
#   ls -versions 1 version `ls -versions -json` of a key with one version (the baseline of the above)
#   restore -at middle     the whole bucket at the middle of its LastModified range, into a directory
#   diff first, unchanged  `diff -json` of the two backups' snapshots (both trees read in step)
#   restore -all-versions  every version and delete marker, replayed into a new versioned bucket
# and prints a table: wall, peak RSS, user and system CPU, and the ratios the issue asks about (peak
# RSS of the largest TOTAL over the smallest: bounded is ~1; the hot key over the 1-version key).
#   bash tools/bench/versions.sh [TOTAL...]      (each TOTAL a multiple of 10, at least 40)
# Settings (env): KLOSET_BENCH_ROUNDS (here 1 by default: the figure that matters is peak RSS, steady
# run to run), KLOSET_BENCH_DIR (/tmp/kloset-bench), KLOSET_BENCH_BUILD=0 (run the CLI as built),
# KLOSET_BENCH_SEED_CONCURRENCY (32 keys at once) and KLOSET_BENCH_HOT_PIPELINE (8 PUTs of the hot
# key in flight) for the buckets' creation, timed and printed by versions-seed.mjs. The S3 server
# is tools/s3-server/start.sh's (RGW_DIR, RGW_PORT... as it reads them; 100,000 versions fit in
# its default 4 GiB memstore).
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
# Stray AWS_* variables of this machine stay out of the way; the keys come from the server's env file.
while read -r v; do unset "$v"; done < <(compgen -e | grep '^AWS_' || true)

TOTALS=()
for a in "$@"; do
  case $a in '' | *[!0-9]*) echo "usage: bash tools/bench/versions.sh [TOTAL...]" >&2; exit 2 ;; *) TOTALS+=("$a") ;; esac
done
[ "${#TOTALS[@]}" -gt 0 ] || TOTALS=(10000 100000)
ROUNDS=${KLOSET_BENCH_ROUNDS:-1}
bench_start versions "$WORK/versions.tsv"
K=("${KLOSET[@]}")
KSTORE="$WORK/versions-store"
RESTORED="$WORK/versions-restored"

eval "$(bash "$ROOT/tools/s3-server/start.sh")"
export KLOSET_S3_ENV
# shellcheck disable=SC1090
source "$KLOSET_S3_ENV"
HOSTPORT=${S3_ENDPOINT#http://}

# vtimed LABEL TOTAL -- command...: runs the command under GNU time (its stdout in
# $WORK/versions-last.out) and appends a row to $RESULTS: label, total, wall_s, rss_MB, user_s, sys_s.
# kloset re-executes itself in place (execve), so GNU time's maximum RSS is the whole of its peak.
vtimed() {
  local label=$1 total=$2; shift 3
  local tf; tf=$(mktemp)
  sync
  if ! /usr/bin/time -v -o "$tf" "$@" >"$WORK/versions-last.out" 2>"$WORK/versions-last.err"; then
    echo "[bench] FAILED: $label ($total versions): $*" >&2; tail -5 "$WORK/versions-last.err" >&2; rm -f "$tf"; return 1
  fi
  awk -F': ' -v l="$label" -v n="$total" '
    /Elapsed \(wall clock\)/ { k = split($2, a, ":"); for (i = 1; i <= k; i++) w = w * 60 + a[i] }
    /Maximum resident set size/ { rss = $2 / 1024 }
    /User time \(seconds\)/ { u = $2 }
    /System time \(seconds\)/ { s = $2 }
    END { printf "%s\t%d\t%.2f\t%.0f\t%.2f\t%.2f\n", l, n, w, rss, u, s }' "$tf" | tee -a "$RESULTS"
  rm -f "$tf"
}

# expect_lines N WHAT: the last command's output has N lines (a listing is complete).
expect_lines() {
  local got; got=$(wc -l <"$WORK/versions-last.out")
  [ "$got" = "$1" ] || { echo "[bench] $2: $got lines, expected $1" >&2; exit 1; }
}

rm -rf "$XDG_CONFIG_HOME"
"${K[@]}" pkg add s3 >/dev/null 2>&1 || true
printf 'label\tversions\twall_s\trss_MB\tuser_s\tsys_s\n'
for total in "${TOTALS[@]}"; do
  bucket=bench-versions-$total
  seed=$(node --conditions=kloset-source "$ROOT/tools/bench/versions-seed.mjs" "$bucket" "$total" \
    "${KLOSET_BENCH_SEED_CONCURRENCY:-32}" "${KLOSET_BENCH_HOT_PIPELINE:-8}")
  echo "[seed] $seed" >&2
  middle=$(node -p 'JSON.parse(process.argv[1]).middle' "$seed")
  hot=$((total / 10))
  "${K[@]}" source add "v$total" "location=s3://$HOSTPORT/$bucket" access_key="$AWS_ACCESS_KEY_ID" \
    secret_access_key="$AWS_SECRET_ACCESS_KEY" use_tls=false versions=all >/dev/null
  for round in $(seq 1 "$ROUNDS"); do
    echo "[bench] $bucket: round $round of $ROUNDS" >&2
    rm -rf "$KSTORE" "$XDG_CACHE_HOME" "$RESTORED"
    "${K[@]}" at "$KSTORE" create >/dev/null
    vtimed "backup, first" "$total" -- "${K[@]}" at "$KSTORE" backup -quiet "@v$total"
    vtimed "backup, unchanged" "$total" -- "${K[@]}" at "$KSTORE" backup -quiet "@v$total"
    vtimed "ls -versions hot key" "$total" -- "${K[@]}" at "$KSTORE" ls -versions -json latest:/hot/k.txt
    expect_lines "$hot" "ls -versions of hot/k.txt"
    vtimed "ls -versions 1 version" "$total" -- "${K[@]}" at "$KSTORE" ls -versions -json latest:/d000/o000000.txt
    expect_lines 1 "ls -versions of d000/o000000.txt"
    vtimed "restore -at middle" "$total" -- "${K[@]}" at "$KSTORE" restore -quiet -at "$middle" -to "$RESTORED" latest
    echo "[bench] restore -at $middle wrote $(find "$RESTORED" -type f | wc -l) files" >&2
    # ---- More commands that read versions go here, each a vtimed row on the same store (the
    # ---- snapshot `latest` of bucket $bucket, $total versions; $middle is a time inside it).
    mapfile -t ids < <("${K[@]}" at "$KSTORE" ls -json | node -e '
      let s = ""; process.stdin.on("data", (d) => (s += d)).on("end", () => {
        for (const l of s.trim().split("\n")) console.log(JSON.parse(l).id);
      });')
    vtimed "diff first, unchanged" "$total" -- "${K[@]}" at "$KSTORE" diff -json "${ids[0]}" "${ids[1]}"
    to=bench-allv-$total-$round-$$
    (cd "$ROOT" && node --conditions=kloset-source --input-type=module -e '
      import { CreateBucketCommand, PutBucketVersioningCommand } from "@aws-sdk/client-s3";
      import { plainS3Client, readS3TestEnv } from "@kloset/s3-common/testing";
      const client = plainS3Client(readS3TestEnv());
      const Bucket = process.argv[1];
      await client.send(new CreateBucketCommand({ Bucket }));
      await client.send(new PutBucketVersioningCommand({ Bucket, VersioningConfiguration: { Status: "Enabled" } }));
      client.destroy();' "$to")
    "${K[@]}" destination rm "allv$total" >/dev/null 2>&1 || true
    "${K[@]}" destination add "allv$total" "location=s3://$HOSTPORT/$to" access_key="$AWS_ACCESS_KEY_ID" \
      secret_access_key="$AWS_SECRET_ACCESS_KEY" use_tls=false >/dev/null
    vtimed "restore -all-versions" "$total" -- "${K[@]}" at "$KSTORE" restore -json -all-versions -to "@allv$total" latest
    echo "[bench] restore -all-versions: $(tail -1 "$WORK/versions-last.out")" >&2
    rm -rf "$RESTORED"
  done
done

# The table: per label, the median of the rounds for each TOTAL, and the peak RSS of the largest
# TOTAL over that of the smallest (bounded: ~1).
echo
awk -F'\t' '
  function median(s,   n, v, i, j, t) {
    n = split(substr(s, 2), v, " ")
    for (i = 2; i <= n; i++) for (j = i; j > 1 && v[j-1] + 0 > v[j] + 0; j--) { t = v[j]; v[j] = v[j-1]; v[j-1] = t }
    return n % 2 ? v[(n+1)/2] : (v[n/2] + v[n/2+1]) / 2
  }
  !($1 in seen) { seen[$1] = 1; labels[++nl] = $1 }
  !($2 in seenT) { seenT[$2] = 1; totals[++nt] = $2 }
  { w[$1, $2] = w[$1, $2] " " $3; r[$1, $2] = r[$1, $2] " " $4; u[$1, $2] = u[$1, $2] " " $5; s[$1, $2] = s[$1, $2] " " $6 }
  END {
    printf "%-24s %9s %9s %9s %9s %9s\n", "operation", "versions", "wall s", "RSS MB", "user s", "sys s"
    for (i = 1; i <= nl; i++) for (j = 1; j <= nt; j++) if ((labels[i], totals[j]) in r)
      printf "%-24s %9d %9.2f %9.0f %9.2f %9.2f\n", labels[i], totals[j], median(w[labels[i], totals[j]]), median(r[labels[i], totals[j]]), median(u[labels[i], totals[j]]), median(s[labels[i], totals[j]])
    if (nt >= 2) {
      lo = totals[1]; hi = totals[nt]
      printf "\npeak RSS at %d versions / at %d (bounded: ~1, within 1.25):\n", hi, lo
      for (i = 1; i <= nl; i++) if ((labels[i], lo) in r && (labels[i], hi) in r)
        printf "  %-24s x%.2f\n", labels[i], median(r[labels[i], hi]) / median(r[labels[i], lo])
    }
    printf "\nls -versions of the hot key / of a 1-version key (peak RSS, wall):\n"
    for (j = 1; j <= nt; j++) if (("ls -versions hot key", totals[j]) in r && ("ls -versions 1 version", totals[j]) in r)
      printf "  %d versions (hot key %d): RSS x%.2f, wall x%.2f\n", totals[j], totals[j] / 10,
        median(r["ls -versions hot key", totals[j]]) / median(r["ls -versions 1 version", totals[j]]),
        median(w["ls -versions hot key", totals[j]]) / median(w["ls -versions 1 version", totals[j]])
  }' "$RESULTS"
# Every run's rows, with when and at which commit, in one file across runs.
awk -v d="$(date -u +%FT%TZ)" -v c="$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)" \
  'BEGIN { OFS = "\t" } { print d, c, $0 }' "$RESULTS" >>"$HISTORY"
