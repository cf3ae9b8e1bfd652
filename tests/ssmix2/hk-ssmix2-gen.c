/* hk-ssmix2-gen: write only the SS-MIX2 storage of hikae-samples (same
 * patients, same generator) for bench/ssmix2, without the drop-folder
 * documents that hikae-samples renders as well.
 *
 * usage: hk-ssmix2-gen OUT PATIENTS [SEED]   (writes OUT/ssmix2 and
 * OUT/ssmix2-expected.json) */
#include "hk-error.h"
#include "hk-samples-patient.h"
#include "hk-samples-ssmix2.h"

#include <glib.h>
#include <stdio.h>
#include <stdlib.h>

int
main(int argc, char **argv)
{
  GRand *rng, *rng2;
  GPtrArray *patients = NULL;
  g_autofree char *dir = NULL;
  int r;

  if (argc < 3) {
    fprintf(stderr, "usage: %s OUT PATIENTS [SEED]\n", argv[0]);
    return 2;
  }
  rng = g_rand_new_with_seed(argc > 3 ? (guint32)atoi(argv[3]) : 1);
  rng2 = g_rand_new_with_seed(g_rand_int(rng));
  r = hk_samples_patients_generate(rng, (guint)atoi(argv[2]), &patients);
  if (r == 0) {
    dir = g_build_filename(argv[1], "ssmix2", NULL);
    r = hk_samples_ssmix2_write(dir, rng2, patients);
  }
  if (r < 0)
    fprintf(stderr, "hk-ssmix2-gen: %s\n", hk_strerror(r));
  if (patients)
    g_ptr_array_unref(patients);
  g_rand_free(rng);
  g_rand_free(rng2);
  return r < 0 ? 1 : 0;
}
