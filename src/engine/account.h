/* account.h: the people who log in — creating accounts, setting passwords — shared by the CLI
 * (`yingji user add`) and the API (/api/v1/users). Passwords are hashed with argon2id
 * (libsodium); every change is audited in the same transaction. */
#ifndef YJ_ACCOUNT_H
#define YJ_ACCOUNT_H

#include <stdbool.h>
#include <stddef.h>

#include "../store/store.h"

struct yj_ctx;
struct yj_err;

#define ACCOUNT_PASSWORD_MIN 10
#define ACCOUNT_PASSWORD_MAX 512

/* Checks name (1-64 of letters, digits . _ -), role (admin leader responder officer duty
 * auditor), unit (a unit of the plan; required for officer) and person (a person of the plan, or
 * NULL). err names the field. */
int account_check(const struct yj_ctx *ctx, const char *name, const char *role, const char *unit, const char *person,
                  struct yj_err *err);
/* Checks a new password's length; err names `field`. */
int account_check_password(const char *field, const char *password, struct yj_err *err);
/* argon2id hash of password into out (at least ACCOUNT_HASH_SIZE bytes). */
#define ACCOUNT_HASH_SIZE 128
int account_hash_password(const char *password, char *out, size_t size, struct yj_err *err);
/* True when password matches the stored hash. */
bool account_verify_password(const char *hash, const char *password);

/* Creates an account (checks, hash, insert, audit). *out (may be NULL) receives the row;
 * release with store_user_release. YJ_ECONFLICT when the name is taken. */
int account_create(struct yj_ctx *ctx, const char *name, const char *role, const char *unit, const char *person,
                   const char *password, bool must_change, struct store_user *out, struct yj_err *err);
/* A random one-time password: 16 characters from an alphabet without look-alikes (0/O, 1/l/I),
 * ~90 bits, easy to type from a phone call. */
#define ACCOUNT_ONE_TIME_SIZE 17
int account_one_time_password(char out[ACCOUNT_ONE_TIME_SIZE], struct yj_err *err);
/* Sets a new password for the account, ends its sessions, audits. */
int account_set_password(struct yj_ctx *ctx, const char *name, const char *password, bool must_change,
                         struct yj_err *err);

/* Whether the account as it will be (after, already changed in memory) leaves at least one
 * enabled administrator: YJ_ESTATE, with the reason, when it is the last and stops being one. */
int account_keeps_an_admin(struct store *st, const struct store_user *after, struct yj_err *err);

#endif
