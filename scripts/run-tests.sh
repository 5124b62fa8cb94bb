#!/bin/sh
# Build ksmtuned twice (plain, and with ASan+UBSan) and run the whole test
# suite in both, then "make distcheck". Needs root: the integration tests use
# this machine's real KSM (under a lock, restoring every knob they touch), a
# private dbus-daemon and a private libvirtd.
#
# The last line is "N passed, M failed", counting test programs.
set -u
cd "$(dirname "$0")/.."
top=$(pwd)
jobs=$(nproc 2>/dev/null || echo 2)
passed=0
failed=0

note() { printf '=== %s\n' "$*"; }

# As root on a real machine every test can run, so a skipped test (exit 77)
# lost something it needs and counts as a failure. As a normal user, in a
# chroot or in a container without namespaces (a package build), skips are
# expected: they are listed and counted as neither.
strict=no
if [ "$(id -u)" -eq 0 ] && ! ischroot 2>/dev/null && [ -w /sys/kernel/mm/ksm/run ] &&
	unshare --mount true 2>/dev/null; then
	strict=yes
fi
skipped=0

# Add the PASS/FAIL counts of one build's test-suite.log.
count() {
	log=$1/test-suite.log
	if [ ! -f "$log" ]; then
		failed=$((failed + 1))
		return
	fi
	p=$(sed -n 's/^# PASS: *//p' "$log")
	f=$(sed -n 's/^# FAIL: *//p' "$log")
	e=$(sed -n 's/^# ERROR: *//p' "$log")
	x=$(sed -n 's/^# XPASS: *//p' "$log")
	s=$(sed -n 's/^# SKIP: *//p' "$log")
	passed=$((passed + ${p:-0}))
	failed=$((failed + ${f:-0} + ${e:-0} + ${x:-0}))
	# The .trs files, not test-suite.log, whose logs may hold any line.
	for trs in $(find "$1/tests" -name '*.trs' 2>/dev/null); do
		grep -q '^:test-result: SKIP' "$trs" || continue
		echo "skipped ${trs%.trs}: $(grep -h -m1 -E '^(skip: |skip - |# needs)' "${trs%.trs}.log" 2>/dev/null)"
	done
	if [ "$strict" = yes ]; then
		failed=$((failed + ${s:-0}))
	else
		skipped=$((skipped + ${s:-0}))
	fi
}

# run_one NAME COMMAND...: one more test program, counted like make check's.
run_one() {
	name=$1
	shift
	note "$name"
	"$@" >"build/$name.log" 2>&1
	rc=$?
	case $rc in
	0) passed=$((passed + 1)) ;;
	77)
		echo "skipped $name: $(grep -m1 '^skip: ' "build/$name.log")"
		if [ "$strict" = yes ]; then failed=$((failed + 1)); else skipped=$((skipped + 1)); fi
		;;
	*)
		tail -n 80 "build/$name.log"
		failed=$((failed + 1))
		;;
	esac
}

# build DIR CONFIGURE-ARGS...: configure, build and run "make check" in DIR.
build() {
	dir=$1
	shift
	note "build $dir ($*)"
	mkdir -p "$dir"
	if ! (cd "$dir" && "$top/configure" -q "$@" && make -s -j"$jobs"); then
		echo "build in $dir failed"
		failed=$((failed + 1))
		return
	fi
	note "make check in $dir"
	(cd "$dir" && make -s -j"$jobs" check) || true
	# Show what failed, in full.
	for t in $(sed -n 's/^FAIL: //p; s/^ERROR: //p' "$dir/test-suite.log" 2>/dev/null); do
		note "log of failed $t"
		cat "$dir/$t.log" 2>/dev/null | tail -n 80
	done
	count "$dir"
}

scripts/install-deps.sh --kernel || { echo "0 passed, 1 failed"; exit 1; }
./autogen.sh >/dev/null 2>&1 || { echo "autogen.sh failed"; echo "0 passed, 1 failed"; exit 1; }

build build
build build-asan --enable-sanitizers

note "make distcheck"
if (cd build && make -s -j"$jobs" distcheck >distcheck.log 2>&1); then
	passed=$((passed + 1))
else
	tail -n 60 build/distcheck.log
	failed=$((failed + 1))
fi

# The kernel pipeline (kernel-patches/ on a qemu-booted kernel) takes 5 to 10
# minutes cold: run it when its inputs changed since its last pass on this
# machine (tests/kernel/ci-should-run.sh), always with KSMTUNED_KERNEL_TESTS=1.
if [ "${KSMTUNED_KERNEL_TESTS:-}" = 1 ] || tests/kernel/ci-should-run.sh; then
	note "make check-kernel"
	if (cd build && make -s check-kernel >check-kernel.log 2>&1); then
		sed -n 's/^KTEST RESULT /kernel pipeline guest tests: /p' build/check-kernel.log | tail -n 1
		passed=$((passed + 1))
		tests/kernel/ci-should-run.sh --record
	else
		tail -n 80 build/check-kernel.log
		failed=$((failed + 1))
	fi
fi

# The Debian package: build it, then upgrade the old ksmtuned with it in a
# throwaway Debian 12 root (tests/package/deb-upgrade.sh).
run_one deb-upgrade tests/package/deb-upgrade.sh

[ "$skipped" -gt 0 ] && echo "$skipped skipped (not root on a real machine: expected)"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
