#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
#
# The Debian package, installed as an admin would: build the .deb from this
# tree, make a throwaway Debian 12 root (debootstrap minbase from this
# machine's apt mirror, cached as a tarball), install Debian's old ksmtuned
# there and edit its /etc/ksmtuned.conf, upgrade it with the new .deb through
# apt, and check the result; then remove and purge it. Nothing of the host
# changes but the cache: every mount and process of the root is gone on every
# exit path (failure and Ctrl-C included).
#
# Exit status: 0 passed, 1 failed, 77 skipped (the line says what is missing).
# KSMTUNED_TEST_CACHE: the cache directory (default /var/cache/ksmtuned-tests).
set -eu

here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
cache=${KSMTUNED_TEST_CACHE:-/var/cache/ksmtuned-tests}
suite=bookworm
tarball=$cache/debootstrap-$suite-minbase-$(dpkg --print-architecture 2>/dev/null || echo unknown).tar
started=$(date +%s)

say() { printf '# %s\n' "$*"; }
skip() { echo "skip: needs $*"; exit 77; }
fail() { echo "failed: $*"; exit 1; }

[ "$(id -u)" -eq 0 ] || skip "root (chroot, mounts)"
for tool in debootstrap dpkg-buildpackage chroot findmnt systemctl; do
	command -v "$tool" >/dev/null || skip "$tool (scripts/install-deps.sh installs it)"
done
if ischroot 2>/dev/null; then
	skip "a real root: this is a chroot already"
fi

work=$(mktemp -d /var/tmp/ksmtuned-deb.XXXXXX)
root=$work/root

# Processes whose root is inside $root, then the mounts, then the files.
cleanup() {
	status=$?
	trap - EXIT INT TERM HUP
	for p in /proc/[0-9]*; do
		r=$(readlink "$p/root" 2>/dev/null) || continue
		case $r in "$root" | "$root"/*) kill -9 "${p#/proc/}" 2>/dev/null || true ;; esac
	done
	if findmnt -rn -o TARGET | grep -q "^$root"; then
		umount -R "$root/proc" 2>/dev/null || true
		umount -R "$root/dev" 2>/dev/null || true
		findmnt -rn -o TARGET | grep "^$root" | sort -r | while read -r m; do umount -l "$m" || true; done
	fi
	if findmnt -rn -o TARGET | grep -q "^$root"; then
		echo "failed: mounts left under $root"
		status=1
	else
		rm -rf "$work"
	fi
	exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 129' HUP

# The Debian mirror this machine's apt uses (deb822 or one-line sources).
mirror() {
	for f in /etc/apt/sources.list.d/*.sources; do
		[ -f "$f" ] || continue
		awk -v s="$suite" '
			/^$/ { if (uri && ok) { print uri; exit } uri = ""; ok = 0 }
			/^URIs:/ { uri = $2 }
			/^Suites:/ { for (i = 2; i <= NF; i++) if ($i == s) ok = 1 }
			END { if (uri && ok) print uri }' "$f"
	done
	cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null |
		awk -v s="$suite" '$1 == "deb" && $3 == s { print $2 }'
}
url=$(mirror | head -n 1)
[ -n "$url" ] || skip "an apt source for Debian $suite in /etc/apt"

# 1. The .deb, from a copy of the tree (the build writes into its source).
say "building the package"
mkdir -p "$work/src"
if git -C "$top" rev-parse --git-dir >/dev/null 2>&1; then
	(cd "$top" && git ls-files -z | tar --null -T - -cf -) | tar -xf - -C "$work/src"
else
	(cd "$top" && tar --exclude='./build*' -cf - .) | tar -xf - -C "$work/src"
fi
(cd "$work/src" && DEB_BUILD_OPTIONS="parallel=$(nproc)" dpkg-buildpackage -b -us -uc >"$work/build.log" 2>&1) ||
	{ tail -n 60 "$work/build.log"; fail "dpkg-buildpackage"; }
deb=$(ls "$work"/ksmtuned_*.deb)
# Unit and fuzz programs only, all passing: nothing that needs the host.
grep -E '^(PASS|FAIL|SKIP|ERROR|XPASS|XFAIL): ' "$work/build.log" |
	grep -v -E '^PASS: tests/(unit|fuzz)/' &&
	fail "the package build ran more than the unit tests, or one failed"
grep -q '^PASS: tests/unit/' "$work/build.log" || fail "the package build ran no unit test"
say "built $(basename "$deb") in $(($(date +%s) - started)) s"
if command -v lintian >/dev/null; then
	lintian --allow-root --fail-on error,warning "$deb" || fail "lintian errors or warnings"
fi

# 2. The throwaway root, from the cached tarball.
if [ ! -s "$tarball" ]; then
	say "no $tarball: debootstrap --variant=minbase $suite from $url"
	mkdir -p "$cache" "$work/boot"
	debootstrap --variant=minbase "$suite" "$work/boot" "$url" >"$work/debootstrap.log" 2>&1 ||
		{ tail -n 30 "$work/debootstrap.log"; fail "debootstrap"; }
	tar -C "$work/boot" -cf "$tarball.tmp" . && mv "$tarball.tmp" "$tarball"
	rm -rf "$work/boot"
fi
mkdir -p "$root"
tar -C "$root" -xf "$tarball"
cp /etc/resolv.conf "$root/etc/resolv.conf"
mount -t proc proc "$root/proc"
mount --rbind /dev "$root/dev"
mount --make-rslave "$root/dev"
# No service starts in the root (no systemd runs there anyway).
printf '#!/bin/sh\nexit 101\n' >"$root/usr/sbin/policy-rc.d"
chmod +x "$root/usr/sbin/policy-rc.d"

in_root() { chroot "$root" env DEBIAN_FRONTEND=noninteractive LC_ALL=C.UTF-8 "$@"; }
apt_opts="-y -q --no-install-recommends -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold"

say "old ksmtuned from $url"
in_root apt-get -q update >"$work/apt.log" 2>&1 || { tail -n 20 "$work/apt.log"; fail "apt-get update in the root"; }
in_root apt-get $apt_opts install ksmtuned >>"$work/apt.log" 2>&1 ||
	{ tail -n 20 "$work/apt.log"; fail "installing the old ksmtuned"; }
old=$(in_root dpkg-query -W -f '${Version}' ksmtuned)
head -n 1 "$root/usr/sbin/ksmtuned" | grep -q '^#!/bin/bash' || fail "the old ksmtuned is not the bash script"

# The admin's edits of both conffiles: every key of the old file set (its
# commented-out lines, LOGFILE and DEBUG included), two of them changed.
sed -i 's/^# *\(KSM_[A-Z_]*=\|LOGFILE=\|DEBUG=\)/\1/' "$root/etc/ksmtuned.conf"
[ "$(grep -c '^[A-Z]' "$root/etc/ksmtuned.conf")" -ge 10 ] || fail "the old ksmtuned.conf has fewer keys than expected"
printf '# edited by the admin\nKSM_NPAGES_MAX=2000\nKSM_THRES_COEF=30\n' >>"$root/etc/ksmtuned.conf"
printf 'KSM_MAX_KERNEL_PAGES=1000\n' >>"$root/etc/default/ksm"
cp "$root/etc/ksmtuned.conf" "$work/edited.conf"
cp "$root/etc/default/ksm" "$work/edited.default"

# 3. The upgrade, with apt as an admin runs it.
cp "$deb" "$root/tmp/"
say "upgrade $old -> $(basename "$deb")"
in_root apt-get $apt_opts install "/tmp/$(basename "$deb")" >>"$work/apt.log" 2>&1 ||
	{ tail -n 30 "$work/apt.log"; fail "apt install of the new package"; }
new=$(in_root dpkg-query -W -f '${Version}' ksmtuned)
dpkg --compare-versions "$new" gt "$old" || fail "installed version $new is not above $old"

cmp -s "$work/edited.conf" "$root/etc/ksmtuned.conf" || fail "the edited /etc/ksmtuned.conf did not survive"
cmp -s "$work/edited.default" "$root/etc/default/ksm" || fail "the edited /etc/default/ksm did not survive"
out=$(in_root /usr/sbin/ksmtuned --test-config 2>&1) || fail "ksmtuned --test-config refuses the kept config: $out"
echo "$out" | grep -q "configuration OK" || fail "ksmtuned --test-config: $out"
head -c 4 "$root/usr/sbin/ksmtuned" | grep -q "ELF" || fail "/usr/sbin/ksmtuned is still the old script"
head -c 4 "$root/usr/sbin/ksmctl" | grep -q "ELF" || fail "/usr/sbin/ksmctl is not a program"
for unit in ksm.service ksmtuned.service; do
	state=$(systemctl --root="$root" is-enabled "$unit" 2>&1) || true
	[ "$state" = enabled ] || fail "systemctl --root is-enabled $unit: $state"
	[ -f "$root/lib/systemd/system/$unit" ] || fail "$unit not in /lib/systemd/system"
	grep -q '^ExecStart=/usr/sbin/' "$root/lib/systemd/system/$unit" || fail "$unit does not run /usr/sbin"
done
# Where Debian 12's dbus-daemon reads policies (system.conf's includedir).
[ -f "$root/usr/share/dbus-1/system.d/org.ksmtuned.Tuner1.conf" ] || fail "bus policy not in /usr/share/dbus-1/system.d"
[ -f "$root/usr/share/ksmtuned/libvirt-hook-qemu" ] || fail "libvirt hook not in /usr/share/ksmtuned"
[ -f "$root/usr/share/bash-completion/completions/ksmctl" ] || fail "no bash completion for ksmctl"
in_root dpkg-query -W -f '${Conffiles}\n' ksmtuned | grep -q ' /etc/default/ksm ' || fail "/etc/default/ksm is not a conffile"
in_root dpkg-query -W -f '${Conffiles}\n' ksmtuned | grep -q ' /etc/ksmtuned.conf ' || fail "/etc/ksmtuned.conf is not a conffile"

# The installed daemon writes its metrics where node_exporter's textfile
# collector reads them (its default, when that directory exists). One dry
# run: /proc/meminfo and the KSM knobs from a copy under --root, no bus.
prom=/var/lib/prometheus/node-exporter/ksmtuned.prom
mkdir -p "$root${prom%/*}" "$root/tmp/fx/proc" "$root/tmp/fx/sys/kernel/mm/ksm"
cp /proc/meminfo "$root/tmp/fx/proc/meminfo"
for f in run pages_to_scan sleep_millisecs pages_shared pages_sharing pages_unshared pages_volatile full_scans; do
	echo 0 >"$root/tmp/fx/sys/kernel/mm/ksm/$f"
done
out=$(in_root /usr/sbin/ksmtuned --once --dry-run --no-bus --root /tmp/fx 2>&1) || fail "ksmtuned --once in the root: $out"
grep -q '^ksmtuned_build_info' "$root$prom" || fail "the installed ksmtuned wrote no metrics to $prom"
: >"$root${prom%/*}/other.prom"

# 4. Remove keeps the admin's files; purge leaves nothing of the package.
in_root dpkg -L ksmtuned >"$work/files"
in_root apt-get $apt_opts remove ksmtuned >>"$work/apt.log" 2>&1 || fail "apt-get remove"
# No daemon updates the metrics any more: node_exporter must not export them.
[ ! -e "$root$prom" ] || fail "apt-get remove left $prom"
[ -e "$root${prom%/*}/other.prom" ] || fail "apt-get remove took another package's metrics file"
cmp -s "$work/edited.conf" "$root/etc/ksmtuned.conf" || fail "apt-get remove did not keep /etc/ksmtuned.conf"
[ ! -e "$root/usr/sbin/ksmtuned" ] || fail "apt-get remove left /usr/sbin/ksmtuned"
in_root dpkg --purge ksmtuned >>"$work/apt.log" 2>&1 || fail "dpkg --purge"
left=
while read -r f; do
	[ -d "$root$f" ] && continue
	if [ -e "$root$f" ] || [ -L "$root$f" ]; then left="$left $f"; fi
done <"$work/files"
[ -z "$left" ] || fail "dpkg --purge left:$left"
links=$(find "$root/etc/systemd/system" -name 'ksm*.service' 2>/dev/null)
[ -z "$links" ] || fail "dpkg --purge left unit links: $links"
[ ! -e "$root/var/lib/systemd/deb-systemd-helper-enabled/ksmtuned.service.dsh-also" ] ||
	fail "dpkg --purge left deb-systemd-helper state"

say "passed in $(($(date +%s) - started)) s"
