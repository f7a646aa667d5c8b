/* dirlock.c: the data directory's lock, an flock(2) on DIR/yingji.lock. flock belongs to the open
 * file, not the process, so nothing else in the process that opens and closes the file can drop
 * it (as closing any descriptor would drop a POSIX fcntl lock); and the kernel releases it when
 * the holder dies, so a crashed server never leaves a directory locked. The file's text is only
 * what the holder says about itself, read back to name it in the refusal. */
#include "common.h"
#include "dirlock.h"
#include "fileio.h"
#include "timeutil.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

struct dirlock {
    int fd;
};

/* What the holder wrote, on one line ("process 1234 (yingji serve on …) since …"). */
static void holder_text(int fd, char *out, size_t size)
{
    char buf[512];
    ssize_t n = pread(fd, buf, sizeof(buf) - 1, 0);
    if (n <= 0) {
        snprintf(out, size, "another process (it has not said which yet)");
        return;
    }
    buf[n] = 0;
    buf[strcspn(buf, "\n")] = 0;
    for (char *p = buf; *p; p++)
        if ((unsigned char)*p < 0x20)
            *p = ' ';
    snprintf(out, size, "%s", buf);
}

int dirlock_take(const char *dir, const char *what, struct dirlock **out, struct yj_err *err)
{
    *out = NULL;
    if (yj_mkdirs(dir, 0700) < 0)
        return yj_err_set(err, YJ_EIO, "cannot create data directory %s: %s", dir, strerror(errno));
    char *path = xasprintf("%s/yingji.lock", dir);
    int fd = open(path, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0) {
        int rc = yj_err_set(err, YJ_EIO, "cannot open %s: %s", path, strerror(errno));
        free(path);
        return rc;
    }
    if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
        int e = errno;
        int rc;
        if (e == EWOULDBLOCK) {
            char holder[512];
            holder_text(fd, holder, sizeof(holder));
            rc = yj_err_set(err, YJ_ECONFLICT,
                            "data directory %s is in use by %s; stop that server first, or give this one "
                            "another --data",
                            dir, holder);
        } else {
            rc = yj_err_set(err, YJ_EIO, "cannot lock %s: %s", path, strerror(e));
        }
        close(fd);
        free(path);
        return rc;
    }
    char started[64];
    yj_time_rfc3339(yj_now_ms(), started, sizeof(started));
    char text[640];
    int len = snprintf(text, sizeof(text), "process %ld (%s) since %s\n", (long)getpid(), what, started);
    if (len < 0 || (size_t)len >= sizeof(text))
        len = (int)strlen(text);
    /* Said after the lock is ours, so a reader never names a holder that lost the race. */
    if (ftruncate(fd, 0) < 0 || pwrite(fd, text, (size_t)len, 0) != (ssize_t)len) {
        int rc = yj_err_set(err, YJ_EIO, "cannot write %s: %s", path, strerror(errno));
        close(fd);
        free(path);
        return rc;
    }
    free(path);
    struct dirlock *l = xcalloc(1, sizeof(*l));
    l->fd = fd;
    *out = l;
    return 0;
}

void dirlock_release(struct dirlock *l)
{
    if (!l)
        return;
    close(l->fd);
    free(l);
}
