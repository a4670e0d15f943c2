#!/usr/bin/env bash
# build.sh: builds the libFuzzer harnesses (fuzz/fuzz-*.c) with clang, AddressSanitizer and
# UndefinedBehaviorSanitizer, apart from the tools' own build.  `make fuzz` runs it.
#
#   fuzz/build.sh [outdir]      (default: build/fuzz/bin beside this tree)
#
# libtv (common/*.c) is compiled afresh with coverage instrumentation, with log.c's tv_fatal
# renamed so that fuzz.c's, which jumps back to the harness, takes its place.  CC defaults
# to clang; the libraries are found with pkg-config, as configure finds them.
set -euo pipefail

src=$(cd "$(dirname "$0")/.." && pwd)
out=${1:-$src/build/fuzz/bin}
cc=${FUZZ_CC:-clang}
command -v "$cc" >/dev/null || { echo "build.sh: $cc not found: install clang (tests/deps.sh)" >&2; exit 69; }

pkgs=(libbson-1.0 libmongoc-1.0 zlib libdeflate libcurl openssl expat)
read -r -a pkg_cflags <<<"$(pkg-config --cflags "${pkgs[@]}")"
read -r -a pkg_libs <<<"$(pkg-config --libs "${pkgs[@]}")"
sanitizers=address,undefined
cflags=(-g -O1 -fno-omit-frame-pointer -fsanitize="$sanitizers" -fno-sanitize-recover=undefined
	-D_GNU_SOURCE -I"$src/common" -I"$src/fuzz" "${pkg_cflags[@]}")

mkdir -p "$out/obj"
rm -f "$out/obj/"*.o "$out/libtvfuzz.a"
for c in "$src"/common/*.c "$src/fuzz/fuzz.c"; do
	o=$out/obj/$(basename "${c%.c}").o
	extra=()
	[ "$(basename "$c")" != log.c ] || extra=(-Dtv_fatal=tv_fatal_exits -Dtv_fatal_errno=tv_fatal_errno_exits)
	"$cc" "${cflags[@]}" "${extra[@]}" -fsanitize=fuzzer-no-link -c "$c" -o "$o"
done
ar rcs "$out/libtvfuzz.a" "$out/obj/"*.o

for h in "$src"/fuzz/fuzz-*.c; do
	name=$(basename "${h%.c}")
	echo "  FUZZ     $name" >&2
	"$cc" "${cflags[@]}" -fsanitize=fuzzer "$h" "$out/libtvfuzz.a" "${pkg_libs[@]}" -lpthread -o "$out/$name"
done
