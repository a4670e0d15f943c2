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

# Starts a MongoDB-wire server: mongod when one is on PATH (or $MONGOD), else FerretDB
# with its SQLite backend.  Exports MONGODB_URI, TV_MONGO_PORT, TV_MONGO_PID, TV_MONGO_DIR
# and TV_MONGO_SERVER (mongod or ferretdb).
tv_start_mongo() {
	local mongod=${MONGOD:-$(command -v mongod || true)}
	TV_MONGO_DIR=$(mktemp -d "${TMPDIR:-/tmp}/tv-mongo.XXXXXX")
	TV_MONGO_PORT=$(tv_free_port) || return 1
	if [ -n "$mongod" ]; then
		TV_MONGO_SERVER=mongod
		"$mongod" --port "$TV_MONGO_PORT" --bind_ip 127.0.0.1 --dbpath "$TV_MONGO_DIR" \
			>"$TV_MONGO_DIR/server.log" 2>&1 </dev/null 3>&- &
	else
		TV_MONGO_SERVER=ferretdb
		ferretdb --handler=sqlite --sqlite-url="file:$TV_MONGO_DIR/" --state-dir="$TV_MONGO_DIR" \
			--listen-addr="127.0.0.1:$TV_MONGO_PORT" --debug-addr=- --telemetry=disable \
			--repl-set-name=rs0 --log-level=error \
			>"$TV_MONGO_DIR/server.log" 2>&1 </dev/null 3>&- &
	fi
	TV_MONGO_PID=$!
	MONGODB_URI="mongodb://127.0.0.1:$TV_MONGO_PORT/tralivali"
	export MONGODB_URI TV_MONGO_PORT TV_MONGO_PID TV_MONGO_DIR TV_MONGO_SERVER
	tv_wait_port "$TV_MONGO_PORT" 60 || { cat "$TV_MONGO_DIR/server.log" >&2; return 1; }
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
	AZURITE_DIR=$(mktemp -d "${TMPDIR:-/tmp}/tv-azurite.XXXXXX")
	AZURITE_PORT=$(tv_free_port) || return 1
	azurite-blob --blobHost 127.0.0.1 --blobPort "$AZURITE_PORT" --location "$AZURITE_DIR" \
		--loose --skipApiVersionCheck --silent \
		>"$AZURITE_DIR/server.log" 2>&1 </dev/null 3>&- &
	AZURITE_PID=$!
	AZURITE_BLOB_ENDPOINT="http://127.0.0.1:$AZURITE_PORT/$AZURITE_ACCOUNT"
	AZURITE_CONNECTION_STRING="DefaultEndpointsProtocol=http;AccountName=$AZURITE_ACCOUNT;AccountKey=$AZURITE_KEY;BlobEndpoint=$AZURITE_BLOB_ENDPOINT;"
	export AZURITE_PORT AZURITE_PID AZURITE_DIR AZURITE_BLOB_ENDPOINT AZURITE_CONNECTION_STRING
	tv_wait_port "$AZURITE_PORT" 60 || { cat "$AZURITE_DIR/server.log" >&2; return 1; }
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
