/* hk-ssmix2-test.h: what the SS-MIX2 integration tests (test-generated.c,
 * test-facts.c, test-extended.c) share: a temporary folder per test with
 * the storage root under it, a real store in it, ISO-2022-JP encoding of
 * message text, and the runner's main(). */
#pragma once

#include "hk-store.h"

#include <check.h>
#include <glib.h>

/* The current test's temporary folder and the SS-MIX2 root under it
 * (tmp/root unless the test points it elsewhere). */
extern char *hk_t_tmp, *hk_t_root;

/* Quiet logs, a fresh temporary folder named after tmpl (ending in XXXXXX)
 * and hk_t_root = hk_t_tmp/root (not made: the tests' writers make it). */
void hk_t_setup(const char *tmpl);
/* Remove the temporary folder and forget both paths. */
void hk_t_teardown(void);
/* A new store in hk_t_tmp/store. */
hk_store *hk_t_open_store(void);
/* The message text (UTF-8, segments ending in \r) as ISO-2022-JP bytes. */
GBytes *hk_t_jis(const char *text);
/* Run the suite; EXIT_SUCCESS when no test failed. */
int hk_t_run(Suite *suite);
