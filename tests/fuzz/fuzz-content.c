/* libFuzzer target: content sniffing and the PDF/JPEG parsers behind the
 * thumbnail, in-process (the indexer runs them in a child; this finds the
 * crashes that the child would absorb). */
#include "hk-thumbnail.h"

#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  const char *type = hk_sniff(data, size);
  GBytes *thumb = NULL;
  char *reason = NULL;

  if (type) {
    hk_thumbnail_check(type, data, size, true, &thumb, &reason);
    if (thumb)
      g_bytes_unref(thumb);
    g_free(reason);
  }
  return 0;
}
