/* hk-samples-ssmix2.c: a synthetic SS-MIX2 standardized and extended
 * storage, and the facts an import of it must yield.
 *
 * Every data type hikae reads is written, in ISO-2022-JP with CR segment
 * ends, with the situations an importer must get right: superseded (flag
 * 2) and deleted (flag 0) files, admissions, transfers, discharges and
 * their cancels leaving a known census, allergies from ADT-00 and ADT-61,
 * both MSH-18 spellings, bare and typed PID-3, a PID-5 kana repetition one
 * component short, and an escaped component separator. Next to the storage
 * (out_dir + "-expected.json") goes what hikae must hold afterwards; the
 * SS-MIX2 integration test and bench/ssmix2 read it. */
#include "hk-samples-ssmix2.h"

#include "hk-error.h"
#include "hk-jis.h"
#include "hk-samples-patient.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <json-glib/json-glib.h>
#include <string.h>

typedef struct {
  const char *root;
  GRand *rng;
  JsonArray *patients;
  JsonArray *census;
  JsonArray *documents;
  guint messages;
  guint seq; /* makes time stamps and order numbers unique */
} HkSxGen;

typedef struct {
  const char *code, *name, *unit; /* unit may hold '^' (escaped as \S\) */
  double low, high;
  int decimals;
} HkSxLab;

static const HkSxLab hk_sx_labs[] = {
    {"3A010000002327101", "総蛋白", "g/dL", 6.6, 8.1, 1},
    {"3A015000002327101", "アルブミン", "g/dL", 4.1, 5.1, 1},
    {"3B035000002327201", "ＡＳＴ", "U/L", 13, 30, 0},
    {"3B045000002327201", "ＡＬＴ", "U/L", 10, 42, 0},
    {"3C015000002327101", "クレアチニン", "mg/dL", 0.46, 1.07, 2},
    {"3C025000002327101", "尿素窒素", "mg/dL", 8, 20, 0},
    {"2A990000001930952", "白血球数", "10^3/uL", 3.3, 8.6, 1},
    {"2A030000001930101", "ヘモグロビン", "g/dL", 11.6, 16.8, 1},
    {"5C070000002306001", "ＣＲＰ", "mg/dL", 0.0, 0.14, 2},
    {"3H015000002327101", "カリウム", "mmol/L", 3.6, 4.8, 1},
};

typedef struct {
  const char *code, *name, *unit_code, *unit, *freq_code, *freq;
  int dose, times;
} HkSxDrug;

static const HkSxDrug hk_sx_drugs[] = {
    {"111111101", "アムロジピン錠５ｍｇ", "TAB", "錠", "1013041400000000",
     "内服・経口・１日１回朝食後", 1, 1},
    {"111111102", "ロキソプロフェンナトリウム錠６０ｍｇ", "TAB", "錠", "1013044400000000",
     "内服・経口・１日３回朝昼夕食後", 1, 3},
    {"111111103", "酸化マグネシウム錠３３０ｍｇ", "TAB", "錠", "1013044400000000",
     "内服・経口・１日３回朝昼夕食後", 2, 3},
    {"111111104", "ランソプラゾールＯＤ錠１５ｍｇ", "TAB", "錠", "1013041400000000",
     "内服・経口・１日１回朝食後", 1, 1},
    {"111111105", "ワルファリンカリウム錠１ｍｇ", "TAB", "錠", "1013041800000000",
     "内服・経口・１日１回夕食後", 2, 1},
};

static const struct {
  const char *name, *reaction, *sev_code, *sev;
} hk_sx_drug_allergies[] = {
    {"ペニシリン系抗菌薬", "発疹", "SV", "重度"},
    {"アスピリン", "喘息発作", "MO", "中等度"},
    {"ヨード造影剤", "じんましん", "MI", "軽度"},
};

static const struct {
  const char *type_code, *type_name, *type, *name, *reaction;
} hk_sx_other_allergies[] = {
    {"FA", "食物アレルギー", "food", "そば", "湿疹"},
    {"FA", "食物アレルギー", "food", "卵", "腹痛"},
    {"LA", "花粉アレルギー", "pollen", "スギ", "目のかゆみ"},
    {"EA", "環境アレルギー", "environmental", "ハウスダスト", "くしゃみ"},
};

static const struct {
  const char *code, *name, *icd10;
} hk_sx_problems[] = {
    {"20054174", "胃炎", "K297"},       {"20064851", "高血圧症", "I10"},
    {"20089521", "２型糖尿病", "E119"}, {"20059123", "脂質異常症", "E785"},
    {"20076152", "骨粗鬆症", "M8199"},
};

static const char *const hk_sx_wards[] = {"3E", "4W", "5E", "6W"};

/* ------------------------------------------------------------- writing */

/* "YYYYMMDDHHMMSS" + 3-digit milliseconds of minute m after 2026-10-01. */
static char *
hk_sx_ts(int minutes, int with_ms, guint seq)
{
  GDateTime *base = g_date_time_new_local(2026, 10, 1, 9, 0, 0);
  GDateTime *t = g_date_time_add_minutes(base, minutes);
  char *s = g_date_time_format(t, "%Y%m%d%H%M%S");
  char *r = with_ms ? g_strdup_printf("%s%03u", s, seq % 1000) : g_strdup(s);

  g_free(s);
  g_date_time_unref(t);
  g_date_time_unref(base);
  return r;
}

static char *
hk_sx_rfc3339(int minutes)
{
  g_autofree char *ts = hk_sx_ts(minutes, 0, 0);
  return g_strdup_printf("%.4s-%.2s-%.2sT%.2s:%.2s:%.2s+09:00", ts, ts + 4, ts + 6, ts + 8, ts + 10,
                         ts + 12);
}

static char *
hk_sx_patient_dir(const HkSxGen *g, const char *pid)
{
  g_autofree char *a = g_strndup(pid, 3), *b = g_strndup(pid + 3, 3);
  return g_build_filename(g->root, a, b, pid, NULL);
}

static int
hk_sx_write_bytes(const char *path, const char *data, size_t len)
{
  g_autofree char *dir = g_path_get_dirname(path);
  GError *err = NULL;
  int ret = 0;

  if (g_mkdir_with_parents(dir, 0755) != 0) {
    ret = hk_err_from_errno(errno);
    goto out;
  }
  /* No fsync per file: a sample storage is rewritten, not recovered. */
  if (!g_file_set_contents_full(path, data, (gssize)len, G_FILE_SET_CONTENTS_NONE, 0644, &err)) {
    ret = -HK_EIO;
    g_error_free(err);
  }
out:
  return ret;
}

/* Write one message file. msg is UTF-8 with CR segment ends. */
static int
hk_sx_write_msg(HkSxGen *g, const char *pid, const char *date, const char *dt, const char *order,
                const char *ts, int flag, const char *msg)
{
  g_autofree char *dir = hk_sx_patient_dir(g, pid);
  g_autofree char *name = g_strdup_printf("%s_%s_%s_%s_%s_%s_%d", pid, date, dt, order, ts,
                                          dt[0] == 'A' && dt[4] != '2' ? "-" : "01", flag);
  g_autofree char *path = g_build_filename(dir, date, dt, name, NULL);
  g_autofree char *jis = NULL;
  size_t len = 0;
  int ret = hk_jis_encode(msg, strlen(msg), &jis, &len, NULL);

  if (ret == 0)
    ret = hk_sx_write_bytes(path, jis, len);
  if (ret == 0)
    g->messages++;
  return ret;
}

/* ------------------------------------------------------------ segments */

static void
hk_sx_msh(GString *s, const HkSxGen *g, guint idx, const char *ts, const char *type)
{
  /* Both spellings of MSH-18 that real storages carry. */
  g_string_append_printf(s,
                         "MSH|^~\\&|HIKAE|SAMPLES|GW|RCV|%.14s||%s|%u|P|2.5||||||%s||ISO 2022-1994|"
                         "SS-MIX2_1.20^SS-MIX2^1.2.392.200250.2.1.100.1.2.120^ISO\r",
                         ts, type, g->seq, idx % 2 ? "~ISOIR87" : "~ISO IR87");
}

static void
hk_sx_pid(GString *s, const HkSamplesPatient *p, guint idx, const char *birth_override)
{
  char birth[9];
  const char *b = birth_override ? birth_override : p->birth_date;

  snprintf(birth, sizeof birth, "%.4s%.2s%.2s", b, b + 5, b + 8);
  /* Every 5th patient has a bare PID-3; every 7th a kana repetition one
   * component short (the P in component 7). */
  g_string_append_printf(s, "PID|0001||%s%s||%s^%s^^^^^L^I~%s^%s^^^^%sP||%s|%c\r", p->id,
                         idx % 5 == 0 ? "" : "^^^^PI", p->family, p->given, p->family_kana,
                         p->given_kana, idx % 7 == 0 ? "L^" : "^L^", birth, p->sex);
}

/* A PV1 with the fields the census reads. */
static void
hk_sx_pv1(GString *s, const char *loc, const char *prior, const char *admit, const char *disch)
{
  const char *f[46] = {NULL};

  f[1] = "0001";
  f[2] = "I";
  f[3] = loc;
  f[6] = prior;
  f[44] = admit;
  f[45] = disch;
  g_string_append(s, "PV1");
  for (int i = 1; i <= 45; i++)
    g_string_append_printf(s, "|%s", f[i] ? f[i] : "");
  g_string_append_c(s, '\r');
}

static void
hk_sx_orc(GString *s, const char *order, const char *when, const HkSamplesPatient *p)
{
  g_string_append_printf(s, "ORC|NW|%s||1|||||%s|||110^医師^一郎^^^^^^^L^^^^^I|||||01^%s^99XY1\r",
                         order, when, p->department);
}

/* -------------------------------------------------------- the expected */

static JsonObject *
hk_sx_expect_doc(HkSxGen *g, const char *pid, const char *source_id, const char *type,
                 const char *content_type, const char *code, int versions, gboolean withdrawn)
{
  JsonObject *o = json_object_new();

  json_object_set_string_member(o, "source_id", source_id);
  json_object_set_string_member(o, "patient_id", pid);
  json_object_set_string_member(o, "type", type);
  json_object_set_string_member(o, "content_type", content_type);
  if (code)
    json_object_set_string_member(o, "code", code);
  json_object_set_int_member(o, "versions", versions);
  json_object_set_boolean_member(o, "withdrawn", withdrawn);
  json_object_set_array_member(o, "contains", json_array_new());
  json_array_add_object_element(g->documents, o);
  return o;
}

static void
hk_sx_expect_contains(JsonObject *doc, const char *text)
{
  json_array_add_string_element(json_object_get_array_member(doc, "contains"), text);
}

static JsonObject *
hk_sx_allergy_json(const char *allergen, const char *type, const char *reaction,
                   const char *severity)
{
  JsonObject *o = json_object_new();
  json_object_set_string_member(o, "allergen", allergen);
  json_object_set_string_member(o, "type", type);
  json_object_set_string_member(o, "reaction", reaction);
  json_object_set_string_member(o, "severity", severity);
  return o;
}

/* ------------------------------------------------------------ per type */

static int
hk_sx_patient_master(HkSxGen *g, const HkSamplesPatient *p, guint idx, JsonArray *allergies)
{
  int ret = 0;
  guint n_all = idx % 3; /* 0..2 drug allergies */

  /* Every 5th patient has an older master, superseded: a wrong birth date
   * and an allergy that must not show. */
  if (idx % 5 == 3) {
    GString *s = g_string_new(NULL);
    g_autofree char *ts = hk_sx_ts(-5000 - (int)idx, 1, ++g->seq);
    g_autofree char *wrong = g_strdup_printf("%04d%s", atoi(p->birth_date) + 1, p->birth_date + 4);
    hk_sx_msh(s, g, idx, ts, "ADT^A08^ADT_A01");
    g_string_append_printf(s, "EVN||%.12s\r", ts);
    hk_sx_pid(s, p, idx, wrong);
    g_string_append(s, "AL1|1|DA^薬剤アレルギー^HL70127|^取り消されたアレルギー^99XYZ\r");
    ret = hk_sx_write_msg(g, p->id, "-", "ADT-00", "999999999999999", ts, 2, s->str);
    g_string_free(s, TRUE);
    if (ret < 0)
      goto out;
  }
  {
    GString *s = g_string_new(NULL);
    g_autofree char *ts = hk_sx_ts(-1000 - (int)idx, 1, ++g->seq);
    hk_sx_msh(s, g, idx, ts, "ADT^A08^ADT_A01");
    g_string_append_printf(s, "EVN||%.12s\r", ts);
    hk_sx_pid(s, p, idx, NULL);
    for (guint k = 0; k < n_all; k++) {
      guint a = (idx + k) % G_N_ELEMENTS(hk_sx_drug_allergies);
      g_string_append_printf(s, "AL1|%u|DA^薬剤アレルギー^HL70127|%u^%s^99XYZ|%s^%s^HL70128|%s\r",
                             k + 1, a + 1, hk_sx_drug_allergies[a].name,
                             hk_sx_drug_allergies[a].sev_code, hk_sx_drug_allergies[a].sev,
                             hk_sx_drug_allergies[a].reaction);
      json_array_add_object_element(allergies,
                                    hk_sx_allergy_json(hk_sx_drug_allergies[a].name, "drug",
                                                       hk_sx_drug_allergies[a].reaction,
                                                       hk_sx_drug_allergies[a].sev));
    }
    ret = hk_sx_write_msg(g, p->id, "-", "ADT-00", "999999999999999", ts, 1, s->str);
    g_string_free(s, TRUE);
  }
out:
  return ret;
}

static int
hk_sx_allergy_list(HkSxGen *g, const HkSamplesPatient *p, guint idx, JsonArray *allergies)
{
  int ret = 0;

  if (idx % 3 != 0)
    goto out;
  for (int version = idx % 6 == 0 ? 0 : 1; version <= 1 && ret == 0; version++) {
    GString *s = g_string_new(NULL);
    g_autofree char *ts = hk_sx_ts(-900 + version * 100 - (int)idx, 1, ++g->seq);
    guint n = version == 0 ? 1 : 1 + idx % 2;
    hk_sx_msh(s, g, idx, ts, "ADT^A60^ADT_A60");
    g_string_append_printf(s, "EVN||%.12s\r", ts);
    hk_sx_pid(s, p, idx, NULL);
    for (guint k = 0; k < n; k++) {
      /* The superseded list names an allergen the current one does not. */
      guint a = version == 0 ? 3 : (idx / 3 + k) % 3;
      g_string_append_printf(
          s, "IAM|%u|%s^%s^HL70127|%u^%s^99XYZ|MO^中等度^HL70128|%s|A^追加^HL70323\r", k + 1,
          hk_sx_other_allergies[a].type_code, hk_sx_other_allergies[a].type_name, a + 1,
          hk_sx_other_allergies[a].name, hk_sx_other_allergies[a].reaction);
      if (version == 1)
        json_array_add_object_element(
            allergies,
            hk_sx_allergy_json(hk_sx_other_allergies[a].name, hk_sx_other_allergies[a].type,
                               hk_sx_other_allergies[a].reaction, "中等度"));
    }
    ret = hk_sx_write_msg(g, p->id, "-", "ADT-61", "999999999999999", ts, version == 0 ? 2 : 1,
                          s->str);
    g_string_free(s, TRUE);
  }
out:
  return ret;
}

static int
hk_sx_problem_list(HkSxGen *g, const HkSamplesPatient *p, guint idx, JsonArray *problems)
{
  guint n = 1 + (idx % 2) + (idx % 4 == 1); /* the last of a 4k+1 patient is deleted */
  int ret = 0;

  for (guint k = 0; k < n && ret == 0; k++) {
    guint pr = (idx + k) % G_N_ELEMENTS(hk_sx_problems);
    GString *s = g_string_new(NULL);
    g_autofree char *ts = hk_sx_ts(-800 + (int)k * 10, 1, ++g->seq);
    g_autofree char *order = g_strdup_printf("%015u", ++g->seq);
    g_autofree char *onset = hk_sx_ts(-30000 - (int)(idx % 50) * 1440, 0, 0);
    bool deleted = idx % 4 == 1 && k == n - 1;
    hk_sx_msh(s, g, idx, ts, "PPR^ZD1^PPR_ZD1");
    hk_sx_pid(s, p, idx, NULL);
    g_string_append_printf(
        s, "PRB|AD|%.8s|%s^%s^MDCDX2|%s|||%.8s|||%s^^I10^O^外来時^JHSD0004||||||%.8s\r", ts,
        hk_sx_problems[pr].code, hk_sx_problems[pr].name, order, onset, hk_sx_problems[pr].icd10,
        onset);
    hk_sx_orc(s, order, ts, p);
    ret = hk_sx_write_msg(g, p->id, "-", "PPR-01", order, ts, deleted ? 0 : 1, s->str);
    if (!deleted) {
      JsonObject *o = json_object_new();
      g_autofree char *date = g_strdup_printf("%.4s-%.2s-%.2s", onset, onset + 4, onset + 6);
      json_object_set_string_member(o, "code", hk_sx_problems[pr].icd10);
      json_object_set_string_member(o, "name", hk_sx_problems[pr].name);
      json_object_set_string_member(o, "onset", date);
      json_array_add_object_element(problems, o);
    }
    g_string_free(s, TRUE);
  }
  return ret;
}

/* One census message: kind is the trigger (A01, A11, A02...). */
static int
hk_sx_adt(HkSxGen *g, const HkSamplesPatient *p, guint idx, const char *dt, const char *trigger,
          int minute, const char *loc, const char *prior, const char *admit, const char *disch)
{
  GString *s = g_string_new(NULL);
  g_autofree char *ts = hk_sx_ts(minute, 1, ++g->seq);
  g_autofree char *type =
      g_strdup_printf("ADT^%s^ADT_%s", trigger,
                      strcmp(trigger, "A11") == 0 || strcmp(trigger, "A13") == 0 ? "A09" : trigger);
  g_autofree char *date = g_strndup(ts, 8);
  int ret;

  hk_sx_msh(s, g, idx, ts, type);
  g_string_append_printf(s, "EVN||%.12s||||%.12s\r", ts, ts);
  hk_sx_pid(s, p, idx, NULL);
  hk_sx_pv1(s, loc, prior, admit, disch);
  ret = hk_sx_write_msg(g, p->id, date, dt, "999999999999999", ts, 1, s->str);
  g_string_free(s, TRUE);
  return ret;
}

static int
hk_sx_stay(HkSxGen *g, const HkSamplesPatient *p, guint idx, JsonObject **admission)
{
  const char *ward = hk_sx_wards[idx % G_N_ELEMENTS(hk_sx_wards)];
  int t0 = (int)(idx % 20) * 60;
  g_autofree char *room = g_strdup_printf("%u", 300 + idx % 97);
  g_autofree char *room2 = g_strdup_printf("%u", 500 + idx % 89);
  g_autofree char *bed = g_strdup_printf("%u", 1 + idx % 4);
  g_autofree char *loc = g_strdup_printf("%s^%s^%s^^^N", ward, room, bed);
  g_autofree char *loc2 = g_strdup_printf("%s^%s^%s^^^N", ward, room2, bed);
  g_autofree char *admit_ts = hk_sx_ts(t0, 0, 0);
  g_autofree char *disch_ts = hk_sx_ts(t0 + 5 * 1440, 0, 0);
  const char *now_room = room;
  bool in = true;
  int ret = 0;

  *admission = NULL;
  if (idx % 5 > 2)
    goto out; /* outpatients */
  ret = hk_sx_adt(g, p, idx, "ADT-22", "A01", t0, loc, NULL, admit_ts, NULL);
  if (ret == 0 && idx % 5 == 2) { /* an admission entered in error, cancelled */
    ret = hk_sx_adt(g, p, idx, "ADT-22", "A11", t0 + 30, loc, NULL, admit_ts, NULL);
    in = false;
  }
  if (ret == 0 && idx % 5 == 0) { /* transferred to another room */
    ret = hk_sx_adt(g, p, idx, "ADT-42", "A02", t0 + 2 * 1440, loc2, loc, admit_ts, NULL);
    now_room = room2;
    if (ret == 0 && idx % 15 == 0) { /* ... and that transfer cancelled */
      ret = hk_sx_adt(g, p, idx, "ADT-42", "A12", t0 + 2 * 1440 + 60, loc, loc2, admit_ts, NULL);
      now_room = room;
    }
  }
  if (ret == 0 && idx % 5 == 1 && (idx % 10 == 6 || idx % 20 == 11)) { /* discharged */
    ret = hk_sx_adt(g, p, idx, "ADT-52", "A03", t0 + 5 * 1440, loc, NULL, admit_ts, disch_ts);
    in = false;
    if (ret == 0 && idx % 20 == 11) { /* a discharge cancelled: still in */
      ret = hk_sx_adt(g, p, idx, "ADT-52", "A13", t0 + 5 * 1440 + 30, loc, NULL, admit_ts, NULL);
      in = true;
    }
  }
  if (ret == 0 && in) {
    JsonObject *o = json_object_new();
    g_autofree char *at = hk_sx_rfc3339(t0);
    json_object_set_string_member(o, "ward", ward);
    json_object_set_string_member(o, "room", now_room);
    json_object_set_string_member(o, "bed", bed);
    json_object_set_string_member(o, "admitted_at", at);
    *admission = o;
  }
out:
  return ret;
}

static int
hk_sx_labs_write(HkSxGen *g, const HkSamplesPatient *p, guint idx)
{
  guint orders = 1 + idx % 3;
  int ret = 0;

  for (guint k = 0; k < orders && ret == 0; k++) {
    g_autofree char *order = g_strdup_printf("%015u", ++g->seq);
    g_autofree char *source_id = g_strdup_printf("SSMIX2:%s:OML-11:%s", p->id, order);
    bool updated = (idx + k) % 4 == 0; /* a preliminary report, then the final one */
    int minute = 2000 + (int)k * 7 * 1440 + (int)(idx % 100);
    JsonObject *doc = hk_sx_expect_doc(g, p->id, source_id, "lab_report", "text/plain", "11502-2",
                                       updated ? 2 : 1, FALSE);

    for (int v = updated ? 0 : 1; v <= 1 && ret == 0; v++) {
      GString *s = g_string_new(NULL);
      g_autofree char *ts = hk_sx_ts(minute + v * 120, 1, ++g->seq);
      g_autofree char *date = hk_sx_ts(minute, 0, 0);
      g_autofree char *taken = hk_sx_ts(minute - 60, 0, 0);
      guint n = 3 + (idx + k) % 4;
      date[8] = '\0';
      hk_sx_msh(s, g, idx, ts, "OUL^R22^OUL_R22");
      hk_sx_pid(s, p, idx, NULL);
      g_string_append_printf(s, "SPM|1|%s||023^血清^JC10|||||||||||||%.12s\r", order, taken);
      g_string_append_printf(
          s, "OBR|1|%s|%s|B001^生化学検査^99HKS|||%.12s||||||||110^医師^一郎||||||%.12s\r", order,
          order, taken, ts);
      hk_sx_orc(s, order, ts, p);
      for (guint r = 0; r < n; r++) {
        const HkSxLab *l = &hk_sx_labs[(idx + k + r * 3) % G_N_ELEMENTS(hk_sx_labs)];
        double span = l->high - l->low, x;
        char value[32];
        const char *flag = "";
        g_autofree char *unit = NULL;
        x = l->low - span * 0.3 + g_rand_double(g->rng) * span * 1.6;
        if (x < 0)
          x = 0;
        snprintf(value, sizeof value, "%.*f", l->decimals, x);
        x = g_ascii_strtod(value, NULL);
        if (x > l->high)
          flag = "H";
        else if (x < l->low)
          flag = "L";
        {
          /* '^' in a unit is the component separator: escape it. */
          GString *u = g_string_new(NULL);
          for (const char *c = l->unit; *c; c++)
            if (*c == '^')
              g_string_append(u, "\\S\\");
            else
              g_string_append_c(u, *c);
          unit = g_string_free(u, FALSE);
        }
        g_string_append_printf(s,
                               "OBX|%u|NM|%s^%s^JC10||%s|%s^%s^99HKS|%.*f-%.*f|%s|||%s|||%.12s\r",
                               r + 1, l->code, l->name, value, unit, unit, l->decimals, l->low,
                               l->decimals, l->high, flag, v == 0 ? "P" : "F", taken);
        if (v == 1) {
          g_autofree char *line = g_strdup_printf("%s: %s %s", l->name, value, l->unit);
          hk_sx_expect_contains(doc, line);
        }
      }
      ret = hk_sx_write_msg(g, p->id, date, "OML-11", order, ts, v == 0 ? 2 : 1, s->str);
      g_string_free(s, TRUE);
    }
  }
  return ret;
}

static int
hk_sx_prescriptions(HkSxGen *g, const HkSamplesPatient *p, guint idx)
{
  guint orders = 1 + idx % 2;
  int ret = 0;

  for (guint k = 0; k < orders && ret == 0; k++) {
    g_autofree char *order = g_strdup_printf("%015u", ++g->seq);
    g_autofree char *source_id = g_strdup_printf("SSMIX2:%s:OMP-01:%s", p->id, order);
    bool deleted = (idx + k) % 6 == 0; /* the order was cancelled: flag 2, then flag 0 */
    int minute = 3000 + (int)k * 14 * 1440 + (int)(idx % 100);
    g_autofree char *ts = hk_sx_ts(minute, 1, ++g->seq);
    g_autofree char *ts_del = hk_sx_ts(minute + 240, 1, ++g->seq);
    g_autofree char *date = g_strndup(ts, 8);
    GString *s = g_string_new(NULL);
    JsonObject *doc =
        hk_sx_expect_doc(g, p->id, source_id, "prescription", "text/plain", "57833-6", 1, deleted);
    guint n = 1 + (idx + k) % 3;

    hk_sx_msh(s, g, idx, ts, "RDE^O11^RDE_O11");
    hk_sx_pid(s, p, idx, NULL);
    for (guint r = 0; r < n; r++) {
      const HkSxDrug *d = &hk_sx_drugs[(idx + k + r) % G_N_ELEMENTS(hk_sx_drugs)];
      guint days = 7 * (1 + (idx + r) % 4);
      hk_sx_orc(s, order, ts, p);
      g_string_append_printf(
          s, "RXE||%s^%s^HOT9|%d||%s^%s^MR9P|||||%u|%s^%s^MR9P||||%s||||%d^%s&%s&MR9P\r", d->code,
          d->name, d->dose, d->unit_code, d->unit, d->dose * d->times * days, d->unit_code, d->unit,
          order, d->dose * d->times, d->unit_code, d->unit);
      g_string_append_printf(s, "TQ1|1||%s&%s&JAMISDP01|||%u^d|%.10s\r", d->freq_code, d->freq,
                             days, ts);
      g_string_append(s, "RXR|PO^口^HL70162\r");
      {
        g_autofree char *a = g_strdup_printf("%s  1回 %d %s", d->name, d->dose, d->unit);
        g_autofree char *b = g_strdup_printf("経路 口  用法 %s  %u 日分", d->freq, days);
        hk_sx_expect_contains(doc, a);
        hk_sx_expect_contains(doc, b);
      }
    }
    ret = hk_sx_write_msg(g, p->id, date, "OMP-01", order, ts, deleted ? 2 : 1, s->str);
    if (ret == 0 && deleted)
      ret = hk_sx_write_msg(g, p->id, date, "OMP-01", order, ts_del, 0, s->str);
    g_string_free(s, TRUE);
  }
  return ret;
}

static int
hk_sx_injection(HkSxGen *g, const HkSamplesPatient *p, guint idx)
{
  g_autofree char *order = g_strdup_printf("%015u", ++g->seq);
  g_autofree char *source_id = g_strdup_printf("SSMIX2:%s:OMP-02:%s", p->id, order);
  g_autofree char *ts = hk_sx_ts(4000 + (int)(idx % 100), 1, ++g->seq);
  g_autofree char *date = g_strndup(ts, 8);
  GString *s = g_string_new(NULL);
  JsonObject *doc =
      hk_sx_expect_doc(g, p->id, source_id, "prescription", "text/plain", "57833-6", 1, FALSE);
  int ret;

  hk_sx_msh(s, g, idx, ts, "RDE^O11^RDE_O11");
  hk_sx_pid(s, p, idx, NULL);
  hk_sx_orc(s, order, ts, p);
  g_string_append_printf(
      s, "RXE||103^点滴静注^JHSI0001|1||KIT^キット^MR9P|||||1|KIT^キット^MR9P||||%s\r", order);
  g_string_append_printf(s, "TQ1|1||1022000000000000&注射・点滴・１日２回&JAMISDP01|||3^d|%.10s\r",
                         ts);
  g_string_append(s, "RXR|IV^静脈内^HL70162\r");
  g_string_append(s, "RXC|B|620008501^セファゾリンナトリウム注射用１ｇ^HOT9|1|VIA^瓶^MR9P\r");
  g_string_append(s, "RXC|B|620007301^生理食塩液１００ｍＬ^HOT9|100|ML^ｍＬ^MR9P\r");
  hk_sx_expect_contains(doc, "点滴静注");
  hk_sx_expect_contains(doc, "経路 静脈内");
  hk_sx_expect_contains(doc, "セファゾリンナトリウム注射用１ｇ 1 瓶");
  hk_sx_expect_contains(doc, "3 日分");
  ret = hk_sx_write_msg(g, p->id, date, "OMP-02", order, ts, 1, s->str);
  g_string_free(s, TRUE);
  return ret;
}

/* A small valid one-page PDF (Helvetica, ASCII text). */
static GString *
hk_sx_pdf(const char *line)
{
  GString *s = g_string_new("%PDF-1.4\n");
  g_autofree char *stream = g_strdup_printf("BT /F1 14 Tf 72 770 Td (%s) Tj ET\n", line);
  const char *objs[5];
  g_autofree char *o4 =
      g_strdup_printf("<</Length %zu>>stream\n%sendstream", strlen(stream), stream);
  size_t off[5], xref;

  objs[0] = "<</Type/Catalog/Pages 2 0 R>>";
  objs[1] = "<</Type/Pages/Kids[3 0 R]/Count 1>>";
  objs[2] = "<</Type/Page/Parent 2 0 R/MediaBox[0 0 595 842]/Contents 4 0 R"
            "/Resources<</Font<</F1 5 0 R>>>>>>";
  objs[3] = o4;
  objs[4] = "<</Type/Font/Subtype/Type1/BaseFont/Helvetica>>";
  for (int i = 0; i < 5; i++) {
    off[i] = s->len;
    g_string_append_printf(s, "%d 0 obj\n%s\nendobj\n", i + 1, objs[i]);
  }
  xref = s->len;
  g_string_append(s, "xref\n0 6\n0000000000 65535 f \n");
  for (int i = 0; i < 5; i++)
    g_string_append_printf(s, "%010zu 00000 n \n", off[i]);
  g_string_append_printf(s, "trailer\n<</Size 6/Root 1 0 R>>\nstartxref\n%zu\n%%%%EOF\n", xref);
  return s;
}

static int
hk_sx_extended(HkSxGen *g, const char *ext_root, const HkSamplesPatient *p, guint idx)
{
  static const struct {
    const char *folder, *type, *code, *title, *attach;
  } kinds[] = {
      {"11506-3^ProgressNote^LN", "progress_note", "11506-3", "経過記録", "pdf"},
      {"18842-5^DischargeSummary^LN", "discharge_summary", "18842-5", "退院時サマリー", "pdf"},
      {"57133-1^ReferralNote^LN", "referral_letter", "57133-1", "診療情報提供書", "txt"},
      {"11488-4^ConsultNote^LN", "other", "11488-4", "コンサルテーション記録", "pdf"},
  };
  guint which = idx % 4;
  g_autofree char *key = g_strdup_printf("%015u", ++g->seq);
  g_autofree char *ts = hk_sx_ts(5000 + (int)(idx % 100), 1, ++g->seq);
  g_autofree char *date = g_strndup(ts, 8);
  g_autofree char *a = g_strndup(p->id, 3), *b = g_strndup(p->id + 3, 3);
  g_autofree char *folder =
      g_strdup_printf("%s_%s_%s_%s_%s_1", p->id, date, kinds[which].folder, key, ts);
  g_autofree char *dir =
      g_build_filename(ext_root, a, b, p->id, date, kinds[which].folder, folder, NULL);
  g_autofree char *main_path = g_build_filename(dir, "main_document.hl7", NULL);
  g_autofree char *source_id = g_strdup_printf("SSMIX2:%s:%s:%s", p->id, kinds[which].folder, key);
  g_autofree char *jis = NULL;
  GString *s = g_string_new(NULL), *content = NULL;
  const char *attach_name;
  size_t jl = 0;
  JsonObject *doc;
  int ret;

  hk_sx_msh(s, g, idx, ts, "MDM^T02^MDM_T02");
  g_string_append_printf(s, "EVN||%.12s\r", ts);
  hk_sx_pid(s, p, idx, NULL);
  g_string_append_printf(s, "TXA|1|%s^%s^LN|TX|%.12s||||||||%s||||||AU\r", kinds[which].code,
                         kinds[which].title, ts, key);
  g_string_append_printf(s, "OBX|1|RP|%s^%s^LN||document|||||||F\r", kinds[which].code,
                         kinds[which].title);
  ret = hk_jis_encode(s->str, s->len, &jis, &jl, NULL);
  if (ret == 0)
    ret = hk_sx_write_bytes(main_path, jis, jl);
  if (ret < 0)
    goto out;
  if (strcmp(kinds[which].attach, "pdf") == 0) {
    g_autofree char *line = g_strdup_printf("%s - patient %s - %s", kinds[which].code, p->id, date);
    content = hk_sx_pdf(line);
    attach_name = "document.pdf";
  } else {
    content = g_string_new(NULL);
    g_string_append_printf(content,
                           "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<ClinicalDocument>"
                           "<title>%s</title><recordTarget>%s</recordTarget>"
                           "<text>紹介先: 市立病院 内科。%s 様をご紹介いたします。</text>"
                           "</ClinicalDocument>\n",
                           kinds[which].title, p->id, p->name);
    attach_name = "document.xml";
  }
  {
    g_autofree char *path = g_build_filename(dir, attach_name, NULL);
    ret = hk_sx_write_bytes(path, content->str, content->len);
  }
  if (ret < 0)
    goto out;
  g->messages++;
  doc = hk_sx_expect_doc(g, p->id, source_id, kinds[which].type,
                         strcmp(kinds[which].attach, "pdf") == 0 ? "application/pdf" : "text/plain",
                         kinds[which].code, 1, FALSE);
  json_object_set_string_member(doc, "title", kinds[which].title);
out:
  g_string_free(s, TRUE);
  if (content)
    g_string_free(content, TRUE);
  return ret;
}

static int
hk_sx_write_expected(HkSxGen *g, const char *path)
{
  JsonObject *root = json_object_new();
  JsonNode *node = json_node_new(JSON_NODE_OBJECT);
  JsonGenerator *gen = json_generator_new();
  GError *err = NULL;
  int ret = 0;

  json_object_set_int_member(root, "messages", g->messages);
  json_object_set_array_member(root, "patients", json_array_ref(g->patients));
  json_object_set_array_member(root, "census", json_array_ref(g->census));
  json_object_set_array_member(root, "documents", json_array_ref(g->documents));
  json_object_set_array_member(root, "quarantine", json_array_new());
  json_node_take_object(node, root);
  json_generator_set_root(gen, node);
  json_generator_set_pretty(gen, TRUE);
  if (!json_generator_to_file(gen, path, &err)) {
    ret = -HK_EIO;
    g_error_free(err);
  }
  json_node_unref(node);
  g_object_unref(gen);
  return ret;
}

int
hk_samples_ssmix2_write(const char *out_dir, GRand *rng, const GPtrArray *patients)
{
  /* Standardized and extended storage share the layout, so one root holds
   * both: a message file or a content folder under each data type. */
  const char *std_root = out_dir, *ext_root = out_dir;
  g_autofree char *expected = g_strconcat(out_dir, "-expected.json", NULL);
  HkSxGen g = {std_root, rng, json_array_new(), json_array_new(), json_array_new(), 0, 0};
  int ret = 0;

  for (guint i = 0; i < patients->len && ret == 0; i++) {
    const HkSamplesPatient *p = patients->pdata[i];
    JsonObject *po = json_object_new();
    JsonArray *allergies = json_array_new(), *problems = json_array_new();
    JsonObject *admission = NULL;

    json_object_set_string_member(po, "id", p->id);
    json_object_set_string_member(po, "name", p->name);
    json_object_set_string_member(po, "kana", p->kana);
    json_object_set_string_member(po, "birth_date", p->birth_date);
    json_object_set_string_member(po, "sex", p->sex == 'F' ? "F" : "M");
    ret = hk_sx_patient_master(&g, p, i, allergies);
    if (ret == 0)
      ret = hk_sx_allergy_list(&g, p, i, allergies);
    if (ret == 0)
      ret = hk_sx_problem_list(&g, p, i, problems);
    if (ret == 0)
      ret = hk_sx_stay(&g, p, i, &admission);
    if (ret == 0)
      ret = hk_sx_labs_write(&g, p, i);
    if (ret == 0)
      ret = hk_sx_prescriptions(&g, p, i);
    if (ret == 0 && i % 5 <= 2)
      ret = hk_sx_injection(&g, p, i);
    if (ret == 0 && i % 2 == 0)
      ret = hk_sx_extended(&g, ext_root, p, i);
    json_object_set_array_member(po, "allergies", allergies);
    json_object_set_array_member(po, "problems", problems);
    if (admission) {
      JsonObject *c = json_object_new();
      json_object_set_string_member(c, "patient_id", p->id);
      json_object_set_string_member(c, "ward", json_object_get_string_member(admission, "ward"));
      json_object_set_string_member(c, "room", json_object_get_string_member(admission, "room"));
      json_object_set_string_member(c, "bed", json_object_get_string_member(admission, "bed"));
      json_object_set_string_member(c, "admitted_at",
                                    json_object_get_string_member(admission, "admitted_at"));
      json_array_add_object_element(g.census, c);
      json_object_set_object_member(po, "admission", admission);
    } else {
      json_object_set_null_member(po, "admission");
    }
    json_array_add_object_element(g.patients, po);
  }
  if (ret == 0)
    ret = hk_sx_write_expected(&g, expected);
  json_array_unref(g.patients);
  json_array_unref(g.census);
  json_array_unref(g.documents);
  return ret;
}
