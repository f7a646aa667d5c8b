/* cidr.h: IP addresses and CIDR ranges, for allow-lists (rules that must not fire for an address,
 * addresses the block action must never block). */
#ifndef YJ_CIDR_H
#define YJ_CIDR_H

#include <stdbool.h>
#include <stddef.h>

struct yj_cidr {
    int family; /* AF_INET or AF_INET6 */
    unsigned char addr[16];
    int bits;
};

/* "10.0.0.0/8", "::1/128", or a bare address (a range of one). False when it is neither. */
bool yj_cidr_parse(const char *s, struct yj_cidr *out);

/* Parses s[0..len) as an IPv4 or IPv6 address into addr; returns AF_INET, AF_INET6 or 0. */
int yj_ip_parse(const char *s, size_t len, unsigned char addr[16]);

/* True when the address (as yj_ip_parse gave it) lies in the range. */
bool yj_cidr_contains(const struct yj_cidr *c, int family, const unsigned char *addr);

#endif
