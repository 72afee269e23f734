#!/usr/bin/env bash
# Time per container of `pss-fix patch` on one Pod of N bare containers, N from 10 to 100,000,
# for each binary given (e.g. this commit's and a baseline's, in the same run): flat means
# linear in the object's size. CPU time (user+sys) of one run per size; a run is cut at
# LIMIT seconds (default 60) and shown as ">LIMIT".
#
#   benches/containers.sh target/release/pss-fix /tmp/pss-fix-base
set -euo pipefail
limit=${LIMIT:-60}
sizes=${SIZES:-"10 100 1000 10000 50000 100000"}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
for n in $sizes; do
  {
    printf 'apiVersion: v1\nkind: Pod\nmetadata:\n  name: big\n  namespace: team-a\nspec:\n  containers:\n'
    awk -v n="$n" 'BEGIN { for (i = 0; i < n; i++) printf "  - name: c%d\n    image: nginx\n", i }'
  } > "$work/pod$n.yaml"
done
printf '%-28s %9s %10s %12s %10s\n' binary containers bytes cpu_seconds us/container
for binary in "$@"; do
  for n in $sizes; do
    file="$work/pod$n.yaml"
    bytes=$(wc -c < "$file")
    start=$(date +%s.%N)
    if out=$( { /usr/bin/time -f '%U %S' timeout "$limit" "$binary" patch "$file" > /dev/null; } 2>&1 ); then
      cpu=$(echo "$out" | tail -1 | awk '{ print $1 + $2 }')
      per=$(awk -v c="$cpu" -v n="$n" 'BEGIN { printf "%.2f", c * 1e6 / n }')
    else
      cpu=">$limit"; per="-"
    fi
    printf '%-28s %9d %10d %12s %10s\n' "$binary" "$n" "$bytes" "$cpu" "$per"
  done
done
