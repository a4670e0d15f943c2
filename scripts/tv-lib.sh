# tv-lib.sh: what the tralivali-backup flows share: logging in libtv's layout, exit codes,
# the clock (TV_NOW), the run lock, a work directory, and reading manifests from the store.
# Sourced by scripts/tv-*; not a command.
# shellcheck shell=bash

# The constants below are for the scripts that source this file.
# shellcheck disable=SC2034

# sysexits(3), as design.md uses them.
readonly EX_USAGE=64 EX_DATAERR=65 EX_NOINPUT=66 EX_UNAVAILABLE=69 EX_CANTCREAT=73 EX_TEMPFAIL=75 EX_NOPERM=77
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
# Logs an error prefixed by the program name; the run's first error becomes its record's cause.
tv_error() {
	tv__cause "$TV_PROG: $*"
	tv__log ERR "$TV_PROG: $*"
}

# Remembers $1 as the run's cause unless one is known.  A file, so errors logged in subshells count too.
tv__cause() {
	[ -n "${TV_WORK:-}" ] && [ -d "$TV_WORK" ] || {
		TV__EARLY_CAUSE=${TV__EARLY_CAUSE:-$1}
		return 0
	}
	[ -s "$TV_WORK/.cause" ] || printf '%s\n' "$1" >"$TV_WORK/.cause" 2>/dev/null || TV__EARLY_CAUSE=${TV__EARLY_CAUSE:-$1}
}

# Copies stage logs to stderr; their first error line becomes the run's cause unless one is known.
tv_show_logs() {
	local line
	cat "$@" >&2
	line=$(tv_first_error "$@")
	[ "$line" = "no error was logged" ] || tv__cause "$line"
}
# Runs command $2... with its standard error in log $TV_WORK/$1.log, passing its output on; when it
# fails, shows the log (whose first error becomes the run's cause: the stage's own words, with
# host and port) and returns its status.  For a stage whose error would otherwise only reach the
# terminal, so that the flow's summary can name it: "...: $(tv_first_error "$TV_WORK/$1.log")".
tv_step() {
	local log=${TV_WORK:-}/$1.log status=0
	shift
	# Before the work directory exists there is nowhere to keep the log.
	[ -n "${TV_WORK:-}" ] && [ -d "$TV_WORK" ] || { "$@"; return; }
	"$@" 2>"$log" || status=$?
	if [ "$status" -ne 0 ]; then
		tv_show_logs "$log"
	else
		cat "$log" >&2
	fi
	return "$status"
}

# Prints the message of the first error line in log files $@ (without its time and level), or
# "no error was logged" when none has one.
tv_first_error() {
	local line
	line=$(grep -h -m 1 '^\[[^]]* ERR\] ' "$@" 2>/dev/null) || true
	line=${line%%$'\n'*}
	if [ -n "$line" ]; then
		printf '%s\n' "${line#*ERR\] }"
	else
		echo "no error was logged"
	fi
}

# Prints the name of the stage tv_seal runs: tv-crypt when encryption is on, else cat.
tv_seal_name() { [ -n "${BACKUP_ENCRYPTION_KEY_FILE:-}" ] && echo tv-crypt || echo cat; }

# Refuses a request that names nothing restorable (a date without a point, a second no oplog
# reaches): logs why and exits with the given status, and the run is recorded as Refused, not
# Failed, so that one typo does not turn tv-status WARNING.
tv_refuse() {
	TV_RUN_REFUSED=1
	tv_die "$@"
}

# Logs an error and exits with the given status.
tv_die() {
	local status=$1
	shift
	tv_error "$*"
	exit "$status"
}

# A pipeline's verdict, from its stages' exit statuses.  $1: the stages' names, space-separated,
# in order ("tv-blob-get tv-gzip tv-replay"); $2: the name of a stage that stopped reading on
# purpose (tv-replay that reached --until, a head-like reader that had what it wanted), or "";
# then "${PIPESTATUS[@]}".  Prints "STATUS<tab>MESSAGE": 0 and nothing when the pipeline did its
# work, else a sysexits status and what happened, naming the stage.  The first stage that failed
# on its own is the cause (what it leaves behind fails downstream as an echo of it).  141 is a
# writer killed by SIGPIPE because a later stage stopped reading: that is fine only when every
# stage after it exited 0 and one of them is the reader that stopped on purpose.
tv_pipe_verdict() {
	local -a stages
	local reader=$2 i s cut=-1
	read -r -a stages <<<"$1"
	shift 2
	local -a st=("$@")
	for i in "${!st[@]}"; do
		s=${st[$i]}
		[ "$s" -eq 0 ] && continue
		if [ "$s" -eq 141 ]; then
			[ "$cut" -ge 0 ] || cut=$i
			continue
		fi
		tv__stage_failure "${stages[$i]:-stage $((i + 1))}" "$s"
		return 0
	done
	[ "$cut" -ge 0 ] || { printf '0\t\n'; return 0; }
	for ((i = cut + 1; i < ${#st[@]}; i++)); do
		[ -z "$reader" ] || [ "${stages[$i]:-}" != "$reader" ] || { printf '0\t\n'; return 0; }
	done
	local next=${stages[$((cut + 1))]:-the next stage}
	printf '%s\t%s\n' 74 "${stages[$cut]:-stage $((cut + 1))} was cut off (SIGPIPE): $next stopped reading before the end of its input"
}

# Prints the verdict line for stage $1 that exited with status $2 (not 0, not 141).
tv__stage_failure() {
	local name=$1 s=$2
	if [ "$s" -ge 64 ] && [ "$s" -le 78 ]; then
		printf '%s\t%s\n' "$s" "$name failed (exit $s: $(tv_exit_meaning "$s"))"
	elif [ "$s" -gt 128 ]; then
		printf '%s\t%s\n' 75 "$name was killed by signal $((s - 128)) ($(kill -l "$((s - 128))" 2>/dev/null || echo '?')) (exit $s)"
	elif [ "$s" -eq 126 ] || [ "$s" -eq 127 ]; then
		printf '%s\t%s\n' 69 "$name could not be run (exit $s: not found or not executable)"
	else
		printf '%s\t%s\n' 74 "$name failed (exit $s)"
	fi
}

# Prints what a sysexits status means, in a few words.
tv_exit_meaning() {
	case $1 in
	64) echo "usage" ;;
	65) echo "bad input data" ;;
	66) echo "missing input" ;;
	69) echo "service unavailable" ;;
	70) echo "internal error" ;;
	73) echo "cannot create: it already exists" ;;
	74) echo "I/O error" ;;
	75) echo "temporary failure" ;;
	77) echo "permission denied" ;;
	*) echo "exit status $1" ;;
	esac
}

# Runs tv_pipe_verdict (same arguments) and sets TV_VERDICT (the status) and TV_VERDICT_WHY (the
# message); returns the status.  Call it in the shell that ran the pipeline, not in $(...).
tv_pipe_judge() {
	local v
	v=$(tv_pipe_verdict "$@")
	TV_VERDICT=${v%%$'\t'*}
	TV_VERDICT_WHY=${v#*$'\t'}
	return "$TV_VERDICT"
}

# Prints this flow's manual page (section $1) as plain text, for --help after the usage lines:
# the page beside the sources (scripts/../man), else the installed one; or says where to read it.
tv_help_page() {
	local section=$1 page
	page=$(dirname "$(readlink -f "$0")")/../man/$TV_PROG.$section
	if [ -r "$page" ] && groff -mandoc -Tutf8 -Ww -P-cbou -rLL=80n "$page" 2>/dev/null; then
		return 0
	fi
	MANWIDTH=80 man -P cat "$section" "$TV_PROG" 2>/dev/null ||
		printf '\nThe manual page says the rest: man %s %s\n' "$section" "$TV_PROG"
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
readonly TV_STORE_SECRETS=(BACKUP_BLOB_STORAGE_CONNECTION_STRING BACKUP_COPY_CONNECTION_STRING
	BACKUP_PRUNE_CONNECTION_STRING BACKUP_RESTORE_CONNECTION_STRING)
readonly TV_ALL_SECRETS=("${TV_MONGO_SECRETS[@]}" "${TV_STORE_SECRETS[@]}")
# Tools that talk to MongoDB, tools that talk to the blob store, and flows (which hand both on
# to their own stages).  Any other command (tv-gzip, tv-crypt, jq, ...) gets neither.
readonly TV_MONGO_TOOLS=(tv-dbcheck tv-export tv-oplog tv-replay tv-restore)
readonly TV_STORE_TOOLS=(tv-blob-get tv-blob-ls tv-blob-put tv-catalog tv-prune tv-state)
readonly TV_FLOWS=(tv-backup tv-copy tv-list tv-pitr tv-recover tv-rehearse tv-status tv-verify)

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
		# Explicitly: a bare return in a trap handler (the EXIT trap's metrics) returns the
		# status from before the trap, the run's, not the tool's.
		return "$?"
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
# Work directories of runs killed with SIGKILL (their pid gone) are removed on the way.
tv_make_workdir() {
	local tmp=${TMPDIR:-/tmp} out old
	trap tv__exit EXIT
	trap 'exit 130' INT
	trap 'exit 143' TERM
	for old in "$tmp/$TV_PROG".??????; do
		[ -f "$old/.pid" ] && ! kill -0 "$(cat "$old/.pid")" 2>/dev/null && rm -rf "$old"
	done
	out=$(mktemp -d "$tmp/$TV_PROG.XXXXXX" 2>&1) ||
		tv_die 74 "cannot create a work directory in $tmp (TMPDIR): ${out##*: }"
	TV_WORK=$out
	# The stages die with this script (libtv lifeline.h), even through the subshells between them.
	export TV_FLOW_PID=$$
	echo "$$" >"$TV_WORK/.pid" || tv_die 74 "cannot write in the work directory $TV_WORK: is $tmp (TMPDIR) full?"
	# Stage logs go to files here; on a full disk they are lost, so say so.
	printf '%4096s' '' >"$TV_WORK/.space" 2>/dev/null && rm -f "$TV_WORK/.space" ||
		tv_warn "$tmp (TMPDIR) is full or nearly: stage logs and temporary files may be lost"
}

tv__exit() {
	local status=$?
	if declare -F tv_at_exit >/dev/null; then
		tv_at_exit || true
	fi
	tv__run_end "$status" || true
	[ -z "${TV_WORK:-}" ] || rm -rf "$TV_WORK"
	exit "$status"
}

# Starts this run's record: kind (backup, pitr, recover, prune, rehearse) and id (default a fresh
# one).  Call after tv_make_workdir; the EXIT trap records the end, status, exit code and cause in
# the store's and the state directory's runs/.  Returns 69 (saying until when) while the circuit
# breaker is open, so a run fails fast instead of spending its retries on a store known to be down.
tv_run_begin() {
	local err
	TV_RUN_KIND=$1
	TV_RUN_ID=${2:-$(tv_object_id)}
	# The flow's tools count as one run for the circuit breaker.
	export TV_RUN_ID
	TV_RUN_T0=$(date +%s.%N)
	TV_RUN_START=$(tv_utc "$(tv_now)" %FT%TZ)
	# Progress lines (libtv progress.h) reach the terminal even from stages whose stderr is a log file.
	if [ -t 2 ] && [ "$TV_VERBOSE" -ge 0 ]; then
		exec 8>&2
		export TV_PROGRESS_FD=8
	fi
	err=$(tv-state --breaker --check 2>&1) || {
		local status=$?
		printf '%s\n' "$err" >&2
		tv__cause "${err#*ERR\] }"
		return "$status"
	}
}

# Adds the fields of JSON object file $1 (e.g. per-collection numbers) to this run's record.
tv_run_note() {
	local note=$TV_WORK/.run-note.json
	[ -s "$note" ] || echo '{}' >"$note"
	jq -s '.[0] * .[1]' "$note" "$1" >"$note.new" && mv "$note.new" "$note"
}

# Adds a backup manifest's numbers (folder, size, documents per collection) to this run's record.
tv_run_note_manifest() {
	jq '{backup: {id, folder: .filePath, size}, collections: [.collections[] | {name, documents, bsonBytes, compressedBytes}]}' \
		"$1" >"$TV_WORK/.run-manifest.json" && tv_run_note "$TV_WORK/.run-manifest.json"
}

# Stores a run record: kind, id, start (ISO-8601), t0 (date +%s.%N at the start, or ""), exit
# status, cause and a JSON object of the flow's numbers.
tv__record() {
	jq -cn --arg kind "$1" --arg id "$2" --arg start "$3" --arg t0 "$4" --arg now "$(date +%s.%N)" \
		--argjson refused "$([ "${TV_RUN_REFUSED:-0}" -eq 1 ] && echo true || echo false)" \
		--argjson exitCode "$5" --arg cause "$6" --arg host "$(uname -n)" --arg program "$TV_PROG" \
		--argjson note "$7" \
		'(if $t0 == "" then 0 else (($now | tonumber) - ($t0 | tonumber)) end) as $d |
		 {kind: $kind, id: $id, start: $start, startClock: (if $t0 == "" then $now else $t0 end),
		  end: ($start | fromdateiso8601 + ($d | floor) | todateiso8601),
		  durationSeconds: ($d * 100 | round / 100),
		  status: (if $exitCode == 0 then "Completed" elif $refused then "Refused" else "Failed" end), exitCode: $exitCode,
		  cause: (if $cause == "" then null else $cause end), host: $host, program: $program} + $note' |
		tv-state -q --save-run - || tv_warn "this run could not be recorded"
}

# Records a step a flow runs as its own run of kind $1 (tv-backup's retention is a prune run):
# its exit status $2, $3 its start (date +%s.%N), and $4 the cause if it failed.
tv_run_record() {
	local start cause=${4:-}
	start=$(tv_utc "${3%.*}" %FT%TZ)
	[ "$2" -ne 0 ] || cause=
	tv__record "$1" "$(tv_object_id)" "$start" "$3" "$2" "$cause" '{}'
}

# Writes this run's record and, if BACKUP_METRICS_FILE is set, the metrics; never changes the run's status.
tv__run_end() {
	local status=$1 kind=${TV_RUN_KIND:-} cause=${TV__EARLY_CAUSE:-} note='{}'
	# A run that died before tv_run_begin (no work directory) is still recorded under its program's kind.
	if [ -z "$kind" ]; then
		case $TV_PROG in
		tv-backup | tv-pitr | tv-recover | tv-rehearse) kind=${TV_PROG#tv-} ;;
		*) return 0 ;;
		esac
		[ "$status" -ne 0 ] || return 0
		TV_RUN_START=$(date -u +%FT%TZ)
	fi
	if [ -n "${TV_WORK:-}" ] && [ -d "$TV_WORK" ]; then
		[ ! -s "$TV_WORK/.cause" ] || cause=$(head -n 1 "$TV_WORK/.cause")
		[ ! -s "$TV_WORK/.run-note.json" ] || note=$(cat "$TV_WORK/.run-note.json")
		# A full TMPDIR explains the failure better than what it made fail, and ate the stages' logs.
		if [ "$status" -ne 0 ] && ! { printf '%4096s' '' >"$TV_WORK/.space"; } 2>/dev/null; then
			cause="$TV_PROG: ${TMPDIR:-/tmp} (TMPDIR) is full (No space left on device): the stages' logs may be lost"
			tv__log ERR "$cause"
		fi
	fi
	if [ "$status" -ne 0 ] && [ -z "$cause" ]; then
		cause="$TV_PROG failed (exit $status) without logging why"
		tv__log ERR "$cause"
	fi
	tv__record "$kind" "${TV_RUN_ID:-$(tv_object_id)}" "$TV_RUN_START" "${TV_RUN_T0:-}" "$status" "$cause" "$note"
	# The record is stored: the dashboard's poll now finds the result where it found the progress.
	tv__progress_end
	if [ -n "${BACKUP_METRICS_FILE:-}" ]; then
		# tv-status's own exit code (0 to 3) is the health it saw, not a failure to write.
		status=0
		tv-status -q --local --prom "$BACKUP_METRICS_FILE" >/dev/null || status=$?
		[ "$status" -le 3 ] || tv_warn "cannot write the metrics file $BACKUP_METRICS_FILE"
	fi
}

# Says how far this run is, for the dashboard (tv-api's /admin/backup/running): stage $1 (words
# for the operator), $2 collections done of $3, $4 bytes so far.  Only a run under the run lock
# has it: LOCK.progress, a run record in the making (kind, id, start, ...), replaced whole by
# rename so that a reader never sees half of one.  It is advice: failing to write it fails nothing.
tv_progress() {
	local lock=${TV_LOCK_HELD:-} tmp
	[ -n "$lock" ] && [ -n "${TV_RUN_ID:-}" ] || return 0
	tmp=$(mktemp "$lock.progress.XXXXXX" 2>/dev/null) || return 0
	if jq -cn --arg kind "$TV_RUN_KIND" --arg id "$TV_RUN_ID" --arg start "$TV_RUN_START" --arg program "$TV_PROG" \
		--arg host "$(uname -n)" --argjson pid "$$" --arg stage "$1" --argjson finished "${2:-0}" \
		--argjson total "${3:-0}" --argjson bytes "${4:-0}" --arg at "$(date -u +%FT%TZ)" \
		'{kind: $kind, id: $id, start: $start, program: $program, host: $host, pid: $pid, stage: $stage,
		  collectionsDone: $finished, collectionsTotal: $total, bytes: $bytes, updatedAt: $at}' >"$tmp" 2>/dev/null; then
		mv -f "$tmp" "$lock.progress" 2>/dev/null || rm -f "$tmp"
	else
		rm -f "$tmp"
	fi
	return 0
}

# Removes this run's progress record at its end (a safety backup's ends before its restore's).
tv__progress_end() {
	local file=${TV_LOCK_HELD:-}.progress
	[ -n "${TV_LOCK_HELD:-}" ] && [ -f "$file" ] || return 0
	[ "$(jq -r .id "$file" 2>/dev/null)" != "${TV_RUN_ID:-}" ] || rm -f "$file"
}

# Writes who holds the lock (flow, pid, host: two hosts may share a state directory on NFS, and
# since when) to file $1: into a fresh file renamed over it, which replaces a symbolic link
# planted there instead of writing through it.
tv__write_owner() {
	local tmp
	tmp=$(mktemp "$1.XXXXXX") &&
		printf '%s pid %s on %s since %s\n' "$TV_PROG" "$$" "$(uname -n)" "$(date -u +%FT%TZ)" >"$tmp" &&
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

# Prints the path of flow $2's own lock (tv_lock NAME) in state directory $1.
tv__flow_lock() { echo "$1/tralivali-backup-$2.lock"; }

# Returns 0 if another process holds flow $1's own lock (tv_lock NAME) right now.
tv_lock_busy() {
	local dir lock
	dir=$(tv-state --dir 2>/dev/null) || return 1
	lock=$(tv__flow_lock "$dir" "$1")
	[ -f "$lock" ] && [ ! -L "$lock" ] && ! flock -n "$lock" true 2>/dev/null
}

# Takes the lock that keeps backups and restores from overlapping, or returns 75 saying who holds it
# (and leaves that in TV_LOCK_WHY).
# A child run by a lock holder (tv-recover's safety backup) inherits TV_LOCK_HELD and skips it.
# With a name (tv_lock pitr), takes that flow's own lock instead, in the same directory.
tv_lock() {
	local name=${1:-} what=${1:+$TV_PROG} dir
	[ -z "$name" ] && [ -n "${TV_LOCK_HELD:-}" ] && return 0
	# The directory comes from libtv, so the lock, the breaker and the C tools' lock share one.
	dir=$(tv-state --dir) || {
		tv_error "no state directory for the lock (set BACKUP_STATE_DIR to a writable directory)"
		return "$EX_TEMPFAIL"
	}
	if [ -n "$name" ]; then
		TV_LOCK_FILE=$(tv__flow_lock "$dir" "$name")
	else
		TV_LOCK_FILE=${TV_LOCK_FILE:-$(tv-state --lock-path)}
	fi
	# A planted symbolic link would have us create or rewrite whatever file it points to.
	if [ -L "$TV_LOCK_FILE" ]; then
		tv_error "refusing to use the lock file $TV_LOCK_FILE: it is a symbolic link"
		return "$EX_NOPERM"
	fi
	# Like every file in the state directory, its owner's alone (tv-state --dir made it 0700).
	local mask status=0
	mask=$(umask)
	umask 077
	exec 9>>"$TV_LOCK_FILE" || status=$?
	umask "$mask"
	if [ "$status" -ne 0 ]; then
		tv_error "cannot open the lock file $TV_LOCK_FILE (set BACKUP_STATE_DIR to a writable directory)"
		return "$EX_TEMPFAIL"
	fi
	if ! flock -n 9; then
		TV_LOCK_WHY="another ${what:-backup or restore} is running (lock $TV_LOCK_FILE held by $(tv__read_owner "$TV_LOCK_FILE.owner"))"
		tv_error "$TV_LOCK_WHY; not starting"
		return "$EX_TEMPFAIL"
	fi
	tv__write_owner "$TV_LOCK_FILE.owner"
	[ -n "$name" ] || export TV_LOCK_HELD=$TV_LOCK_FILE
}

# Returns 0 if a second store is set (BACKUP_COPY_CONNECTION_STRING, or its _FILE form).
tv_copy_configured() { [ -n "${BACKUP_COPY_CONNECTION_STRING:-}${BACKUP_COPY_CONNECTION_STRING_FILE:-}" ]; }

# After a commit, copies what the second store lacks when one is set (tv-copy, its own run and
# record).  A copy that fails fails nothing committed: it is a warning here, noted in this run's
# record (copy.exitCode), and tv-status shows it; $1 says what stays safe.
tv_copy_after_commit() {
	local status=0 quiet=()
	tv_copy_configured || return 0
	[ "$TV_VERBOSE" -ge 0 ] || quiet=(-q)
	tv-copy --if-idle "${quiet[@]}" || status=$?
	jq -n --argjson s "$status" '{copy: {exitCode: $s}}' >"$TV_WORK/copy-after.json" && tv_run_note "$TV_WORK/copy-after.json"
	[ "$status" -eq 0 ] ||
		tv_warn "copying to the second store failed (exit $status: $(tv_exit_meaning "$status")); $1, and the next run copies it"
}

# Exits 66 naming it if the store has no container of the configured name: a typo in
# BACKUP_BLOB_CONTAINER_NAME would otherwise list as a store without backups.
tv_require_container() {
	local err status=0
	err=$(tv-blob-ls -q --container-exists 2>&1) || status=$?
	[ "$status" -eq 0 ] && return 0
	printf '%s\n' "$err" >&2
	tv__cause "${err#*ERR\] }"
	exit "$status"
}

# Says so when a backup is about to create its container (the first write does), so that a
# mistyped container name shows up in the log of the first run.  This is the run's first touch of
# the store: when it fails (or is the breaker's probe), what it says is shown.
tv_note_new_container() {
	local err status=0 quiet=()
	[ "$TV_VERBOSE" -ge 0 ] || quiet=(-q)
	err=$(tv-blob-ls "${quiet[@]}" --container-exists 2>&1) || status=$?
	# A missing container is what this asks, not an error to show.
	[ -z "$err" ] || [ "$status" -eq "$EX_NOINPUT" ] || printf '%s\n' "$err" >&2
	case $status in
	0) ;;
	"$EX_NOINPUT") tv_info "Creating container ${BACKUP_BLOB_CONTAINER_NAME:-backups}: it does not exist yet (check BACKUP_BLOB_CONTAINER_NAME if backups were expected there)" ;;
	*) [[ $err != *"ERR] "* ]] || tv__cause "$(grep -m 1 'ERR\] ' <<<"$err" | sed 's/^[^]]*ERR\] //')" ;;
	esac
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
	listing=$(tv_step list-root tv-blob-ls "$root/") || {
		status=$?
		tv_error "cannot list $root/ in the blob store: $(tv_first_error "${TV_WORK:-}/list-root.log")"
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

# What tv_get_manifest found of the last manifest it read (see tv__check_manifest_mac).
TV_POINT_BINDING=
TV_UNSEAL_ARGS=()

# Copies a backup's manifest to file $2, authenticated by its MAC (tv__check_manifest_mac, which
# sets TV_POINT_BINDING and TV_UNSEAL_ARGS) and checked by tv-catalog (names, checksums, numbers,
# the folder it is in); returns 66 if it has none, 65 if it is not a valid or authentic manifest,
# 77 if its MAC was made with a key not listed, 64 if it has a MAC and no key is set.
tv_get_manifest() {
	local prefix=$1 out=$2 status=0
	tv-blob-get "$prefix/manifest.json" >"$out.raw" 2>"$out.err" || status=$?
	if [ "$status" -ne 0 ]; then
		# A missing manifest is an expected answer here, not an error to show.
		[ "$status" -eq "$EX_NOINPUT" ] || cat "$out.err" >&2
		return "$status"
	fi
	tv__check_manifest_mac "$prefix" "$out.raw" || return
	tv-catalog check --folder "$prefix" "$out.raw" >"$out" || return
}

# The name of the MAC blob beside a manifest: HMAC-SHA-256 of the manifest and its name under a
# key derived from the encryption key (tv-crypt(1)), written before the manifest.
tv_manifest_mac_name() { echo "$1/manifest.json.mac"; }

# Authenticates the manifest of folder $1 (its stored bytes in file $2) before anything reads it,
# and says what its encrypted blobs must be (TV_UNSEAL_ARGS, for tv_unseal):
#   bound    it has a MAC, which checks: its blobs are bound to their names (tv-crypt format 2);
#   unbound  no MAC, and it names encrypted blobs: a point made before blobs were bound, whose
#            blobs must then all be unbound (format 1): a bound one means its MAC was removed;
#   plain    no MAC and no encrypted blob.
# Returns 0, or tv-crypt's status (65 a MAC that does not match, 77 another key's) after it says why.
tv__check_manifest_mac() {
	local prefix=$1 raw=$2 mac status=0
	mac=$(tv_manifest_mac_name "$prefix")
	TV_POINT_BINDING=plain
	TV_UNSEAL_ARGS=()
	# A MAC that is there is always checked, even beside a manifest that names no encrypted blob
	# (one rewritten to pass for a point in clear).
	tv-blob-get "$mac" >"$raw.mac" 2>"$raw.mac.err" || status=$?
	if [ "$status" -eq "$EX_NOINPUT" ]; then
		if jq -e '[.collections[]? | .file, .metadataFile] + [.oplog.file?] | any(.[] | strings; endswith(".enc"))' \
			"$raw" >/dev/null 2>&1; then
			TV_POINT_BINDING=unbound
			TV_UNSEAL_ARGS=(--format 1)
		fi
		return 0
	elif [ "$status" -ne 0 ]; then
		cat "$raw.mac.err" >&2
		tv_error "$mac: cannot be read, so $prefix/manifest.json cannot be authenticated"
		return "$status"
	fi
	if [ -z "${BACKUP_ENCRYPTION_KEY_FILE:-}" ]; then
		tv_error "$prefix/ is encrypted: set BACKUP_ENCRYPTION_KEY_FILE to the file of its key (its manifest is authenticated with it: $mac)"
		return "$EX_USAGE"
	fi
	tv-crypt --check-mac "$raw.mac" --bind "$prefix/manifest.json" <"$raw" || {
		status=$?
		tv_error "$prefix/manifest.json is not the one its backup wrote (its MAC does not check); refusing to use it"
		return "$status"
	}
	TV_POINT_BINDING=bound
	TV_UNSEAL_ARGS=(--format 2)
}

# Stores a chain start, oplog/{day}/{T.I}-{T.I}.start.json: the oplog is captured after position
# $1 from now on, and no oplog range reaches across it (tv-catalog); $2 says why.  Returns 0, also
# when another host stored the same one first, or the store's status.
tv_chain_start() {
	local position=$1 status=0
	jq -cn --arg position "$position" --arg time "$(tv_utc "${position%.*}" %FT%TZ)" --arg reason "$2" \
		--arg startedAt "$(date -u +%FT%TZ)" '{position: $position, time: $time, reason: $reason, startedAt: $startedAt}' |
		tv-blob-put -q "oplog/$(tv_utc "${position%.*}" %F)/$position-$position.start.json" || status=$?
	[ "$status" -eq 73 ] && return 0
	return "$status"
}

# Prints the blob name of a collection's dump in a backup folder.
tv_blob_name() { echo "$1/tralivali_$2.bson.gz"; }
# Prints the blob name of a collection's metadata (indexes, options) in a backup folder.
tv_metadata_name() { echo "$1/tralivali_$2.metadata.json"; }

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

# Returns 0 if encryption is off or its keys load, else tv-crypt's status (64, 77) after it says why: call before any upload.
tv_crypt_check() {
	[ -n "${BACKUP_ENCRYPTION_KEY_FILE:-}" ] || return 0
	tv-crypt </dev/null >/dev/null
}

# Filter: encrypts stdin with tv-crypt (options $2..., e.g. --stats FILE), bound to blob name $1, the
# name it is stored under, when encryption is on; else copies it.
tv_seal() {
	local name=$1
	shift
	if [ -n "${BACKUP_ENCRYPTION_KEY_FILE:-}" ]; then
		tv-crypt --bind "$name" "$@"
	else
		cat
	fi
}

# Filter: decrypts stdin when blob name $1 ends in .enc, refusing a file bound to another name
# (options $2..., e.g. "${TV_UNSEAL_ARGS[@]}"), else copies it; 64 if the key is not set.
tv_unseal() {
	local name=$1
	shift
	if [[ $name != *.enc ]]; then
		cat
	elif [ -z "${BACKUP_ENCRYPTION_KEY_FILE:-}" ]; then
		tv_error "$name is encrypted: set BACKUP_ENCRYPTION_KEY_FILE to the file of its key"
		return "$EX_USAGE"
	else
		tv-crypt -d --bind "$name" "$@"
	fi
}

# Writes to file $2 the MAC of manifest file $1 that folder $3 is to hold (see tv__check_manifest_mac).
tv_manifest_mac() {
	tv-crypt --mac --bind "$3/manifest.json" <"$1" >"$2"
}
