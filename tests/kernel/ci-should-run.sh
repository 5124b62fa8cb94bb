#!/bin/sh
# Decide whether CI has to run the kernel pipeline (tests/kernel/run.sh):
# only when its inputs changed since the last pass on this machine.
#
#   tests/kernel/ci-should-run.sh           exit 0: run it, 1: up to date
#   tests/kernel/ci-should-run.sh --record  after a pass: remember the inputs
#   tests/kernel/ci-should-run.sh --hash    print the hash of the inputs
#
# The inputs are kernel-patches/, tests/kernel/ and the helper that the
# guest tests compile in (src/shared/ksm-merge-any.[ch]) and the daemon's
# code that the guest runs against the patches (src/ksmtuned/merge-any.[ch],
# scan-watch.[ch], and for the two NUMA nodes numa-switch.[ch] and
# src/shared/numa-merge.[ch]), as files in the
# working tree: uncommitted edits count.  The stamp file is
# $KSMTUNED_KERNEL_CI_STAMP (default /var/cache/ksmtuned-ci/kernel-pass.sha256).
# Exit status 2 on usage or I/O errors.
set -eu

top=$(cd "$(dirname "$0")/../.." && pwd)
stamp=${KSMTUNED_KERNEL_CI_STAMP:-/var/cache/ksmtuned-ci/kernel-pass.sha256}

inputs_hash() {
	# Names and contents, in a fixed order, independent of where the tree is
	(
		cd "$top" &&
		find kernel-patches tests/kernel src/shared/ksm-merge-any.c \
			src/shared/parse-util.c src/shared/parse-util.h \
			src/shared/fileio.c src/shared/fileio.h \
			src/shared/ksm-merge-any.h src/ksmtuned/merge-any.c \
			src/ksmtuned/merge-any.h src/ksmtuned/scan-watch.c \
			src/ksmtuned/scan-watch.h src/ksmtuned/numa-switch.c \
			src/ksmtuned/numa-switch.h src/shared/numa-merge.c \
			src/shared/numa-merge.h -type f ! -name '*~' 2>/dev/null |
		LC_ALL=C sort |
		while IFS= read -r f; do
			sha256sum "$f"
		done
	) | sha256sum | cut -d' ' -f1
}

case ${1:-} in
"")
	want=$(inputs_hash)
	if [ -r "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
		echo "kernel pipeline: up to date (inputs $want passed before)"
		exit 1
	fi
	echo "kernel pipeline: inputs changed since the last pass: run it"
	exit 0
	;;
--record)
	want=$(inputs_hash)
	mkdir -p "$(dirname "$stamp")" || exit 2
	printf '%s\n' "$want" >"$stamp.tmp" && mv "$stamp.tmp" "$stamp" || exit 2
	echo "kernel pipeline: recorded pass of inputs $want in $stamp"
	;;
--hash)
	inputs_hash
	;;
*)
	echo "usage: $0 [--record|--hash]" >&2
	exit 2
	;;
esac
