/* cli.h: the command-line front end. Parses the global options, opens what a command needs
 * and reports errors once, on stderr, as "yingji: message" (plan errors as FILE:LINE:COL). */
#ifndef YJ_CLI_H
#define YJ_CLI_H

#include <stdbool.h>

#include "../engine/ctx.h"
#include "../plan/config.h"

struct plan;
struct store;

struct cli {
    const char *data_dir;  /* --data, else $YINGJI_DATA, else the config's, else ./data */
    const char *plan_path; /* --plan, else the config's, else builtin:university */
    const char *config_path; /* --config */
    const char *store_url;   /* --store, else the config's, else sqlite in the data directory */
    struct yj_config cfg;    /* the deployment config (defaults without --config) */
    bool json;             /* --json */
    const char *prog;      /* "yingji" */
    struct yj_ctx ctx;     /* filled by cli_open */
    struct plan *plan;
    struct store *store;
    struct audit_key *audit_key; /* signs the audit head (cli_open with the store) */
    char actor[128];
    bool audit_key_optional; /* audit verify: read the key if there is one, never make it */
    bool plan_change;        /* serve --plan-change: the data may move to this plan */
};

/* Entry point used by main(). Returns the process exit status. */
int cli_main(int argc, char **argv);

/* Loads the plan (printing every diagnostic on failure) and, when with_store, opens and
 * migrates the store, loads (or makes) the audit key its writes are signed with and refuses a
 * store made with another plan (unless plan_change). Returns 0 or an exit status. */
int cli_open(struct cli *c, bool with_store);
void cli_close(struct cli *c);

/* Prints "yingji: msg" on stderr and returns the exit status for code. */
int cli_fail(int code, const char *msg);
/* Prints a usage error and returns 2. */
int cli_usage(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* True if argv has -h or --help before any "--". */
bool cli_wants_help(int argc, char **argv);
/* Prints s and pads it with spaces to `columns` terminal columns (CJK characters are two wide). */
void cli_print_padded(const char *s, int columns);
/* Writes a JSON value to stdout followed by a newline; steals the reference. */
void cli_print_json(void *json_value);

/* Command groups: argv[0] is the group name. */
int cli_plan(struct cli *c, int argc, char **argv);
int cli_incident(struct cli *c, int argc, char **argv);
int cli_db(struct cli *c, int argc, char **argv);
int cli_audit(struct cli *c, int argc, char **argv);
int cli_serve(struct cli *c, int argc, char **argv);
int cli_user(struct cli *c, int argc, char **argv);
int cli_logscan(struct cli *c, int argc, char **argv);
int cli_duty(struct cli *c, int argc, char **argv);
int cli_notify(struct cli *c, int argc, char **argv);
int cli_report(struct cli *c, int argc, char **argv);
int cli_block(struct cli *c, int argc, char **argv);
int cli_probe(struct cli *c, int argc, char **argv);
int cli_webguard(struct cli *c, int argc, char **argv);

#endif
