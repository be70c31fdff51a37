#!/usr/bin/env bash
# Bucket -> local store and snapshot -> bucket: kloset against rclone's raw copy (32 transfers),
# on the local Ceph RGW, same data, same run.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
SCALE=${1:-1}
need_apt rclone rclone
DATA=$(dataset "$SCALE")
BYTES=$(bytes_of "$DATA")
: > "$RESULTS"
( cd "$ROOT" && nx run-many -t build --output-style=static >/dev/null )

rgw_for_rclone

SRC=bench-src-$$; DST_R=bench-rclone-$$; DST_K=bench-kloset-$$
printf 'label\ttool\twall_s\tMB/s\tpeak_rss_MB\tcpu_s\n'
echo "[bench] filling bucket $SRC" >&2
"${RC[@]}" mkdir "rgw:$SRC"; "${RC[@]}" copy "$DATA" "rgw:$SRC"

export XDG_CONFIG_HOME="$WORK/config"; rm -rf "$XDG_CONFIG_HOME" "$WORK/kloset-store" "$WORK/rclone-dir"
K=("${KLOSET[@]}")
"${K[@]}" pkg add s3 >/dev/null 2>&1 || true
S3OPTS=(access_key="$AWS_ACCESS_KEY_ID" secret_access_key="$AWS_SECRET_ACCESS_KEY" use_tls=false)
"${K[@]}" source add bsrc "location=s3://$HOSTPORT/$SRC" "${S3OPTS[@]}" >/dev/null

# The S3 server runs on the same cores: its CPU time per job is printed too.
SERVER=(radosgw ceph-osd ceph-mon)
RCLONE_SERVER_CPU=()
served() { # served LABEL TOOL -- command...: measure, plus the server's CPU seconds during it
  local label=$1 tool=$2 before after; shift 3
  before=$(cpu_of_processes "${SERVER[@]}")
  measure "$label" "$tool" "$BYTES" -- "$@"
  after=$(cpu_of_processes "${SERVER[@]}")
  SERVER_CPU=$(awk -v a="$after" -v b="$before" 'BEGIN { printf "%.2f", a - b }')
  printf '[server] %s, %s: the S3 server used %s s of CPU\n' "$label" "$tool" "$SERVER_CPU"
  if [ "$label" = "bucket -> local" ] && [ "$tool" = rclone ]; then RCLONE_SERVER_CPU+=("$SERVER_CPU"); fi
}
# in_turn ROUND :: rclone-command :: kloset-command: each job by both tools, taking turns first
in_turn() {
  local round=$1 r=() k=(); shift 2
  while [ "$1" != :: ]; do r+=("$1"); shift; done; shift; k=("$@")
  if [ $((round % 2)) -eq 1 ]; then "${r[@]}"; "${k[@]}"; else "${k[@]}"; "${r[@]}"; fi
}

# Rounds, as in local.sh (ROUNDS, KLOSET_BENCH_ROUNDS): fresh local copies, stores and buckets each.
for round in $(seq 1 "$ROUNDS"); do
  echo "[bench] round $round of $ROUNDS" >&2
  rm -rf "$WORK/kloset-store" "$WORK/rclone-dir"
  "${K[@]}" at "$WORK/kloset-store" create >/dev/null
  "${K[@]}" destination rm bdst >/dev/null 2>&1 || true
  "${K[@]}" destination add bdst "location=s3://$HOSTPORT/$DST_K-$round" "${S3OPTS[@]}" >/dev/null
  in_turn "$round" :: served "bucket -> local" rclone -- "${RC[@]}" copy "rgw:$SRC" "$WORK/rclone-dir" \
    :: served "bucket -> local" kloset -- "${K[@]}" at "$WORK/kloset-store" backup -quiet @bsrc
  in_turn "$round" :: measure "bucket -> local, unchanged" rclone "$BYTES" -- "${RC[@]}" copy "rgw:$SRC" "$WORK/rclone-dir" \
    :: measure "bucket -> local, unchanged" kloset "$BYTES" -- "${K[@]}" at "$WORK/kloset-store" backup -quiet @bsrc
  in_turn "$round" :: measure "local -> bucket" rclone "$BYTES" -- "${RC[@]}" copy "$WORK/rclone-dir" "rgw:$DST_R-$round" \
    :: measure "local -> bucket" kloset "$BYTES" -- "${K[@]}" at "$WORK/kloset-store" restore -quiet -to @bdst latest
  for b in "$DST_R-$round" "$DST_K-$round"; do "${RC[@]}" purge "rgw:$b" >/dev/null 2>&1 || true; done
done

# What the engine alone costs for these bytes (chunk, MAC, compress, encrypt, pack: no S3 client),
# from the same files on disk: with the server's CPU for the same GETs, a floor for the first job.
rm -rf "$WORK/floor-store"; "${K[@]}" at "$WORK/floor-store" create >/dev/null
measure "engine only: dir -> local" kloset "$BYTES" -- "${K[@]}" at "$WORK/floor-store" backup -quiet "$DATA"
rm -rf "$WORK/floor-store"
SRV_MEDIAN=$(printf '%s\n' "${RCLONE_SERVER_CPU[@]}" | sort -n | awk '{v[NR]=$1} END {print (NR % 2 ? v[(NR+1)/2] : (v[NR/2] + v[NR/2+1]) / 2)}')
awk -F'\t' -v srv="$SRV_MEDIAN" -v cores="$(nproc)" '
  function median(arr, n,   i, j, t) {
    for (i = 2; i <= n; i++) for (j = i; j > 1 && arr[j-1] > arr[j]; j--) { t = arr[j]; arr[j] = arr[j-1]; arr[j-1] = t }
    return n % 2 ? arr[(n+1)/2] : (arr[n/2] + arr[n/2+1]) / 2
  }
  $1=="engine only: dir -> local" {engine=$6} $1=="bucket -> local" && $2=="rclone" {n++; rw[n]=$3}
  END { if (engine && n) { w = median(rw, n); printf "floor of bucket -> local store on %d cores: (server %.2f s + engine %.2f s) / %d = %.2f s of wall, before any S3 client work; rclone copy: %.2f s (floor/rclone x%.2f)\n", cores, srv, engine, cores, (srv + engine) / cores, w, (srv + engine) / cores / w } }' "$RESULTS"
echo "ratios (kloset / rclone; below 1 is better):"
ratio "bucket -> local" kloset rclone
ratio "bucket -> local, unchanged" kloset rclone
ratio "local -> bucket" kloset rclone
"${RC[@]}" purge "rgw:$SRC" >/dev/null 2>&1 || true
