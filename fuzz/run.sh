#!/bin/sh
# Runs each fuzz target for a given time on a scratch copy of its committed seed corpus.
#
#   fuzz/run.sh [SECONDS] [TARGET...]      (default: 600 seconds, every target, one at a time)
#
# Needs cargo-fuzz (`cargo install cargo-fuzz`). On a stable toolchain the nightly-only flags
# cargo-fuzz passes are allowed with RUSTC_BOOTSTRAP=1, set here. Runs under `nice -n 19`.
# New inputs go to fuzz/work/<target> (not committed); crashes to fuzz/artifacts/<target>.
# Each run ends with libFuzzer's `Done N runs in S second(s)` line, the execution count.
set -eu
cd "$(dirname "$0")"
seconds="${1:-600}"
[ $# -gt 0 ] && shift
targets="$*"
[ -n "$targets" ] || targets="$(RUSTC_BOOTSTRAP=1 cargo fuzz list)"
export RUSTC_BOOTSTRAP=1
for target in $targets; do
    mkdir -p "work/$target"
    cp -n corpus/"$target"/* "work/$target/" 2>/dev/null || true
    echo "== $target: $seconds s"
    nice -n 19 cargo fuzz run "$target" "work/$target" -- \
        -max_total_time="$seconds" -rss_limit_mb=4096 -timeout=10 -print_final_stats=1 2>&1 |
        tee "work/$target.log" | grep -E "^(Done|stat::|==[0-9]+==ERROR|SUMMARY)|panicked" || true
done
