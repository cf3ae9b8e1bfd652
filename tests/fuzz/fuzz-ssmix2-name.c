/* libFuzzer target: SS-MIX2 file and content-folder names, which come from
 * the source tree (any name a compromised EHR server can create). The input
 * is the name, then optionally a NUL and the data-type folder it sits in. */
#include "hk-ssmix2.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  const char *nul = memchr(data, 0, size);
  char *name = g_strndup((const char *)data, nul ? (size_t)(nul - (const char *)data) : size);
  char *type = nul ? g_strndup(nul + 1, size - (size_t)(nul + 1 - (const char *)data)) : NULL;
  HkSsmix2Name n = { 0 };
  char *reason = NULL;

  if (hk_ssmix2_name_parse(name, type, &n, &reason) == 0) {
    /* What the walk relies on after a successful parse. */
    if (!n.pid || !n.date || !n.datatype || !n.order_no || !n.timestamp)
      abort();
    if (n.flag < 0 || n.flag > 2)
      abort();
    if (reason)
      abort();
    hk_ssmix2_doc_type(n.datatype);
  } else if (!reason) {
    abort(); /* a refusal must say why: it becomes the quarantine reason */
  }
  hk_ssmix2_name_clear(&n);
  g_free(reason);
  g_free(name);
  g_free(type);
  return 0;
}
