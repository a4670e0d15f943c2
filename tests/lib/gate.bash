# gate.bash: holds a real flow at a known point, so that a test sees it running without racing it.
# shellcheck shell=bash

# Makes directory $1 a gate: a tv-blob-put there (put it first on the flows' PATH) hands every
# upload to the real one, except the first upload of a blob whose name matches glob $2 (the file
# $1/blob), which waits until the file $1/word appears: "go" lets it through, any other word
# fails it with 74, as a store gone away would.  $1/waiting is there while it waits.  The flows
# keep none of the test's environment, hence files for all of it.
tv_gate_install() {
	local dir=$1 real
	real=$(command -v tv-blob-put) || return 1
	mkdir -p "$dir"
	rm -f "$dir/word" "$dir/waiting"
	printf '%s\n' "$2" >"$dir/blob"
	cat >"$dir/tv-blob-put" <<GATE
#!/usr/bin/env bash
name=\${*: -1}
if [ -f "$dir/blob" ] && [[ \$name == \$(cat "$dir/blob") ]] && [[ " \$* " != *" --commit "* && " \$* " != *" --abort "* ]]; then
	rm -f "$dir/blob"
	: >"$dir/waiting"
	while [ ! -s "$dir/word" ]; do sleep 0.1; done
	word=\$(cat "$dir/word")
	rm -f "$dir/word" "$dir/waiting"
	if [ "\$word" != go ]; then
		printf '[%s ERR] tv-blob-put: %s: the upload failed at the test'"'"'s gate\n' "\$(date -u '+%F %T')" "\$name" >&2
		exit 74
	fi
fi
exec "$real" "\$@"
GATE
	chmod +x "$dir/tv-blob-put"
}

# Re-arms gate $1 for the next upload of a blob matching glob $2.
tv_gate_arm() {
	printf '%s\n' "$2" >"$1/blob"
}

# Waits up to 60 s for a flow to wait at gate $1.
tv_gate_wait() {
	local _
	for _ in $(seq 600); do
		[ ! -e "$1/waiting" ] || return 0
		sleep 0.1
	done
	echo "tv_gate_wait: nothing reached the gate $1" >&2
	return 1
}

# Opens gate $1 with word $2: go, or any other word to fail the upload.
tv_gate_open() {
	printf '%s\n' "$2" >"$1/word.new" && mv "$1/word.new" "$1/word"
}
