/* hk-samples-ssmix2.h: the SS-MIX2 half of hikae-samples (--ssmix2).
 *
 * This file and hk-samples-ssmix2.c belong to the SS-MIX2 generator; the
 * drop-folder generator (hk-samples.c) only calls the one function below. */
#pragma once

#include <glib.h>

/* Write an SS-MIX2 standardized storage for patients under out_dir, which
 * the caller names DIR/ssmix2 and which need not exist yet.
 *
 * \param out_dir   root of the storage to create
 *                  (root/pid[0:3]/pid[3:6]/pid/<date or ->/<data type>/...)
 * \param rng       a generator seeded from --seed for this writer alone, so
 *                  that its draws change nothing in the drop folder
 * \param patients  HkSamplesPatient* (hk-samples-patient.h), the same people
 *                  as the drop-folder documents; borrowed, read-only
 * \return 0; -HK_EIO (or another -HK_E code) if the storage cannot be written. */
int hk_samples_ssmix2_write(const char *out_dir, GRand *rng, const GPtrArray *patients);
