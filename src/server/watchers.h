/* watchers.h: the server's own watchers (monitors, website guard, file integrity, host
 * resources), started from the config; what they find becomes signals. */
#ifndef YJ_WATCHERS_H
#define YJ_WATCHERS_H

#include "../base/err.h"
#include "../plan/config.h"

struct server;
struct watchers;

/* Starts what the config asks for of this machine's files (integrity). *out is set even on
 * failure (watchers_free it). */
int watchers_start(struct server *srv, struct yj_config *cfg, struct watchers **out, struct yj_err *err);
/* The scheduled watchers (monitors, the website guard, host resources): run by the node holding
 * the work lease, started when it takes it and stopped when it loses it. */
int watchers_start_scheduled(struct watchers *w, struct yj_err *err);
void watchers_stop_scheduled(struct watchers *w);
/* Stops all their threads, delivering what they hold; the API still answers from what is kept. */
void watchers_stop(struct watchers *w);
void watchers_free(struct watchers *w);
/* DATA/integrity, where the baseline copies are (for the restore action). */
const char *watchers_integrity_objects(const struct watchers *w);

#endif
