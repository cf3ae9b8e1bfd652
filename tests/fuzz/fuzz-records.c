/* libFuzzer target: stored version and patient records and the kana fold,
 * which read bytes from the store and from queries. */
#include "hk-kana.h"
#include "hk-patient.h"
#include "hk-version.h"

#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  HkVersion *v = NULL;
  HkPatient *p = NULL;
  char *text = g_strndup((const char *)data, size);

  if (hk_version_from_json((const char *)data, size, &v) == 0) {
    char *again = hk_version_to_json(v);
    g_free(again);
  }
  if (hk_patient_from_json((const char *)data, size, &p) == 0) {
    char *again = hk_patient_to_json(p);
    g_free(again);
  }
  g_free(hk_kana_fold(text));
  hk_kana_is_kana(text);
  hk_version_free(v);
  hk_patient_free(p);
  g_free(text);
  return 0;
}
