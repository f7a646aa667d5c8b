/* token.h: secrets handed out as text (sessions, API tokens, one-time links) and the hash they are
 * stored as: the store never holds what would let a reader of it use one. */
#ifndef YJ_TOKEN_H
#define YJ_TOKEN_H

#include <stddef.h>

/* nbytes (at most 64) random bytes as URL-safe base64 without padding into out (size bytes). */
void yj_token_random(char *out, size_t size, size_t nbytes);
/* The token's BLAKE2b-256, as 64 hex digits. */
void yj_token_hash(const char *token, char out[65]);

#endif
