/* err.h: how a failure travels from where it happens to the one place that reports it.
 * Functions that can fail return 0 or a negative YJ_E* code and, when given a non-NULL
 * struct yj_err, fill it with one human line (what, where, why). Callers log once, at the top. */
#ifndef YJ_ERR_H
#define YJ_ERR_H

enum yj_errcode {
    YJ_OK = 0,
    YJ_EINVAL = -1,     /* bad input: a field, an argument, a file that does not validate */
    YJ_ENOTFOUND = -2,  /* the thing named does not exist */
    YJ_ESTORE = -3,     /* the store failed (corrupt, locked too long, unexpected SQL error) */
    YJ_EIO = -4,        /* the file system refused: read-only, full, missing directory */
    YJ_ESTATE = -5,     /* the request is not allowed in the current state (lifecycle guard) */
    YJ_EINTEGRITY = -6, /* a check of stored data failed (audit chain) */
    YJ_ECONFLICT = -7,  /* a version or name conflict: someone else changed or took it first */
    YJ_EDENIED = -8,    /* not allowed for this caller */
    YJ_ELIMIT = -9      /* a size, rate or count limit was hit */
};

struct yj_err {
    int code;
    char msg[1024];
    char field[48]; /* the offending input field, "" when none (API errors name it) */
    /* The same in Chinese, for people at the console (names, not ids; no command-line hints), or
     * "" when the site that failed has none: then the console shows the problem's title. */
    char zh[512];
};

/* Sets err (when non-NULL) and returns code, so callers can write `return yj_err_set(...)`. */
int yj_err_set(struct yj_err *err, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* Sets the Chinese message (after yj_err_set, which clears it). */
void yj_err_zh(struct yj_err *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Names the offending field (after yj_err_set, which clears it). */
void yj_err_field(struct yj_err *err, const char *field);
/* Prefixes an existing message with more context ("loading plan: ..."). */
void yj_err_prefix(struct yj_err *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Process exit status for a code: 1 for most errors, 2 for usage/input errors. */
int yj_err_exit_status(int code);

#endif
