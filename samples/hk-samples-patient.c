#include "hk-samples-patient.h"

#include "hk-error.h"

#include <stdio.h>
#include <stdlib.h>

typedef struct {
  const char *kanji;
  const char *kana;
} HkSamplesName;

/* Common family names. 斎藤 and 斉藤 share a reading on purpose: a kana
 * search must find both. */
static const HkSamplesName hk_family_names[] = {
    {"佐藤", "サトウ"},     {"鈴木", "スズキ"},   {"高橋", "タカハシ"}, {"田中", "タナカ"},
    {"伊藤", "イトウ"},     {"渡辺", "ワタナベ"}, {"山本", "ヤマモト"}, {"中村", "ナカムラ"},
    {"小林", "コバヤシ"},   {"加藤", "カトウ"},   {"吉田", "ヨシダ"},   {"山田", "ヤマダ"},
    {"佐々木", "ササキ"},   {"山口", "ヤマグチ"}, {"松本", "マツモト"}, {"井上", "イノウエ"},
    {"木村", "キムラ"},     {"林", "ハヤシ"},     {"斎藤", "サイトウ"}, {"清水", "シミズ"},
    {"山崎", "ヤマザキ"},   {"森", "モリ"},       {"池田", "イケダ"},   {"橋本", "ハシモト"},
    {"阿部", "アベ"},       {"石川", "イシカワ"}, {"山下", "ヤマシタ"}, {"中島", "ナカジマ"},
    {"石井", "イシイ"},     {"小川", "オガワ"},   {"前田", "マエダ"},   {"岡田", "オカダ"},
    {"長谷川", "ハセガワ"}, {"藤田", "フジタ"},   {"後藤", "ゴトウ"},   {"近藤", "コンドウ"},
    {"村上", "ムラカミ"},   {"遠藤", "エンドウ"}, {"青木", "アオキ"},   {"坂本", "サカモト"},
    {"斉藤", "サイトウ"},   {"大野", "オオノ"},   {"西村", "ニシムラ"}, {"福田", "フクダ"},
};

/* Given names, ordered roughly from older to younger generations so that a
 * patient's name can fit the year of birth. Readings include small kana and
 * long vowels (キョウコ, ショウタ) to exercise kana normalization. */
static const HkSamplesName hk_female_names[] = {
    {"花子", "ハナコ"},   {"幸子", "サチコ"},   {"和子", "カズコ"}, {"節子", "セツコ"},
    {"恵子", "ケイコ"},   {"京子", "キョウコ"}, {"洋子", "ヨウコ"}, {"美智子", "ミチコ"},
    {"久美子", "クミコ"}, {"由美", "ユミ"},     {"裕子", "ユウコ"}, {"真由美", "マユミ"},
    {"直美", "ナオミ"},   {"陽子", "ヨウコ"},   {"千尋", "チヒロ"}, {"愛", "アイ"},
    {"美咲", "ミサキ"},   {"さくら", "サクラ"}, {"結衣", "ユイ"},   {"陽菜", "ヒナ"},
    {"葵", "アオイ"},     {"芽衣", "メイ"},
};

static const HkSamplesName hk_male_names[] = {
    {"太郎", "タロウ"},   {"茂", "シゲル"},     {"清", "キヨシ"},   {"一郎", "イチロウ"},
    {"博", "ヒロシ"},     {"正男", "マサオ"},   {"和夫", "カズオ"}, {"隆", "タカシ"},
    {"修", "オサム"},     {"健一", "ケンイチ"}, {"浩二", "コウジ"}, {"誠", "マコト"},
    {"大輔", "ダイスケ"}, {"健太", "ケンタ"},   {"拓也", "タクヤ"}, {"翔太", "ショウタ"},
    {"勇気", "ユウキ"},   {"翔", "ショウ"},     {"大翔", "ヒロト"}, {"蓮", "レン"},
    {"悠真", "ユウマ"},   {"湊", "ミナト"},
};

const char *const hk_samples_departments[] = {
    "内科",       "外科",       "整形外科", "小児科", "産婦人科", "循環器内科", "消化器内科",
    "呼吸器内科", "脳神経外科", "泌尿器科", "眼科",   "皮膚科",   "救急科",
};
const guint hk_samples_n_departments = G_N_ELEMENTS(hk_samples_departments);

#define HK_SAMPLES_MAX_PATIENTS 10000000u

void
hk_samples_patient_free(HkSamplesPatient *p)
{
  if (!p)
    return;
  g_free(p->name);
  g_free(p->kana);
  g_free(p);
}

/* A uniform integer in [0, n) for n beyond 32 bits, from two draws. */
static guint64
hk_rand_u64(GRand *rng, guint64 n)
{
  guint64 v = ((guint64)g_rand_int(rng) << 32) | g_rand_int(rng);

  return v % n;
}

/* Hospital patients are mostly old: 70% are born 1930-1965, the rest
 * 1966-2020, each day within its span equally likely. */
static void
hk_birth_date(GRand *rng, char out[11])
{
  GDate d;
  guint32 lo, hi;

  if (g_rand_double(rng) < 0.7) {
    g_date_clear(&d, 1);
    g_date_set_dmy(&d, 1, G_DATE_JANUARY, 1930);
    lo = g_date_get_julian(&d);
    g_date_set_dmy(&d, 31, G_DATE_DECEMBER, 1965);
    hi = g_date_get_julian(&d);
  } else {
    g_date_clear(&d, 1);
    g_date_set_dmy(&d, 1, G_DATE_JANUARY, 1966);
    lo = g_date_get_julian(&d);
    g_date_set_dmy(&d, 31, G_DATE_DECEMBER, 2020);
    hi = g_date_get_julian(&d);
  }
  g_date_set_julian(&d, lo + (guint32)g_rand_int_range(rng, 0, (gint32)(hi - lo + 1)));
  g_date_strftime(out, 11, "%Y-%m-%d", &d);
}

/* Pick a given name whose generation fits the year of birth: a window that
 * slides along the table (older names first) as the year grows. */
static const HkSamplesName *
hk_given_name(GRand *rng, char sex, int year)
{
  const HkSamplesName *table = sex == 'F' ? hk_female_names : hk_male_names;
  const int n = sex == 'F' ? (int)G_N_ELEMENTS(hk_female_names) : (int)G_N_ELEMENTS(hk_male_names);
  const int window = n / 2;
  int start = (year - 1930) * (n - window) / 90;

  start = CLAMP(start, 0, n - window);
  return &table[start + g_rand_int_range(rng, 0, window)];
}

int
hk_samples_patients_generate(GRand *rng, guint n, GPtrArray **out)
{
  GPtrArray *patients = NULL;
  GHashTable *seen = NULL;
  int ret = 0;

  *out = NULL;
  if (n == 0 || n > HK_SAMPLES_MAX_PATIENTS) {
    ret = -HK_EINVAL;
    goto out;
  }
  patients = g_ptr_array_new_full(n, (GDestroyNotify)hk_samples_patient_free);
  seen = g_hash_table_new(g_str_hash, g_str_equal);
  for (guint i = 0; i < n; i++) {
    HkSamplesPatient *p = g_new0(HkSamplesPatient, 1);
    const HkSamplesName *fam, *giv;

    /* IDs spread over the whole 10-digit space so that pid[0:3] folders
     * (drop and SS-MIX2 layouts) fill evenly; redraw the rare collision. */
    do {
      snprintf(p->id, sizeof p->id, "%010" G_GUINT64_FORMAT,
               1 + hk_rand_u64(rng, G_GUINT64_CONSTANT(9999999999)));
    } while (g_hash_table_contains(seen, p->id));
    p->sex = g_rand_boolean(rng) ? 'F' : 'M';
    hk_birth_date(rng, p->birth_date);
    fam = &hk_family_names[g_rand_int_range(rng, 0, G_N_ELEMENTS(hk_family_names))];
    giv = hk_given_name(rng, p->sex, atoi(p->birth_date));
    p->family = fam->kanji;
    p->family_kana = fam->kana;
    p->given = giv->kanji;
    p->given_kana = giv->kana;
    p->name = g_strconcat(fam->kanji, " ", giv->kanji, NULL);
    p->kana = g_strconcat(fam->kana, " ", giv->kana, NULL);
    /* Children are followed by paediatrics. */
    if (atoi(p->birth_date) >= 2008)
      p->department = "小児科";
    else
      p->department = hk_samples_departments[g_rand_int_range(rng, 0, hk_samples_n_departments)];
    g_ptr_array_add(patients, p);
    g_hash_table_add(seen, p->id);
  }
  *out = g_steal_pointer(&patients);
out:
  if (seen)
    g_hash_table_destroy(seen);
  if (patients)
    g_ptr_array_unref(patients);
  return ret;
}

char *
hk_samples_staff_name(GRand *rng)
{
  const HkSamplesName *fam, *giv;

  fam = &hk_family_names[g_rand_int_range(rng, 0, G_N_ELEMENTS(hk_family_names))];
  if (g_rand_boolean(rng))
    giv = &hk_female_names[g_rand_int_range(rng, 0, G_N_ELEMENTS(hk_female_names))];
  else
    giv = &hk_male_names[g_rand_int_range(rng, 0, G_N_ELEMENTS(hk_male_names))];
  return g_strconcat(fam->kanji, " ", giv->kanji, NULL);
}
