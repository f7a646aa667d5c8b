/* Unit tests for src/http/cache.c: a cached read is served only while its stamp holds, the
 * cache stays within its byte budget, and a body being sent survives its eviction. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "base/common.h"
#include "http/cache.h"

static void test_stamp_rules(void **state)
{
    (void)state;
    struct response_cache *c = response_cache_new(1 << 20);
    struct cache_stamp s = {.event_id = 7, .plan = 1, .valid_until = 5000};
    response_cache_put(c, "k", &s, "hello", 5, "\"1-1\"");
    struct cached_body *b = response_cache_get(c, "k", &s, 1000);
    assert_non_null(b);
    assert_int_equal(b->len, 5);
    assert_memory_equal(b->data, "hello", 5);
    assert_string_equal(b->etag, "\"1-1\"");
    cached_body_release(b);
    struct cache_stamp later = s;
    later.event_id = 8; /* an incident changed since */
    assert_null(response_cache_get(c, "k", &later, 1000));
    assert_null(response_cache_get(c, "k", &s, 1000)); /* and the stale entry is gone */
    response_cache_put(c, "k", &s, "hello", 5, "");
    assert_null(response_cache_get(c, "k", &s, 5000)); /* a deadline shown fell due */
    response_cache_put(c, "k", &s, "hello", 5, "");
    struct cache_stamp reloaded = s;
    reloaded.plan = 2;
    assert_null(response_cache_get(c, "k", &reloaded, 1000));
    assert_null(response_cache_get(c, "other", &s, 1000));
    uint64_t hits, misses;
    size_t bytes;
    response_cache_stats(c, &hits, &misses, &bytes);
    assert_int_equal(hits, 1);
    assert_int_equal(misses, 5);
    response_cache_free(c);
}

static void test_budget_and_lifetimes(void **state)
{
    (void)state;
    struct response_cache *c = response_cache_new(8000); /* bodies up to 1000 bytes are kept */
    struct cache_stamp s = {.event_id = 1, .plan = 1, .valid_until = INT64_MAX};
    char body[900];
    memset(body, 'x', sizeof(body));
    response_cache_put(c, "first", &s, body, sizeof(body), "");
    struct cached_body *held = response_cache_get(c, "first", &s, 0);
    assert_non_null(held);
    for (int i = 0; i < 20; i++) {
        char key[16];
        snprintf(key, sizeof(key), "k%d", i);
        response_cache_put(c, key, &s, body, sizeof(body), "");
    }
    uint64_t hits, misses;
    size_t bytes;
    response_cache_stats(c, &hits, &misses, &bytes);
    assert_true(bytes <= 8000);
    assert_null(response_cache_get(c, "first", &s, 0)); /* evicted, least recently used */
    struct cached_body *recent = response_cache_get(c, "k19", &s, 0);
    assert_non_null(recent);
    cached_body_release(recent);
    /* The evicted body is still intact for whoever is sending it. */
    assert_int_equal(held->data[899], 'x');
    cached_body_release(held);
    char big[2000] = {0};
    response_cache_put(c, "big", &s, big, sizeof(big), "");
    assert_null(response_cache_get(c, "big", &s, 0));
    response_cache_free(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_stamp_rules),
        cmocka_unit_test(test_budget_and_lifetimes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
