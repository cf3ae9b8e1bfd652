/* hk-json.h: the one way hikae turns a finished JsonBuilder into text, and
 * the builder steps more than one writer shares. */
#pragma once

#include <json-glib/json-glib.h>

/* Compact JSON text of the value b has built (g_free). b stays the
 * caller's. */
char *hk_json_to_text(JsonBuilder *b);

/* Set member name of the object b is building to v, or to null when v is
 * NULL (a field that is absent reads as null, not as a missing key). */
void hk_json_member_str(JsonBuilder *b, const char *name, const char *v);
