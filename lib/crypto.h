/* crypto.h — hashing, random bytes and encodings (OpenSSL's libcrypto). */
#ifndef FIABLE_CRYPTO_H
#define FIABLE_CRYPTO_H

#include <stdbool.h>
#include <stddef.h>

#include <openssl/evp.h>

#define SHA256_LEN 32
/* base64url without padding of 32 bytes, plus NUL. */
#define TOKEN_STR_LEN 44

void sha256(const void *data, size_t len, unsigned char out[SHA256_LEN]);
/* HMAC-SHA-256 of msg under key. */
void hmac_sha256(const unsigned char *key, size_t keylen, const void *msg, size_t len,
    unsigned char out[SHA256_LEN]);
/* Fills buf with cryptographically secure random bytes; -1 on failure. */
int random_bytes(unsigned char *buf, size_t len);

/* Lowercase hex of len bytes into out (2*len+1 bytes). */
void hex_encode(const unsigned char *in, size_t len, char *out);
/* Finishes md and writes its digest as lowercase hex into out (2 * digest size + 1 bytes:
 * 65 for SHA-256). */
void digest_final_hex(EVP_MD_CTX *md, char *out);
/* Decodes exactly 2*len hex digits; -1 on any bad digit. */
int hex_decode(const char *in, unsigned char *out, size_t len);
/* base64url (RFC 4648 §5) without padding; out must hold 4*ceil(len/3)+1 bytes. */
void base64url_encode(const unsigned char *in, size_t len, char *out);
/* Constant-time comparison of two equal-length buffers. */
bool equal_ct(const unsigned char *a, const unsigned char *b, size_t len);

#endif
