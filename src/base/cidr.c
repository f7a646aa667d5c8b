/* cidr.c: address parsing with inet_pton; a range matches by its leading bits. */
#include "cidr.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

bool yj_cidr_parse(const char *s, struct yj_cidr *out)
{
    char buf[64];
    if (strlen(s) >= sizeof(buf))
        return false;
    snprintf(buf, sizeof(buf), "%s", s);
    char *slash = strchr(buf, '/');
    int bits = -1;
    if (slash) {
        *slash = 0;
        char *end;
        long b = strtol(slash + 1, &end, 10);
        if (!slash[1] || *end || b < 0 || b > 128)
            return false;
        bits = (int)b;
    }
    memset(out, 0, sizeof(*out));
    if (inet_pton(AF_INET, buf, out->addr) == 1) {
        out->family = AF_INET;
        out->bits = bits < 0 ? 32 : bits;
        return out->bits <= 32;
    }
    if (inet_pton(AF_INET6, buf, out->addr) == 1) {
        out->family = AF_INET6;
        out->bits = bits < 0 ? 128 : bits;
        return true;
    }
    return false;
}

/* Dotted-quad IPv4 as inet_pton reads it (four decimal octets, no leading zeros), without
 * copying: every rule hit of every log line goes through here for its allow-list. */
static bool ipv4(const char *s, size_t len, unsigned char addr[4])
{
    size_t i = 0;
    for (int octet = 0; octet < 4; octet++) {
        if (octet && (i >= len || s[i++] != '.'))
            return false;
        size_t start = i;
        unsigned v = 0;
        while (i < len && i - start < 3 && s[i] >= '0' && s[i] <= '9')
            v = v * 10 + (unsigned)(s[i++] - '0');
        if (i == start || v > 255 || (i - start > 1 && s[start] == '0'))
            return false;
        addr[octet] = (unsigned char)v;
    }
    return i == len;
}

int yj_ip_parse(const char *s, size_t len, unsigned char addr[16])
{
    if (ipv4(s, len, addr))
        return AF_INET;
    char buf[64];
    if (len >= sizeof(buf))
        return 0;
    memcpy(buf, s, len);
    buf[len] = 0;
    if (inet_pton(AF_INET, buf, addr) == 1)
        return AF_INET;
    if (inet_pton(AF_INET6, buf, addr) == 1)
        return AF_INET6;
    return 0;
}

bool yj_cidr_contains(const struct yj_cidr *c, int family, const unsigned char *addr)
{
    if (family != c->family)
        return false;
    int full = c->bits / 8, rest = c->bits % 8;
    if (memcmp(addr, c->addr, (size_t)full) != 0)
        return false;
    if (rest) {
        unsigned char mask = (unsigned char)(0xFF << (8 - rest));
        return (addr[full] & mask) == (c->addr[full] & mask);
    }
    return true;
}
