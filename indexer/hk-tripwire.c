#include "hk-tripwire.h"

void
hk_tripwire_init(HkTripwire *t, unsigned threshold, unsigned window_s)
{
  t->threshold = threshold;
  t->window_s = window_s;
  t->events = g_array_new(FALSE, FALSE, sizeof(int64_t));
}

void
hk_tripwire_clear(HkTripwire *t)
{
  if (t->events)
    g_array_unref(t->events);
  t->events = NULL;
}

static void
hk_tripwire_expire(HkTripwire *t, int64_t now)
{
  int64_t horizon = now - (int64_t)t->window_s * G_USEC_PER_SEC;
  guint n = 0;

  while (n < t->events->len && g_array_index(t->events, int64_t, n) < horizon)
    n++;
  if (n)
    g_array_remove_range(t->events, 0, n);
}

unsigned
hk_tripwire_count(HkTripwire *t, int64_t now)
{
  hk_tripwire_expire(t, now);
  return t->events->len;
}

bool
hk_tripwire_event(HkTripwire *t, int64_t now)
{
  g_array_append_val(t->events, now);
  return hk_tripwire_count(t, now) > t->threshold;
}

void
hk_tripwire_forget(HkTripwire *t, unsigned n)
{
  guint len = t->events->len;

  g_array_set_size(t->events, n >= len ? 0 : len - n);
}
