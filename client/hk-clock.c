#include "hk-clock.h"

static gint64 hk_clock_offset;

gint64
hk_clock_now(void)
{
  return g_get_monotonic_time() + __atomic_load_n(&hk_clock_offset, __ATOMIC_RELAXED);
}

void
hk_clock_advance(gint64 usec)
{
  __atomic_add_fetch(&hk_clock_offset, usec, __ATOMIC_RELAXED);
}
