#include "hk-ssmix2-hook.h"

#include "hk-log.h"

int
hk_ssmix2_hook_scan(hk_ingest *ing, const char *root)
{
  static bool warned;

  if (!warned)
    hk_warn("SS-MIX2 import is not in this build; %s is not read", root);
  warned = true;
  return 0;
}
