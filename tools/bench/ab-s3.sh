#!/usr/bin/env bash
# A/B of two settings of kloset on a bucket -> local store backup, on the local Ceph RGW: the
# bucket is filled once (gen-dataset data at SCALE), then each round backs it up into a fresh local
# store with A and with B, taking turns going first. Reports each variant's wall time, peak RSS
# and CPU, and the median of the rounds' B/A ratios.
#   bash tools/bench/ab-s3.sh SCALE 'ENV=a ...' 'ENV=b ...'    (an empty string: the default)
# It does not build: build first (npx nx run-many -t build) with the code to measure.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
SCALE=${1:-0.5}
A=${2:-}
B=${3:-}
need_apt rclone rclone
DATA=$(dataset "$SCALE")
BYTES=$(bytes_of "$DATA")
: > "$RESULTS"

rgw_for_rclone
SRC=bench-ab-$$
echo "[bench] filling bucket $SRC" >&2
"${RC[@]}" mkdir "rgw:$SRC"; "${RC[@]}" copy "$DATA" "rgw:$SRC"
trap '"${RC[@]}" purge "rgw:$SRC" >/dev/null 2>&1 || true' EXIT

export XDG_CONFIG_HOME="$WORK/config-ab" XDG_DATA_HOME="$WORK/data-home-ab"
rm -rf "$XDG_CONFIG_HOME" "$XDG_DATA_HOME"
"${KLOSET[@]}" pkg add s3 >/dev/null
"${KLOSET[@]}" source add bsrc "location=s3://$HOSTPORT/$SRC" access_key="$AWS_ACCESS_KEY_ID" \
  secret_access_key="$AWS_SECRET_ACCESS_KEY" use_tls=false >/dev/null
printf 'label\ttool\twall_s\tMB/s\tpeak_rss_MB\tcpu_s\n'

run() { # run VARIANT(A|B)
  local v=$1 envs store="$WORK/ab-store-$1"
  [ "$v" = A ] && envs=$A || envs=$B
  rm -rf "$store"
  env $envs "${KLOSET[@]}" at "$store" create >/dev/null
  measure "bucket -> local" "$v" "$BYTES" -- env $envs "${KLOSET[@]}" at "$store" backup -quiet @bsrc
}

for round in $(seq 1 "$ROUNDS"); do
  echo "[bench] round $round of $ROUNDS" >&2
  if [ $((round % 2)) -eq 1 ]; then run A; run B; else run B; run A; fi
done
rm -rf "$WORK/ab-store-A" "$WORK/ab-store-B"
echo "A: ${A:-(default)}   B: ${B:-(default)}"
ratio "bucket -> local" B A
