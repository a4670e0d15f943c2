# tv-lib.sh: what the tralivali-backup flows share: logging in libtv's layout, exit codes,
# the clock (TV_NOW), the run lock, a work directory, and reading manifests from the store.
# Sourced by scripts/tv-*; not a command.
# shellcheck shell=bash

# The constants below are for the scripts that source this file.
# shellcheck disable=SC2034

# sysexits(3), as design.md uses them.
readonly EX_USAGE=64 EX_DATAERR=65 EX_NOINPUT=66 EX_UNAVAILABLE=69 EX_TEMPFAIL=75 EX_NOPERM=77
# The collections the TralliValli service keeps, in the seed's order.
readonly TV_COLLECTIONS=(users conversations messages invites files)
# Blob names: backups/{YYYY-MM-DD}/tralivali_{collection}.bson.gz, as the seed wrote them.
readonly TV_BACKUP_ROOT=backups
readonly TV_SAFETY_ROOT=safety

TV_PROG=${0##*/}
TV_VERBOSE=${TV_VERBOSE:-0}

# Logs one line on stderr in libtv's layout: [YYYY-MM-DD HH:MM:SS LVL] message.
tv__log() {
	local tag=$1
	shift
	printf '[%s %s] %s\n' "$(date -u '+%Y-%m-%d %H:%M:%S')" "$tag" "$*" >&2
}

# Applies a script's -q (errors only) or -v (debug lines too) option.
tv_verbosity_option() {
	case $1 in
	-q) TV_VERBOSE=-1 ;;
	-v) TV_VERBOSE=1 ;;
	esac
}

# Logs an information line (hidden by -q).
tv_info() { [ "$TV_VERBOSE" -lt 0 ] || tv__log INF "$*"; }
# Logs a debug line (shown by -v).
tv_debug() { [ "$TV_VERBOSE" -lt 1 ] || tv__log DBG "$TV_PROG: $*"; }
# Logs a warning prefixed by the program name.
tv_warn() { tv__log WRN "$TV_PROG: $*"; }
# Logs an error prefixed by the program name.
tv_error() { tv__log ERR "$TV_PROG: $*"; }
# Logs an error and exits with the given status.
tv_die() {
	local status=$1
	shift
	tv_error "$*"
	exit "$status"
}

# Prints the status that explains a failed pipeline (pass "${PIPESTATUS[@]}"), or 0: the first
# nonzero one, passing over 141 (SIGPIPE), which an upstream stage gets when a later one dies.
tv_pipe_status() {
	local s first=0
	for s in "$@"; do
		if [ "$s" -ne 0 ] && [ "$s" -ne 141 ]; then
			echo "$s"
			return 0
		fi
		[ "$first" -ne 0 ] || first=$s
	done
	echo "$first"
}

# Prints the seconds since $1 (a date +%s.%N value) with two decimals.
tv_elapsed() { awk -v s="$1" -v e="$(date +%s.%N)" 'BEGIN { printf "%.2f", e - s }'; }

# Prints the current time as seconds since the epoch, or TV_NOW's (ISO-8601) when set.
tv_now() {
	if [ -n "${TV_NOW:-}" ]; then
		tv_epoch "$TV_NOW" || tv_die "$EX_USAGE" "TV_NOW: not an ISO-8601 time: $TV_NOW"
	else
		date -u +%s
	fi
}

# Prints an ISO-8601 time (2024-01-15, 2024-01-15T03:00Z, 2024-01-15T03:00:00Z) as epoch seconds.
tv_epoch() {
	[[ $1 =~ ^[0-9]{4}-[0-9]{2}-[0-9]{2}([T\ ][0-9]{2}:[0-9]{2}(:[0-9]{2}(\.[0-9]+)?)?(Z|[+-][0-9]{2}:?[0-9]{2})?)?$ ]] || return 1
	TZ=UTC date -d "$1" +%s 2>/dev/null
}

# Prints epoch seconds $1 in the given date(1) format, in UTC.
tv_utc() { date -u -d "@$1" "+$2"; }

# Prints a fresh 24-hex-digit ObjectId-like id: seconds since the epoch, then random bytes.
tv_object_id() {
	printf '%08x%s\n' "$(tv_now)" "$(od -An -tx1 -N8 /dev/urandom | tr -d ' \n')"
}

# Loads KEY=VALUE lines (systemd EnvironmentFile style, # comments, optional quotes) into the environment.
tv_load_env_file() {
	local file=$1 line key value
	[ -r "$file" ] || tv_die "$EX_NOINPUT" "cannot read environment file $file"
	while IFS= read -r line || [ -n "$line" ]; do
		line=${line#"${line%%[![:space:]]*}"}
		[[ -z $line || $line == \#* ]] && continue
		line=${line#export }
		[[ $line =~ ^([A-Za-z_][A-Za-z0-9_]*)=(.*)$ ]] || tv_die "$EX_USAGE" "$file: not KEY=VALUE: $line"
		key=${BASH_REMATCH[1]}
		value=${BASH_REMATCH[2]}
		if [[ $value =~ ^\"(.*)\"$ || $value =~ ^\'(.*)\'$ ]]; then
			value=${BASH_REMATCH[1]}
		fi
		export "$key=$value"
	done <"$file"
	tv_scope_secrets
}

# The secrets, and the commands each may reach (design.md: secrets reach only the processes that
# use them).  Their *_FILE forms are paths, not secrets, and stay in the environment.
readonly TV_MONGO_SECRETS=(MONGODB_URI)
readonly TV_STORE_SECRETS=(BACKUP_BLOB_STORAGE_CONNECTION_STRING BACKUP_PRUNE_CONNECTION_STRING
	BACKUP_RESTORE_CONNECTION_STRING)
readonly TV_ALL_SECRETS=("${TV_MONGO_SECRETS[@]}" "${TV_STORE_SECRETS[@]}")
# Tools that talk to MongoDB, tools that talk to the blob store, and flows (which hand both on
# to their own stages).  Any other command (tv-gzip, tv-crypt, jq, ...) gets neither.
readonly TV_MONGO_TOOLS=(tv-dbcheck tv-export tv-oplog tv-replay tv-restore)
readonly TV_STORE_TOOLS=(tv-blob-get tv-blob-ls tv-blob-put tv-catalog tv-prune tv-state)
readonly TV_FLOWS=(tv-backup tv-list tv-pitr tv-recover tv-rehearse tv-status tv-verify)

# Keeps the secrets in shell variables but takes them out of the environment every child inherits;
# the functions below hand each tool its own.  Runs when this file is sourced and after an env file.
tv_scope_secrets() {
	local v
	for v in "${TV_ALL_SECRETS[@]}"; do
		export -n "${v?}"
	done
}

# Runs command $2... with the secrets named in array $1 (those that are set) in its environment.
tv__with_secrets() {
	local -n names=$1
	local v pid status
	shift
	if [ "$BASHPID" = "$$" ]; then
		(
			for v in "${names[@]}"; do
				[ -z "${!v+x}" ] || export "${v?}"
			done
			exec "$@"
		)
		return
	fi
	# In a subshell (a pipeline stage, $(...), a background job) the caller may signal this
	# process, as `kill $!` does: the tool runs as its child, and the signal is passed on.
	(
		for v in "${names[@]}"; do
			[ -z "${!v+x}" ] || export "${v?}"
		done
		exec "$@"
	) <&0 &
	pid=$!
	trap 'kill -TERM "$pid" 2>/dev/null' TERM INT HUP
	while :; do
		wait "$pid" && status=0 || status=$?
		kill -0 "$pid" 2>/dev/null || break
	done
	trap - TERM INT HUP
	return "$status"
}

# Defines a function named like each tool in array $2 that is installed (so that `command -v`
# still tells whether it is), which runs it with the secrets of array $1.
tv__wrap_tools() {
	local -n tools=$2
	local t
	for t in "${tools[@]}"; do
		! type -P "$t" >/dev/null || eval "$t() { tv__with_secrets $1 $t \"\$@\"; }"
	done
}

# The flows' pipelines read as before: `tv-export ... | tv-gzip | tv-blob-put ...`.
tv__wrap_tools TV_MONGO_SECRETS TV_MONGO_TOOLS
tv__wrap_tools TV_STORE_SECRETS TV_STORE_TOOLS
tv__wrap_tools TV_ALL_SECRETS TV_FLOWS
tv_scope_secrets

# Creates $TV_WORK, a private directory removed at exit, and runs tv_at_exit (if defined) first.
tv_make_workdir() {
	TV_WORK=$(mktemp -d "${TMPDIR:-/tmp}/$TV_PROG.XXXXXX")
	trap tv__exit EXIT
	trap 'exit 130' INT
	trap 'exit 143' TERM
}

tv__exit() {
	local status=$?
	if declare -F tv_at_exit >/dev/null; then
		tv_at_exit || true
	fi
	rm -rf "$TV_WORK"
	exit "$status"
}

# Writes who holds the lock to file $1: into a fresh file renamed over it, which replaces a symbolic
# link planted there instead of writing through it.
tv__write_owner() {
	local tmp
	tmp=$(mktemp "$1.XXXXXX") &&
		printf '%s pid %s since %s\n' "$TV_PROG" "$$" "$(date -u +%FT%TZ)" >"$tmp" &&
		mv -f "$tmp" "$1" || { rm -f "$tmp"; tv_warn "cannot record the lock's owner in $1"; }
}

# Prints who holds the lock, from file $1, never through a symbolic link.
tv__read_owner() {
	if [ -f "$1" ] && [ ! -L "$1" ]; then
		head -n 1 "$1"
	else
		echo unknown
	fi
}

# Takes the lock that keeps backups and restores from overlapping, or returns 75 saying who holds it.
# A child run by a lock holder (tv-recover's safety backup) inherits TV_LOCK_HELD and skips it.
# With a name (tv_lock pitr), takes that flow's own lock instead, in the same directory.
tv_lock() {
	local name=${1:-} what=${1:+$TV_PROG}
	[ -z "$name" ] && [ -n "${TV_LOCK_HELD:-}" ] && return 0
	local dir=${BACKUP_STATE_DIR:-/var/lib/tralivali-backup}
	# Like the circuit breaker's state: a user who cannot write the system directory gets their own.
	if [ -z "${BACKUP_STATE_DIR:-}" ] && ! { mkdir -p "$dir" && [ -w "$dir" ]; } 2>/dev/null; then
		dir=${XDG_STATE_HOME:-$HOME/.local/state}/tralivali-backup
	fi
	if [ -n "$name" ]; then
		TV_LOCK_FILE=$dir/tralivali-backup-$name.lock
	else
		TV_LOCK_FILE=${TV_LOCK_FILE:-$dir/tralivali-backup.lock}
	fi
	# A planted symbolic link would have us create or rewrite whatever file it points to.
	if [ -L "$TV_LOCK_FILE" ]; then
		tv_error "refusing to use the lock file $TV_LOCK_FILE: it is a symbolic link"
		return "$EX_NOPERM"
	fi
	mkdir -p "$(dirname "$TV_LOCK_FILE")" && exec 9>>"$TV_LOCK_FILE" || {
		tv_error "cannot open the lock file $TV_LOCK_FILE (set BACKUP_STATE_DIR to a writable directory)"
		return "$EX_TEMPFAIL"
	}
	if ! flock -n 9; then
		tv_error "another ${what:-backup or restore} is running (lock $TV_LOCK_FILE held by $(tv__read_owner "$TV_LOCK_FILE.owner")); not starting"
		return "$EX_TEMPFAIL"
	fi
	tv__write_owner "$TV_LOCK_FILE.owner"
	[ -n "$name" ] || export TV_LOCK_HELD=$TV_LOCK_FILE
}

# Prints the folder prefix of a backup named by a date or a later folder of the day
# (2024-01-15, 2024-01-15T150000Z: under backups/) or a prefix (safety/...).
tv_backup_prefix() {
	local arg=${1%/}
	if [[ $arg =~ ^[0-9]{4}-[0-9]{2}-[0-9]{2}(T[0-9]{6}Z)?$ ]]; then
		echo "$TV_BACKUP_ROOT/$arg"
	elif [[ $arg == */* ]]; then
		echo "$arg"
	else
		tv_die "$EX_USAGE" "not a backup date (YYYY-MM-DD[THHMMSSZ]) or folder (backups/YYYY-MM-DD): $1"
	fi
}

# Prints tv-blob-ls's listing of a root folder, or logs why it cannot and returns the tool's status.
tv_list_root() {
	local root=$1 listing status
	listing=$(tv-blob-ls "$root/") || {
		status=$?
		tv_error "cannot list $root/ in the blob store"
		return "$status"
	}
	printf '%s\n' "$listing"
}

# Prints the names of the manifests under a root folder (default backups), oldest date first.
tv_manifest_names() {
	local root=${1:-$TV_BACKUP_ROOT} listing
	listing=$(tv_list_root "$root") || return
	awk -F '\t' -v root="$root" \
		'index($1, root "/") == 1 && $1 ~ /\/manifest\.json$/ && split(substr($1, length(root) + 2), p, "/") == 2 { print $1 }' \
		<<<"$listing"
}

# Prints the backup folders under a root (default backups) that hold any blob, oldest first.
tv_backup_folders() {
	local root=${1:-$TV_BACKUP_ROOT} listing
	listing=$(tv_list_root "$root") || return
	awk -F '\t' -v root="$root" \
		'index($1, root "/") == 1 && split(substr($1, length(root) + 2), p, "/") == 2 { print root "/" p[1] }' \
		<<<"$listing" | uniq
}

# Copies a backup's manifest to file $2, checked by tv-catalog (names, checksums, numbers, the
# folder it is in); returns 66 if it has none, 65 if it is not a valid manifest.
tv_get_manifest() {
	local prefix=$1 out=$2 status=0
	tv-blob-get "$prefix/manifest.json" >"$out.raw" 2>"$out.err" || status=$?
	if [ "$status" -ne 0 ]; then
		# A missing manifest is an expected answer here, not an error to show.
		[ "$status" -eq "$EX_NOINPUT" ] || cat "$out.err" >&2
		return "$status"
	fi
	tv-catalog check --folder "$prefix" "$out.raw" >"$out" || return
}

# Prints the blob name of a collection's dump in a backup folder.
tv_blob_name() { echo "$1/tralivali_$2.bson.gz"; }
# Prints the blob name of a collection's metadata (indexes, options) in a backup folder.
tv_metadata_name() { echo "$1/tralivali_$2.metadata.json"; }

# Prints the value of a seed log line's number: tv_log_number FILE 'sed regexp with one group'.
tv_log_number() {
	sed -n "s/^\[[^]]*\] $2.*/\1/p" "$1" | tail -n 1
}

# Splits a comma-separated list into the array named $2, rejecting names that are not collection names.
tv_split_collections() {
	local -n into=$2
	local c
	IFS=, read -r -a into <<<"$1"
	[ "${#into[@]}" -gt 0 ] || tv_die "$EX_USAGE" "--collections: empty list"
	for c in "${into[@]}"; do
		[[ $c =~ ^[A-Za-z0-9_][A-Za-z0-9_.-]*$ ]] || tv_die "$EX_USAGE" "--collections: not a collection name: '$c'"
	done
}

# Prints a table read as tab-separated lines on stdin, columns padded to line up.
tv_table() {
	awk -F '\t' '{ for (i = 1; i <= NF; i++) { cell[NR, i] = $i; if (length($i) > w[i]) w[i] = length($i) }
		if (NF > nf) nf = NF }
		END { for (r = 1; r <= NR; r++) { line = ""
			for (i = 1; i <= nf; i++) line = line (i < nf ? sprintf("%-" w[i] + 2 "s", cell[r, i]) : cell[r, i])
			print line } }'
}

# Client-side encryption: BACKUP_ENCRYPTION_KEY_FILE turns it on for every blob a flow writes,
# and tv-crypt's format and key checks live in C; the flows only call these.

# Prints the suffix encrypted blob names take (".enc") when encryption is on, else nothing.
tv_crypt_suffix() { [ -z "${BACKUP_ENCRYPTION_KEY_FILE:-}" ] || echo .enc; }

# Returns 0 if encryption is off or its key loads, else tv-crypt's status (64, 77) after it says why: call before any upload.
tv_crypt_check() {
	[ -n "${BACKUP_ENCRYPTION_KEY_FILE:-}" ] || return 0
	tv-crypt </dev/null >/dev/null
}

# Filter: encrypts stdin with tv-crypt (options $@, e.g. --stats FILE) when encryption is on, else copies it.
tv_seal() {
	if [ -n "${BACKUP_ENCRYPTION_KEY_FILE:-}" ]; then
		tv-crypt "$@"
	else
		cat
	fi
}

# Filter: decrypts stdin when blob name $1 ends in .enc, else copies it; 64 if the key is not set.
tv_unseal() {
	local name=$1
	shift
	if [[ $name != *.enc ]]; then
		cat
	elif [ -z "${BACKUP_ENCRYPTION_KEY_FILE:-}" ]; then
		tv_error "$name is encrypted: set BACKUP_ENCRYPTION_KEY_FILE to the file of its key"
		return "$EX_USAGE"
	else
		tv-crypt -d --label "$name" "$@"
	fi
}
