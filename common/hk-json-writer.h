/* hk-json-writer.h: JSON text written straight into a GString, for the hot
 * paths (the timeline answer, every audit record): json-glib's builder and
 * generator allocate a node per value and cost more than the work around
 * them. Each value is followed by a ',' that hk_jw_end drops again (and
 * hk_jw_finish for the last). Member names are our own: never escaped. */
#pragma once

#include <glib.h>
#include <stdbool.h>
#include <stdint.h>

void hk_jw_begin(GString *g, const char *name, char open);
void hk_jw_end(GString *g, char close);
/* A string member, or null when value is NULL. */
void hk_jw_str(GString *g, const char *name, const char *value);
/* The same for len bytes at value (not NUL-terminated; NULL: null). */
void hk_jw_strn(GString *g, const char *name, const char *value, size_t len);
void hk_jw_int(GString *g, const char *name, int64_t value);
void hk_jw_bool(GString *g, const char *name, bool value);
/* An RFC 3339 UTC time with milliseconds, or null when usec is 0. */
void hk_jw_time(GString *g, const char *name, int64_t usec);
/* Drop the ',' after the last value (the text then ends with it). */
void hk_jw_finish(GString *g);
