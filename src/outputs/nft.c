/* nft.c: the block sets through libnftables' command interface. Addresses are parsed and printed
 * again with inet_ntop before they go into a command, so nothing from a log line reaches nft's
 * parser as written; the table name is checked by the config. */
#include "../base/common.h"
#include "../base/err.h"
#include "nft.h"

#include <arpa/inet.h>
#include <jansson.h>
#include <nftables/libnftables.h>

/* Runs one batch of commands (atomic: all or none). JSON output when `json` is non-NULL. */
static int run(const char *cmds, json_t **json, const char *doing, struct yj_err *err)
{
    struct nft_ctx *nft = nft_ctx_new(NFT_CTX_DEFAULT);
    if (!nft)
        return yj_err_set(err, YJ_EIO, "%s: cannot start libnftables", doing);
    nft_ctx_buffer_output(nft);
    nft_ctx_buffer_error(nft);
    if (json)
        nft_ctx_output_set_flags(nft, NFT_CTX_OUTPUT_JSON);
    int rc = 0;
    if (nft_run_cmd_from_buffer(nft, cmds) != 0) {
        /* nft's message is the error line, the command and a caret line: keep the first. */
        const char *msg = nft_ctx_get_error_buffer(nft);
        size_t len = strcspn(msg ? msg : "", "\n");
        rc = yj_err_set(err, YJ_EIO, "%s: %.*s%s", doing, (int)(len > 300 ? 300 : len), msg ? msg : "",
                        len ? "" : "nftables refused the command");
    } else if (json) {
        json_error_t je;
        *json = json_loads(nft_ctx_get_output_buffer(nft), 0, &je);
        if (!*json)
            rc = yj_err_set(err, YJ_EIO, "%s: unreadable nftables output: %s", doing, je.text);
    }
    nft_ctx_free(nft);
    return rc;
}

/* The address in canonical form and the set that holds its family. */
static int canonical(const char *address, char out[INET6_ADDRSTRLEN], const char **set, struct yj_err *err)
{
    unsigned char a[16];
    if (inet_pton(AF_INET, address, a) == 1 && inet_ntop(AF_INET, a, out, INET6_ADDRSTRLEN)) {
        *set = "block4";
        return 0;
    }
    if (inet_pton(AF_INET6, address, a) == 1 && inet_ntop(AF_INET6, a, out, INET6_ADDRSTRLEN)) {
        *set = "block6";
        return 0;
    }
    return yj_err_set(err, YJ_EINVAL, "\"%.64s\" is not an IP address", address);
}

int nft_block_setup(const char *table, struct yj_err *err)
{
    /* `add` leaves what exists; flushing and refilling the chain in the same batch keeps one copy
     * of each rule however often this runs. */
    char *cmds = xasprintf("add table inet %1$s\n"
                           "add set inet %1$s block4 { type ipv4_addr; flags timeout; }\n"
                           "add set inet %1$s block6 { type ipv6_addr; flags timeout; }\n"
                           "add chain inet %1$s input { type filter hook input priority filter - 10; policy accept; }\n"
                           "flush chain inet %1$s input\n"
                           "add rule inet %1$s input ip saddr @block4 counter drop\n"
                           "add rule inet %1$s input ip6 saddr @block6 counter drop\n",
                           table);
    int rc = run(cmds, NULL, "setting up the nftables block table", err);
    free(cmds);
    return rc;
}

int nft_block_add(const char *table, const char *address, int64_t seconds, struct yj_err *err)
{
    char addr[INET6_ADDRSTRLEN] = "";
    const char *set = NULL;
    if (canonical(address, addr, &set, err) < 0)
        return YJ_EINVAL;
    if (seconds < 1)
        seconds = 1;
    /* add (no-op when present), delete, add: an address blocked again gets the new timeout. */
    char *cmds = xasprintf("add element inet %1$s %2$s { %3$s }\n"
                           "delete element inet %1$s %2$s { %3$s }\n"
                           "add element inet %1$s %2$s { %3$s timeout %4$llds }\n",
                           table, set, addr, (long long)seconds);
    int rc = run(cmds, NULL, "blocking an address", err);
    free(cmds);
    return rc;
}

int nft_block_del(const char *table, const char *address, struct yj_err *err)
{
    char addr[INET6_ADDRSTRLEN] = "";
    const char *set = NULL;
    if (canonical(address, addr, &set, err) < 0)
        return YJ_EINVAL;
    /* Adding first makes the delete succeed for an address the kernel already let go. */
    char *cmds = xasprintf("add element inet %1$s %2$s { %3$s timeout 1s }\n"
                           "delete element inet %1$s %2$s { %3$s }\n",
                           table, set, addr);
    int rc = run(cmds, NULL, "unblocking an address", err);
    free(cmds);
    return rc;
}

int nft_block_has(const char *table, const char *address, bool *present, int64_t *expires_ms, struct yj_err *err)
{
    char addr[INET6_ADDRSTRLEN] = "";
    const char *set = NULL;
    if (canonical(address, addr, &set, err) < 0)
        return YJ_EINVAL;
    char *cmds = xasprintf("list set inet %s %s\n", table, set);
    json_t *out = NULL;
    int rc = run(cmds, &out, "reading the block set", err);
    free(cmds);
    if (rc < 0)
        return rc;
    *present = false;
    json_t *items = json_object_get(out, "nftables");
    for (size_t i = 0; i < json_array_size(items); i++) {
        json_t *elems = json_object_get(json_object_get(json_array_get(items, i), "set"), "elem");
        for (size_t j = 0; j < json_array_size(elems); j++) {
            json_t *elem = json_array_get(elems, j);
            /* An element with a timeout is an object; a plain one would be the bare string. */
            json_t *e = json_object_get(elem, "elem");
            const char *val = json_string_value(e ? json_object_get(e, "val") : elem);
            if (val && strcmp(val, addr) == 0) {
                *present = true;
                if (expires_ms)
                    *expires_ms = 1000 * (int64_t)json_integer_value(json_object_get(e, "expires"));
            }
        }
    }
    json_decref(out);
    return 0;
}
