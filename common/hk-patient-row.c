#include "hk-patient-row.h"

#include "hk-error.h"

#include <string.h>

/* Layout, version 1: version (1 byte), flags (1 byte), then the strings id,
 * name, kana, birth_date, sex, ward, room, bed, admitted_at (the last four
 * null unless HK_PROW_ADMITTED). */
#define HK_PROW_FIXED 2

void
hk_patient_row_encode(const HkPatient *p, GByteArray *out)
{
  const HkAdmission *a = p->admission;

  hk_row_put(out, HK_PATIENT_ROW_VERSION, 1);
  hk_row_put(out,
             (a ? HK_PROW_ADMITTED : 0) |
                 (p->admission_unreadable.reason ? HK_PROW_ADMISSION_UNREADABLE : 0),
             1);
  hk_row_put_str(out, p->id);
  hk_row_put_str(out, p->name);
  hk_row_put_str(out, p->kana);
  hk_row_put_str(out, p->birth_date);
  hk_row_put_str(out, p->sex);
  hk_row_put_str(out, a ? a->ward : NULL);
  hk_row_put_str(out, a ? a->room : NULL);
  hk_row_put_str(out, a ? a->bed : NULL);
  hk_row_put_str(out, a ? a->admitted_at : NULL);
}

int
hk_patient_row_decode(const void *data, size_t len, HkPatientRow *out)
{
  const uint8_t *p = data, *end = p + len, *at = p + HK_PROW_FIXED;
  bool ok;

  memset(out, 0, sizeof *out);
  if (len < HK_PROW_FIXED || p[0] != HK_PATIENT_ROW_VERSION)
    return -HK_ECORRUPT;
  out->flags = p[1];
  ok = hk_row_str(&at, end, &out->id) && hk_row_str(&at, end, &out->name) &&
       hk_row_str(&at, end, &out->kana) && hk_row_str(&at, end, &out->birth_date) &&
       hk_row_str(&at, end, &out->sex) && hk_row_str(&at, end, &out->ward) &&
       hk_row_str(&at, end, &out->room) && hk_row_str(&at, end, &out->bed) &&
       hk_row_str(&at, end, &out->admitted_at);
  return ok && at == end && out->id.p ? 0 : -HK_ECORRUPT;
}

const char *
hk_patient_row_admission_status(const HkPatientRow *r)
{
  HkFactUnreadable u = {.reason = (r->flags & HK_PROW_ADMISSION_UNREADABLE) ? "" : NULL};

  return hk_fact_status((r->flags & HK_PROW_ADMITTED) != 0, &u);
}
