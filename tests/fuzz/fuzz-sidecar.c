/* libFuzzer target: drop-folder sidecars. Any bytes must give either a
 * parsed document or a reason, never a crash. */
#include "hk-sidecar.h"

#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  GBytes *b = g_bytes_new(data, size);
  HkVersion *v = hk_version_new();
  HkPatient *p = NULL;
  char *reason = NULL;

  hk_sidecar_parse(b, v, &p, &reason);
  if (!reason && (!v->source_id || !v->patient_id || !v->type || !v->title || !v->created_at))
    __builtin_trap(); /* accepted without a required field */
  g_free(reason);
  hk_patient_free(p);
  hk_version_free(v);
  g_bytes_unref(b);
  return 0;
}
