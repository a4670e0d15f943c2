# targets.bash: the soak's restores (tests/soak/pitr sources it): the catalogue checked, targets
# of random kinds drawn where the recorder has the exact state, each restored into a scratch
# database and compared with it document by document, or refused as it must be.
# shellcheck shell=bash

# Prints the recorded state that holds at second $1 (its index), or nothing.
rec_at() {
	local k
	for k in "${!rec_lo[@]}"; do
		if [ "$1" -ge "${rec_lo[k]}" ] && { [ -z "${rec_hi[k]}" ] || [ "$1" -le "${rec_hi[k]}" ]; }; then
			echo "$k"
			return
		fi
	done
}

# Prints the state a point restores to (its consistentAt.end): the record taken just before a
# point between batches; for a point taken during writes, the record that holds at its end's
# second when no write of the database follows its end within that second.
point_rec() {
	local id=$1 end=$2 k sec
	k=${backup_rec[$id]-}
	[ "$k" = during ] || { echo "$k"; return; }
	sec=${end%.*}
	k=$(rec_at "$sec")
	[ -n "$k" ] || return 0
	tv-oplog --since "$end" --until "$sec.4294967295" --stats "$RD/after-end.stats" >/dev/null 2>>"$RD/log" || return 0
	[ "$(jq .count "$RD/after-end.stats")" = 0 ] && echo "$k"
}

# Sets the target: kind $1 drawn, what to run (target_args), what to expect (want: a record index,
# or "65 TEXT"); returns 1 if that kind has no comparable target in this round.
choose() {
	local n p secs=() s k
	n=$(jq '.backups | length' "$RD/catalog.json")
	case $1 in
	before)
		draw 30
		s=$((first_sec - 1 - D))
		target_args=(--at "$(utc "$s")") want="65 is before every complete recovery point" ;;
	point)
		# The first point, from a random one on, whose end second the recorder has.
		draw "$n"
		for ((p = 0; p < n; p++)); do
			s=$(jq -r --argjson p $(((D + p) % n)) '.backups[$p].consistentAt.end | split(".")[0]' "$RD/catalog.json")
			k=$(rec_at "$s")
			[ -z "$k" ] || break
		done
		[ -n "$k" ] || return 1
		target_args=(--at "$(utc "$s")") want=$k ;;
	between)
		for k in "${!rec_lo[@]}"; do
			local hi=${rec_hi[k]:-$newest_sec}
			[ "$hi" -le "$newest_sec" ] || hi=$newest_sec
			for ((s = rec_lo[k] < first_sec ? first_sec : rec_lo[k]; s <= hi; s++)); do secs+=("$s"); done
		done
		[ "${#secs[@]}" -gt 0 ] || return 1
		draw "${#secs[@]}"
		s=${secs[D]}
		target_args=(--at "$(utc "$s")") want=$(rec_at "$s") ;;
	newest)
		k=$(rec_at "$newest_sec")
		[ -n "$k" ] || return 1
		target_args=(--at "$(utc "$newest_sec")") want=$k ;;
	after)
		draw 30
		target_args=(--at "$(utc $((newest_sec + 1 + D)))") want="65 The shipped oplog covers: " ;;
	folder)
		local id end folder
		draw "$n"
		for ((p = 0; p < n; p++)); do
			read -r id end folder < <(jq -r --argjson p $(((D + p) % n)) \
				'.backups[$p] | "\(.id) \(.consistentAt.end) \(.filePath | rtrimstr("/"))"' "$RD/catalog.json")
			k=$(point_rec "$id" "$end")
			[ -z "$k" ] || break
		done
		[ -n "$k" ] || return 1
		draw 2
		if [ "$D" -eq 0 ]; then target_args=("$folder"); else target_args=(--at "$end"); fi
		want=$k ;;
	esac
}

# Prints the differences between the recorded state $1 and the snapshot $2: per collection, how
# many documents only one holds, and the first such _id.
differences() {
	local c a b
	for c in "${COLLECTIONS[@]}"; do
		cmp -s "$1.$c" "$2.$c" && continue
		a=$(LC_ALL=C comm -23 "$1.$c" "$2.$c" | wc -l)
		b=$(LC_ALL=C comm -13 "$1.$c" "$2.$c" | wc -l)
		printf '%s: %s recorded document(s) not restored, %s restored not recorded (first: %s); ' "$c" "$a" "$b" \
			"$(LC_ALL=C comm -3 "$1.$c" "$2.$c" | head -n 1 | tr -d '\t' | jq -c '._id' 2>/dev/null || echo '?')"
	done
}

# Prints the restore leftovers (tv_restore_* collections) in database $1.
leftovers() {
	"$MONGO_CMD" -d "$1" '{"listCollections": 1, "nameOnly": true}' 2>>"$RD/log" |
		jq -r '.cursor.firstBatch[].name | select(startswith("tv_restore_"))'
}

# Restores target $1 (its number) into its scratch database and checks the outcome.
restore() {
	local t=$1 kind=$2 st=0 scratch what left killed_at='' killed_state=''
	scratch=soak${round}_$t
	what="$kind ${target_args[*]}"
	step "target $t: $what (expect ${want%% *})"
	local t0 ms
	t0=$(date +%s%N)
	run_tool tv-recover -q "${target_args[@]}" --to-db "$scratch" --yes --no-safety-backup || st=$?
	ms=$((($(date +%s%N) - t0) / 1000000))
	if [[ $want == 65* ]]; then
		[ "$st" -eq 65 ] || { fail "$what: exit $st, expected a refusal (65)"; return 1; }
		grep -qF -- "${want#65 }" "$RD/last.err" || { why="$what: refused, but not saying \"${want#65 }\": $(tail -n 1 "$RD/last.err")"; return 1; }
		done_targets+=("$kind refused")
		return 0
	fi
	[ "$st" -eq 0 ] || { fail "$what: exit $st"; return 1; }
	[ "$faults" -eq 0 ] || killed_restore "$ms" || return
	snapshot "$scratch" "$RD/restored.$t" || { why="$what: reading the restore failed (see $RD/log)"; return 1; }
	local diff
	diff=$(differences "$RD/rec/$want" "$RD/restored.$t")
	[ -z "$diff" ] || { why="$what: not the recorded state $want (from $(utc "${rec_lo[want]}")): ${diff%; }"; return 1; }
	left=$(leftovers "$scratch"; leftovers "$DB")
	[ -z "$left" ] || { why="$what: staging collections left: ${left//$'\n'/ }"; return 1; }
	done_targets+=("$kind exact${killed_at:+ (killed at $killed_at s, $killed_state)}")
	[ "$keep" -eq 1 ] || "$MONGO_CMD" -d "$scratch" '{"dropDatabase": 1}' >/dev/null 2>>"$RD/log"
}

# -f: the restore just proven exact (in $1 milliseconds) is run again into a new scratch database
# and killed with kill -9 at a random moment of as long a run; then tv-recover --resume.  The
# database must then hold nothing or exactly the target state, and no staging collection.  Sets
# killed_at and killed_state.
killed_restore() {
	local db=${scratch}k pid state
	draw "$1"
	killed_at=$(printf '%d.%03d' $(((100 + D) / 1000)) $(((100 + D) % 1000)))
	tv-recover -q "${target_args[@]}" --to-db "$db" --yes --no-safety-backup 2>"$RD/killed.err" &
	pid=$!
	sleep "$killed_at"
	kill -9 "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	{ echo "\$ tv-recover ${target_args[*]} --to-db $db (killed at $killed_at s)"; cat "$RD/killed.err"; } >>"$RD/log"
	wait_lock_free || { why="$what: the stages of tv-recover killed at $killed_at s still hold the lock after 30 s"; return 1; }
	run_tool tv-recover -q --resume || { fail "$what: tv-recover --resume after the kill at $killed_at s exited $?"; return 1; }
	snapshot "$db" "$RD/killed.$t" || { why="$what: reading the killed restore's database failed (see $RD/log)"; return 1; }
	if [ -z "$(differences "$RD/rec/$want" "$RD/killed.$t")" ]; then
		killed_state="restored"
	elif ! grep -qvx absent "$RD/killed.$t".*; then
		killed_state="nothing changed"
	else
		why="$what: killed at $killed_at s and resumed, the database is neither as it was nor the target: $(differences "$RD/rec/$want" "$RD/killed.$t")"
		return 1
	fi
	state=$(leftovers "$db")
	[ -z "$state" ] || { why="$what: killed at $killed_at s and resumed, staging collections are left: ${state//$'\n'/ }"; return 1; }
	[ "$keep" -eq 1 ] || "$MONGO_CMD" -d "$db" '{"dropDatabase": 1}' >/dev/null 2>>"$RD/log"
}

# Checks the catalogue and restores the round's targets.
restore_round() {
	local t kinds=(before point between newest after folder) kind i
	run_tool tv-list --json >"$RD/catalog.json" || { fail "tv-list --json exited $?"; return 1; }
	local n want_n
	# Every entry a Completed point (tv-list lists what is not one too), one for each backup taken.
	n=$(jq '[.backups[] | select(.status == "Completed")] | length' "$RD/catalog.json")
	want_n=${#backup_rec[@]}
	if [ "$n" -ne "$want_n" ] || [ "$(jq '.backups | length' "$RD/catalog.json")" -ne "$n" ]; then
		why="tv-list: $n Completed backup(s), $want_n taken: $(jq -c '[.backups[] | {filePath, status}]' "$RD/catalog.json")"
		return 1
	fi
	# The day's first point takes backups/DATE/, the later ones backups/DATE'T'HHMMSS'Z'/.
	jq -e '[.backups | sort_by(.createdAt) | group_by(.createdAt[:10])[] | .[0].createdAt[:10] as $d |
		(.[0].filePath | rtrimstr("/")) == "backups/\($d)", (.[1:][] | .filePath | test("^backups/\($d)T[0-9]{6}Z/?$"))] | all' \
		"$RD/catalog.json" >/dev/null ||
		{ why="tv-list: the points' folders are not the day's first backups/DATE/, then DATE'T'HHMMSS'Z'/: $(jq -c '[.backups[] | [.createdAt, .filePath]]' "$RD/catalog.json")"; return 1; }
	if [ "$encrypt" -eq 1 ] && jq -e '[.backups[] | .collections[].file, .oplog.file] | any(endswith(".enc") | not)' "$RD/catalog.json" >/dev/null; then
		why="-e: a point holds blobs that are not encrypted: $(jq -c '[.backups[] | .collections[].file, .oplog.file]' "$RD/catalog.json")"
		return 1
	fi
	[ "$(jq '.pitr | length' "$RD/catalog.json")" -eq 1 ] ||
		{ why="tv-list: the shipped oplog is not one continuous range: $(jq -c '[.pitr[] | [.from, .to]]' "$RD/catalog.json")"; return 1; }
	first_sec=$(jq -r '[.backups[].consistentAt.end | split(".")[0] | tonumber] | min' "$RD/catalog.json")
	newest_sec=$(jq -r '.pitr[0].toPosition | split(".")[0]' "$RD/catalog.json")
	# The kinds in a random order, each once while there are more targets than kinds: the first
	# ones that have a comparable target in this round are restored.
	local order=()
	for ((t = 0; t < targets; t += ${#kinds[@]})); do
		for ((i = ${#kinds[@]} - 1; i >= 0; i--)); do
			draw $((i + 1))
			order+=("${kinds[D]}")
			kinds[D]=${kinds[i]} kinds[i]=${order[-1]}
		done
	done
	t=0
	for kind in "${order[@]}"; do
		[ "$t" -lt "$targets" ] || break
		if ! choose "$kind"; then
			step "no comparable $kind target in this round"
			continue
		fi
		t=$((t + 1))
		restore "$t" "$kind" || return
	done
}
