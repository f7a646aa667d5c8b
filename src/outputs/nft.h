/* nft.h: blocking addresses in the kernel's firewall through libnftables. Yingji keeps a table of
 * its own (`table inet NAME`) with two sets of addresses (IPv4, IPv6) that carry a timeout, and an
 * input chain that drops what they hold: the kernel unblocks an address when its time runs out,
 * even if Yingji is down. Needs CAP_NET_ADMIN. Each call makes its own libnftables context, so
 * calls from different threads do not share state. */
#ifndef YJ_NFT_H
#define YJ_NFT_H

#include <stdbool.h>
#include <stdint.h>

struct yj_err;

/* Creates the table, sets and chain when missing (idempotent; the sets keep their elements). */
int nft_block_setup(const char *table, struct yj_err *err);

/* Blocks an address (IPv4 or IPv6 text) for `seconds`; an address already blocked gets the new
 * timeout. YJ_EINVAL when it is not an address. */
int nft_block_add(const char *table, const char *address, int64_t seconds, struct yj_err *err);

/* Unblocks an address; one not blocked is not an error. */
int nft_block_del(const char *table, const char *address, struct yj_err *err);

/* Whether the address is in the set now; *expires_ms (may be NULL) gets the time left. */
int nft_block_has(const char *table, const char *address, bool *present, int64_t *expires_ms, struct yj_err *err);

#endif
