/* azure.h: the Azure Blob Storage backend of store.h, over libcurl. */
#ifndef TV_AZURE_H
#define TV_AZURE_H

#include "store.h"

/*
 * Opens container of the account a connection string (from the setting named
 * setting, which messages name) names:
 *   AccountName=..;AccountKey=..[;DefaultEndpointsProtocol=https][;EndpointSuffix=core.windows.net][;BlobEndpoint=..]
 *   BlobEndpoint=..;SharedAccessSignature=..
 *   UseDevelopmentStorage=true   (Azurite's well-known account on 127.0.0.1:10000)
 * The endpoint must be https, or http to a loopback host (127.0.0.0/8, ::1,
 * localhost) unless BACKUP_ALLOW_INSECURE_HTTP=1.  Exits 64 on a malformed
 * string (without echoing secrets) and 69 if the circuit breaker is open.
 */
struct tv_store *tv_azure_open(const char *setting, const char *connection_string, const char *container);

/* tv_store_copy (store.h) between two Azure stores: Copy Blob From URL, Put Block From URL, or Copy Blob. */
int tv_azure_copy(struct tv_store *dst, struct tv_store *src, const char *name, const char *sha256);

#endif
