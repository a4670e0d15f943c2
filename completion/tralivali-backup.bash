# bash completion for the tralivali-backup tools and flows.
# The options come from each command's own --help, so a new option completes without a change
# here; recovery points and collection names come from tv-list --json, asked at most every few
# seconds (it reads the store) and given up after 10 s.
# shellcheck shell=bash

# Prints the long and short options in command $1's usage, one a line: all of a usage message, or
# the part of a manual page before DESCRIPTION (its SYNOPSIS; the prose names other commands'
# options too).  Grouped flags ([-qv]) come out one by one.
_tv_options() {
	"$1" --help 2>&1 | sed '/^DESCRIPTION/q' | grep -oE '(^|[[ |])--?[A-Za-z][A-Za-z0-9-]*' |
		sed -E 's/^[[ |]*//; /^-[A-Za-z]{2,}$/{s/^-//; s/(.)/-\1\n/g; s/\n$//}' | sort -u
}

# Prints tv-list --json's recovery-point folders and collection names ("folder NAME", "coll NAME"),
# cached in _tv_points for 30 s: pressing Tab twice must not list the store twice.
_tv_points() {
	local now
	now=$(date +%s)
	if [ -z "${_tv_points_at:-}" ] || [ $((now - _tv_points_at)) -ge 30 ]; then
		_tv_points_cache=$(timeout 10 tv-list --json 2>/dev/null |
			grep -oE '"(filePath|name)": *"[^"]*"' |
			sed -E 's/^"filePath": *"(.*)"$/folder \1/; s/^"name": *"(.*)"$/coll \1/' | sort -u)
		_tv_points_at=$now
	fi
	printf '%s\n' "$_tv_points_cache"
}

# Completes word $2 against the lines of $1, one candidate a line.
_tv_reply() {
	local IFS=$'\n'
	# shellcheck disable=SC2207 # the words are split on newlines only
	COMPREPLY=($(compgen -W "$1" -- "$2"))
}

_tralivali_backup() {
	local cmd=${COMP_WORDS[0]##*/} cur=${COMP_WORDS[COMP_CWORD]} prev=
	[ "$COMP_CWORD" -gt 0 ] && prev=${COMP_WORDS[COMP_CWORD-1]}
	COMPREPLY=()
	case $prev in
	--*-file|--stats|--metadata|--prom|--rules|--cert|--key|--log)
		compopt -o filenames 2>/dev/null
		# shellcheck disable=SC2207
		COMPREPLY=($(compgen -f -- "$cur"))
		return ;;
	--config-dir|--dashboard)
		compopt -o filenames 2>/dev/null
		# shellcheck disable=SC2207
		COMPREPLY=($(compgen -d -- "$cur"))
		return ;;
	--role|--from)
		_tv_reply $'backup\nrestore\nprune\ncopy' "$cur"
		return ;;
	--can)
		_tv_reply $'read\nlist\nwrite\ndelete' "$cur"
		return ;;
	-c|--collection|--collections)
		# A comma-separated list completes its last name.
		local head=
		[[ $cur == *,* ]] && head=${cur%,*},
		_tv_reply "$(_tv_points | sed -n "s/^coll /$head/p")" "$cur"
		compopt -o nospace 2>/dev/null
		return ;;
	esac
	if [[ $cur == -* ]]; then
		_tv_reply "$(_tv_options "$cmd")" "$cur"
		return
	fi
	case $cmd in
	tv-recover|tv-verify|tv-rehearse)
		_tv_reply "$(_tv_points | sed -n 's/^folder //p')" "$cur" ;;
	esac
}

complete -F _tralivali_backup tv-api tv-backup tv-blob-get tv-blob-ls tv-blob-put tv-catalog tv-copy \
	tv-cron-install tv-crypt tv-dbcheck tv-export tv-gzip tv-list tv-oplog tv-pitr tv-prune \
	tv-recover tv-rehearse tv-replay tv-restore tv-setup tv-state tv-status tv-verify
