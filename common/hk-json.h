/* hk-json.h: the one way hikae turns a finished JsonBuilder into text. */
#pragma once

#include <json-glib/json-glib.h>

/* Compact JSON text of the value b has built (g_free). b stays the
 * caller's. */
char *hk_json_to_text(JsonBuilder *b);
