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

rm -rf "$WORK/restic-store" "$WORK/kloset-store" "$WORK/restore-"*
restic init -q -r "$WORK/restic-store" >/dev/null
"${KLOSET[@]}" at "$WORK/kloset-store" create >/dev/null

measure "backup dir -> local store" restic "$BYTES" -- restic -q -r "$WORK/restic-store" backup "$DATA"
measure "backup dir -> local store" kloset "$BYTES" -- "${KLOSET[@]}" at "$WORK/kloset-store" backup -quiet "$DATA"
measure "backup again, unchanged" restic "$BYTES" -- restic -q -r "$WORK/restic-store" backup "$DATA"
measure "backup again, unchanged" kloset "$BYTES" -- "${KLOSET[@]}" at "$WORK/kloset-store" backup -quiet "$DATA"
measure "restore local store -> dir" restic "$BYTES" -- restic -q -r "$WORK/restic-store" restore latest --target "$WORK/restore-restic"
measure "restore local store -> dir" kloset "$BYTES" -- "${KLOSET[@]}" at "$WORK/kloset-store" restore -quiet -to "$WORK/restore-kloset" latest

printf 'stored bytes: restic %s, kloset %s\n' "$(bytes_of "$WORK/restic-store")" "$(bytes_of "$WORK/kloset-store")"
diff -r "$DATA" "$WORK/restore-kloset" >/dev/null && echo "kloset restore identical to the data set" || echo "kloset restore DIFFERS from the data set"
echo "ratios (kloset / restic; below 1 is better):"
ratio "backup dir -> local store" kloset restic
ratio "backup again, unchanged" kloset restic
ratio "restore local store -> dir" kloset restic
