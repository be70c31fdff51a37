#!/usr/bin/env bash
# Directory -> local store -> directory: kloset against restic, same data, same run.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
SCALE=${1:-1}
need_apt restic restic
DATA=$(dataset "$SCALE")
BYTES=$(bytes_of "$DATA")
: > "$RESULTS"
printf 'label\ttool\twall_s\tMB/s\tpeak_rss_MB\tcpu_s\n'
( cd "$ROOT" && nx run-many -t build --output-style=static >/dev/null )

restic_store=(restic -q -r "$WORK/restic-store")
kloset_store=("${KLOSET[@]}" at "$WORK/kloset-store")
# both LABEL ROUND -- restic-args -- kloset-args: measures the two tools, in turns by round
both() {
  local label=$1 round=$2 r=() k=(); shift 3
  while [ "$1" != -- ]; do r+=("$1"); shift; done; shift; k=("$@")
  if [ $((round % 2)) -eq 1 ]; then
    measure "$label" restic "$BYTES" -- "${restic_store[@]}" "${r[@]}"
    measure "$label" kloset "$BYTES" -- "${kloset_store[@]}" "${k[@]}"
  else
    measure "$label" kloset "$BYTES" -- "${kloset_store[@]}" "${k[@]}"
    measure "$label" restic "$BYTES" -- "${restic_store[@]}" "${r[@]}"
  fi
}

for round in $(seq 1 "$ROUNDS"); do
  echo "[bench] round $round of $ROUNDS" >&2
  rm -rf "$WORK/restic-store" "$WORK/kloset-store" "$WORK/restore-"*
  restic init -q -r "$WORK/restic-store" >/dev/null
  "${KLOSET[@]}" at "$WORK/kloset-store" create >/dev/null
  both "backup dir -> local store" "$round" -- backup "$DATA" -- backup -quiet "$DATA"
  both "backup again, unchanged" "$round" -- backup "$DATA" -- backup -quiet "$DATA"
  both "restore local store -> dir" "$round" -- restore latest --target "$WORK/restore-restic" \
    -- restore -quiet -to "$WORK/restore-kloset" latest
  printf 'stored bytes: restic %s, kloset %s\n' "$(bytes_of "$WORK/restic-store")" "$(bytes_of "$WORK/kloset-store")"
  diff -r "$DATA" "$WORK/restore-kloset" >/dev/null && echo "kloset restore identical to the data set" || echo "kloset restore DIFFERS from the data set"
done
echo "ratios (kloset / restic; below 1 is better):"
ratio "backup dir -> local store" kloset restic
ratio "backup again, unchanged" kloset restic
ratio "restore local store -> dir" kloset restic
