#!/usr/bin/env bash
# deps.sh: installs what building and testing tralivali-backup needs on a Debian machine, and
# skips whatever is already there.  Debian packages go through apt-get (with sudo unless root);
# FerretDB, mongo-tools, Azurite and the az CLI go into $TV_DEPS_DIR (default ~/.cache/tralivali-backup).
#
#   tests/deps.sh           build and test dependencies
#   tests/deps.sh --build   only what ./configure && make need
set -euo pipefail

TV_DEPS_DIR=${TV_DEPS_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/tralivali-backup}
FERRETDB_VERSION=v1.24.2
# mongo-tools release tags are not Go module versions, and the module proxy serves this
# commit (r100.12.x line, July 2025) as a pseudo-version; the checksum database does not
# list it, hence GONOSUMDB for this one module.
MONGO_TOOLS_VERSION=v0.0.0-20250715155915-887641268977
TOXIPROXY_VERSION=v2.12.0

BUILD_PACKAGES=(autoconf automake libtool make gcc pkg-config
	libbson-dev libmongoc-dev zlib1g-dev libdeflate-dev libcurl4-openssl-dev libssl-dev libexpat1-dev
	libmicrohttpd-dev)
TEST_PACKAGES=(bats curl openssl pigz gzip groff-base time hyperfine shellcheck jq cron
	golang-go npm chromium postgresql python3-venv)
# systemd-analyze checks the units (tests/tv-install.bats); the rest builds and checks the Debian
# package (tests/deb.bats).
TEST_PACKAGES+=(systemd debhelper lintian fakeroot)

log() { printf 'deps: %s\n' "$*" >&2; }

as_root() {
	if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

install_debian_packages() {
	local missing=()
	for p in "$@"; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
	done
	# A machine with its own Go or Node need not have Debian's.
	command -v go >/dev/null && missing=("${missing[@]/golang-go/}")
	command -v npm >/dev/null && missing=("${missing[@]/npm/}")
	read -r -a missing <<<"${missing[*]}"
	[ "${#missing[@]}" -eq 0 ] && return 0
	log "apt-get install ${missing[*]}"
	as_root apt-get update -qq
	as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

# FerretDB reads its version from a file its release process writes, which the module
# archive lacks; building from a copy of the module with that file added fixes it.
install_ferretdb() {
	[ -x "$TV_DEPS_DIR/bin/ferretdb" ] && return 0
	log "building FerretDB $FERRETDB_VERSION"
	local src work
	src=$(go mod download -json "github.com/FerretDB/FerretDB@$FERRETDB_VERSION" | sed -n 's/^\t"Dir": "\(.*\)",$/\1/p')
	work=$(mktemp -d)
	cp -r "$src/." "$work"
	chmod -R u+w "$work"
	echo "$FERRETDB_VERSION" >"$work/build/version/version.txt"
	(cd "$work" && go build -o "$TV_DEPS_DIR/bin/ferretdb" ./cmd/ferretdb)
	rm -rf "$work"
}

# Every mongo-tools command is a package named main, so each gets its own GOBIN.
install_mongo_tools() {
	local t missing=()
	for t in bsondump mongodump mongorestore; do
		[ -x "$TV_DEPS_DIR/bin/$t" ] || missing+=("$t")
	done
	[ "${#missing[@]}" -eq 0 ] && return 0
	log "building mongo-tools (${missing[*]})"
	local work
	work=$(mktemp -d)
	cat >"$work/go.mod" <<MOD
module tvmongotools

go 1.22

require github.com/mongodb/mongo-tools $MONGO_TOOLS_VERSION
MOD
	printf '//go:build tools\n\npackage tvmongotools\n\nimport (\n\t_ "github.com/mongodb/mongo-tools/bsondump/main"\n\t_ "github.com/mongodb/mongo-tools/mongodump/main"\n\t_ "github.com/mongodb/mongo-tools/mongorestore/main"\n)\n' >"$work/tools.go"
	(
		cd "$work"
		export GONOSUMDB=github.com/mongodb/mongo-tools GOFLAGS=-mod=mod
		go mod tidy >/dev/null 2>&1 || true
		go mod download github.com/mongodb/mongo-tools
		for t in "${missing[@]}"; do
			mkdir -p "$work/gobin-$t"
			GOBIN="$work/gobin-$t" go install "github.com/mongodb/mongo-tools/$t/main"
			mv "$work/gobin-$t/main" "$TV_DEPS_DIR/bin/$t"
		done
	)
	rm -rf "$work"
}

# toxiproxy cuts, slows and stalls TCP connections between the blob tools and Azurite.
install_toxiproxy() {
	[ -x "$TV_DEPS_DIR/bin/toxiproxy-server" ] && return 0
	log "building toxiproxy $TOXIPROXY_VERSION"
	local work
	work=$(mktemp -d)
	GOBIN="$work" go install "github.com/Shopify/toxiproxy/v2/cmd/server@$TOXIPROXY_VERSION"
	mv "$work/server" "$TV_DEPS_DIR/bin/toxiproxy-server"
	rm -rf "$work"
}

# libFuzzer comes with the runtime package of the release's clang (libclang-rt-14-dev on Debian 12).
install_fuzzer() {
	install_debian_packages clang
	install_debian_packages "libclang-rt-$(clang -dumpversion | cut -d. -f1)-dev"
}

install_azurite() {
	command -v azurite-blob >/dev/null && return 0
	[ -x "$TV_DEPS_DIR/node_modules/.bin/azurite-blob" ] && return 0
	log "installing Azurite from npm"
	npm install --prefix "$TV_DEPS_DIR" --no-audit --no-fund --silent azurite >/dev/null
}

# puppeteer-core drives Debian's chromium for the dashboard test; it downloads no browser itself.
install_puppeteer() {
	[ -d "$TV_DEPS_DIR/node_modules/puppeteer-core" ] && return 0
	log "installing puppeteer-core from npm"
	npm install --prefix "$TV_DEPS_DIR" --no-audit --no-fund --silent puppeteer-core >/dev/null
}

# Microsoft's az CLI (pip's azure-cli, about a minute and 700 MB) runs the README's by-hand guide
# in tests/tv-az-guide.bats, which skips, saying so, when it could not be installed here.
install_azure_cli() {
	[ -x "$TV_DEPS_DIR/azure-cli/bin/az" ] && return 0
	log "installing azure-cli from PyPI into $TV_DEPS_DIR/azure-cli"
	if ! { python3 -m venv "$TV_DEPS_DIR/azure-cli" &&
		"$TV_DEPS_DIR/azure-cli/bin/pip" install -q --disable-pip-version-check azure-cli >/dev/null; }; then
		rm -rf "$TV_DEPS_DIR/azure-cli"
		log "azure-cli could not be installed: tests/tv-az-guide.bats will skip"
	fi
}

main() {
	mkdir -p "$TV_DEPS_DIR/bin"
	if [ "${1:-}" = --build ]; then
		install_debian_packages "${BUILD_PACKAGES[@]}"
		return 0
	fi
	install_debian_packages "${BUILD_PACKAGES[@]}" "${TEST_PACKAGES[@]}"
	export PATH="$PATH:/usr/local/go/bin"
	install_ferretdb
	install_mongo_tools
	install_azurite
	install_puppeteer
	install_azure_cli
	install_toxiproxy
	install_fuzzer
	log "ready: $TV_DEPS_DIR"
}

main "$@"
