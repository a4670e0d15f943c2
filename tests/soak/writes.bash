# writes.bash: the soak's round up to its restores (tests/soak/pitr sources it): the schedule,
# the workload's batches, the recorder of the exact state after them, the backups and the oplog
# shipping between and during them.
# shellcheck shell=bash

# Writes collection $3 of database $1 as its documents' relaxed JSON, sorted, to $2.$3 ("absent"
# if the database lacks it); a failure is logged.  Decided by the exit statuses: a stage may warn
# on stderr (libmongoc does when it cannot map its counters) and still be right.
snapshot_one() {
	local db=$1 out=$2.$3 st=0
	tv-export -q -u "$MONGO_BASE/$db" -c "$3" >"$out.bson" 2>"$out.err" || st=$?
	case $st in
	0) bsondump --quiet "$out.bson" 2>>"$out.err" | LC_ALL=C sort >"$out" || st=$? ;;
	# "no collection": what a database the restore never reached holds.
	66) echo absent >"$out"; st=0 ;;
	esac
	[ "$st" -eq 0 ] || { echo "reading $db.$3 failed (exit $st):"; cat "$out.err"; } >>"$RD/log"
	rm -f "$out.bson" "$out.err"
	return "$st"
}

# Writes database $1's collections to $2.{name}, all at once.
snapshot() {
	local c pid st=0 pids=()
	for c in "${COLLECTIONS[@]}"; do
		snapshot_one "$1" "$2" "$c" &
		pids+=($!)
	done
	# Each by its pid, not a bare wait: the servers are this shell's children too.
	for pid in "${pids[@]}"; do
		wait "$pid" || st=1
	done
	return "$st"
}

# Records the state after the batch just done.
record() {
	local k=${#rec_lo[@]}
	snapshot "$DB" "$RD/rec/$k" || { why="recording the state failed (see $RD/log)"; return 1; }
	rec_lo[k]=$last_sec
	rec_hi[k]=
	open_rec=$k
	step "recorded state $k ($(utc "$last_sec") on)"
}

# Runs batch $1 of the schedule: its writes, then the record if the schedule says so.
batch() {
	local i=$1 first last
	echo "batch ${sizes[i]} ${msecs[i]}" >&"$wl_w"
	if ! read -r -u "$wl_r" first last; then
		why="tv-workload failed: $(tail -n 1 "$RD/workload.err")"
		return 1
	fi
	# The open record ends the second before this batch's first write.
	if [ -n "$open_rec" ]; then
		rec_hi[open_rec]=$((${first%.*} - 1))
		open_rec=
	fi
	last_sec=${last%.*}
	batch_done=$((batch_done + 1))
	step "batch $i: ${sizes[i]} writes from $(utc "${first%.*}") ${first#*.} to $(utc "$last_sec") ${last#*.}"
	[ "${records[i]}" -eq 0 ] || record
}

# Starts a backup; with $1 = during, in the background while the next batches write.
backup() {
	local id
	if [ "$1" = during ]; then
		timeout -k 5 "$STEP_TIMEOUT" tv-backup -q >"$RD/backup.out" 2>"$RD/backup.err" {wl_w}>&- {wl_r}<&- &
		backup_pid=$!
		step "backup started while batches write"
		return 0
	fi
	run_tool tv-backup -q >"$RD/backup.out" || { fail "tv-backup exited $?"; return 1; }
	id=$(jq -r .backupId "$RD/backup.out")
	backup_rec[$id]=$open_rec
	step "backup $id between batches (state $open_rec)"
}

# Waits for the backup started during the writes.
backup_wait() {
	local st=0 id
	[ -n "$backup_pid" ] || return 0
	wait "$backup_pid" || st=$?
	backup_pid=
	{ echo "\$ tv-backup -q (during writes)"; cat "$RD/backup.err"; } >>"$RD/log"
	[ "$st" -eq 0 ] || { why="tv-backup (during writes) exited $st: $(tail -n 1 "$RD/backup.err")"; return 1; }
	id=$(jq -r .backupId "$RD/backup.out")
	backup_rec[$id]=during
	step "backup $id taken during writes"
}

pitr_pass() {
	run_tool tv-pitr -q || { fail "tv-pitr exited $?"; return 1; }
	step "tv-pitr pass"
}

# Draws the round's schedule before anything that depends on the clock: how many batches, each
# one's size, moment and record, where the backups and (cron) passes go.
plan() {
	local i b
	draw 4
	nbatches=$((5 + D))
	sizes=() msecs=() records=() backups=() passes=()
	for ((i = 0; i <= nbatches; i++)); do
		draw 20
		sizes[i]=$((1 + D))
		draw 10
		if [ "$D" -lt 3 ]; then
			# A burst across a second boundary.
			draw 140
			msecs[i]=$((850 + D))
		elif [ "$D" -lt 5 ]; then
			draw 1000
			msecs[i]=$D
		else
			msecs[i]=
		fi
		draw 10
		records[i]=$((D < 8))
		draw 10
		passes[i]=$((D < 2))
		backups[i]=
	done
	# The last batch's state is what the newest slice ends on.
	records[nbatches - 1]=1
	# 2 or 3 backups: the first before the third batch, the others anywhere after it (at
	# nbatches: after the last batch).
	local first nb
	draw 3
	first=$D
	draw 2
	nb=$((1 + D))
	b=$first
	while :; do
		if [ -z "${backups[b]}" ]; then
			draw 10
			if [ "$D" -lt 4 ] && [ "$b" -lt $((nbatches - 1)) ]; then
				backups[b]=during
			else
				backups[b]=between
				# A point between batches is compared with the state just before it.
				[ "$b" -eq 0 ] || records[b - 1]=1
			fi
		fi
		[ "$nb" -gt 0 ] || break
		draw $((nbatches - first))
		b=$((first + 1 + D))
		[ -n "${backups[b]}" ] || nb=$((nb - 1))
	done
}

# Waits until the follower has shipped every entry: its newest slice ends at the newest oplog entry.
follower_caught_up() {
	local last newest _
	last=$(tv-oplog --last 2>>"$RD/log") || { why="tv-oplog --last failed (see $RD/log)"; return 1; }
	for _ in $(seq 60); do
		newest=$(tv-list --json 2>>"$RD/log" | jq -r '[.pitr[].toPosition] | max_by(split(".") | map(tonumber)) // empty')
		[ -z "$newest" ] || [ "$(jq -n --arg a "$newest" --arg b "$last" '($a | split(".") | map(tonumber)) >= ($b | split(".") | map(tonumber))')" != true ] || return 0
		sleep 0.5
	done
	why="tv-pitr --follow did not ship up to $last within 30 s (newest slice end: ${newest:-none})"
	return 1
}

# The workload: data, chain, batches, backups and passes.
write_round() {
	local c i st
	for c in "${COLLECTIONS[@]}"; do
		tv-gendata -s $((rs * 2)) --users "${LOAD_SIZES[users]}" --conversations "${LOAD_SIZES[conversations]}" \
			--files "${LOAD_SIZES[files]}" "$c" "${LOAD_SIZES[$c]}" | run_tool tv-restore -q -c "$c" --drop ||
			{ fail "loading $c failed"; return 1; }
		tv-gendata -s $((rs * 2 + 1)) "$c" 400 >"$RD/pool/$c.bson"
	done
	if [ "$mode" = cron ]; then
		pitr_pass || return
	else
		tv-pitr -q --follow --interval 1 2>"$RD/follow.err" &
		follower=$!
		# The chain starts where the follower first looks: wait for its start, so that the
		# first point lies on it.
		for i in $(seq 100); do
			tv-blob-ls oplog/ 2>/dev/null | grep -q '\.start\.json' && break
			kill -0 "$follower" 2>/dev/null || { why="tv-pitr --follow exited at start: $(tail -n 1 "$RD/follow.err")"; return 1; }
			sleep 0.1
		done
		step "tv-pitr --follow started"
	fi
	# The state after the load, before any batch: what a point taken before the first batch holds,
	# from the second of the load's last write (the newest oplog entry: nothing else writes).
	last_sec=$(tv-oplog --last 2>>"$RD/log") || { why="tv-oplog --last failed"; return 1; }
	last_sec=${last_sec%.*}
	record || return
	mkfifo "$RD/wl.in" "$RD/wl.out"
	"$WORKLOAD" -s "$rs" -p "$RD/pool" <"$RD/wl.in" >"$RD/wl.out" 2>"$RD/workload.err" &
	wl_pid=$!
	exec {wl_w}>"$RD/wl.in" {wl_r}<"$RD/wl.out"
	for ((i = 0; i <= nbatches; i++)); do
		[ "$mode" = follow ] || [ "${passes[i]}" -eq 0 ] || pitr_pass || return
		case ${backups[i]} in
		between) backup_wait && backup between || return ;;
		during) backup_wait && backup during || return ;;
		esac
		[ "$i" -lt "$nbatches" ] || break
		batch "$i" || return
	done
	backup_wait || return
	exec {wl_w}>&-
	wl_w=
	read -r -u "$wl_r" ops || ops=
	exec {wl_r}<&-
	wl_r=
	st=0
	wait "$wl_pid" || st=$?
	wl_pid=
	[ "$st" -eq 0 ] || { why="tv-workload exited $st: $(tail -n 1 "$RD/workload.err")"; return 1; }
	if [ "$mode" = cron ]; then
		pitr_pass || return
	else
		follower_caught_up || return
		kill -TERM "$follower"
		st=0
		wait "$follower" || st=$?
		follower=
		[ "$st" -eq 0 ] || { why="tv-pitr --follow exited $st when stopped with TERM: $(tail -n 1 "$RD/follow.err")"; return 1; }
		step "tv-pitr --follow stopped"
	fi
}
