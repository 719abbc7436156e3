/* curl_transient.h — which libcurl failures may pass on a later try, for the two libcurl
 * clients (smtp.c, the S3 storage). In a file of its own so that the FastCGI programs, which
 * link neither client, never link libcurl. */
#ifndef FIABLE_CURL_TRANSIENT_H
#define FIABLE_CURL_TRANSIENT_H

#include <stdbool.h>

#include <curl/curl.h>

/* True when rc is a failure of the network that a later try may not meet (host not
 * resolved, connection refused or cut, timeout, TLS handshake), or one of also: the failures
 * that the caller too expects to pass, a list ended by CURLE_OK (NULL: none). */
bool curl_transient(CURLcode rc, const CURLcode *also);

#endif
