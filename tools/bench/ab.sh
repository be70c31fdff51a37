#!/usr/bin/env bash
# A/B of two settings of kloset on the same data: directory -> local store -> directory, the two
# taking turns going first, fresh stores each round. Reports each variant's median wall time
# (min-max) of the backup and the restore, and the median of the rounds' B/A ratios.
#   bash tools/bench/ab.sh SCALE 'ENV=a ...' 'ENV=b ...'    (an empty string: the default)
# It does not build: build first (npx nx run-many -t build) with the code to measure.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
SCALE=${1:-0.5}
A=${2:-}
B=${3:-}
DATA=$(dataset "$SCALE")
BYTES=$(bytes_of "$DATA")
: > "$RESULTS"
printf 'label\ttool\twall_s\tMB/s\tpeak_rss_MB\tcpu_s\n'

run() { # run VARIANT(A|B) ROUND
  local v=$1 round=$2 envs store="$WORK/store-$1"
  [ "$v" = A ] && envs=$A || envs=$B
  rm -rf "$store" "$WORK/restore-$v"
  env $envs "${KLOSET[@]}" at "$store" create >/dev/null
  measure backup "$v" "$BYTES" -- env $envs "${KLOSET[@]}" at "$store" backup -quiet "$DATA"
  measure restore "$v" "$BYTES" -- env $envs "${KLOSET[@]}" at "$store" restore -quiet -to "$WORK/restore-$v" latest
  diff -r "$DATA" "$WORK/restore-$v" >/dev/null || { echo "[bench] restore $v DIFFERS" >&2; exit 1; }
}

for round in $(seq 1 "$ROUNDS"); do
  echo "[bench] round $round of $ROUNDS" >&2
  if [ $((round % 2)) -eq 1 ]; then run A "$round"; run B "$round"; else run B "$round"; run A "$round"; fi
done
echo "A: ${A:-(default)}   B: ${B:-(default)}"
for label in backup restore; do
  awk -F'\t' -v l="$label" '
    function median(arr, n,   i, j, t, c) {
      for (i = 1; i <= n; i++) c[i] = arr[i]
      for (i = 2; i <= n; i++) for (j = i; j > 1 && c[j-1] > c[j]; j--) { t = c[j]; c[j] = c[j-1]; c[j-1] = t }
      return n % 2 ? c[(n+1)/2] : (c[n/2] + c[n/2+1]) / 2
    }
    function lo(arr, n,   i, m) { m = arr[1]; for (i = 2; i <= n; i++) if (arr[i] < m) m = arr[i]; return m }
    function hi(arr, n,   i, m) { m = arr[1]; for (i = 2; i <= n; i++) if (arr[i] > m) m = arr[i]; return m }
    $1==l && $2=="A" {na++; a[na]=$3; ca[na]=$6}
    $1==l && $2=="B" {nb++; b[nb]=$3; cb[nb]=$6}
    END {
      for (i = 1; i <= na && i <= nb; i++) { r[i] = b[i] / a[i]; rounds = rounds sprintf(" x%.2f", r[i]) }
      printf "%-8s A %.2f s (%.2f-%.2f, CPU %.2f s)  B %.2f s (%.2f-%.2f, CPU %.2f s)  B/A x%.3f (rounds:%s)\n", l, median(a, na), lo(a, na), hi(a, na), median(ca, na), median(b, nb), lo(b, nb), hi(b, nb), median(cb, nb), median(r, na), rounds
    }' "$RESULTS"
done
