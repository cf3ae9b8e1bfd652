/* hk-clock.h: the viewer's monotonic clock, which tests can move.
 *
 * The idle lock reads its time from here, not from g_get_monotonic_time()
 * directly, so the GUI test advances the clock and runs the idle check
 * instead of waiting out the idle time. Only code in the process can move
 * it (no environment variable, no file): nothing in hikae-viewer does. */
#pragma once

#include <glib.h>

/* g_get_monotonic_time() plus the offset set by hk_clock_advance(). */
gint64 hk_clock_now(void);

/* Move hk_clock_now() forward by usec (tests only). Thread-safe. */
void hk_clock_advance(gint64 usec);
