#!/bin/sh
# Builds every guests/bpf/*.bpf.c into target/bpf/*.bpf.o (CO-RE objects for
# the examples and tests). The vmlinux.h they include is dumped from the
# running kernel's BTF once; delete target/bpf/vmlinux.h to refresh it.
#
#   guests/bpf/build.sh            # from anywhere
#   CLANG=clang-20 guests/bpf/build.sh
set -eu

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
out="$repo/target/bpf"
clang=${CLANG:-clang-19}

die() { echo "guests/bpf/build.sh: $*" >&2; exit 1; }

command -v "$clang" >/dev/null 2>&1 ||
	die "$clang not found; install clang (e.g. apt-get install clang-19) or set CLANG"

# bpf_tracing.h needs the architecture to read registers in BPF_PROG & co.
case $(uname -m) in
	x86_64) arch=x86 ;;
	aarch64 | arm64) arch=arm64 ;;
	armv7* | arm*) arch=arm ;;
	riscv64) arch=riscv ;;
	s390x) arch=s390 ;;
	ppc64le | ppc64) arch=powerpc ;;
	loongarch64) arch=loongarch ;;
	*) die "unsupported architecture $(uname -m)" ;;
esac

mkdir -p "$out"
if [ ! -s "$out/vmlinux.h" ]; then
	command -v bpftool >/dev/null 2>&1 ||
		die "bpftool not found; install it (e.g. apt-get install bpftool) to generate vmlinux.h"
	[ -r /sys/kernel/btf/vmlinux ] ||
		die "/sys/kernel/btf/vmlinux is missing; the kernel needs CONFIG_DEBUG_INFO_BTF"
	bpftool btf dump file /sys/kernel/btf/vmlinux format c > "$out/vmlinux.h.tmp"
	mv "$out/vmlinux.h.tmp" "$out/vmlinux.h"
fi

# build SOURCE OBJECT [CLANG FLAGS...]
build() {
	src=$1 obj=$2
	shift 2
	echo "  BPF  $obj"
	"$clang" -target bpf -g -O2 "-D__TARGET_ARCH_$arch" -I "$out" "$@" -c "$src" -o "$obj"
}

for src in "$here"/*.bpf.c; do
	build "$src" "$out/$(basename "$src" .c).o"
done
# Variant for `make bench`: 512-byte records, and a ring that holds a
# burst of 100 000 of them.
build "$here/burst.bpf.c" "$out/burst512.bpf.o" -DRECORD_SIZE=512 "-DRING_SIZE=(64 * 1024 * 1024)"
