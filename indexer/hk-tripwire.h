/* hk-tripwire.h: counts suspect events (a document's new bytes no longer
 * parse as what they were) in a sliding time window. Ransomware rewrites
 * many files in minutes; a clinician replaces one now and then. */
#pragma once

#include <glib.h>
#include <stdbool.h>
#include <stdint.h>

typedef struct {
  unsigned threshold; /* more events than this within the window trip it */
  unsigned window_s;
  GArray *events;     /* int64_t usec, oldest first */
} HkTripwire;

void hk_tripwire_init(HkTripwire *t, unsigned threshold, unsigned window_s);
void hk_tripwire_clear(HkTripwire *t);
/* Record one event at time now (usec). Returns true if the tripwire trips. */
bool hk_tripwire_event(HkTripwire *t, int64_t now);
/* Number of events still inside the window at time now. */
unsigned hk_tripwire_count(HkTripwire *t, int64_t now);
/* Forget the last n events (a batch that did not commit). */
void hk_tripwire_forget(HkTripwire *t, unsigned n);
