/* test-facts.c: a patient-fact message that cannot be read never changes
 * the clinical facts hikae holds (issue 10, item 1).
 *
 * A patient is stored with a penicillin allergy (ADT-61), a problem
 * (PPR-01) and an admission (ADT-22) from valid ISO-2022-JP messages. Then
 * an allergy, problem or census message is replaced by one that cannot be
 * read (EUC-JP bytes in an ISO-2022-JP file, cut in the middle, without
 * PID), next to a valid new lab report of the same patient (which re-derives
 * the patient). The facts must stay, be marked "unreadable" with the
 * reason, and the broken message must be quarantined as suspect. A valid
 * message that empties a list still empties it, and a valid message after
 * a broken one clears the mark. Real LMDB in a temporary folder. */
#include "hk-error.h"
#include "hk-ssmix2.h"
#include "hk-ssmix2-test.h"
#include "hk-store.h"

#include <check.h>
#include <glib.h>
#include <glib/gstdio.h>
#include <stdlib.h>
#include <string.h>

#define PID "P0010042"

static char *
msg_path(const char *date, const char *dt, const char *order, const char *ts, int flag)
{
  g_autofree char *dir = g_build_filename(hk_t_root, "P00", "100", PID, date, dt, NULL);
  g_autofree char *name = g_strdup_printf("%s_%s_%s_%s_%s_01_%d", PID, date, dt, order, ts, flag);
  ck_assert_int_eq(g_mkdir_with_parents(dir, 0755), 0);
  return g_build_filename(dir, name, NULL);
}

static char *
write_bytes(const char *date, const char *dt, const char *order, const char *ts, const void *data,
            size_t len)
{
  char *path = msg_path(date, dt, order, ts, 1);
  ck_assert(g_file_set_contents(path, data, (gssize)len, NULL));
  return path;
}

static char *
write_msg(const char *date, const char *dt, const char *order, const char *ts, const char *text)
{
  g_autoptr(GBytes) b = hk_t_jis(text);
  return write_bytes(date, dt, order, ts, g_bytes_get_data(b, NULL), g_bytes_get_size(b));
}

#define MSH(type)                                                                                  \
  "MSH|^~\\&|HIS||HIS||20240301120000||" type "|1|P|2.5||||||~ISO IR87||ISO 2022-1994\r"
#define PIDSEG "PID|0001||" PID "^^^^PI||患者^花子^^^^^L^I~カンジャ^ハナコ^^^^^L^P||19500504|F\r"

static const char *adt00 = MSH("ADT^A08^ADT_A01") "EVN||202403011200\r" PIDSEG;
static const char *adt61_penicillin =
    MSH("ADT^A60^ADT_A60") "EVN||202403011200\r" PIDSEG
                           "IAM|1|DA^薬剤アレルギー^HL70127|1^ペニシリン^99XYZ|SV^重度^HL70128|"
                           "発疹|A^追加^HL70323\r";
static const char *ppr01 =
    MSH("PPR^ZD1^PPR_ZD1") PIDSEG "PRB|AD|20240301|I10^高血圧症^MDCDX2|1|||20240101|||I10^^I10\r";
static const char *adt22 = MSH(
    "ADT^A01^ADT_A01") "EVN||202403011200||||202403011200\r" PIDSEG
                       "PV1|0001|I|5W^501^1|||||||||||||||||||||||||||||||||||||||||202403011200\r";

/* A valid lab report: a change of the patient that re-derives it. */
static void
write_lab(const char *order, const char *ts)
{
  g_autofree char *text =
      g_strdup_printf("%s%sORC|SC|%s|||CM\rOBR|1|%s||B001^生化学^99HKS|||202403021000\r"
                      "OBX|1|NM|3B035^AST^JC10||25|U/L^U/L^99HKS|10-40|N|||F\r",
                      MSH("OUL^R22^OUL_R22"), PIDSEG, order, order);
  g_autofree char *p = write_msg("20240302", "OML-11", order, ts, text);
}

static void
store_patient(hk_store *s)
{
  HkSsmix2Stats st = {0};
  g_autofree char *a = write_msg("-", "ADT-00", "999999999999999", "20240301120000000", adt00);
  g_autofree char *b =
      write_msg("-", "ADT-61", "999999999999999", "20240301120000000", adt61_penicillin);
  g_autofree char *c = write_msg("-", "PPR-01", "000000000000001", "20240301120000000", ppr01);
  g_autofree char *d =
      write_msg("20240301", "ADT-22", "000000000000002", "20240301120000000", adt22);

  ck_assert_int_eq(hk_ssmix2_scan(s, hk_t_root, &st), 0);
  ck_assert_uint_eq(st.quarantined + st.suspect, 0);
}

static HkPatient *
get_patient(hk_store *s)
{
  hk_txn *t = NULL;
  HkPatient *p = NULL;

  ck_assert_int_eq(hk_txn_begin(s, false, &t), 0);
  ck_assert_int_eq(hk_store_get_patient(t, PID, &p), 0);
  hk_txn_abort(t);
  return p;
}

static void
assert_facts_intact(const HkPatient *p)
{
  ck_assert_uint_eq(p->allergies->len, 1);
  ck_assert_str_eq(((HkAllergy *)p->allergies->pdata[0])->allergen, "ペニシリン");
  ck_assert_uint_eq(p->problems->len, 1);
  ck_assert_str_eq(((HkProblem *)p->problems->pdata[0])->name, "高血圧症");
  ck_assert_ptr_nonnull(p->admission);
  ck_assert_str_eq(p->admission->ward, "5W");
  ck_assert_str_eq(p->admission->bed, "1");
}

typedef struct {
  const char *source;
  char *kind, *reason;
} QFind;

static int
q_find(const HkQuarantine *q, void *data)
{
  QFind *f = data;
  if (strcmp(q->source, f->source) == 0 && !f->reason) {
    f->kind = g_strdup(q->kind);
    f->reason = g_strdup(q->reason);
  }
  return 0;
}

static void
assert_quarantined(hk_store *s, const char *path, const char *kind, const char *reason)
{
  hk_txn *t = NULL;
  QFind f = {path, NULL, NULL};

  ck_assert_int_eq(hk_txn_begin(s, false, &t), 0);
  ck_assert_int_eq(hk_store_quarantine_foreach(t, q_find, &f), 0);
  hk_txn_abort(t);
  ck_assert_msg(f.reason, "%s was not quarantined", path);
  ck_assert_str_eq(f.kind, kind);
  ck_assert_msg(strstr(f.reason, reason), "reason \"%s\" lacks \"%s\"", f.reason, reason);
  g_free(f.kind);
  g_free(f.reason);
}

/* Ways an allergy message cannot be read, and what the refusal says. */
typedef enum { BREAK_EUC, BREAK_CUT, BREAK_NO_PID, BREAK_CUT_AT_IAM, N_BREAKS } Break;

static const char *break_reason[N_BREAKS] = {
    "not 7-bit ISO-2022-JP",
    "does not end with a segment terminator",
    "no PID segment",
    "has no allergen (IAM-3)",
};

static GBytes *
broken_adt61(Break how)
{
  g_autoptr(GBytes) good = hk_t_jis(adt61_penicillin);
  gsize len = 0;
  const char *data = g_bytes_get_data(good, &len);
  GByteArray *b = g_byte_array_new();
  const char *iam = g_strstr_len(data, (gssize)len, "IAM|");

  ck_assert_ptr_nonnull(iam);
  switch (how) {
  case BREAK_EUC:
    /* The allergen in EUC-JP, as a misconfigured gateway writes it. */
    g_byte_array_append(b, (const guint8 *)data, (guint)(iam - data));
    {
      static const char euc[] = "IAM|1|DA|1^\xa5\xda\xa5\xcb\xa5\xb7\xa5\xea\xa5\xf3\r";
      g_byte_array_append(b, (const guint8 *)euc, sizeof euc - 1);
    }
    break;
  case BREAK_CUT:
    /* Cut inside the IAM segment, after the allergen's code: today's
     * reader took it as an allergy list with no allergy. */
    g_byte_array_append(b, (const guint8 *)data, (guint)(iam - data) + 8);
    break;
  case BREAK_NO_PID: {
    const char *pid = g_strstr_len(data, (gssize)len, "PID|");
    const char *after = strchr(pid, '\r') + 1;
    g_byte_array_append(b, (const guint8 *)data, (guint)(pid - data));
    g_byte_array_append(b, (const guint8 *)after, (guint)(data + len - after));
    break;
  }
  case BREAK_CUT_AT_IAM:
    /* Cut, then ended by a gateway that adds the terminator: the IAM
     * holds no allergen. */
    g_byte_array_append(b, (const guint8 *)data, (guint)(iam - data) + 6);
    g_byte_array_append(b, (const guint8 *)"\r", 1);
    break;
  default:
    ck_abort();
  }
  return g_byte_array_free_to_bytes(b);
}

/* A newer allergy message that cannot be read, and a valid lab report:
 * the allergy stays, marked unreadable; the message is suspect. */
START_TEST(test_unreadable_allergy_message_keeps_allergies)
{
  hk_store *s = hk_t_open_store();
  HkSsmix2Stats st = {0};
  g_autoptr(GBytes) bad = broken_adt61((Break)_i);
  g_autofree char *bad_path = NULL;
  g_autoptr(HkPatient) p = NULL;

  store_patient(s);
  p = get_patient(s);
  assert_facts_intact(p);
  ck_assert_str_eq(hk_fact_status(true, &p->allergies_unreadable), "recorded");
  g_clear_pointer(&p, hk_patient_free);

  bad_path = write_bytes("-", "ADT-61", "999999999999999", "20240305090000000",
                         g_bytes_get_data(bad, NULL), g_bytes_get_size(bad));
  write_lab("000000000000010", "20240305090000000");
  ck_assert_int_eq(hk_ssmix2_scan(s, hk_t_root, &st), 0);
  p = get_patient(s);
  assert_facts_intact(p);
  ck_assert_uint_eq(st.suspect, 1);
  ck_assert_uint_eq(st.quarantined, 0);
  assert_quarantined(s, bad_path, "suspect", break_reason[_i]);
  ck_assert_str_eq(hk_fact_status(true, &p->allergies_unreadable), "unreadable");
  ck_assert_ptr_nonnull(strstr(p->allergies_unreadable.reason, "ADT-61"));
  ck_assert_ptr_nonnull(strstr(p->allergies_unreadable.reason, break_reason[_i]));
  ck_assert_int_gt(p->allergies_unreadable.since, 0);
  ck_assert_ptr_null(p->problems_unreadable.reason);
  ck_assert_ptr_null(p->admission_unreadable.reason);
  {
    g_autofree char *json = hk_patient_to_json(p);
    ck_assert_ptr_nonnull(strstr(json, "\"allergies_status\":\"unreadable\""));
    ck_assert_ptr_nonnull(strstr(json, "\"problems_status\":\"recorded\""));
  }
  g_clear_pointer(&p, hk_patient_free);

  /* A later rescan with another change keeps both the facts and the mark,
   * and "since" stays the time it was first found. */
  {
    int64_t since;
    p = get_patient(s);
    since = p->allergies_unreadable.since;
    g_clear_pointer(&p, hk_patient_free);
    write_lab("000000000000011", "20240306090000000");
    memset(&st, 0, sizeof st);
    ck_assert_int_eq(hk_ssmix2_scan(s, hk_t_root, &st), 0);
    ck_assert_uint_eq(st.suspect, 0);
    p = get_patient(s);
    assert_facts_intact(p);
    ck_assert_ptr_nonnull(p->allergies_unreadable.reason);
    ck_assert_int_eq(p->allergies_unreadable.since / 1000, since / 1000);
    g_clear_pointer(&p, hk_patient_free);
  }

  /* A newer valid allergy message is all there is again: the mark goes. */
  {
    const char *text = MSH("ADT^A60^ADT_A60") "EVN||202403071200\r" PIDSEG
                                              "IAM|1|FA^食物アレルギー^HL70127|2^そば^99XYZ|MO^"
                                              "中等度^HL70128|じんましん|A^追加^HL70323\r";
    g_autofree char *ok = write_msg("-", "ADT-61", "999999999999999", "20240307120000000", text);
    memset(&st, 0, sizeof st);
    ck_assert_int_eq(hk_ssmix2_scan(s, hk_t_root, &st), 0);
    p = get_patient(s);
    ck_assert_uint_eq(p->allergies->len, 1);
    ck_assert_str_eq(((HkAllergy *)p->allergies->pdata[0])->allergen, "そば");
    ck_assert_str_eq(hk_fact_status(true, &p->allergies_unreadable), "recorded");
  }
  hk_store_close(s);
}
END_TEST

/* Ransomware rewrites the problem and admission messages in place. */
START_TEST(test_rewritten_problem_and_census_messages_keep_facts)
{
  hk_store *s = hk_t_open_store();
  HkSsmix2Stats st = {0};
  g_autoptr(HkPatient) p = NULL;
  g_autofree char *ppr = msg_path("-", "PPR-01", "000000000000001", "20240301120000000", 1);
  g_autofree char *adm = msg_path("20240301", "ADT-22", "000000000000002", "20240301120000000", 1);
  static const char garbage[] = "\x8f\x12\xa7\x00\xfe\x41 encrypted \x99\x07";

  store_patient(s);
  ck_assert(g_file_set_contents(ppr, garbage, sizeof garbage - 1, NULL));
  ck_assert(g_file_set_contents(adm, garbage, sizeof garbage - 1, NULL));
  write_lab("000000000000010", "20240305090000000");
  ck_assert_int_eq(hk_ssmix2_scan(s, hk_t_root, &st), 0);
  p = get_patient(s);
  assert_facts_intact(p);
  ck_assert_uint_eq(st.suspect, 2);
  assert_quarantined(s, ppr, "suspect", "not an HL7 v2.5 message");
  assert_quarantined(s, adm, "suspect", "not an HL7 v2.5 message");
  ck_assert_str_eq(hk_fact_status(true, &p->problems_unreadable), "unreadable");
  ck_assert_str_eq(hk_fact_status(true, &p->admission_unreadable), "unreadable");
  ck_assert_ptr_nonnull(strstr(p->problems_unreadable.reason, "PPR-01"));
  ck_assert_ptr_nonnull(strstr(p->admission_unreadable.reason, "ADT-22"));
  ck_assert_str_eq(hk_fact_status(true, &p->allergies_unreadable), "recorded");
  {
    /* Still on the census: the last known bed. */
    hk_txn *t = NULL;
    g_autoptr(GPtrArray) in = g_ptr_array_new_with_free_func((GDestroyNotify)hk_patient_free);
    ck_assert_int_eq(hk_txn_begin(s, false, &t), 0);
    ck_assert_int_eq(hk_store_census(t, NULL, in), 0);
    hk_txn_abort(t);
    ck_assert_uint_eq(in->len, 1);
  }
  hk_store_close(s);
}
END_TEST

/* A census message cut before its PV1 is refused, not skipped. */
START_TEST(test_census_message_without_pv1_is_refused)
{
  hk_store *s = hk_t_open_store();
  HkSsmix2Stats st = {0};
  g_autoptr(HkPatient) p = NULL;
  g_autofree char *text =
      g_strdup_printf("%sEVN||202403051200||||202403051200\r%s", MSH("ADT^A03^ADT_A03"), PIDSEG);
  g_autofree char *path = NULL;

  store_patient(s);
  path = write_msg("20240305", "ADT-52", "000000000000003", "20240305120000000", text);
  ck_assert_int_eq(hk_ssmix2_scan(s, hk_t_root, &st), 0);
  ck_assert_uint_eq(st.suspect, 1);
  assert_quarantined(s, path, "suspect", "PV1");
  p = get_patient(s);
  assert_facts_intact(p);
  ck_assert_str_eq(hk_fact_status(true, &p->admission_unreadable), "unreadable");
  hk_store_close(s);
}
END_TEST

/* Valid messages that empty the lists still empty them, as SS-MIX2 means:
 * an allergy withdrawn at the source (IAM-6 D), a problem deleted (PRB-1
 * DE), a discharge. */
START_TEST(test_valid_messages_still_empty_the_lists)
{
  hk_store *s = hk_t_open_store();
  HkSsmix2Stats st = {0};
  g_autoptr(HkPatient) p = NULL;
  const char *adt61_withdrawn =
      MSH("ADT^A60^ADT_A60") "EVN||202403051200\r" PIDSEG
                             "IAM|1|DA^薬剤アレルギー^HL70127|1^ペニシリン^99XYZ|SV^重度^HL70128|"
                             "発疹|D^削除^HL70323\r";
  const char *ppr01_deleted =
      MSH("PPR^ZD1^PPR_ZD1") PIDSEG "PRB|DE|20240305|I10^高血圧症^MDCDX2|1|||20240101|||I10^^I10\r";
  const char *adt52 = MSH("ADT^A03^ADT_A03") "EVN||202403051200||||202403051200\r" PIDSEG
                                             "PV1|0001|I|5W^501^1||||||||||||||||||||||||||||||||||"
                                             "|||||||202403011200|202403051200\r";

  store_patient(s);
  {
    g_autofree char *a =
        write_msg("-", "ADT-61", "999999999999999", "20240305120000000", adt61_withdrawn);
    g_autofree char *b =
        write_msg("-", "PPR-01", "000000000000001", "20240301120000000", ppr01_deleted);
    g_autofree char *c =
        write_msg("20240305", "ADT-52", "000000000000003", "20240305120000000", adt52);
  }
  ck_assert_int_eq(hk_ssmix2_scan(s, hk_t_root, &st), 0);
  ck_assert_uint_eq(st.suspect + st.quarantined, 0);
  p = get_patient(s);
  ck_assert_uint_eq(p->allergies->len, 0);
  ck_assert_uint_eq(p->problems->len, 0);
  ck_assert_ptr_null(p->admission);
  ck_assert_str_eq(hk_fact_status(false, &p->allergies_unreadable), "none_recorded");
  ck_assert_str_eq(hk_fact_status(false, &p->problems_unreadable), "none_recorded");
  ck_assert_str_eq(hk_fact_status(false, &p->admission_unreadable), "none_recorded");
  hk_store_close(s);
}
END_TEST

/* An allergy message of another patient misfiled here is bad input, not
 * suspect, but the allergy list is still marked unreadable. */
START_TEST(test_misfiled_allergy_message)
{
  hk_store *s = hk_t_open_store();
  HkSsmix2Stats st = {0};
  g_autoptr(HkPatient) p = NULL;
  g_autofree char *text = g_strdup(adt61_penicillin);
  g_autofree char *path = NULL;
  char *at = strstr(text, PID "^^^^PI");

  ck_assert_ptr_nonnull(at);
  at[1] = '9'; /* P9010042 */
  store_patient(s);
  path = write_msg("-", "ADT-61", "999999999999999", "20240305090000000", text);
  ck_assert_int_eq(hk_ssmix2_scan(s, hk_t_root, &st), 0);
  ck_assert_uint_eq(st.quarantined, 1);
  ck_assert_uint_eq(st.suspect, 0);
  assert_quarantined(s, path, "bad_input", "PID-3 says P9010042");
  p = get_patient(s);
  assert_facts_intact(p);
  ck_assert_str_eq(hk_fact_status(true, &p->allergies_unreadable), "unreadable");
  hk_store_close(s);
}
END_TEST

static void
facts_setup(void)
{
  hk_t_setup("hk-ssmix2-facts-XXXXXX");
}

static Suite *
facts_suite(void)
{
  Suite *s = suite_create("ssmix2-facts");
  TCase *tc = tcase_create("facts");

  tcase_add_checked_fixture(tc, facts_setup, hk_t_teardown);
  tcase_set_timeout(tc, 120);
  tcase_add_loop_test(tc, test_unreadable_allergy_message_keeps_allergies, 0, N_BREAKS);
  tcase_add_test(tc, test_rewritten_problem_and_census_messages_keep_facts);
  tcase_add_test(tc, test_census_message_without_pv1_is_refused);
  tcase_add_test(tc, test_valid_messages_still_empty_the_lists);
  tcase_add_test(tc, test_misfiled_allergy_message);
  suite_add_tcase(s, tc);
  return s;
}

int
main(void)
{
  return hk_t_run(facts_suite());
}
