/* fileio.c: small whole-file helpers (baselines, restored pages). Never holds more than the
 * caller's bound in memory. */
#include "common.h"
#include "fileio.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

int yj_write_file_atomic(const char *path, const void *data, size_t len, unsigned mode)
{
    char *tmp = xasprintf("%s.tmp", path);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, (mode_t)mode);
    int rc = fd < 0 ? -1 : 0;
    const char *p = data;
    for (size_t left = len; rc == 0 && left;) {
        ssize_t n = write(fd, p, left);
        if (n <= 0)
            rc = -1;
        else {
            p += n;
            left -= (size_t)n;
        }
    }
    if (rc == 0 && fsync(fd) < 0)
        rc = -1;
    if (fd >= 0 && close(fd) < 0)
        rc = -1;
    if (rc == 0 && rename(tmp, path) < 0)
        rc = -1;
    if (rc < 0) {
        int saved = errno;
        unlink(tmp);
        errno = saved;
    }
    free(tmp);
    return rc;
}

char *yj_read_file(const char *path, size_t max, size_t *len)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return NULL;
    struct stat st;
    if (fstat(fd, &st) < 0 || (size_t)st.st_size > max) {
        if (st.st_size >= 0 && (size_t)st.st_size > max)
            errno = EFBIG;
        close(fd);
        return NULL;
    }
    char *buf = xmalloc((size_t)st.st_size + 1);
    size_t got = 0;
    ssize_t n;
    while (got < (size_t)st.st_size && (n = read(fd, buf + got, (size_t)st.st_size - got)) > 0)
        got += (size_t)n;
    close(fd);
    buf[got] = 0;
    *len = got;
    return buf;
}

int yj_mkdirs(const char *dir, unsigned mode)
{
    char *p = xstrdup(dir);
    int rc = 0;
    for (char *q = p + 1; *q && rc == 0; q++) {
        if (*q != '/')
            continue;
        *q = 0;
        if (mkdir(p, (mode_t)mode) != 0 && errno != EEXIST)
            rc = -1;
        *q = '/';
    }
    if (rc == 0 && mkdir(p, (mode_t)mode) != 0 && errno != EEXIST)
        rc = -1;
    int e = errno;
    free(p);
    errno = e;
    return rc;
}
