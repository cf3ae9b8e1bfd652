#include "hk-samples-ocr.h"

#include <stdio.h>
#include <string.h>

#define HK_PICK(rng, table) ((table)[g_rand_int_range((rng), 0, (gint32)G_N_ELEMENTS(table))])

/* Width of a line in ems of the body font: the page holds 483 pt between
 * its margins, 42 ems at the largest body size (11.5 pt) with room to
 * spare. Noto Sans CJK draws ASCII at about half an em; 0.6 keeps a line
 * of digits and Latin inside the margin too. Wrapping by this count, not
 * by the font's metrics, keeps the text a function of the seed alone. */
#define HK_LINE_EMS 40.0
#define HK_ASCII_EM 0.6

static const char *const hk_consent_titles[] = {"造影ＣＴ検査同意書", "手術同意書", "輸血同意書",
                                                "内視鏡検査同意書"};
static const char *const hk_referral_titles[] = {"診療情報提供書", "紹介状"};

/* Diagnoses with the one- and two-character terms searches must find. */
static const char *const hk_ocr_diagnoses[] = {
    "右肺癌（腺癌）疑い",   "胃癌",         "大腸癌術後", "市中肺炎",   "誤嚥性肺炎",
    "間質性肺炎の急性増悪", "膵癌",         "乳癌",       "慢性心不全", "2型糖尿病",
    "急性胆嚢炎",           "脳梗塞後遺症",
};

static const char *const hk_ocr_allergies[] = {
    "ペニシリン系抗菌薬にて全身に発疹",
    "ヨード造影剤にて蕁麻疹、呼吸困難",
    "セフェム系抗菌薬にて薬疹",
    "特記すべきアレルギーなし",
    "ペニシリンにてアナフィラキシーショックの既往",
    "NSAIDsにて喘息発作",
    "卵、そば",
};

static const char *const hk_ocr_procedures[] = {
    "胸腹部造影ＣＴ検査", "腹腔鏡下胆嚢摘出術", "上部消化管内視鏡検査", "赤血球液の輸血",
    "経皮的冠動脈形成術", "頭部MRI検査",        "気管支鏡検査",         "中心静脈カテーテル挿入",
};

static const char *const hk_ocr_purposes[] = {
    "病変の広がりを評価し、治療方針を決定するために行います。",
    "症状の原因を調べ、早期に適切な治療を行うために必要です。",
    "貧血を改善し、手術を安全に行うために実施します。",
    "胆石による炎症を繰り返さないよう、胆嚢を摘出します。",
};

static const char *const hk_ocr_risks[] = {
    "造影剤によるアレルギー反応（吐き気、かゆみ、血圧低下）が起こることがあります。",
    "まれに腎機能が悪化することがあります。検査前後は水分を多めにとってください。",
    "出血、感染、血栓症、麻酔による合併症が起こる可能性があります。",
    "発熱、蕁麻疹などの副作用が起こることがあり、その場合は直ちに中止します。",
    "重い合併症の頻度は0.1%以下ですが、ゼロではありません。",
};

static const char *const hk_ocr_consent_fixed[] = {
    "緊急時には、必要な処置を追加して行うことがあります。",
    "この同意はいつでも撤回でき、撤回しても不利益を受けることはありません。",
    "私は上記について担当医師から説明を受け、十分に理解したうえで同意します。",
};

static const char *const hk_ocr_history[] = {
    "3か月前より労作時の息切れと咳嗽が出現し、近医を受診されました。",
    "胸部X線にて右下肺野に浸潤影を認め、抗菌薬を投与されましたが改善に乏しい状況です。",
    "発熱（38.5℃）と右胸痛があり、血液検査で炎症反応の上昇を認めました。",
    "体重は半年で5kg減少し、食欲も低下しています。",
    "喫煙歴は1日20本を40年間、飲酒は機会飲酒です。",
    "ご本人とご家族には、悪性腫瘍の可能性について説明済みです。",
    "入院後、セフトリアキソン1g/日の点滴を開始し、第5病日に解熱しました。",
};

/* Full-width digits and letters, as a typed report writes them. */
static const char *const hk_ocr_findings[] = {
    "右下葉に浸潤影を認めます。",
    "左上葉に径２５ｍｍの結節影を認め、肺癌を疑います。",
    "両側に少量の胸水を認めます。",
    "前回のＣＴと比較して著変ありません。",
};

static const char *const hk_ocr_requests[] = {
    "精査加療のほど、よろしくお願い申し上げます。",
    "今後の治療につきまして、ご高診いただけますと幸いです。",
    "画像データはCD-Rにて同封いたします。",
    "ご多忙のところ恐縮ですが、何卒よろしくお願いいたします。",
};

static const char *const hk_ocr_drugs[] = {
    "アムロジピン錠5mg 1錠 1日1回 朝食後", "ランソプラゾールOD錠15mg 1錠 朝食後",
    "メトホルミン錠250mg 2錠 1日2回",      "アセトアミノフェン錠200mg 疼痛時",
    "ワルファリン錠1mg 2錠 1日1回 朝食後", "カルボシステイン錠250mg 3錠 毎食後",
    "ビソプロロールフマル酸塩錠2.5mg 1錠", "酸化マグネシウム錠330mg 3錠 毎食後",
};

static const char *const hk_ocr_hospitals[] = {
    "さくら記念病院", "みなと総合病院", "ひかり台クリニック", "中央市民病院", "緑ヶ丘診療所",
};

/* ASCII digits and letters as the full-width forms Japanese forms use. */
static char *
hk_fullwidth(const char *ascii)
{
  GString *s = g_string_new(NULL);

  for (const char *p = ascii; *p; p++) {
    if (*p > ' ' && *p <= '~')
      g_string_append_unichar(s, 0xFF01 + (gunichar)(*p - '!'));
    else
      g_string_append_c(s, *p);
  }
  return g_string_free(s, FALSE);
}

static gboolean
hk_closing(gunichar c)
{
  return c == 0x3001 || c == 0x3002 || c == 0xFF09 || c == 0x300D || c == 0xFF0C || c == 0xFF0E;
}

/* Break a paragraph into lines of at most HK_LINE_EMS, anywhere between
 * two characters, as Japanese is set; a line never starts with a space. */
static void
hk_wrap(GPtrArray *lines, const char *para)
{
  const char *start = para, *p = para;
  double ems = 0;

  while (*p) {
    const gunichar c = g_utf8_get_char(p);
    const double w = c < 0x80 ? HK_ASCII_EM : 1.0;

    /* Closing punctuation stays at the end of its line (kinsoku), one
     * em past the count: there is room for it. */
    if (ems + w > HK_LINE_EMS && !hk_closing(c)) {
      g_ptr_array_add(lines, g_strndup(start, (gsize)(p - start)));
      while (*p == ' ')
        p++;
      start = p;
      ems = 0;
      continue;
    }
    ems += w;
    p = g_utf8_next_char(p);
  }
  if (p > start)
    g_ptr_array_add(lines, g_strndup(start, (gsize)(p - start)));
}

static void
hk_para(GPtrArray *lines, char *para)
{
  hk_wrap(lines, para);
  g_free(para);
}

static const char *
hk_sex_label(char sex)
{
  return sex == 'F' ? "女" : "男";
}

static void
hk_consent_body(HkSamplesDoc *d, GRand *rng, const char *date)
{
  GPtrArray *l = d->lines;
  const char *proc = HK_PICK(rng, hk_ocr_procedures);
  const guint first_risk = (guint)g_rand_int_range(rng, 0, G_N_ELEMENTS(hk_ocr_risks));
  char *doctor = hk_samples_staff_name(rng);
  char *cre = g_strdup_printf("%.2f", 0.5 + g_rand_int_range(rng, 0, 120) / 100.0);
  char *egfr = g_strdup_printf("%d", g_rand_int_range(rng, 25, 95));
  char *fw_cre = hk_fullwidth(cre);

  hk_para(l, g_strdup_printf("説明日：%s　説明医師：%s（%s）", date, doctor, d->department));
  hk_para(l, g_strdup_printf("１．病名：%s", HK_PICK(rng, hk_ocr_diagnoses)));
  hk_para(l, g_strdup_printf("２．予定の医療行為：%s", proc));
  hk_para(l, g_strdup_printf("３．目的：%s", HK_PICK(rng, hk_ocr_purposes)));
  hk_para(l, g_strdup("４．予想される合併症と危険性："));
  for (guint i = 0; i < 3; i++)
    hk_para(l, g_strdup_printf("（%u）%s", i + 1,
                               hk_ocr_risks[(first_risk + i) % G_N_ELEMENTS(hk_ocr_risks)]));
  hk_para(l, g_strdup_printf("５．アレルギー歴：%s", HK_PICK(rng, hk_ocr_allergies)));
  hk_para(l, g_strdup_printf("６．腎機能：Cre %s mg/dL（ＣＲＥ %s）、eGFR %s mL/分/1.73m2", cre,
                             fw_cre, egfr));
  for (guint i = 0; i < G_N_ELEMENTS(hk_ocr_consent_fixed); i++)
    hk_wrap(l, hk_ocr_consent_fixed[i]);
  hk_para(l, g_strdup_printf("患者署名：%s　　日付：%s", d->patient->name, date));
  hk_para(l, g_strdup("代諾者署名：　　　　　　　続柄："));
  g_free(fw_cre);
  g_free(egfr);
  g_free(cre);
  g_free(doctor);
}

static void
hk_referral_body(HkSamplesDoc *d, GRand *rng, const char *date)
{
  GPtrArray *l = d->lines;
  char *doctor = hk_samples_staff_name(rng);
  const guint first = (guint)g_rand_int_range(rng, 0, G_N_ELEMENTS(hk_ocr_history));
  const guint n_history = (guint)g_rand_int_range(rng, 3, 6);
  const guint n_drugs = (guint)g_rand_int_range(rng, 2, 5);
  const int wbc = g_rand_int_range(rng, 30, 180) * 100;
  const double crp = g_rand_int_range(rng, 1, 2000) / 100.0;

  hk_para(l, g_strdup_printf(
                 "%s %s %s 先生 御侍史", HK_PICK(rng, hk_ocr_hospitals),
                 hk_samples_departments[g_rand_int_range(rng, 0, (gint32)hk_samples_n_departments)],
                 doctor));
  hk_para(l, g_strdup_printf("紹介元：hikae総合病院 %s %s　%s", d->department, d->author, date));
  hk_para(l, g_strdup_printf("傷病名：%s", HK_PICK(rng, hk_ocr_diagnoses)));
  hk_para(l, g_strdup_printf("アレルギー：%s", HK_PICK(rng, hk_ocr_allergies)));
  hk_wrap(l, "【現病歴】");
  for (guint i = 0; i < n_history; i++)
    hk_wrap(l, hk_ocr_history[(first + i) % G_N_ELEMENTS(hk_ocr_history)]);
  hk_wrap(l, "【検査所見】");
  hk_para(l, g_strdup_printf("WBC %d/μL、CRP %.2f mg/dL、Hb %.1f g/dL、SpO2 %d%%", wbc, crp,
                             9.0 + g_rand_int_range(rng, 0, 60) / 10.0,
                             g_rand_int_range(rng, 88, 100)));
  hk_para(l, g_strdup_printf("【画像】胸部ＣＴ：%s", HK_PICK(rng, hk_ocr_findings)));
  hk_wrap(l, "【処方】");
  for (guint i = 0; i < n_drugs; i++)
    hk_para(l, g_strdup_printf("%u) %s", i + 1, HK_PICK(rng, hk_ocr_drugs)));
  hk_wrap(l, HK_PICK(rng, hk_ocr_requests));
  g_free(doctor);
}

HkSamplesDoc *
hk_samples_ocr_doc_new(const HkSamplesPatient *p, guint64 n, GRand *rng)
{
  static const double sizes[] = {10.5, 11.5};
  HkSamplesDoc *d = g_new0(HkSamplesDoc, 1);
  const gboolean consent = g_rand_boolean(rng);
  gint64 when;
  GDate date;
  char ymd[16], *jdate, *head;

  d->patient = p;
  d->index = n;
  d->kind = HK_SAMPLES_JPEG;
  d->content_type = "image/jpeg";
  d->pages = 1;
  d->lines = g_ptr_array_new_with_free_func(g_free);
  d->type = consent ? "consent" : "referral_letter";
  d->type_code = consent ? "CO" : "RL";
  d->title = g_strdup(consent ? HK_PICK(rng, hk_consent_titles) : HK_PICK(rng, hk_referral_titles));
  d->department = p->department;
  d->author = hk_samples_staff_name(rng);
  d->dpi = g_rand_boolean(rng) ? HK_SAMPLES_OCR_DPI_HI : HK_SAMPLES_OCR_DPI_LO;
  /* 1 to 2 degrees either way, in hundredths so that the manifest's
   * figure is exactly the one drawn. */
  d->tilt_deg = g_rand_int_range(rng, 100, 201) / 100.0 * (g_rand_boolean(rng) ? 1 : -1);
  d->font_pt = HK_PICK(rng, sizes);

  hk_samples_doc_times(rng, p, 1, &when);
  g_date_clear(&date, 1);
  g_date_set_julian(&date, (guint32)(when / 1440));
  snprintf(d->created_at, sizeof d->created_at, "%04u-%02u-%02uT%02u:%02u:00+09:00",
           (unsigned)g_date_get_year(&date), (unsigned)g_date_get_month(&date),
           (unsigned)g_date_get_day(&date), (unsigned)(when % 1440 / 60), (unsigned)(when % 60));
  snprintf(ymd, sizeof ymd, "%04u%02u%02u", (unsigned)g_date_get_year(&date),
           (unsigned)g_date_get_month(&date), (unsigned)g_date_get_day(&date));
  jdate = g_strdup_printf("%u年%u月%u日", (unsigned)g_date_get_year(&date),
                          (unsigned)g_date_get_month(&date), (unsigned)g_date_get_day(&date));
  /* "K" keeps these apart from the documents numbered by hk-samples-doc. */
  d->source_id = g_strdup_printf("SCAN:%s:K%07" G_GUINT64_FORMAT, d->type_code, n + 1);
  d->rel_path = g_strdup_printf("scan/%.4s-%.2s/%s_%s_K%07" G_GUINT64_FORMAT ".jpg", ymd, ymd + 4,
                                p->id, d->type_code, n + 1);

  head = hk_fullwidth(p->id);
  hk_para(d->lines, g_strdup_printf("患者ID：%s　氏名：%s（%s）", head, p->name, p->kana));
  g_free(head);
  hk_para(d->lines, g_strdup_printf("生年月日：%s　性別：%s　診療科：%s", p->birth_date,
                                    hk_sex_label(p->sex), p->department));
  if (consent)
    hk_consent_body(d, rng, jdate);
  else
    hk_referral_body(d, rng, jdate);
  hk_wrap(d->lines, "架空の患者・文書（hikae-samples 合成データ）");
  g_free(jdate);
  return d;
}

char *
hk_samples_ocr_text(const HkSamplesDoc *d)
{
  GString *s = g_string_new(d->title);

  for (guint i = 0; i < d->lines->len; i++) {
    g_string_append_c(s, '\n');
    g_string_append(s, g_ptr_array_index(d->lines, i));
  }
  return g_string_free(s, FALSE);
}
