#!/bin/bash
# Build Debian's linux-source-6.12 with kernel-patches/ applied, boot it
# under qemu (TCG) with an initramfs of busybox and the static guest tests,
# and report the guest's KTEST lines.  Exits 0 only if every test passed.
#
#   tests/kernel/run.sh [test-name...]
#
# Test names (see tests/kernel/guest/ksm-test.c) restrict the guest run.
# Environment:
#   KSMTUNED_KERNEL_CACHE    work directory, reused between runs
#                            (default: ${TMPDIR:-/var/tmp}/ksmtuned-kernel)
#   KSMTUNED_KERNEL_SOURCE   kernel tarball
#                            (default: /usr/src/linux-source-6.12.tar.xz)
#   KSMTUNED_KERNEL_JOBS     make -j (default: nproc)
#   KSMTUNED_KERNEL_TIMEOUT  seconds before the VM counts as hung (default 600)
#   KSMTUNED_KERNEL_IMAGE    boot this bzImage instead of building one
#   KSMTUNED_KERNEL_TREE     patched source for the selftest (default: the
#                            build tree; needed with KSMTUNED_KERNEL_IMAGE)
#   KSMTUNED_GUEST_BIN       a built ksmtuned to run once in the guest
#   KSMTUNED_GUEST_CONF      its config file (default: a generated one)
#   KSMTUNED_KERNEL_APPEND   extra kernel command line arguments
#   KSMTUNED_KERNEL_VERBOSE  1: copy the whole serial console to stdout
#
# Exit status: 0 all passed, 1 a test failed (or panic, hang, no result),
# 2 the pipeline could not build or boot.
set -euo pipefail

top=$(cd "$(dirname "$0")/../.." && pwd)
here=$top/tests/kernel
patches=$top/kernel-patches

cache=${KSMTUNED_KERNEL_CACHE:-${TMPDIR:-/var/tmp}/ksmtuned-kernel}
tarball=${KSMTUNED_KERNEL_SOURCE:-/usr/src/linux-source-6.12.tar.xz}
jobs=${KSMTUNED_KERNEL_JOBS:-$(nproc)}
timeout_s=${KSMTUNED_KERNEL_TIMEOUT:-600}
image=${KSMTUNED_KERNEL_IMAGE:-}
guest_bin=${KSMTUNED_GUEST_BIN:-}
guest_conf=${KSMTUNED_GUEST_CONF:-}
verbose=${KSMTUNED_KERNEL_VERBOSE:-0}
extra_append=${KSMTUNED_KERNEL_APPEND:-}

src=$cache/linux
# The patched source the selftest comes from (the build tree unless booting
# a given image built elsewhere)
ksrc=${KSMTUNED_KERNEL_TREE:-$src}
selftest=tools/testing/selftests/mm/ksm_remote_tests.c
log() { printf 'kernel-test: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 2; }

# Seconds spent in each phase, printed at the end
timings=()
phase_start() { phase_t0=$SECONDS; }
phase_end() { timings+=("$1 $((SECONDS - phase_t0))s"); }

check_tools() {
	local t
	for t in gcc make tar patch qemu-system-x86_64 timeout sha256sum ldd flock; do
		command -v "$t" >/dev/null || die "missing tool: $t (scripts/install-deps.sh --kernel)"
	done
	[ -x /bin/busybox ] || die "missing /bin/busybox (package busybox-static)"
	file_is_static /bin/busybox || die "/bin/busybox is not static (package busybox-static)"
}

file_is_static() {
	! ldd "$1" >/dev/null 2>&1
}

# Identity of the patched source: the tarball (Debian package version when
# it is the packaged one), the series and every patch in it.
series_hash() {
	local ver p
	ver=$(dpkg-query -W -f='${Version}' linux-source-6.12 2>/dev/null || true)
	{
		printf 'source %s %s %s\n' "$tarball" "$ver" "$(stat -c '%s %Y' "$tarball")"
		while read -r p; do
			case $p in ''|'#'*) continue ;; esac
			printf 'patch %s\n' "$p"
			cat "$patches/$p"
		done <"$patches/series"
	} | sha256sum | cut -d' ' -f1
}

prepare_source() {
	local want p
	[ -r "$tarball" ] || die "no kernel source at $tarball (package linux-source-6.12)"
	[ -r "$patches/series" ] || die "no $patches/series"
	want=$(series_hash)
	if [ -f "$src/Makefile" ] && [ "$(cat "$cache/source.stamp" 2>/dev/null)" = "$want" ]; then
		log "source: reusing $src (series $want)"
		return
	fi
	log "source: extracting $tarball into $src"
	phase_start
	rm -rf "$src" "$src.new" "$cache/source.stamp" "$cache/config.stamp"
	mkdir -p "$src.new"
	tar -xf "$tarball" -C "$src.new" --strip-components=1
	phase_end extract
	while read -r p; do
		case $p in ''|'#'*) continue ;; esac
		log "source: applying $p"
		patch -d "$src.new" -p1 --batch --forward --quiet <"$patches/$p" ||
			die "$p does not apply"
	done <"$patches/series"
	mv "$src.new" "$src"
	printf '%s\n' "$want" >"$cache/source.stamp"
}

# tinyconfig + config.fragment; every option of the fragment must survive
# olddefconfig, or a dependency is missing and the tests would mislead.
configure() {
	local want line sym
	want=$( (cat "$cache/source.stamp" "$here/config.fragment") | sha256sum | cut -d' ' -f1)
	if [ -f "$src/.config" ] && [ "$(cat "$cache/config.stamp" 2>/dev/null)" = "$want" ]; then
		return
	fi
	log "config: tinyconfig + tests/kernel/config.fragment"
	make -C "$src" -s tinyconfig >"$cache/config.log" 2>&1 || die "make tinyconfig failed (see $cache/config.log)"
	(cd "$src" && scripts/kconfig/merge_config.sh -m .config "$here/config.fragment") \
		>>"$cache/config.log" 2>&1 || die "merge_config.sh failed (see $cache/config.log)"
	make -C "$src" -s olddefconfig >>"$cache/config.log" 2>&1 || die "make olddefconfig failed"
	while read -r line; do
		case $line in
		CONFIG_*=*) grep -qxF "$line" "$src/.config" ||
			die "config: '$line' did not survive olddefconfig (unmet dependency?)" ;;
		'# CONFIG_'*' is not set')
			sym=${line#\# }; sym=${sym%% *}
			! grep -q "^$sym=" "$src/.config" || die "config: $sym could not be disabled" ;;
		esac
	done <"$here/config.fragment"
	printf '%s\n' "$want" >"$cache/config.stamp"
}

build_kernel() {
	local cc=gcc
	command -v ccache >/dev/null && cc="ccache gcc"
	log "build: make -j$jobs CC=\"$cc\" bzImage (log: $cache/build.log)"
	phase_start
	if ! make -C "$src" -j"$jobs" CC="$cc" bzImage >"$cache/build.log" 2>&1; then
		tail -n 40 "$cache/build.log" >&2
		die "kernel build failed (see $cache/build.log)"
	fi
	phase_end build
	image=$src/arch/x86/boot/bzImage
}

build_guest_programs() {
	local cflags="-static -O2 -Wall -Wextra -Wshadow -Wformat=2 -Wmissing-prototypes -Werror"
	mkdir -p "$cache/guest"
	# shellcheck disable=SC2086
	# The shared files it uses, as the daemon builds them; fileio.c wants a
	# config.h, which has nothing to say here beyond _GNU_SOURCE.
	echo '#define _GNU_SOURCE 1' >"$cache/guest/config.h"
	gcc $cflags -I "$top/src/shared" -I "$cache/guest" -o "$cache/guest/ksm-test" \
		"$here/guest/ksm-test.c" "$here/guest/ktest.c" "$top/src/shared/ksm-merge-any.c" \
		"$top/src/shared/fileio.c" "$top/src/shared/parse-util.c" ||
		die "cannot build the guest tests"
	# shellcheck disable=SC2086
	gcc $cflags -o "$cache/guest/ktest-exit" "$here/guest/ktest-exit.c" ||
		die "cannot build ktest-exit"
	gcc $cflags -o "$cache/guest/ksm-victim" "$here/guest/ksm-victim.c" ||
		die "cannot build ksm-victim"
	# The series' kernel selftest, from the patched tree (kselftest.h is
	# header-only), built as the selftests Makefile would but static.
	[ -f "$ksrc/$selftest" ] || die "no $ksrc/$selftest (KSMTUNED_KERNEL_TREE: the patched source)"
	gcc -static -O2 -Wall -Werror -I "$ksrc/tools/testing/selftests" \
		-o "$cache/guest/ksm_remote_tests" "$ksrc/$selftest" ||
		die "cannot build $selftest"
}

# Copy a dynamically linked program with its libraries and loader.
add_dynamic_program() {
	local bin=$1 dest=$2 root=$3 lib
	install -D -m 0755 "$bin" "$root$dest"
	# "libx.so => /path (addr)" and the loader's "/lib64/ld-... (addr)"
	ldd "$bin" | awk '/=> \// { print $3 } /^[[:space:]]*\// { print $1 }' |
		while read -r lib; do
			install -D -m 0755 "$(readlink -f "$lib")" "$root$lib"
		done
}

default_guest_conf() {
	cat <<-'EOF'
	# Written by tests/kernel/run.sh: the old script's defaults
	KSM_MONITOR_INTERVAL=60
	KSM_SLEEP_MSEC=10
	KSM_NPAGES_BOOST=300
	KSM_NPAGES_DECAY=-50
	KSM_NPAGES_MIN=64
	KSM_NPAGES_MAX=1250
	KSM_THRES_COEF=20
	KSM_THRES_CONST=2048
	EOF
}

# The kernel's usr/gen_init_cpio, from the build tree or, when booting a
# given image, from the tarball alone.
build_gen_init_cpio() {
	local c=$src/usr/gen_init_cpio.c
	if [ ! -f "$c" ] && [ -x "$cache/gen_init_cpio" ]; then
		return
	fi
	if [ ! -f "$c" ]; then
		mkdir -p "$cache/gen"
		tar -xf "$tarball" -C "$cache/gen" --strip-components=2 --wildcards \
			'*/usr/gen_init_cpio.c' || die "cannot get usr/gen_init_cpio.c from $tarball"
		c=$cache/gen/gen_init_cpio.c
	fi
	gcc -O2 -o "$cache/gen_init_cpio" "$c" || die "cannot build gen_init_cpio"
}

# An initramfs listed for the kernel's own gen_init_cpio: no root needed
# for /dev/console, and every file owned by root in the guest.
build_initramfs() {
	local root=$cache/initramfs cpio_list=$cache/initramfs.list p rel mode d
	rm -rf "$root"
	for d in bin sbin usr/bin usr/sbin etc proc sys dev tmp run root; do
		mkdir -p "$root/$d"
	done
	install -m 0755 /bin/busybox "$root/bin/busybox"
	ln -s busybox "$root/bin/sh"
	install -m 0755 "$here/guest/init" "$root/init"
	install -m 0755 "$cache/guest/ksm-test" "$cache/guest/ktest-exit" "$cache/guest/ksm-victim" \
		"$cache/guest/ksm_remote_tests" "$root/bin/"
	printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n' \
		>"$root/etc/passwd"
	printf 'root:x:0:\nnogroup:x:65534:\n' >"$root/etc/group"
	if [ -n "$guest_bin" ]; then
		[ -x "$guest_bin" ] || die "KSMTUNED_GUEST_BIN=$guest_bin is not an executable"
		log "initramfs: adding $guest_bin as /usr/sbin/ksmtuned"
		if file_is_static "$guest_bin"; then
			install -D -m 0755 "$guest_bin" "$root/usr/sbin/ksmtuned"
		else
			add_dynamic_program "$guest_bin" /usr/sbin/ksmtuned "$root"
		fi
		if [ -n "$guest_conf" ]; then
			install -m 0644 "$guest_conf" "$root/etc/ksmtuned.conf"
		else
			default_guest_conf >"$root/etc/ksmtuned.conf"
		fi
	fi

	build_gen_init_cpio
	{
		echo "nod /dev/console 0600 0 0 c 5 1"
		(cd "$root" && find . -mindepth 1 | LC_ALL=C sort) | while read -r p; do
			rel=${p#.}
			if [ -L "$root$rel" ]; then
				echo "slink $rel $(readlink "$root$rel") 0777 0 0"
			elif [ -d "$root$rel" ]; then
				echo "dir $rel $(stat -c %a "$root$rel") 0 0"
			else
				mode=$(stat -c %a "$root$rel")
				echo "file $rel $root$rel $mode 0 0"
			fi
		done
	} >"$cpio_list"
	"$cache/gen_init_cpio" "$cpio_list" >"$cache/initramfs.cpio" ||
		die "gen_init_cpio failed"
}

boot() {
	local only="" rc append
	if [ $# -gt 0 ]; then
		only=" ktest.only=$(IFS=,; echo "$*")"
	fi
	# panic=-1 with -no-reboot: a panic ends qemu at once with status 0
	# ktest.run=1 lets ksm-test run: it rewrites the global KSM settings
	append="console=ttyS0 panic=-1 oops=panic loglevel=4 ktest.run=1$only${extra_append:+ $extra_append}"
	log "boot: qemu-system-x86_64 -accel tcg (timeout ${timeout_s}s, console: $cache/console.log)"
	phase_start
	# In the background so that a signal to this script stops the VM too
	# (timeout(1) puts itself and qemu in their own process group).
	# Two NUMA nodes, one CPU and 256 MiB each: merge_across_nodes matters
	timeout -k 10 "$timeout_s" qemu-system-x86_64 -accel tcg \
		-cpu max -smp 2,sockets=2 -m 512M \
		-object memory-backend-ram,id=m0,size=256M -object memory-backend-ram,id=m1,size=256M \
		-numa node,nodeid=0,cpus=0,memdev=m0 -numa node,nodeid=1,cpus=1,memdev=m1 \
		-nographic -no-reboot -kernel "$image" -initrd "$cache/initramfs.cpio" \
		-append "$append" -device isa-debug-exit,iobase=0xf4,iosize=0x04 \
		</dev/null >"$cache/console.log" 2>&1 &
	vm_pid=$!
	trap 'kill -TERM "$vm_pid" 2>/dev/null; exit 2' INT TERM HUP
	if [ "$verbose" = 1 ]; then
		tail -n +1 -f --pid="$vm_pid" "$cache/console.log" &
	fi
	set +e
	wait "$vm_pid"
	rc=$?
	set -e
	trap - INT TERM HUP
	wait	# for tail
	phase_end boot+tests
	qemu_rc=$rc
}

report() {
	local result fails=0
	tr -d '\r' <"$cache/console.log" >"$cache/console.txt"
	grep -E '^KTEST (PASS|FAIL|SKIP)' "$cache/console.txt" || true
	result=$(grep -E '^KTEST RESULT [0-9]+ passed, [0-9]+ failed$' "$cache/console.txt" | tail -n 1 || true)

	if grep -q 'Kernel panic' "$cache/console.txt"; then
		log "FAIL: kernel panic"
		fails=1
	fi
	case $qemu_rc in
	1) ;;
	3) fails=1 ;;
	124|137) log "FAIL: timeout: no result within ${timeout_s}s"; fails=1 ;;
	0) log "FAIL: the VM stopped without reporting through isa-debug-exit (panic or poweroff)"; fails=1 ;;
	*) log "FAIL: qemu exited with status $qemu_rc"; fails=1 ;;
	esac
	if [ -z "$result" ]; then
		log "FAIL: no 'KTEST RESULT' line on the console"
		fails=1
	else
		echo "$result"
		case $result in
		*" 0 failed") ;;
		*) fails=1 ;;
		esac
	fi
	if [ "$fails" != 0 ]; then
		log "last console lines ($cache/console.log):"
		tail -n 60 "$cache/console.txt" >&2
	fi
	return "$fails"
}

main() {
	local status=0
	check_tools
	mkdir -p "$cache"
	# One run per cache directory at a time
	exec 9>"$cache/lock"
	if ! flock -n 9; then
		log "waiting for another run.sh using $cache"
		flock 9
	fi
	if [ -z "$image" ]; then
		prepare_source
		configure
		build_kernel
	else
		[ -r "$image" ] || die "KSMTUNED_KERNEL_IMAGE=$image not readable"
	fi
	build_guest_programs
	build_initramfs
	boot "$@"
	report || status=1
	log "timings: ${timings[*]}"
	if [ "$status" = 0 ]; then
		log "PASS"
	else
		log "FAIL"
	fi
	return "$status"
}

main "$@"
