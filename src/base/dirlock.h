/* dirlock.h: one server per data directory. Two servers on one store would both run the clock
 * (every escalation sent twice), both follow the same logs, and race on the audit chain. */
#ifndef YJ_DIRLOCK_H
#define YJ_DIRLOCK_H

#include "err.h"

struct dirlock;

/* Takes DIR/yingji.lock (creating DIR when missing) and writes into it who holds it: this
 * process's id, when it started and what (the text `what`, e.g. "yingji serve on 127.0.0.1:8080").
 * When another process holds it: YJ_ECONFLICT, and err names that holder. Held until released
 * or the process ends (a crash leaves no stale lock: the kernel drops it). */
int dirlock_take(const char *dir, const char *what, struct dirlock **out, struct yj_err *err);
void dirlock_release(struct dirlock *l);

#endif
