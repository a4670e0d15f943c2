# servers.bash: start and stop the real servers the tests use, each on a free loopback port
# in its own temporary directory.  Call the start functions from setup_file and the stop
# functions from teardown_file.
# shellcheck shell=bash

# Azurite's well-known development account (public, documented by Microsoft).
AZURITE_ACCOUNT=devstoreaccount1
AZURITE_KEY='Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=='

# Prints a loopback TCP port nothing listens on.
tv_free_port() {
	local port
	# Below Linux's ephemeral range (32768-60999), where the clients' own sockets would
	# make the server's bind fail now and then with "address already in use".
	for _ in $(seq 50); do
		port=$((20000 + RANDOM % 12000))
		if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
			echo "$port"
			return 0
		fi
	done
	echo "tv_free_port: no free port found" >&2
	return 1
}

# Waits up to $2 seconds for something to accept connections on port $1.
tv_wait_port() {
	local deadline=$((SECONDS + ${2:-30}))
	while [ "$SECONDS" -lt "$deadline" ]; do
		if (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; then
			return 0
		fi
		sleep 0.1
	done
	echo "nothing listens on 127.0.0.1:$1 after ${2:-30}s" >&2
	return 1
}

# Starts "$@" in the background, output in $dir/server.log, and waits until it listens on
# $port: returns 1 if it exits first (its port was taken between the choice and its bind) or
# if the listener turns out to be someone else's.  Sets TV_SPAWNED_PID.
tv_spawn_server() {
	local dir=$1 port=$2
	shift 2
	"$@" >"$dir/server.log" 2>&1 </dev/null 3>&- &
	TV_SPAWNED_PID=$!
	local deadline=$((SECONDS + 60))
	while [ "$SECONDS" -lt "$deadline" ]; do
		kill -0 "$TV_SPAWNED_PID" 2>/dev/null || return 1
		if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
			# A server that lost the race for its port exits right after trying to bind.
			sleep 0.3
			kill -0 "$TV_SPAWNED_PID" 2>/dev/null && return 0
			return 1
		fi
		sleep 0.1
	done
	tv_stop_pid "$TV_SPAWNED_PID"
	return 1
}

# Runs "tv_spawn_server DIR PORT command" with up to three fresh ports; $1 names the command
# builder, called with the port.  Sets TV_SPAWNED_DIR, TV_SPAWNED_PORT and TV_SPAWNED_PID.
tv_start_server() {
	local kind=$1 build=$2 try
	for try in 1 2 3; do
		TV_SPAWNED_DIR=$(mktemp -d "${TMPDIR:-/tmp}/tv-$kind.XXXXXX")
		TV_SPAWNED_PORT=$(tv_free_port) || return 1
		# shellcheck disable=SC2046
		if tv_spawn_server "$TV_SPAWNED_DIR" "$TV_SPAWNED_PORT" $("$build" "$TV_SPAWNED_DIR" "$TV_SPAWNED_PORT"); then
			return 0
		fi
		echo "$kind did not start on port $TV_SPAWNED_PORT (try $try):" >&2
		cat "$TV_SPAWNED_DIR/server.log" >&2
		rm -rf "$TV_SPAWNED_DIR"
	done
	return 1
}

# The command line of a MongoDB-wire server in dir $1 on port $2 (paths have no spaces).
tv_mongo_command() {
	local mongod=${MONGOD:-$(command -v mongod || true)}
	if [ -n "$mongod" ]; then
		echo "$mongod --port $2 --bind_ip 127.0.0.1 --dbpath $1"
	else
		local backend="--handler=sqlite --sqlite-url=file:$1/"
		[ -z "${TV_PG_DIR:-}" ] || backend="--handler=postgresql --postgresql-url=$(tv_postgres_database)"
		echo "ferretdb $backend --state-dir=$1" \
			"--listen-addr=127.0.0.1:$2 --debug-addr=- --telemetry=disable" \
			"--repl-set-name=rs0 --log-level=error"
	fi
}

# Starts a PostgreSQL cluster of its own, for FerretDB's postgresql backend: from then on
# tv_start_mongo starts FerretDB on a database of its own in it.  It listens only on a Unix
# socket in its directory (no port to race for).  PostgreSQL refuses to run as root, so as
# root it runs as the postgres user.  Exports TV_PG_DIR, TV_PG_BIN and TV_PG_AS.
tv_start_postgres() {
	TV_PG_BIN=$(printf '%s\n' /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
	[ -x "$TV_PG_BIN/initdb" ] || { echo "tv_start_postgres: no PostgreSQL server installed" >&2; return 1; }
	TV_PG_DIR=$(mktemp -d "${TMPDIR:-/tmp}/tv-postgres.XXXXXX")
	TV_PG_AS=
	if [ "$(id -u)" -eq 0 ]; then
		chown postgres "$TV_PG_DIR"
		TV_PG_AS="runuser -u postgres --"
	fi
	export TV_PG_DIR TV_PG_BIN TV_PG_AS
	# shellcheck disable=SC2086 # TV_PG_AS is a command prefix, or nothing
	if ! { $TV_PG_AS "$TV_PG_BIN/initdb" -D "$TV_PG_DIR/data" -A trust -U postgres >"$TV_PG_DIR/initdb.log" 2>&1 &&
		$TV_PG_AS "$TV_PG_BIN/pg_ctl" -D "$TV_PG_DIR/data" -l "$TV_PG_DIR/server.log" -w \
			-o "-c listen_addresses= -c unix_socket_directories=$TV_PG_DIR" start >/dev/null; }; then
		echo "tv_start_postgres: PostgreSQL did not start:" >&2
		cat "$TV_PG_DIR"/*.log >&2
		return 1
	fi
}

# Prints the URL of a new, empty database in the cluster tv_start_postgres started, for FerretDB.
tv_postgres_database() {
	local name=ferretdb_$RANDOM$RANDOM
	# shellcheck disable=SC2086
	$TV_PG_AS "$TV_PG_BIN/createdb" -h "$TV_PG_DIR" -U postgres "$name" || return 1
	echo "postgres://postgres@/$name?host=$TV_PG_DIR"
}

# For the benchmarks' -b BACKEND ($1): starts what FerretDB needs for it (sqlite: nothing,
# postgresql: a cluster of its own), or exits 64 naming the benchmark ($2).
tv_start_backend() {
	case $1 in
	sqlite) ;;
	postgresql) tv_start_postgres ;;
	*) echo "$2: -b: sqlite or postgresql, not $1" >&2; exit 64 ;;
	esac
}

# Stops the cluster tv_start_postgres started and removes its data.
tv_stop_postgres() {
	[ -n "${TV_PG_DIR:-}" ] || return 0
	# shellcheck disable=SC2086
	$TV_PG_AS "$TV_PG_BIN/pg_ctl" -D "$TV_PG_DIR/data" -m fast stop >/dev/null 2>&1 || true
	rm -rf "$TV_PG_DIR"
	unset TV_PG_DIR TV_PG_BIN TV_PG_AS
}

# The command line of Azurite's blob service in dir $1 on port $2.
tv_azurite_command() {
	echo "azurite-blob --blobHost 127.0.0.1 --blobPort $2 --location $1 --loose --skipApiVersionCheck --silent"
}

# Starts a MongoDB-wire server: mongod when one is on PATH (or $MONGOD), else FerretDB
# with its SQLite backend, or its PostgreSQL backend after tv_start_postgres.  Exports
# MONGODB_URI, TV_MONGO_PORT, TV_MONGO_PID, TV_MONGO_DIR and TV_MONGO_SERVER (mongod or ferretdb).
tv_start_mongo() {
	TV_MONGO_SERVER=ferretdb
	[ -n "${MONGOD:-$(command -v mongod || true)}" ] && TV_MONGO_SERVER=mongod
	tv_start_server mongo tv_mongo_command || return 1
	TV_MONGO_DIR=$TV_SPAWNED_DIR TV_MONGO_PORT=$TV_SPAWNED_PORT TV_MONGO_PID=$TV_SPAWNED_PID
	MONGODB_URI="mongodb://127.0.0.1:$TV_MONGO_PORT/tralivali"
	export MONGODB_URI TV_MONGO_PORT TV_MONGO_PID TV_MONGO_DIR TV_MONGO_SERVER
}

# Creates the capped local.oplog.rs (size $1 bytes, default 16 MiB) that FerretDB, started with
# --repl-set-name, needs to record inserts, updates and deletes in it.  A mongod started here is
# standalone: it keeps no oplog, and this returns 1.
tv_enable_oplog() {
	if [ "$TV_MONGO_SERVER" != ferretdb ]; then
		echo "tv_enable_oplog: the oplog needs FerretDB here (mongod runs standalone)" >&2
		return 1
	fi
	"$TV_BUILDDIR/tests/tv-mongo-cmd" -d local \
		"{\"create\": \"oplog.rs\", \"capped\": true, \"size\": ${1:-16777216}}" >/dev/null
}

# Restarts the server tv_start_mongo started, down for $1 seconds (default 0), then on the same
# port with the same data, as an upgrade or a crash and its restart would.  Sets TV_MONGO_PID.
tv_restart_mongo() {
	tv_stop_pid "$TV_MONGO_PID"
	sleep "${1:-0}"
	# shellcheck disable=SC2046 # the command line is words
	tv_spawn_server "$TV_MONGO_DIR" "$TV_MONGO_PORT" $(tv_mongo_command "$TV_MONGO_DIR" "$TV_MONGO_PORT") || return 1
	TV_MONGO_PID=$TV_SPAWNED_PID
	export TV_MONGO_PID
}

# Stops the server tv_start_mongo started and removes its data.
tv_stop_mongo() {
	tv_stop_pid "${TV_MONGO_PID:-}"
	[ -n "${TV_MONGO_DIR:-}" ] && rm -rf "$TV_MONGO_DIR"
	return 0
}

# Starts Azurite's blob service.  Exports AZURITE_PORT, AZURITE_PID, AZURITE_DIR,
# AZURITE_BLOB_ENDPOINT and AZURITE_CONNECTION_STRING (account key, explicit endpoint).
tv_start_azurite() {
	tv_start_server azurite tv_azurite_command || return 1
	AZURITE_DIR=$TV_SPAWNED_DIR AZURITE_PORT=$TV_SPAWNED_PORT AZURITE_PID=$TV_SPAWNED_PID
	AZURITE_BLOB_ENDPOINT="http://127.0.0.1:$AZURITE_PORT/$AZURITE_ACCOUNT"
	AZURITE_CONNECTION_STRING="DefaultEndpointsProtocol=http;AccountName=$AZURITE_ACCOUNT;AccountKey=$AZURITE_KEY;BlobEndpoint=$AZURITE_BLOB_ENDPOINT;"
	export AZURITE_PORT AZURITE_PID AZURITE_DIR AZURITE_BLOB_ENDPOINT AZURITE_CONNECTION_STRING
}

# Stops Azurite and removes its data.
tv_stop_azurite() {
	tv_stop_pid "${AZURITE_PID:-}"
	[ -n "${AZURITE_DIR:-}" ] && rm -rf "$AZURITE_DIR"
	return 0
}

# Stops a process: TERM, then KILL if it has not gone after five seconds.
tv_stop_pid() {
	local pid=$1
	[ -n "$pid" ] || return 0
	kill "$pid" 2>/dev/null || return 0
	for _ in $(seq 50); do
		kill -0 "$pid" 2>/dev/null || return 0
		sleep 0.1
	done
	kill -9 "$pid" 2>/dev/null || true
}
