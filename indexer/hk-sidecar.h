/* hk-sidecar.h: the "<content file>.meta.json" of a drop-folder document
 * (interfaces.md, "Drop folder"), parsed with json-glib and checked field by
 * field so that a refusal names the field. */
#pragma once

#include "hk-patient.h"
#include "hk-version.h"

#include <glib.h>

#define HK_SIDECAR_MAX (64u << 10)

/* Parse and check a sidecar's bytes. On success fills v's metadata (and
 * *patient if the sidecar names the patient) and leaves *reason NULL; else
 * sets *reason (g_free). v->source_id is set as soon as it is known, so a
 * failure can still be tied to its document. */
void hk_sidecar_parse(GBytes *bytes, HkVersion *v, HkPatient **patient, char **reason);
