# azure.bash: raw Azure Blob REST calls with curl, signed with SharedKey by openssl, so that
# tests and benchmarks can check the store independently of our own C client.
# shellcheck shell=bash

# az_curl METHOD PATH [curl options...]: PATH is /container[/blob][?query] under the account.
# Uses AZURITE_BLOB_ENDPOINT, AZURITE_ACCOUNT and AZURITE_KEY; prints the response body.
# Upload bodies with -T FILE (no Content-Type) and set AZ_CONTENT_LENGTH and AZ_BLOB_TYPE.
az_curl() {
	local method=$1 path=$2
	shift 2
	local length=${AZ_CONTENT_LENGTH:-} blob_type=${AZ_BLOB_TYPE:-}
	local date version=2021-08-06 resource headers sig key k v
	date=$(LC_ALL=C TZ=GMT date '+%a, %d %b %Y %H:%M:%S GMT')
	resource="/$AZURITE_ACCOUNT/$AZURITE_ACCOUNT${path%%\?*}"
	if [[ "$path" == *\?* ]]; then
		while IFS='=' read -r k v; do
			resource+=$'\n'"${k,,}:$v"
		done < <(tr '&' '\n' <<<"${path#*\?}" | LC_ALL=C sort)
	fi
	headers="x-ms-date:$date\nx-ms-version:$version"
	local extra=()
	if [ -n "$blob_type" ]; then
		headers="x-ms-blob-type:$blob_type\n$headers"
		extra=(-H "x-ms-blob-type: $blob_type")
	fi
	key=$(base64 -d <<<"$AZURITE_KEY" | od -An -tx1 | tr -d ' \n')
	sig=$(printf "%s\n\n\n%s\n\n\n\n\n\n\n\n\n${headers}\n%s" "$method" "$length" "$resource" |
		openssl dgst -sha256 -mac HMAC -macopt "hexkey:$key" -binary | base64 -w0)
	curl -sS --fail-with-body -X "$method" "$AZURITE_BLOB_ENDPOINT$path" \
		-H "x-ms-date: $date" -H "x-ms-version: $version" \
		"${extra[@]}" \
		-H "Authorization: SharedKey $AZURITE_ACCOUNT:$sig" "$@"
}
