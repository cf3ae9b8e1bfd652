/* hk-busy: how much of the time ingest has lately spent at work, as an
 * exponentially weighted share of wall time (0 to 1), so that work that
 * can wait (text extraction, OCR) waits while ingest is at full stretch.
 * Times are passed in (monotonic µs): no clock is read here. */
#pragma once

#include <stdint.h>

typedef struct {
  int64_t tau_us;  /* the average's time constant */
  int64_t last_us; /* the time share was last brought to; 0: never */
  double share;    /* the share at last_us */
} HkBusy;

/* A meter that forgets over about tau_us (> 0). */
void hk_busy_init(HkBusy *b, int64_t tau_us);
/* Ingest was at work from start_us to end_us. Spans come in time order;
 * the part of one before the last span's end counts once. */
void hk_busy_add(HkBusy *b, int64_t start_us, int64_t end_us);
/* The share at now_us (no earlier than the last span's end). */
double hk_busy_share(const HkBusy *b, int64_t now_us);
