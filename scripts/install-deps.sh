#!/bin/sh
# Install every Debian 12 package needed to build, test and benchmark ksmtuned.
# Safe to re-run: apt-get skips what is already installed.
#
#   scripts/install-deps.sh            build + test dependencies
#   scripts/install-deps.sh --kernel   also what the kernel-patch pipeline needs
#   scripts/install-deps.sh --fuzz     also clang and libFuzzer for "make fuzz"
set -eu

if [ "$(id -u)" -ne 0 ]; then
	echo "install-deps.sh: must run as root (apt-get install)" >&2
	exit 1
fi

packages="build-essential autoconf automake libtool pkg-config
	libsystemd-dev libproc2-dev libvirt-dev libcmocka-dev bash-completion
	dbus systemd libvirt-daemon libvirt-daemon-driver-qemu libvirt-clients
	qemu-system-x86 mandoc gnuplot-nox python3 procps util-linux valgrind
	libseccomp2 prometheus prometheus-node-exporter python3-yaml
	dpkg-dev debhelper fakeroot lintian debootstrap equivs"

# "make fuzz" only: libFuzzer comes with clang's runtime libraries.
fuzz_packages="clang-14 libclang-rt-14-dev"

kernel_packages="linux-source-6.12 bc flex bison libelf-dev libssl-dev cpio
	busybox-static ccache xz-utils"

for opt in "$@"; do
	case "$opt" in
	--kernel) packages="$packages $kernel_packages" ;;
	--fuzz) packages="$packages $fuzz_packages" ;;
	*) echo "install-deps.sh: unknown option '$opt' (--kernel, --fuzz)" >&2; exit 2 ;;
	esac
done

export DEBIAN_FRONTEND=noninteractive
apt_opts="-y -o DPkg::Lock::Timeout=600"

# A fresh machine has empty package lists; refresh them when any package is
# missing so that a re-run on a complete machine stays offline and quick.
missing=
for p in $packages; do
	dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q '^install ok installed$' ||
		missing="$missing $p"
done
if [ -n "$missing" ]; then
	apt-get $apt_opts update
	# shellcheck disable=SC2086
	apt-get $apt_opts install --no-install-recommends $missing
else
	echo "install-deps.sh: all packages present"
fi

# libvirtd refuses to start without this user even when qemu.conf says root.
if ! getent passwd libvirt-qemu >/dev/null; then
	useradd -r -U -M -s /usr/sbin/nologin libvirt-qemu
fi
