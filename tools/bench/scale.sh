#!/usr/bin/env bash
# Many tiny entries: the cost per file (or object) of the engine, where local.sh and s3.sh measure
# bytes. Same data, same run, the tools taking turns going first (KLOSET_BENCH_ROUNDS rounds, fresh
# stores and caches each round).
#   bash tools/bench/scale.sh N            N files of 100 bytes in folders of 1,000: directory ->
#                                          local store -> directory, kloset against restic
#   bash tools/bench/scale.sh N --bucket   N objects of 1 KiB on the local RGW: bucket -> local
#                                          store, kloset against rclone copy (32 transfers/checkers)
# Settings (env): KLOSET_BENCH_ROUNDS (3), KLOSET_BENCH_DIR (/tmp/kloset-bench), KLOSET_BENCH_BUILD=0
# (run the CLI as it is built, without building it first).
# The page cache stays warm (no drop_caches, unlike local.sh): what is measured is the work per
# entry, not the disk, and the other work on the machine keeps its cache.
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
# Stray AWS_* variables of this machine (AWS_CA_BUNDLE, profiles...) stay out of every tool's way;
# the bucket mode takes the S3 server's keys from the env file of tools/s3-server/start.sh.
while read -r v; do unset "$v"; done < <(compgen -e | grep '^AWS_' || true)

usage() { echo "usage: bash tools/bench/scale.sh N [--bucket]" >&2; exit 2; }
N=; MODE=local
for a in "$@"; do
  case $a in --bucket) MODE=bucket ;; '' | *[!0-9]*) usage ;; *) N=$a ;; esac
done
if [ -z "$N" ] || [ "$N" -lt 1 ]; then usage; fi
# Named sources and destinations of the bucket mode in $WORK/scale-config; kloset's index cache,
# $WORK/scale-cache, new each round (restic's: --cache-dir).
bench_start scale "$WORK/scale-$MODE-$N.tsv"
K=("${KLOSET[@]}")
KSTORE="$WORK/scale-kloset-store"
SERVER=()

# tiny_files N: prints the directory of N files of 100 bytes (each different) in folders of 1,000,
# made once per N and kept.
tiny_files() {
  local n=$1 dir="$WORK/scale-data-$1"
  if [ ! -f "$dir.done" ]; then
    rm -rf "$dir"; echo "[bench] making $n files of 100 bytes in $dir" >&2
    python3 - "$n" "$dir" <<'EOF'
import os, sys
n, root = int(sys.argv[1]), sys.argv[2]
for i in range(n):
    d = os.path.join(root, "d%05d" % (i // 1000))
    if i % 1000 == 0:
        os.makedirs(d)
    with open(os.path.join(d, "f%07d.txt" % i), "wb") as f:
        f.write((("entry %d " % i) * 20).encode()[:100])
EOF
    touch "$dir.done"
  fi
  echo "$dir"
}

# requests_since OFFSET: "GET HEAD LIST" requests on $BUCKET in the RGW access log (beast lines,
# debug_rgw >= 1) after byte OFFSET: GetObject, HeadObject, bucket-level GETs (listings).
requests_since() {
  local off=$1 size i
  # The log is written by a thread of its own: wait until it stops growing (at most 1 s).
  for i in $(seq 10); do
    size=$(stat -c %s "$RGW_LOG"); sleep 0.1
    [ "$size" = "$(stat -c %s "$RGW_LOG")" ] && break
  done
  [ "$size" -ge "$off" ] || off=0
  tail -c +$((off + 1)) "$RGW_LOG" | awk -v b="/$BUCKET" '
    !/ beast: / { next }
    match($0, /"[A-Z]+ [^ "]+ HTTP/) {
      split(substr($0, RSTART + 1, RLENGTH - 6), r, " "); path = r[2]
      if (substr(path, 1, length(b)) != b) next
      rest = substr(path, length(b) + 1); c = substr(rest, 1, 1)
      if (c != "" && c != "/" && c != "?") next
      sub(/^\//, "", rest); q = index(rest, "?"); key = q ? substr(rest, 1, q - 1) : rest
      query = q ? substr(rest, q + 1) : ""
      if (r[1] == "GET" && key != "" && query !~ /tagging|acl|uploadId/) get++
      else if (r[1] == "HEAD" && key != "") head++
      else if (r[1] == "GET" && key == "") list++
    }
    # None at all: the log has no access lines (debug_rgw 0), as any run lists the bucket.
    END { if (get + head + list) printf "%d %d %d", get, head, list; else printf "n/a n/a n/a" }'
}

# timed LABEL TOOL -- command...: runs the command under GNU time and appends a row to $RESULTS:
#   label, tool, wall_s, per_s (N / wall), rss_MB, cpu_s, largest_MB, server_cpu_s, get, head, list
# cpu_s is user + system of the whole process tree (GNU time counts the children it waited for).
# rss_MB is the peak of the whole tree: GNU time's maximum RSS is that of the largest process alone
# (largest_MB; kloset re-executes itself in place, one process, since the launcher uses execve), so the peaks (VmHWM)
# of every process below it are sampled every 0.1 s, and rss_MB = the largest process's exact peak
# + the sampled peaks of the others (before execve, kloset's launcher: ~50 MB). The last four columns, in bucket
# mode: the S3 server's CPU seconds during the run and the requests it logged for the bucket.
timed() {
  local label=$1 tool=$2; shift 3
  local tf; tf=$(mktemp)
  local srv0=0 log0=0
  sync
  if [ "$MODE" = bucket ]; then srv0=$(cpu_of_processes "${SERVER[@]}"); log0=$(stat -c %s "$RGW_LOG"); fi
  /usr/bin/time -v -o "$tf" "$@" >"$WORK/scale-last.out" 2>"$WORK/scale-last.err" &
  local tpid=$! rc=0 pid t k v i
  local -A hwm=()
  local queue=() kids=()
  while kill -0 "$tpid" 2>/dev/null; do
    queue=()
    for t in /proc/"$tpid"/task/*/children; do kids=(); read -r -a kids 2>/dev/null <"$t" || true; queue+=("${kids[@]}"); done
    i=0
    while [ "$i" -lt "${#queue[@]}" ]; do
      pid=${queue[$i]}; i=$((i + 1))
      while read -r k v _; do
        if [ "$k" = VmHWM: ]; then [ "$v" -gt "${hwm[$pid]:-0}" ] && hwm[$pid]=$v; break; fi
      done 2>/dev/null <"/proc/$pid/status" || true
      for t in /proc/"$pid"/task/*/children; do kids=(); read -r -a kids 2>/dev/null <"$t" || true; queue+=("${kids[@]}"); done
    done
    sleep 0.1
  done
  wait "$tpid" || rc=$?
  if [ "$rc" -ne 0 ]; then
    echo "[bench] FAILED ($rc): $label $tool: $*" >&2; tail -5 "$WORK/scale-last.err" >&2; rm -f "$tf"; return 1
  fi
  local wall cpu largest sum=0 top=0
  wall=$(awk -F': ' '/Elapsed \(wall clock\)/ {n=split($2,a,":"); s=0; for(i=1;i<=n;i++) s=s*60+a[i]; print s}' "$tf")
  largest=$(awk -F': ' '/Maximum resident set size/ {print $2}' "$tf")
  cpu=$(awk -F': ' '/User time \(seconds\)|System time \(seconds\)/ {s+=$2} END {printf "%.2f", s}' "$tf")
  rm -f "$tf"
  for pid in "${!hwm[@]}"; do sum=$((sum + hwm[$pid])); [ "${hwm[$pid]}" -gt "$top" ] && top=${hwm[$pid]}; done
  local tree=$((sum - top + largest)) s3cols=
  if [ "$MODE" = bucket ]; then
    local srv1 req; srv1=$(cpu_of_processes "${SERVER[@]}"); req=$(requests_since "$log0")
    s3cols=$(awk -v a="$srv1" -v b="$srv0" -v r="$req" 'BEGIN { split(r, q, " "); printf "\t%.2f\t%s\t%s\t%s", a - b, q[1], q[2], q[3] }')
  fi
  printf '%s\t%s\t%.2f\t%.0f\t%d\t%s\t%d%s\n' "$label" "$tool" "$wall" "$(awk -v n="$N" -v w="$wall" 'BEGIN { print (w > 0 ? n / w : 0) }')" \
    $((tree / 1024)) "$cpu" $((largest / 1024)) "$s3cols" | tee -a "$RESULTS"
}

# in_turn ROUND :: first-command :: second-command: the two in turns by round (odd: first first).
in_turn() {
  local round=$1 a=() b=(); shift 2
  while [ "$1" != :: ]; do a+=("$1"); shift; done; shift; b=("$@")
  if [ $((round % 2)) -eq 1 ]; then "${a[@]}"; "${b[@]}"; else "${b[@]}"; "${a[@]}"; fi
}

# column_median LABEL TOOL COLUMN: the median of that column over the rounds.
column_median() {
  awk -F'\t' -v l="$1" -v t="$2" -v c="$3" '$1==l && $2==t {n++; v[n]=$c}
    END { if (!n) exit; for (i = 2; i <= n; i++) for (j = i; j > 1 && v[j-1] > v[j]; j--) { x = v[j]; v[j] = v[j-1]; v[j-1] = x }
          print (n % 2 ? v[(n+1)/2] : (v[n/2] + v[n/2+1]) / 2) }' "$RESULTS"
}
# column_values LABEL TOOL COLUMN: that column of each round, space-separated.
column_values() { awk -F'\t' -v l="$1" -v t="$2" -v c="$3" '$1==l && $2==t {printf "%s%s", (n++ ? " " : ""), $c}' "$RESULTS"; }
# per_entry SECONDS: microseconds per entry.
per_entry() { awk -v s="$1" -v n="$N" 'BEGIN { printf "%.0f us", s * 1e6 / n }'; }

local_mode() {
  need_apt restic restic
  local data folder rstore=$WORK/scale-restic-store rcache=$WORK/scale-restic-cache
  data=$(tiny_files "$N")
  folder=$(printf 'd%05d' $(((N - 1) / 1000 / 2)))
  local in_folder; in_folder=$(find "$data/$folder" -type f | wc -l)
  # Both tools read the files from the page cache, the first of round 1 too.
  find "$data" -type f -print0 | xargs -0 cat >/dev/null
  local R=(restic -q -r "$rstore" --cache-dir "$rcache") L=("${K[@]}" at "$KSTORE")
  echo "[bench] $N files of 100 bytes in $data; one folder: /$folder ($in_folder files)" >&2
  printf 'label\ttool\twall_s\tfiles/s\trss_MB\tcpu_s\tlargest_MB\n'
  for round in $(seq 1 "$ROUNDS"); do
    echo "[bench] round $round of $ROUNDS" >&2
    rm -rf "$rstore" "$rcache" "$KSTORE" "$XDG_CACHE_HOME" "$WORK"/scale-restore-*
    restic init -q -r "$rstore" >/dev/null
    "${K[@]}" at "$KSTORE" create >/dev/null
    in_turn "$round" :: timed "first backup" restic -- "${R[@]}" backup "$data" \
      :: timed "first backup" kloset -- "${L[@]}" backup -quiet "$data"
    in_turn "$round" :: timed "unchanged re-backup" restic -- "${R[@]}" backup "$data" \
      :: timed "unchanged re-backup" kloset -- "${L[@]}" backup -quiet "$data"
    in_turn "$round" :: timed "restore all" restic -- "${R[@]}" restore latest --target "$WORK/scale-restore-restic" \
      :: timed "restore all" kloset -- "${L[@]}" restore -quiet -to "$WORK/scale-restore-kloset" latest
    in_turn "$round" :: timed "restore one folder" restic -- "${R[@]}" restore latest --target "$WORK/scale-restore-restic-1" --include "$data/$folder" \
      :: timed "restore one folder" kloset -- "${L[@]}" restore -quiet -to "$WORK/scale-restore-kloset-1" "latest:/$folder"
    # restic ls prints the folder itself, then its entries; kloset its entries.
    in_turn "$round" :: timed "ls one folder" restic -- "${R[@]}" ls latest "$data/$folder" \
      :: timed "ls one folder" kloset -- "${L[@]}" ls "latest:/$folder"
    # What was restored and listed is checked (whole trees compared in round 1 only).
    local got_k got_r
    got_k=$(find "$WORK/scale-restore-kloset-1" -type f | wc -l); got_r=$(find "$WORK/scale-restore-restic-1" -type f | wc -l)
    if [ "$got_k" != "$in_folder" ] || [ "$got_r" != "$in_folder" ]; then
      echo "[bench] one-folder restores: kloset $got_k files, restic $got_r, expected $in_folder" >&2; exit 1
    fi
    if [ "$round" = 1 ]; then
      diff -rq "$data" "$WORK/scale-restore-kloset" >/dev/null || { echo "[bench] kloset's restore differs from $data" >&2; exit 1; }
      diff -rq "$data" "$WORK/scale-restore-restic$data" >/dev/null || { echo "[bench] restic's restore differs from $data" >&2; exit 1; }
      got_k=$("${L[@]}" ls "latest:/$folder" | wc -l)
      [ "$got_k" = "$in_folder" ] || { echo "[bench] kloset ls listed $got_k entries, expected $in_folder" >&2; exit 1; }
      echo "[bench] round 1: both restores identical to the data, one-folder restores and ls complete" >&2
    fi
    printf 'stored bytes: restic %s, kloset %s\n' "$(bytes_of "$rstore")" "$(bytes_of "$KSTORE")"
  done
  echo "ratios (kloset / restic; below 1 is better; peak RSS of the whole process tree):"
  for l in "first backup" "unchanged re-backup" "restore all" "restore one folder" "ls one folder"; do ratio "$l" kloset restic; done
  local kc rc
  kc=$(column_median "first backup" kloset 6); rc=$(column_median "first backup" restic 6)
  printf 'first backup, CPU per file (medians): kloset %s (%s s), restic %s (%s s); peak RSS kloset %s MB (largest process %s), restic %s MB\n' \
    "$(per_entry "$kc")" "$kc" "$(per_entry "$rc")" "$rc" "$(column_values "first backup" kloset 5)" \
    "$(column_values "first backup" kloset 7)" "$(column_values "first backup" restic 5)"
}

bucket_mode() {
  need_apt rclone rclone
  rgw_for_rclone
  export KLOSET_S3_ENV
  RGW_LOG="$(dirname "$KLOSET_S3_ENV")/log/rgw.log"
  SERVER=(radosgw ceph-osd ceph-mon)
  BUCKET=bench-scale-$N
  echo "[bench] bucket $BUCKET" >&2
  node --conditions=kloset-source "$ROOT/tools/bench/scale-seed.mjs" "$BUCKET" "$N" >&2
  # A bucket seeded by an earlier run is the same data (memstore: until the server restarts).
  [ -s "$RGW_LOG" ] || { echo "[bench] no RGW log at $RGW_LOG: request counts need it" >&2; exit 1; }

  rm -rf "$XDG_CONFIG_HOME"
  "${K[@]}" pkg add s3 >/dev/null 2>&1 || true
  "${K[@]}" source add bsrc "location=s3://$HOSTPORT/$BUCKET" access_key="$AWS_ACCESS_KEY_ID" \
    secret_access_key="$AWS_SECRET_ACCESS_KEY" use_tls=false >/dev/null
  local rdir=$WORK/scale-rclone-dir gets=()
  printf 'label\ttool\twall_s\tobjects/s\trss_MB\tcpu_s\tlargest_MB\tserver_cpu_s\tGET\tHEAD\tlist\n'
  for round in $(seq 1 "$ROUNDS"); do
    echo "[bench] round $round of $ROUNDS" >&2
    rm -rf "$KSTORE" "$XDG_CACHE_HOME" "$rdir"
    "${K[@]}" at "$KSTORE" create >/dev/null
    in_turn "$round" :: timed "bucket -> local" rclone -- "${RC[@]}" copy "rgw:$BUCKET" "$rdir" \
      :: timed "bucket -> local" kloset -- "${K[@]}" at "$KSTORE" backup -quiet @bsrc
    in_turn "$round" :: timed "bucket -> local, unchanged" rclone -- "${RC[@]}" copy "rgw:$BUCKET" "$rdir" \
      :: timed "bucket -> local, unchanged" kloset -- "${K[@]}" at "$KSTORE" backup -quiet @bsrc
    local got; got=$(find "$rdir" -type f | wc -l)
    [ "$got" = "$N" ] || { echo "[bench] rclone copied $got objects, expected $N" >&2; exit 1; }
    # Round 1: kloset's snapshot restored (not timed) must be rclone's copy, file for file.
    if [ "$round" = 1 ]; then
      rm -rf "$WORK/scale-restore-bucket"; : >"$WORK/scale-diff.out"
      if ! "${K[@]}" at "$KSTORE" restore -quiet -to "$WORK/scale-restore-bucket" latest >"$WORK/scale-last.out" 2>&1 ||
        ! diff -rq "$rdir" "$WORK/scale-restore-bucket" >"$WORK/scale-diff.out" 2>&1; then
        echo "[bench] kloset's snapshot of $BUCKET, restored, is not rclone's copy:" >&2
        head -5 "$WORK/scale-last.out" "$WORK/scale-diff.out" >&2; exit 1
      fi
      rm -rf "$WORK/scale-restore-bucket"
      echo "[bench] round 1: kloset's snapshot, restored, is identical to rclone's copy" >&2
    fi
    # kloset's GetObject path alone, as the S3 source reads (128 at once, MD5 checked): its client CPU.
    local line; line=$(node "$ROOT/tools/bench/s3-gets.mjs" "$BUCKET" 128 --md5)
    echo "[s3-gets] $line"
    gets+=("$(sed -n 's/.*client CPU \([0-9.]*\) s.*/\1/p' <<<"$line")")
  done
  echo "ratios (kloset / rclone; below 1 is better; peak RSS of the whole process tree):"
  ratio "bucket -> local" kloset rclone
  ratio "bucket -> local, unchanged" kloset rclone
  local l t
  for l in "bucket -> local" "bucket -> local, unchanged"; do
    for t in kloset rclone; do
      printf '%s, %s: requests per round GET %s | HEAD %s | list %s; S3 server CPU %s s\n' "$l" "$t" "$(column_values "$l" "$t" 9)" \
        "$(column_values "$l" "$t" 10)" "$(column_values "$l" "$t" 11)" "$(column_values "$l" "$t" 8)"
    done
  done
  local kc rc gc
  kc=$(column_median "bucket -> local" kloset 6); rc=$(column_median "bucket -> local" rclone 6)
  gc=$(printf '%s\n' "${gets[@]}" | sort -n | awk '{v[NR]=$1} END {print (NR % 2 ? v[(NR+1)/2] : (v[NR/2] + v[NR/2+1]) / 2)}')
  printf 'client CPU per object (medians): kloset backup %s (%s s), of which GET path alone (s3-gets.mjs: %s s) %s and engine (backup - GET path) %s; rclone copy %s (%s s)\n' \
    "$(per_entry "$kc")" "$kc" "${gets[*]}" "$(per_entry "$gc")" "$(per_entry "$(awk -v a="$kc" -v b="$gc" 'BEGIN { print a - b }')")" \
    "$(per_entry "$rc")" "$rc"
}

if [ "$MODE" = bucket ]; then bucket_mode; else local_mode; fi
# Every run's rows, with when, at which commit and N, in one file across runs.
awk -v d="$(date -u +%FT%TZ)" -v c="$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)" -v m="$MODE" -v n="$N" \
  'BEGIN { OFS = "\t" } { print d, c, m, n, $0 }' "$RESULTS" >>"$HISTORY"
