#!/usr/bin/env bash
# Check that nextest's partitioning shards the suite exactly: the union of the N shards is the
# full list of tests that `cargo nextest run --profile ci` would run, and no test is in two shards.
#
#   bash scripts/check-partitions.sh [N] [--scheme count|hash|slice] [--profile P] [-- LIST-ARGS...]
#
# N defaults to 3 (the CI jobs in docs/ci/ run count:1/3 .. count:3/3). --scheme defaults to
# count. LIST-ARGS go to every `cargo nextest list` (a filter, `--run-ignored all`, ...).
# Prints each shard's count; exits 1 when a test is missing from every shard, in two shards, or
# in a shard but not in the full list, 2 on a usage or listing error.
# The first listing builds the test target (`cargo nextest list` builds like `cargo test`).
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"

n=3
scheme=count
profile=ci
extra=()
usage() { sed -n '2,11p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }
while [ $# -gt 0 ]; do
  case "$1" in
    --scheme) [ $# -ge 2 ] || usage; scheme=$2; shift 2 ;;
    --scheme=*) scheme=${1#--scheme=}; shift ;;
    --profile) [ $# -ge 2 ] || usage; profile=$2; shift 2 ;;
    --profile=*) profile=${1#--profile=}; shift ;;
    -h|--help) usage ;;
    --) shift; extra=("$@"); break ;;
    [0-9]*) n=$1; shift ;;
    *) echo "check-partitions: unknown argument $1" >&2; usage ;;
  esac
done
case "$scheme" in count|hash|slice) ;; *) echo "check-partitions: --scheme must be count, hash or slice" >&2; exit 2 ;; esac
[[ "$n" =~ ^[1-9][0-9]*$ ]] || { echo "check-partitions: N must be a positive integer" >&2; exit 2; }

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

list() { # list OUT [--partition P]
  local out=$1; shift
  if ! cargo nextest list --profile "$profile" --message-format json "$@" ${extra[@]+"${extra[@]}"} \
      >"$out" 2>"$out.err"; then
    cat "$out.err" >&2
    echo "check-partitions: cargo nextest list $* failed" >&2
    exit 2
  fi
}

echo "check-partitions: listing the full suite (profile $profile)"
list "$tmp/full.json"
for i in $(seq 1 "$n"); do
  list "$tmp/shard-$i.json" --partition "$scheme:$i/$n"
done

python3 - "$tmp" "$n" "$scheme" <<'EOF'
import json, sys

tmp, n, scheme = sys.argv[1], int(sys.argv[2]), sys.argv[3]

def selected(path):
    """The tests nextest would run for this listing: those whose filter-match is `matches`."""
    with open(path) as f:
        data = json.load(f)
    tests = set()
    for suite_id, suite in data.get("rust-suites", {}).items():
        for name, case in suite.get("testcases", {}).items():
            if case.get("filter-match", {}).get("status") == "matches":
                tests.add(f"{suite.get('binary-id', suite_id)} {name}")
    return tests

full = selected(f"{tmp}/full.json")
shards = [selected(f"{tmp}/shard-{i}.json") for i in range(1, n + 1)]

owner = {}
dupes = {}
for i, shard in enumerate(shards, 1):
    for t in shard:
        if t in owner:
            dupes.setdefault(t, [owner[t]]).append(i)
        else:
            owner[t] = i
union = set(owner)
missing = sorted(full - union)
extra = sorted(union - full)

print(f"full list: {len(full)} tests")
for i, shard in enumerate(shards, 1):
    print(f"shard {scheme}:{i}/{n}: {len(shard)} tests")
print(f"union of shards: {len(union)} tests, sum of shard sizes: {sum(map(len, shards))}")

ok = True
if dupes:
    ok = False
    print(f"ERROR: {len(dupes)} test(s) in more than one shard:")
    for t, where in sorted(dupes.items()):
        print(f"  {t}: shards {', '.join(map(str, where))}")
if missing:
    ok = False
    print(f"ERROR: {len(missing)} test(s) in no shard:")
    for t in missing:
        print(f"  {t}")
if extra:
    ok = False
    print(f"ERROR: {len(extra)} test(s) in a shard but not in the full list:")
    for t in extra:
        print(f"  {t}")
if not full:
    ok = False
    print("ERROR: the full list is empty")
print("check-partitions: OK" if ok else "check-partitions: FAILED")
sys.exit(0 if ok else 1)
EOF
