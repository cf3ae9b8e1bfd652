#include "hk-busy.h"

#include <math.h>

void
hk_busy_init(HkBusy *b, int64_t tau_us)
{
  b->tau_us = tau_us > 0 ? tau_us : 1;
  b->last_us = 0;
  b->share = 0;
}

/* The weight an interval of us µs leaves to what came before it. */
static double
hk_busy_keep(const HkBusy *b, int64_t us)
{
  return us > 0 ? exp(-(double)us / (double)b->tau_us) : 1.0;
}

void
hk_busy_add(HkBusy *b, int64_t start_us, int64_t end_us)
{
  if (b->last_us == 0)
    b->last_us = start_us;
  if (start_us < b->last_us)
    start_us = b->last_us;
  if (end_us < start_us)
    end_us = start_us;
  /* Idle from the last span to this one, then busy through it. */
  b->share *= hk_busy_keep(b, start_us - b->last_us);
  b->share = 1.0 - (1.0 - b->share) * hk_busy_keep(b, end_us - start_us);
  b->last_us = end_us;
}

double
hk_busy_share(const HkBusy *b, int64_t now_us)
{
  return b->last_us ? b->share * hk_busy_keep(b, now_us - b->last_us) : 0.0;
}
