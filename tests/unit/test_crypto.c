/* Encodings, the derivation of edit tokens and the hash of idempotency keys. */
#include <string.h>

#include "crypto.h"
#include "idempotency.h"
#include "submission.h"
#include "unit.h"

int
main(void)
{
	static const struct { const char *in; const char *out; } b64[] = {
		{ "", "" }, { "f", "Zg" }, { "fo", "Zm8" }, { "foo", "Zm9v" },
		{ "foob", "Zm9vYg" }, { "fooba", "Zm9vYmE" }, { "foobar", "Zm9vYmFy" },
		{ "\xfb\xff", "-_8" },
	};
	unsigned char h[SHA256_LEN], h2[SHA256_LEN], bytes[4], secret[32] = { 1, 2, 3 };
	char out[128], token[TOKEN_STR_LEN], token2[2 * SHA256_LEN + 1];
	size_t i;

	for (i = 0; i < sizeof(b64) / sizeof(b64[0]); i++) {
		base64url_encode((const unsigned char *)b64[i].in, strlen(b64[i].in), out);
		CHECK(strcmp(out, b64[i].out) == 0, "base64url(%s) = %s", b64[i].in, out);
	}
	sha256("abc", 3, h);
	hex_encode(h, SHA256_LEN, out);
	CHECK(strcmp(out, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad") == 0,
	    "sha256(abc) = %s", out);
	CHECK(hex_decode("00ff7A10", bytes, 4) == 0 && bytes[1] == 0xff && bytes[2] == 0x7a,
	    "hex_decode");
	CHECK(hex_decode("0g", bytes, 1) != 0, "chiffre invalide");

	edit_token_for_key(secret, sizeof(secret), "6f1c2d0e-0000-4000-8000-000000000001", token, h);
	edit_token_for_key(secret, sizeof(secret), "6f1c2d0e-0000-4000-8000-000000000001", token2, h2);
	CHECK(strcmp(token, token2) == 0 && memcmp(h, h2, SHA256_LEN) == 0, "jeton reproductible");
	CHECK(strlen(token) == 43, "jeton de 256 bits (%zu caractères)", strlen(token));
	sha256(token, strlen(token), h2);
	CHECK(equal_ct(h, h2, SHA256_LEN), "empreinte du jeton");
	edit_token_for_key(secret, sizeof(secret), "6f1c2d0e-0000-4000-8000-000000000002", token2, h2);
	CHECK(strcmp(token, token2) != 0, "une clé, un jeton");
	/* HMAC(secret, "fiable edit token v2 " + key), computed elsewhere (Python's hmac): the
	 * label is no longer v1's, so a key written in clear before sql/0010 no longer derives
	 * the token of its submission. */
	CHECK(strcmp(token, "5SHlSTpiOxJ21Fim_t0s-vKenoKYGxtiQwy-NmqLOwA") == 0, "jeton v2 : %s", token);
	CHECK(strcmp(token, "AbKgpQN5PhNLY41C89Otm5yRpeQvYL3a1XVjBar76WQ") != 0, "plus le jeton v1");
	secret[0] = 9;
	edit_token_for_key(secret, sizeof(secret), "6f1c2d0e-0000-4000-8000-000000000001", token2, h2);
	CHECK(strcmp(token, token2) != 0, "un secret, un jeton");

	/* A key is stored, measured and audited as the hex SHA-256 of its normalised text, the
	 * value sql/0010 computes with sha256(convert_to(key::text, 'UTF8')). */
	idempotency_key_hash("6f1c2d0e-0000-4000-8000-000000000001", out);
	CHECK(strcmp(out, "b5ae2755a33870fdfd049b99af8b826bb5719e0643c42f495aba89c6816e5a21") == 0,
	    "empreinte de la clé : %s", out);
	CHECK(random_bytes(bytes, sizeof(bytes)) == 0, "aléa");

	/* A presented token is looked up by the hex SHA-256 of exactly 43 base64url characters. */
	CHECK(edit_token_random(token, h) == 0 && strlen(token) == 43, "jeton aléatoire");
	CHECK(edit_token_lookup_hash(token, out), "forme du jeton aléatoire");
	hex_encode(h, SHA256_LEN, token2);
	CHECK(strcmp(out, token2) == 0, "empreinte de recherche");
	CHECK(!edit_token_lookup_hash(NULL, out), "jeton absent");
	CHECK(!edit_token_lookup_hash("court", out), "jeton trop court");
	token[5] = '+';
	CHECK(!edit_token_lookup_hash(token, out), "caractère hors base64url");
	return UNIT_END();
}
