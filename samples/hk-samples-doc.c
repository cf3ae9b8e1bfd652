#include "hk-samples-doc.h"

#include <stdio.h>
#include <string.h>

#define HK_PICK(rng, table) ((table)[g_rand_int_range((rng), 0, (gint32)G_N_ELEMENTS(table))])
/* Walk a table from a random start, so that a document repeats a sentence
 * only once it has used them all. */
#define HK_CYCLE(table, start, i) ((table)[((start) + (i)) % G_N_ELEMENTS(table)])

const char *const hk_samples_types[HK_SAMPLES_N_TYPES] = {
    "progress_note", "nursing_record", "discharge_summary", "referral_letter",   "consent",
    "lab_report",    "imaging_report", "operative_note",    "anesthesia_record", "prescription",
    "ecg",           "other",
};

/* Short codes for source IDs and file names, in the order of hk_samples_types. */
static const char *const hk_type_codes[HK_SAMPLES_N_TYPES] = {
    "PN", "NR", "DS", "RL", "CO", "LB", "IR", "OP", "AN", "RX", "ECG", "OT",
};

/* How often each type turns up in a hospital's archive (relative weights). */
static const guint hk_type_weights[HK_SAMPLES_N_TYPES] = {
    20, 15, 5, 5, 6, 12, 7, 4, 4, 10, 6, 6,
};

static const char *const hk_titles_progress[] = {"経過記録", "外来診療録", "入院経過記録"};
static const char *const hk_titles_nursing[] = {"看護記録", "看護経過記録"};
static const char *const hk_titles_referral[] = {"診療情報提供書", "紹介状返書"};
static const char *const hk_titles_consent[] = {"手術同意書", "輸血同意書", "検査同意書",
                                                "麻酔同意書"};
static const char *const hk_titles_prescription[] = {"処方箋", "院外処方箋", "注射処方箋"};
static const char *const hk_titles_imaging[] = {
    "画像診断報告書 (胸部CT)", "画像診断報告書 (頭部MRI)", "画像診断報告書 (腹部エコー)",
    "画像診断報告書 (胸部X線)"};
static const char *const hk_titles_other[] = {"診断書", "入院診療計画書", "紙カルテ (スキャン)",
                                              "栄養指導記録"};

/* A patient keeps one main diagnosis across documents (chosen from the ID). */
static const char *const hk_diagnoses[] = {
    "市中肺炎",   "急性心筋梗塞",     "大腿骨頸部骨折", "脳梗塞", "2型糖尿病",
    "慢性心不全", "急性虫垂炎",       "胆石症",         "大腸癌", "胃癌",
    "尿路感染症", "慢性閉塞性肺疾患", "気管支喘息",     "白内障", "変形性膝関節症",
};

static const char *const hk_histories[] = {
    "高血圧症",   "脂質異常症", "2型糖尿病",  "なし", "心房細動",
    "慢性腎臓病", "胃潰瘍",     "虫垂炎術後", "喘息", "骨粗鬆症",
};

static const char *const hk_allergies[] = {
    "なし",
    "なし",
    "なし",
    "ペニシリン系抗菌薬 (発疹)",
    "造影剤 (蕁麻疹)",
    "卵",
    "そば",
    "NSAIDs (喘息発作)",
};

static const char *const hk_subjective[] = {
    "S) 昨夜はよく眠れた。痛みは軽くなっている。",
    "S) 食欲あり。嘔気なし。",
    "S) 階段で息切れがある。",
    "S) 創部の痛みは自制内。",
    "S) 頭痛が続いている。",
    "S) 咳が少し残っている。痰は減った。",
    "S) 特に変わりない。",
    "S) 足のむくみが気になる。",
};

static const char *const hk_objective[] = {
    "O) 胸部聴診にて異常なし。腹部平坦軟、圧痛なし。",
    "O) 創部発赤なし、浸出液なし。",
    "O) 両下腿に軽度の浮腫あり。",
    "O) 右下肺野に軽度の水泡音を聴取。",
    "O) 意識清明。神経学的所見に著変なし。",
    "O) 腸蠕動音良好。排便あり。",
};

static const char *const hk_assessment[] = {
    "A) 経過良好。",         "A) 肺炎は改善傾向。", "A) 血糖コントロール不良。",
    "A) 心不全の増悪なし。", "A) 術後経過は順調。", "A) 炎症反応は低下傾向。",
};

static const char *const hk_plan[] = {
    "P) 現行の治療を継続。",           "P) 明朝採血にて再評価。",
    "P) 抗菌薬を内服へ切り替え。",     "P) リハビリ継続、退院調整を開始。",
    "P) 食事量を見ながら点滴を減量。", "P) 次回外来は2週間後。",
};

static const char *const hk_nursing[] = {
    "清拭実施。皮膚トラブルなし。",
    "ナースコールあり訪室。トイレ介助実施。",
    "夜間良眠。",
    "食事摂取 主食8割 副食7割。",
    "転倒転落リスク評価 危険度II。離床センサー使用中。",
    "点滴刺入部 発赤腫脹なし。",
    "疼痛の訴えあり、指示の鎮痛薬を投与。30分後 疼痛軽減。",
    "家族面会あり。病状について医師より説明。",
    "体位変換実施。仙骨部 発赤なし。",
    "服薬確認済み。",
};

static const char *const hk_course[] = {
    "入院後、抗菌薬の点滴投与を開始した。",     "第3病日に解熱し、炎症反応は改善した。",
    "食事摂取良好となり、点滴を終了した。",     "リハビリテーションを行い、歩行は自立した。",
    "経過中、特記すべき合併症は認めなかった。", "退院後は外来にて経過観察の予定である。",
    "内服薬の調整を行い、血圧は安定した。",     "ご家族の協力のもと、自宅退院となった。",
};

static const char *const hk_letter[] = {
    "いつも大変お世話になっております。",
    "上記の患者様をご紹介申し上げます。",
    "当院にて加療を行い、症状は改善しております。",
    "今後の経過観察につきまして、貴院にてご高診いただけますと幸いです。",
    "検査結果および画像を同封いたします。",
    "ご多忙のところ恐縮ですが、よろしくお願い申し上げます。",
};

static const char *const hk_hospitals[] = {
    "さくら記念病院", "みなと総合病院", "ひかり台クリニック", "中央市民病院", "緑ヶ丘診療所",
};

static const char *const hk_consent[] = {
    "私は、上記の医療行為について、担当医師より説明を受けました。",
    "目的、方法、予想される効果について理解しました。",
    "合併症: 出血、感染、血栓症、麻酔による合併症など。",
    "緊急時には必要な処置を追加することがあります。",
    "同意はいつでも撤回できることを理解しました。",
    "以上を十分に理解したうえで、同意いたします。",
    "患者署名 ____________________  日付 ____年__月__日",
    "代諾者署名 __________________  続柄 ________",
};

typedef struct {
  const char *name;
  const char *unit;
  double lo, hi; /* reference range */
  int decimals;
} HkLabItem;

static const HkLabItem hk_lab_items[] = {
    {"WBC", "10^3/μL", 3.3, 8.6, 1}, {"RBC", "10^6/μL", 3.86, 4.92, 2},
    {"Hb", "g/dL", 11.6, 14.8, 1},   {"Plt", "10^3/μL", 158, 348, 0},
    {"AST", "U/L", 13, 30, 0},       {"ALT", "U/L", 7, 23, 0},
    {"γ-GT", "U/L", 9, 32, 0},       {"BUN", "mg/dL", 8.0, 20.0, 1},
    {"Cre", "mg/dL", 0.46, 0.79, 2}, {"Na", "mmol/L", 138, 145, 0},
    {"K", "mmol/L", 3.6, 4.8, 1},    {"Cl", "mmol/L", 101, 108, 0},
    {"CRP", "mg/dL", 0.00, 0.14, 2}, {"Glu", "mg/dL", 73, 109, 0},
    {"HbA1c", "%", 4.9, 6.0, 1},     {"TP", "g/dL", 6.6, 8.1, 1},
    {"Alb", "g/dL", 4.1, 5.1, 1},    {"LDH", "U/L", 124, 222, 0},
};

static const char *const hk_imaging[] = {
    "右下葉に浸潤影を認めます。",
    "縦隔および肺門リンパ節の腫大は認めません。",
    "胸水は認めません。",
    "前回検査と比較して著変ありません。",
    "肝臓に明らかな占拠性病変は認めません。",
    "左中大脳動脈領域に急性期梗塞を疑う高信号域を認めます。",
    "胆嚢内に音響陰影を伴う結石を認めます。",
    "心拡大は認めません。",
};

static const char *const hk_operation[] = {
    "仰臥位、全身麻酔下に手術を開始した。", "臍部に12mmポートを挿入し、気腹した。",
    "癒着を剥離し、術野を展開した。",       "血管をクリップし、切離した。",
    "止血を確認し、ドレーンを留置した。",   "洗浄後、層々に閉創し手術を終了した。",
    "術中、特記すべき合併症なし。",
};

static const char *const hk_operation_names[] = {
    "腹腔鏡下胆嚢摘出術", "腹腔鏡下虫垂切除術", "人工骨頭置換術",
    "経皮的冠動脈形成術", "水晶体再建術",       "腹腔鏡下結腸切除術",
};

static const char *const hk_drugs[] = {
    "アムロジピン錠5mg  1錠  1日1回 朝食後",       "ロスバスタチン錠2.5mg  1錠  1日1回 夕食後",
    "メトホルミン錠250mg  2錠  1日2回 朝夕食後",   "ランソプラゾールOD錠15mg  1錠  1日1回 朝食後",
    "アセトアミノフェン錠200mg  2錠  疼痛時 頓用", "ロキソプロフェン錠60mg  3錠  1日3回 毎食後",
    "カルボシステイン錠250mg  3錠  1日3回 毎食後", "酸化マグネシウム錠330mg  3錠  1日3回 毎食後",
    "ワルファリン錠1mg  2錠  1日1回 朝食後",       "ビソプロロール錠2.5mg  1錠  1日1回 朝食後",
    "セフトリアキソン静注用1g  1日1回 点滴静注",
};

static const char *const hk_ecg_findings[] = {
    "所見: 正常範囲内",     "所見: 完全右脚ブロック", "所見: 心房細動",
    "所見: ST低下 (V4-V6)", "所見: 左室高電位",       "所見: 洞性徐脈",
};

static const char *const hk_ecg_notes[] = {
    "判定: 要経過観察",
    "前回記録と比較して著変なし。",
    "検査時 安静臥位、自覚症状なし。",
    "記録条件: 25 mm/s  10 mm/mV",
};

static const char *const hk_other[] = {
    "上記の者、上記病名にて当院通院加療中であることを証明します。",
    "入院期間は約2週間を予定しています。",
    "治療計画: 点滴治療、内服治療、リハビリテーション。",
    "栄養状態の評価と食事指導を行いました。",
    "1日あたりの塩分摂取量は6g未満を目標とします。",
    "特別な栄養管理の必要性: 有",
    "推定される入院期間: 14日",
};

/* Departments that write some types whatever the patient is followed by. */
static const char *
hk_type_department(const char *type, const HkSamplesPatient *p, GRand *rng)
{
  const char *dep = p->department;

  if (strcmp(type, "anesthesia_record") == 0)
    dep = "麻酔科";
  else if (strcmp(type, "imaging_report") == 0)
    dep = "放射線科";
  else if (strcmp(type, "lab_report") == 0)
    dep = "臨床検査科";
  else if (strcmp(type, "nursing_record") == 0)
    dep = "看護部";
  else if (strcmp(type, "ecg") == 0)
    dep = g_rand_boolean(rng) ? "生理検査室" : "循環器内科";
  else if (strcmp(type, "prescription") == 0 && g_rand_int_range(rng, 0, 4) == 0)
    dep = "薬剤部";
  return dep;
}

static char *
hk_type_title(const char *type, GRand *rng)
{
  const char *t;

  if (strcmp(type, "progress_note") == 0)
    t = HK_PICK(rng, hk_titles_progress);
  else if (strcmp(type, "nursing_record") == 0)
    t = HK_PICK(rng, hk_titles_nursing);
  else if (strcmp(type, "discharge_summary") == 0)
    t = "退院時サマリー";
  else if (strcmp(type, "referral_letter") == 0)
    t = HK_PICK(rng, hk_titles_referral);
  else if (strcmp(type, "consent") == 0)
    t = HK_PICK(rng, hk_titles_consent);
  else if (strcmp(type, "lab_report") == 0)
    t = "検体検査結果報告書";
  else if (strcmp(type, "imaging_report") == 0)
    t = HK_PICK(rng, hk_titles_imaging);
  else if (strcmp(type, "operative_note") == 0)
    t = "手術記録";
  else if (strcmp(type, "anesthesia_record") == 0)
    t = "麻酔記録";
  else if (strcmp(type, "prescription") == 0)
    t = HK_PICK(rng, hk_titles_prescription);
  else if (strcmp(type, "ecg") == 0)
    t = "心電図検査報告書";
  else
    t = HK_PICK(rng, hk_titles_other);
  return g_strdup(t);
}

static char *
hk_vitals(GRand *rng)
{
  return g_strdup_printf("BT %.1f℃  BP %d/%d mmHg  HR %d/分  SpO2 %d%%",
                         36.0 + g_rand_int_range(rng, 0, 20) / 10.0,
                         g_rand_int_range(rng, 100, 170), g_rand_int_range(rng, 55, 100),
                         g_rand_int_range(rng, 55, 110), g_rand_int_range(rng, 92, 100));
}

static char *
hk_lab_line(GRand *rng, guint i)
{
  const HkLabItem *it = &hk_lab_items[i % G_N_ELEMENTS(hk_lab_items)];
  const double span = it->hi - it->lo;
  /* Most results fall in range; about a fifth fall outside and get flagged. */
  const double v = it->lo - 0.25 * span + g_rand_double(rng) * 1.5 * span;
  const char *flag = v > it->hi ? "H" : (v < it->lo ? "L" : "");

  return g_strdup_printf("%s\t%.*f %s\t%s\t%.*f - %.*f", it->name, it->decimals, MAX(v, 0.0), flag,
                         it->unit, it->decimals, it->lo, it->decimals, it->hi);
}

/* The body: a few header lines that fit the type, then filler drawn from
 * its tables until there are n lines. */
static void
hk_doc_body(HkSamplesDoc *d, GRand *rng, guint n)
{
  const HkSamplesPatient *p = d->patient;
  const char *diag = hk_diagnoses[g_str_hash(p->id) % G_N_ELEMENTS(hk_diagnoses)];
  const char *t = d->type;
  GPtrArray *l = d->lines;
  guint minute = 6 * 60 + (guint)g_rand_int_range(rng, 0, 120);
  const guint start = (guint)g_rand_int_range(rng, 0, 1000);

  if (strcmp(t, "discharge_summary") == 0) {
    g_ptr_array_add(l, g_strdup_printf("主病名: %s", diag));
    g_ptr_array_add(l, g_strdup_printf("既往歴: %s、%s", HK_PICK(rng, hk_histories),
                                       HK_PICK(rng, hk_histories)));
    g_ptr_array_add(l, g_strdup_printf("アレルギー: %s", HK_PICK(rng, hk_allergies)));
    g_ptr_array_add(l, g_strdup("【入院経過】"));
  } else if (strcmp(t, "referral_letter") == 0) {
    char *doctor = hk_samples_staff_name(rng);
    g_ptr_array_add(
        l, g_strdup_printf(
               "%s %s  %s 先生 御侍史", HK_PICK(rng, hk_hospitals),
               hk_samples_departments[g_rand_int_range(rng, 0, (gint32)hk_samples_n_departments)],
               doctor));
    g_free(doctor);
    g_ptr_array_add(l, g_strdup_printf("傷病名: %s", diag));
    g_ptr_array_add(l, g_strdup_printf("アレルギー: %s", HK_PICK(rng, hk_allergies)));
  } else if (strcmp(t, "consent") == 0) {
    g_ptr_array_add(l, g_strdup_printf("病名: %s", diag));
    g_ptr_array_add(l, g_strdup_printf("予定の医療行為: %s", HK_PICK(rng, hk_operation_names)));
  } else if (strcmp(t, "lab_report") == 0) {
    g_ptr_array_add(l, g_strdup("項目\t結果\t単位\t基準値"));
  } else if (strcmp(t, "imaging_report") == 0) {
    g_ptr_array_add(l, g_strdup_printf("臨床診断: %s", diag));
    g_ptr_array_add(l, g_strdup("【所見】"));
  } else if (strcmp(t, "operative_note") == 0) {
    g_ptr_array_add(l, g_strdup_printf("術前診断: %s", diag));
    g_ptr_array_add(l, g_strdup_printf("術式: %s", HK_PICK(rng, hk_operation_names)));
    g_ptr_array_add(l, g_strdup_printf("手術時間: %d時間%02d分  出血量: %d mL",
                                       g_rand_int_range(rng, 0, 5), g_rand_int_range(rng, 0, 60),
                                       g_rand_int_range(rng, 5, 400)));
  } else if (strcmp(t, "anesthesia_record") == 0) {
    g_ptr_array_add(l, g_strdup("麻酔法: 全身麻酔 (気管挿管)"));
    g_ptr_array_add(l, g_strdup("導入: プロポフォール 100mg  ロクロニウム 50mg"));
    g_ptr_array_add(l, g_strdup("時刻\t血圧\t心拍数\tSpO2"));
    minute = 8 * 60 + 30;
  } else if (strcmp(t, "ecg") == 0) {
    g_ptr_array_add(l, g_strdup_printf("心拍数 %d/分  洞調律", d->heart_rate));
    g_ptr_array_add(
        l, g_strdup_printf("PR %d ms  QRS %d ms  QT/QTc %d/%d ms", g_rand_int_range(rng, 120, 200),
                           g_rand_int_range(rng, 80, 120), g_rand_int_range(rng, 340, 440),
                           g_rand_int_range(rng, 380, 460)));
    g_ptr_array_add(l, g_strdup_printf("電気軸 %+d°", g_rand_int_range(rng, -30, 100)));
  } else if (strcmp(t, "other") == 0) {
    g_ptr_array_add(l, g_strdup_printf("病名: %s", diag));
  }

  for (guint i = 0; l->len < n; i++) {
    char *line;

    if (strcmp(t, "progress_note") == 0) {
      switch (i % 6) {
      case 0:
        line = g_strdup_printf("【第%u病日】", i / 6 + 1);
        break;
      case 1:
        line = g_strdup(HK_PICK(rng, hk_subjective));
        break;
      case 2: {
        char *v = hk_vitals(rng);
        line = g_strdup_printf("O) %s", v);
        g_free(v);
        break;
      }
      case 3:
        line = g_strdup(HK_PICK(rng, hk_objective));
        break;
      case 4:
        line = g_strdup(HK_PICK(rng, hk_assessment));
        break;
      default:
        line = g_strdup(HK_PICK(rng, hk_plan));
        break;
      }
    } else if (strcmp(t, "nursing_record") == 0) {
      char *v = i % 4 == 0 ? hk_vitals(rng) : g_strdup(HK_PICK(rng, hk_nursing));
      line = g_strdup_printf("%02u:%02u  %s", (minute / 60) % 24, minute % 60, v);
      g_free(v);
      minute += (guint)g_rand_int_range(rng, 20, 120);
    } else if (strcmp(t, "discharge_summary") == 0) {
      line = g_strdup(HK_CYCLE(hk_course, start, i));
    } else if (strcmp(t, "referral_letter") == 0) {
      line =
          g_strdup(i % 2 ? HK_CYCLE(hk_course, start, i / 2) : HK_CYCLE(hk_letter, start, i / 2));
    } else if (strcmp(t, "consent") == 0) {
      line = g_strdup(hk_consent[i % G_N_ELEMENTS(hk_consent)]);
    } else if (strcmp(t, "lab_report") == 0) {
      line = hk_lab_line(rng, i);
    } else if (strcmp(t, "imaging_report") == 0) {
      line = g_strdup(HK_CYCLE(hk_imaging, start, i));
    } else if (strcmp(t, "operative_note") == 0) {
      line = g_strdup(HK_CYCLE(hk_operation, start, i));
    } else if (strcmp(t, "anesthesia_record") == 0) {
      line = g_strdup_printf("%02u:%02u\t%d/%d\t%d\t%d%%", (minute / 60) % 24, minute % 60,
                             g_rand_int_range(rng, 85, 150), g_rand_int_range(rng, 45, 90),
                             g_rand_int_range(rng, 50, 100), g_rand_int_range(rng, 96, 101));
      minute += 15;
    } else if (strcmp(t, "prescription") == 0) {
      line = g_strdup_printf("Rp%u. %s  %d日分", i + 1, HK_PICK(rng, hk_drugs),
                             7 * g_rand_int_range(rng, 1, 9));
    } else if (strcmp(t, "ecg") == 0) {
      line = i == 0 ? g_strdup(HK_PICK(rng, hk_ecg_findings))
                    : g_strdup(HK_CYCLE(hk_ecg_notes, 0, i - 1));
    } else {
      line = g_strdup(HK_CYCLE(hk_other, start, i));
    }
    g_ptr_array_add(l, line);
  }
}

void
hk_samples_doc_times(GRand *rng, const HkSamplesPatient *p, guint n, gint64 *out)
{
  GDate d;
  guint32 lo, hi, birth;
  int y = 0, m = 0, day = 0;

  g_date_clear(&d, 1);
  sscanf(p->birth_date, "%d-%d-%d", &y, &m, &day);
  g_date_set_dmy(&d, (GDateDay)day, (GDateMonth)m, (GDateYear)y);
  birth = g_date_get_julian(&d);
  g_date_set_dmy(&d, 1, G_DATE_JANUARY, 2016);
  lo = MAX(g_date_get_julian(&d), birth);
  g_date_set_dmy(&d, 31, G_DATE_OCTOBER, 2026);
  hi = g_date_get_julian(&d);
  for (guint i = 0; i < n; i++) {
    gint64 day_no = lo + (guint32)g_rand_int_range(rng, 0, (gint32)(hi - lo + 1));
    out[i] = day_no * 1440 + g_rand_int_range(rng, 7 * 60, 21 * 60);
  }
  /* A handful per patient: insertion sort keeps this allocation-free. */
  for (guint i = 1; i < n; i++) {
    gint64 v = out[i];
    guint j = i;
    for (; j > 0 && out[j - 1] > v; j--)
      out[j] = out[j - 1];
    out[j] = v;
  }
}

static guint
hk_pick_type(GRand *rng)
{
  guint total = 0, r, i;

  for (i = 0; i < HK_SAMPLES_N_TYPES; i++)
    total += hk_type_weights[i];
  r = (guint)g_rand_int_range(rng, 0, (gint32)total);
  for (i = 0; i < HK_SAMPLES_N_TYPES - 1 && r >= hk_type_weights[i]; i++)
    r -= hk_type_weights[i];
  return i;
}

/* 1-5 pages, short documents far more often than long ones. */
static guint
hk_pick_pages(GRand *rng)
{
  static const guint cumulative[] = {45, 70, 85, 93, 100};
  const guint r = (guint)g_rand_int_range(rng, 0, 100);
  guint i = 0;

  while (r >= cumulative[i])
    i++;
  return i + 1;
}

HkSamplesDoc *
hk_samples_doc_new(const HkSamplesPatient *p, guint64 index, gint64 when, GRand *rng)
{
  static const HkSamplesKind first_kinds[] = {HK_SAMPLES_PDF, HK_SAMPLES_JPEG, HK_SAMPLES_TEXT};
  HkSamplesDoc *d = g_new0(HkSamplesDoc, 1);
  const guint lines_per_page = HK_SAMPLES_LINES_PER_PAGE;
  guint type, n_lines;
  GDate date;
  char ymd[16];
  const char *ext;

  d->patient = p;
  d->index = index;
  d->lines = g_ptr_array_new_with_free_func(g_free);

  type = index < HK_SAMPLES_N_TYPES ? (guint)index : hk_pick_type(rng);
  d->type = hk_samples_types[type];
  d->type_code = hk_type_codes[type];
  if (index < G_N_ELEMENTS(first_kinds)) {
    d->kind = first_kinds[index];
  } else {
    const guint r = (guint)g_rand_int_range(rng, 0, 4);
    d->kind = r < 2 ? HK_SAMPLES_PDF : (r == 2 ? HK_SAMPLES_JPEG : HK_SAMPLES_TEXT);
  }
  d->title = hk_type_title(d->type, rng);
  d->department = hk_type_department(d->type, p, rng);
  d->author = hk_samples_staff_name(rng);
  d->heart_rate = g_rand_int_range(rng, 50, 110);

  g_date_clear(&date, 1);
  g_date_set_julian(&date, (guint32)(when / 1440));
  snprintf(d->created_at, sizeof d->created_at, "%04u-%02u-%02uT%02u:%02u:00+09:00",
           (unsigned)g_date_get_year(&date), (unsigned)g_date_get_month(&date),
           (unsigned)g_date_get_day(&date), (unsigned)(when % 1440 / 60), (unsigned)(when % 60));
  snprintf(ymd, sizeof ymd, "%04u%02u%02u", (unsigned)g_date_get_year(&date),
           (unsigned)g_date_get_month(&date), (unsigned)g_date_get_day(&date));

  switch (d->kind) {
  case HK_SAMPLES_PDF:
    d->content_type = "application/pdf";
    ext = "pdf";
    d->pages = hk_pick_pages(rng);
    n_lines = (d->pages - 1) * lines_per_page + (guint)g_rand_int_range(rng, 8, lines_per_page + 1);
    break;
  case HK_SAMPLES_JPEG:
    d->content_type = "image/jpeg";
    ext = "jpg";
    d->pages = 1;
    n_lines = (guint)g_rand_int_range(rng, 8, 25);
    break;
  default:
    d->content_type = "text/plain";
    ext = "txt";
    d->pages = 1;
    n_lines = (guint)g_rand_int_range(rng, 6, 40);
    break;
  }
  /* The ECG traces take the lower part of every page. A form (consent,
   * ECG report) ends where its text ends; its other pages are blank but for
   * the header, like the back of a printed form. */
  if (strcmp(d->type, "ecg") == 0)
    n_lines = MIN(n_lines, 3 + 1 + G_N_ELEMENTS(hk_ecg_notes));
  else if (strcmp(d->type, "consent") == 0)
    n_lines = MIN(n_lines, 2 + G_N_ELEMENTS(hk_consent));

  /* Scanners file by month; the EHR's virtual printer by patient. Two
   * layouts make the indexer walk both deep and wide trees. */
  if (d->kind == HK_SAMPLES_JPEG) {
    d->source_id = g_strdup_printf("SCAN:%s:%07" G_GUINT64_FORMAT, d->type_code, index + 1);
    d->rel_path = g_strdup_printf("scan/%.4s-%.2s/%s_%s_%07" G_GUINT64_FORMAT ".%s", ymd, ymd + 4,
                                  p->id, d->type_code, index + 1, ext);
  } else {
    d->source_id = g_strdup_printf("EHR:%s:%07" G_GUINT64_FORMAT, d->type_code, index + 1);
    d->rel_path = g_strdup_printf("ehr/%.3s/%s/%s-%s-%07" G_GUINT64_FORMAT ".%s", p->id, p->id, ymd,
                                  d->type_code, index + 1, ext);
  }
  hk_doc_body(d, rng, n_lines);
  return d;
}

void
hk_samples_doc_free(HkSamplesDoc *d)
{
  if (!d)
    return;
  g_free(d->title);
  g_free(d->source_id);
  g_free(d->author);
  g_free(d->rel_path);
  g_ptr_array_unref(d->lines);
  g_free(d);
}
