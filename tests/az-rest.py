#!/usr/bin/env python3
"""az-rest.py: raw Azure Blob calls for tests, signed with SharedKey independently of the
C client, over one kept-alive connection.

  az-rest.py fill CONTAINER PREFIX COUNT     empty blobs PREFIX0001..PREFIXCOUNT, quickly
  az-rest.py put CONTAINER NAME FILE [HEADER:VALUE...]   one blob with extra x-ms-* headers
  az-rest.py tier CONTAINER NAME TIER        Set Blob Tier (Hot, Cool, Cold, Archive), as az storage blob set-tier

The account comes from AZURITE_BLOB_ENDPOINT, AZURITE_ACCOUNT and AZURITE_KEY."""
import base64, hashlib, hmac, http.client, os, sys, urllib.parse
from email.utils import formatdate

endpoint = os.environ["AZURITE_BLOB_ENDPOINT"]
account = os.environ["AZURITE_ACCOUNT"]
key = base64.b64decode(os.environ["AZURITE_KEY"])
url = urllib.parse.urlsplit(endpoint)
conn = http.client.HTTPConnection(url.hostname, url.port)


def put(path, headers, body=b"", query=""):
    headers = dict(headers, **{"x-ms-date": formatdate(usegmt=True), "x-ms-version": "2021-08-06"})
    canon = "".join(f"{k}:{headers[k]}\n" for k in sorted(headers) if k.startswith("x-ms-"))
    resource = f"/{account}{url.path}{path}"
    for part in sorted(query.split("&")) if query else []:
        k, v = part.split("=", 1)
        resource += f"\n{k}:{v}"
    length = str(len(body)) if body else ""
    sts = f"PUT\n\n\n{length}\n\n\n\n\n\n\n\n\n{canon}{resource}"
    sig = base64.b64encode(hmac.new(key, sts.encode(), hashlib.sha256).digest()).decode()
    headers["Authorization"] = f"SharedKey {account}:{sig}"
    headers["Content-Length"] = str(len(body))
    conn.request("PUT", url.path + path + ("?" + query if query else ""), body=body, headers=headers)
    resp = conn.getresponse()
    resp.read()
    return resp.status


def main(cmd, container, *args):
    put(f"/{container}", {}, query="restype=container")
    blob = {"x-ms-blob-type": "BlockBlob"}
    if cmd == "fill":
        prefix, count = args[0], int(args[1])
        for i in range(1, count + 1):
            status = put(f"/{container}/{prefix}{i:0{len(str(count))}d}", blob)
            if status != 201:
                sys.exit(f"az-rest.py: blob {i}: HTTP {status}")
    elif cmd == "put":
        name, path, extra = args[0], args[1], args[2:]
        with open(path, "rb") as f:
            body = f.read()
        headers = dict(blob, **dict(h.split(":", 1) for h in extra))
        status = put(f"/{container}/{urllib.parse.quote(name)}", headers, body)
        if status != 201:
            sys.exit(f"az-rest.py: {name}: HTTP {status}")
    elif cmd == "tier":
        name, tier = args
        status = put(f"/{container}/{urllib.parse.quote(name)}", {"x-ms-access-tier": tier}, query="comp=tier")
        if status not in (200, 202):
            sys.exit(f"az-rest.py: {name}: set tier {tier}: HTTP {status}")
    else:
        sys.exit(__doc__)


main(*sys.argv[1:])
