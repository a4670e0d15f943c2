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

# Runs batch $1 of the schedule: its writes, then the record if the schedule says so.  With
# several writers each makes its share of the batch at the same moment, and the batch spans the
# first one's first write to the last one's last.
batch() {
	local i=$1 first='' last='' k f l
	for k in "${!wl_w[@]}"; do
		echo "batch $(((sizes[i] + writers - 1) / writers)) ${msecs[i]}" >&"${wl_w[k]}"
	done
	for k in "${!wl_r[@]}"; do
		if ! read -r -u "${wl_r[k]}" f l; then
			why="tv-workload $k failed: $(tail -n 1 "$RD/workload$k.err")"
			return 1
		fi
		awk -v a="$f" -v b="${first:-$f}" 'BEGIN { exit !(a <= b) }' && first=$f
		awk -v a="$l" -v b="${last:-$l}" 'BEGIN { exit !(a >= b) }' && last=$l
	done
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
		(
			close_workload_fds
			exec timeout -k 5 "$STEP_TIMEOUT" tv-backup -q >"$RD/backup.out" 2>"$RD/backup.err"
		) &
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

# In a background job: closes this shell's ends of the workloads' pipes, so that a writer sees
# the end of its input when the soak closes its own.
close_workload_fds() {
	local fd
	for fd in "${wl_w[@]}" "${wl_r[@]}"; do eval "exec $fd>&-"; done
}

# -f, follow mode: FerretDB stops and starts again on the same data, down for restart_down
# seconds, between two batches, while tv-pitr --follow runs: the follower must ride it out and
# continue the chain where it stopped.  A backup does not ride out a restart (it fails, as it
# must), so the one running is waited for first.
server_restart() {
	local k ok
	backup_wait && mid_wait || return
	step "FerretDB stopped for $restart_down s"
	# The server must not hold the workloads' pipes open: a writer would never see their end.
	eval "tv_restart_mongo \"\$restart_down\" $(printf '%s>&- ' "${wl_w[@]}" "${wl_r[@]}")" >>"$WORK/servers.log" 2>&1 ||
		{ why="FerretDB did not start again (see $WORK/servers.log)"; return 1; }
	for k in "${!wl_w[@]}"; do
		echo ping >&"${wl_w[k]}"
		read -r -u "${wl_r[k]}" ok && [ "$ok" = ok ] || { why="tv-workload $k: $(tail -n 1 "$RD/workload$k.err")"; return 1; }
	done
	kill -0 "$follower" 2>/dev/null || { why="tv-pitr --follow did not ride out a $restart_down s restart of FerretDB: $(tail -n 1 "$RD/follow.err")"; return 1; }
	step "FerretDB is back; the follower rides on"
}

# -f, follow mode on Azurite: the store is cut (toxiproxy refuses and drops every connection) for
# cut_secs seconds between two batches: the follower must ride it out without a hole.
store_cut() {
	backup_wait && mid_wait || return
	step "store cut for $cut_secs s"
	toxi_enabled false || { why="toxiproxy did not cut the store"; return 1; }
	sleep "$cut_secs"
	toxi_enabled true || { why="toxiproxy did not restore the store"; return 1; }
	kill -0 "$follower" 2>/dev/null || { why="tv-pitr --follow did not ride out a $cut_secs s store cut: $(tail -n 1 "$RD/follow.err")"; return 1; }
	step "store back; the follower rides on"
}

# -f, follow mode: a point whose state the recorder has is restored by its folder into a scratch
# database while the batches go on and the follower ships (a restore in the middle of capture:
# its parallel inserts fill the oplog beside the application's writes).  Its own state directory:
# a second host restoring while this one backs up.
mid_restore_start() {
	local id folder end k
	for id in "${!backup_rec[@]}"; do
		read -r folder end < <(tv-list --json 2>>"$RD/log" | jq -r --arg id "$id" \
			'.backups[] | select(.id == $id) | "\(.filePath | rtrimstr("/")) \(.consistentAt.end)"')
		[ -n "$folder" ] || continue
		k=$(point_rec "$id" "$end")
		[ -n "$k" ] || continue
		mid_want=$k mid_folder=$folder
		(
			close_workload_fds
			export BACKUP_STATE_DIR=$RD/state-mid
			exec timeout -k 5 "$STEP_TIMEOUT" tv-recover -q "$folder" --to-db "soak${round}_mid" --yes --no-safety-backup
		) 2>"$RD/mid.err" &
		mid_pid=$!
		step "restore of $folder started during the writes (state $mid_want)"
		return 0
	done
	# None yet whose state the recorder has: try again before the next batch.
	[ "$mid_at" -ge "$((nbatches - 1))" ] || mid_at=$((mid_at + 1))
	step "no point with a recorded state yet: no restore during the writes before batch $1"
}

# Waits for the restore started during the writes and proves it exact.
mid_wait() {
	local st=0 diff
	[ -n "$mid_pid" ] || return 0
	wait "$mid_pid" || st=$?
	mid_pid=
	{ echo "\$ tv-recover $mid_folder (during writes)"; cat "$RD/mid.err"; } >>"$RD/log"
	[ "$st" -eq 0 ] || { why="tv-recover $mid_folder during the writes exited $st: $(tail -n 1 "$RD/mid.err")"; return 1; }
	snapshot "soak${round}_mid" "$RD/mid" || { why="reading the restore made during the writes failed (see $RD/log)"; return 1; }
	diff=$(differences "$RD/rec/$mid_want" "$RD/mid")
	[ -z "$diff" ] || { why="tv-recover $mid_folder during the writes: not the recorded state $mid_want: ${diff%; }"; return 1; }
	done_targets+=("folder during writes exact")
	[ "$keep" -eq 1 ] || "$MONGO_CMD" -d "soak${round}_mid" '{"dropDatabase": 1}' >/dev/null 2>>"$RD/log"
	step "the restore made during the writes is exact"
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
	# -f in follow mode: a server restart, a store cut (Azurite) and a restore during the writes,
	# each before a batch from the second on.  Drawn last, so that the rest of the schedule is
	# the same with and without them.
	restart_at=-1 cut_at=-1 mid_at=-1
	if [ "$faults" -eq 1 ] && [ "$mode" = follow ]; then
		draw $((nbatches - 1)); restart_at=$((1 + D))
		draw 5; restart_down=$((1 + D))
		draw $((nbatches - 1)); mid_at=$((1 + D))
		if [ "$store" = azurite ]; then
			draw $((nbatches - 1)); cut_at=$((1 + D))
			draw 3; cut_secs=$((2 + D))
		fi
	fi
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
	local c i st k
	for c in "${COLLECTIONS[@]}"; do
		tv-gendata -s $((rs * 2)) --users "${LOAD_SIZES[users]}" --conversations "${LOAD_SIZES[conversations]}" \
			--files "${LOAD_SIZES[files]}" "$c" "${LOAD_SIZES[$c]}" | run_tool tv-restore -q -c "$c" --drop ||
			{ fail "loading $c failed"; return 1; }
		# Each writer inserts documents of its own.
		for ((k = 0; k < writers; k++)); do
			mkdir -p "$RD/pool$k"
			tv-gendata -s $((rs * 2 + 1 + k * 7919)) "$c" 400 >"$RD/pool$k/$c.bson"
		done
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
	local fd
	for ((k = 0; k < writers; k++)); do
		mkfifo "$RD/wl$k.in" "$RD/wl$k.out"
		(
			close_workload_fds
			exec "$WORKLOAD" -o "$k/$writers" -s $((rs + k * 7919)) -p "$RD/pool$k" <"$RD/wl$k.in" >"$RD/wl$k.out" 2>"$RD/workload$k.err"
		) &
		wl_pid[k]=$!
		exec {fd}>"$RD/wl$k.in"
		wl_w[k]=$fd
		exec {fd}<"$RD/wl$k.out"
		wl_r[k]=$fd
	done
	for ((i = 0; i <= nbatches; i++)); do
		[ "$mode" = follow ] || [ "${passes[i]}" -eq 0 ] || pitr_pass || return
		case ${backups[i]} in
		between) backup_wait && backup between || return ;;
		during) backup_wait && backup during || return ;;
		esac
		[ "$i" -lt "$nbatches" ] || break
		[ "$i" -ne "$restart_at" ] || server_restart || return
		[ "$i" -ne "$cut_at" ] || store_cut || return
		[ "$i" -ne "$mid_at" ] || mid_restore_start "$i" || return
		batch "$i" || return
	done
	backup_wait && mid_wait || return
	local more
	ops=
	for k in "${!wl_w[@]}"; do
		eval "exec ${wl_w[k]}>&-"
		read -r -u "${wl_r[k]}" more || more=
		eval "exec ${wl_r[k]}<&-"
		ops+="${ops:+ | }$more"
		st=0
		wait "${wl_pid[k]}" || st=$?
		[ "$st" -eq 0 ] || { why="tv-workload $k exited $st: $(tail -n 1 "$RD/workload$k.err")"; return 1; }
	done
	wl_w=() wl_r=() wl_pid=()
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
