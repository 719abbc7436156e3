/* curl_transient.c — the one rule of which libcurl failures are worth another try. */
#include "curl_transient.h"

#include <stddef.h>

bool
curl_transient(CURLcode rc, const CURLcode *also)
{
	switch (rc) {
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_COULDNT_CONNECT:
	case CURLE_OPERATION_TIMEDOUT:
	case CURLE_SEND_ERROR:
	case CURLE_RECV_ERROR:
	case CURLE_GOT_NOTHING:
	case CURLE_PARTIAL_FILE:
	case CURLE_SSL_CONNECT_ERROR:
		return true;
	default:
		break;
	}
	for (; also != NULL && *also != CURLE_OK; also++)
		if (*also == rc)
			return true;
	return false;
}
