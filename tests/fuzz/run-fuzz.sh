#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# "make fuzz": build each target with clang's libFuzzer, ASan and UBSan and
# run it for FUZZ_SECONDS (default 60) or FUZZ_RUNS executions (RSS limit
# FUZZ_RSS_MB, default 512), starting from
# the stored corpus. New inputs go to $builddir/fuzz/corpus/NAME, crash
# reproducers to $builddir/fuzz/artifacts/: copy one into
# tests/fuzz/corpus/NAME/ (named crash-...) and the normal suite replays it.
#
#   run-fuzz.sh SRCDIR BUILDDIR [TARGET...]
set -eu

srcdir=$1
builddir=$2
shift 2
CLANG=${CLANG:-clang-14}
seconds=${FUZZ_SECONDS:-60}
runs=${FUZZ_RUNS:--1}
jobs_flags=${FUZZ_FLAGS:-}
rss_mb=${FUZZ_RSS_MB:-512}
# ASan's default quarantine (256 MiB) counts against the RSS limit: a long
# run stops on it, not on the code under test.
export ASAN_OPTIONS=${ASAN_OPTIONS:-quarantine_size_mb=64}

if ! command -v "$CLANG" >/dev/null 2>&1; then
	echo "run-fuzz.sh: $CLANG not found (scripts/install-deps.sh --fuzz installs it)" >&2
	exit 77
fi
targets=${*:-$(cd "$srcdir/tests/fuzz" && ls fuzz-*.c | sed 's/^fuzz-//; s/\.c$//')}
out=$builddir/fuzz
mkdir -p "$out/bin" "$out/artifacts"

# The shared library's sources, compiled once per run with the fuzzer's flags.
cflags="-g -O2 -fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=undefined
	-I$builddir -I$srcdir/src/shared -I$srcdir/tests/fuzz -include $builddir/config.h"
objs=
for c in "$srcdir"/src/shared/*.c; do
	o=$out/bin/$(basename "$c" .c).o
	# shellcheck disable=SC2086
	$CLANG $cflags -c "$c" -o "$o"
	objs="$objs $o"
done

# log.c sends to the journal: the targets link what the library links.
libs="$(pkg-config --libs libsystemd 2>/dev/null || echo -lsystemd) -lm"

status=0
for t in $targets; do
	bin=$out/bin/fuzz-$t
	# shellcheck disable=SC2086
	$CLANG $cflags -fsanitize=fuzzer "$srcdir/tests/fuzz/fuzz-$t.c" $objs $libs -o "$bin"
	mkdir -p "$out/corpus/$t"
	echo "== fuzz-$t: ${seconds} s or $runs runs"
	# shellcheck disable=SC2086
	if ! "$bin" -max_total_time="$seconds" -runs="$runs" -rss_limit_mb="$rss_mb" -timeout=10 \
		-artifact_prefix="$out/artifacts/$t-" -print_final_stats=1 $jobs_flags \
		"$out/corpus/$t" "$srcdir/tests/fuzz/corpus/$t" 2>"$out/$t.log"; then
		status=1
		echo "fuzz-$t FAILED: see $out/$t.log and $out/artifacts/" >&2
	fi
	grep -E '^stat::(number_of_executed_units|average_exec_per_sec|peak_rss_mb)|^#[0-9]+.*DONE' "$out/$t.log" || true
done
exit $status
