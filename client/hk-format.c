#include "hk-format.h"

#include "hk-client-config.h"

#include <glib/gi18n-lib.h>
#include <stdio.h>
#include <string.h>

static gboolean
parse_date(const char *text, int *y, int *m, int *d)
{
  gboolean ok = FALSE;

  if (!text || strlen(text) < 10 || text[4] != '-' || text[7] != '-')
    goto out;
  if (sscanf(text, "%4d-%2d-%2d", y, m, d) != 3)
    goto out;
  ok = g_date_valid_dmy((GDateDay)*d, (GDateMonth)*m, (GDateYear)*y);
out:
  return ok;
}

int
hk_format_age(const char *birth_date, GDateTime *today)
{
  int by, bm, bd, ty, tm, td;
  int age = -1;

  if (!today || !parse_date(birth_date, &by, &bm, &bd))
    goto out;
  g_date_time_get_ymd(today, &ty, &tm, &td);
  age = ty - by;
  /* Birthday not yet reached this year. A 29 February birthday in a common
   * year is reached on 1 March, which this comparison gives for free. */
  if (tm < bm || (tm == bm && td < bd))
    age--;
  if (age < 0)
    age = -1;
out:
  return age;
}

char *
hk_format_birth_and_age(const char *birth_date, GDateTime *today)
{
  int age = hk_format_age(birth_date, today);
  char *res;

  if (!birth_date)
    res = g_strdup(_("birth date unknown"));
  else if (age < 0)
    res = g_strdup(birth_date);
  else
    /* TRANSLATORS: birth date and age in years */
    res = g_strdup_printf(_("%s (%d y)"), birth_date, age);
  return res;
}

char *
hk_format_sex(const char *sex)
{
  const char *res;

  if (!sex)
    res = _("sex unknown");
  else if (g_ascii_strcasecmp(sex, "F") == 0)
    res = _("female");
  else if (g_ascii_strcasecmp(sex, "M") == 0)
    res = _("male");
  else if (g_ascii_strcasecmp(sex, "O") == 0)
    res = _("other");
  else if (g_ascii_strcasecmp(sex, "U") == 0)
    res = _("sex unknown");
  else
    res = sex;
  return g_strdup(res);
}

char *
hk_format_datetime(GDateTime *t)
{
  g_autoptr(GDateTime) local = t ? g_date_time_to_local(t) : NULL;

  return local ? g_date_time_format(local, "%Y-%m-%d %H:%M") : g_strdup("—");
}

char *
hk_format_date(GDateTime *t)
{
  g_autoptr(GDateTime) local = t ? g_date_time_to_local(t) : NULL;

  return local ? g_date_time_format(local, "%Y-%m-%d") : g_strdup("—");
}

char *
hk_format_ago(GDateTime *t, GDateTime *now)
{
  gint64 s = g_date_time_difference(now, t) / G_TIME_SPAN_SECOND;
  char *res;

  if (s < 60)
    /* A clock a little ahead of the server's must not read as the future. */
    res = g_strdup(_("just now"));
  else if (s < 3600)
    res = g_strdup_printf(_("%d min ago"), (int)(s / 60));
  else if (s < 48 * 3600)
    res = g_strdup_printf(_("%d h %d min ago"), (int)(s / 3600), (int)(s % 3600 / 60));
  else
    res = g_strdup_printf(_("%d days ago"), (int)(s / 86400));
  return res;
}

HkFreshness
hk_format_freshness(const HkStatusInfo *status, GDateTime *now, gint64 threshold_s, char **text)
{
  HkFreshness f = HK_FRESHNESS_OK;
  g_autofree char *head = NULL;
  g_autofree char *reason = NULL;

  if (!status) {
    f = HK_FRESHNESS_UNKNOWN;
    head = g_strdup(_("Archive freshness unknown"));
    reason = g_strdup(_("the server has not answered"));
    goto out;
  }
  if (status->archive_as_of) {
    g_autoptr(GDateTime) local = g_date_time_to_local(status->archive_as_of);
    g_autoptr(GDateTime) local_now = g_date_time_to_local(now);
    g_autofree char *ago = hk_format_ago(status->archive_as_of, now);
    g_autofree char *hm = NULL;
    /* Show the date too when it is not today: "08:42" alone on a banner
     * would hide that the archive is from yesterday. */
    if (g_date_time_get_day_of_year(local) == g_date_time_get_day_of_year(local_now) &&
        g_date_time_get_year(local) == g_date_time_get_year(local_now))
      hm = g_date_time_format(local, "%H:%M");
    else
      hm = g_date_time_format(local, "%Y-%m-%d %H:%M");
    head = g_strdup_printf(_("Archive current as of %s (%s)"), hm, ago);
  } else {
    head = g_strdup(_("Archive current as of: unknown"));
  }
  if (g_strcmp0(status->indexer, "sealed") == 0) {
    f = HK_FRESHNESS_SEALED;
    reason = status->sealed_reason ? g_strdup_printf(_("indexer SEALED: %s"), status->sealed_reason)
                                   : g_strdup(_("indexer SEALED"));
  } else if (g_strcmp0(status->indexer, "running") != 0) {
    f = HK_FRESHNESS_STOPPED;
    reason = g_strdup(_("indexer STOPPED: new documents are not arriving"));
  } else if (!status->archive_as_of) {
    f = HK_FRESHNESS_STALE;
    reason = g_strdup(_("the archive does not say how current it is"));
  } else if (g_date_time_difference(now, status->archive_as_of) / G_TIME_SPAN_SECOND >
             threshold_s) {
    f = HK_FRESHNESS_STALE;
    reason = g_strdup_printf(_("STALE: older than %d min"), (int)(threshold_s / 60));
  }
out:
  if (text)
    *text = reason ? g_strdup_printf("%s — %s", head, reason) : g_strdup(head);
  return f;
}

typedef struct {
  const char *type;
  const char *label;
  const char *icon;
} TypeEntry;

static const TypeEntry types[] = {
    {"progress_note", N_("Progress note"), "accessories-text-editor-symbolic"},
    {"nursing_record", N_("Nursing record"), "accessories-text-editor-symbolic"},
    {"discharge_summary", N_("Discharge summary"), "document-open-recent-symbolic"},
    {"referral_letter", N_("Referral letter"), "mail-send-symbolic"},
    {"consent", N_("Consent"), "emblem-ok-symbolic"},
    {"lab_report", N_("Lab report"), "view-list-symbolic"},
    {"imaging_report", N_("Imaging report"), "image-x-generic-symbolic"},
    {"operative_note", N_("Operative note"), "edit-cut-symbolic"},
    {"anesthesia_record", N_("Anesthesia record"), "dialog-information-symbolic"},
    {"prescription", N_("Prescription"), "view-list-bullet-symbolic"},
    {"ecg", N_("ECG"), "utilities-system-monitor-symbolic"},
    {"other", N_("Other"), "text-x-generic-symbolic"},
};

static const TypeEntry *
find_type(const char *type)
{
  const TypeEntry *res = NULL;

  for (gsize i = 0; !res && i < G_N_ELEMENTS(types); i++)
    if (g_strcmp0(types[i].type, type) == 0)
      res = &types[i];
  return res;
}

const char *
hk_format_doc_type(const char *type)
{
  const TypeEntry *e = find_type(type);

  return e ? _(e->label) : (type ? type : _("Other"));
}

const char *
hk_format_doc_type_icon(const char *type)
{
  const TypeEntry *e = find_type(type);

  return e ? e->icon : "text-x-generic-symbolic";
}

const char *const *
hk_format_doc_types(void)
{
  static const char *const list[] = {
      "progress_note",
      "nursing_record",
      "discharge_summary",
      "referral_letter",
      "consent",
      "lab_report",
      "imaging_report",
      "operative_note",
      "anesthesia_record",
      "prescription",
      "ecg",
      "other",
      NULL,
  };
  return list;
}

char *
hk_format_patient_line(const HkPatientInfo *p)
{
  GString *s = g_string_new(NULL);

  g_string_append_printf(s, _("ID %s"), p->id);
  g_string_append(s, "  ");
  g_string_append(s, p->name ? p->name : _("(no name recorded)"));
  if (p->kana)
    g_string_append_printf(s, " (%s)", p->kana);
  return g_string_free(s, FALSE);
}

char *
hk_format_location(const HkPatientInfo *p)
{
  char *res;

  if (!p->admitted)
    res = g_strdup(_("Not admitted"));
  else
    /* TRANSLATORS: ward, room, bed of an inpatient */
    res = g_strdup_printf(_("Ward %s, room %s, bed %s"), p->ward ? p->ward : "?",
                          p->room ? p->room : "?", p->bed ? p->bed : "?");
  return res;
}

char *
hk_format_allergens(const HkPatientInfo *p)
{
  GString *s;

  if (!p->allergies || p->allergies->len == 0)
    return NULL;
  s = g_string_new(NULL);
  for (guint i = 0; i < p->allergies->len; i++) {
    const HkAllergyInfo *a = g_ptr_array_index(p->allergies, i);
    if (i)
      /* TRANSLATORS: separator between allergens */
      g_string_append(s, _(", "));
    g_string_append(s, a->allergen);
    if (a->reaction)
      g_string_append_printf(s, " (%s)", a->reaction);
  }
  return g_string_free(s, FALSE);
}

char *
hk_format_allergy_banner(const HkPatientInfo *p, gboolean with_sign, gboolean *alarm)
{
  g_autofree char *allergens = hk_format_allergens(p);
  const char *sign = with_sign ? "⚠ " : "";
  char *res;

  *alarm = allergens != NULL || p->allergies_state.unreadable;
  if (p->allergies_state.unreadable && allergens)
    /* TRANSLATORS: %s is a sign or nothing, %s the allergens */
    res = g_strdup_printf(_("%sALLERGIES: %s. Newer allergy data could not be read (see "
                            "quarantine): there may be more."),
                          sign, allergens);
  else if (p->allergies_state.unreadable)
    /* TRANSLATORS: %s is a sign or nothing */
    res = g_strdup_printf(_("%sALLERGIES UNKNOWN: allergy data could not be read (see "
                            "quarantine)."),
                          sign);
  else if (allergens)
    res = with_sign ? g_strdup_printf(_("⚠ ALLERGIES: %s"), allergens)
                    : g_strdup_printf(_("ALLERGIES: %s"), allergens);
  else
    res = g_strdup(_("No allergies recorded in archive"));
  return res;
}

char *
hk_format_sha_prefix(const char *sha256)
{
  return g_strndup(sha256 ? sha256 : "", 12);
}

/* "p. 2: …text with the <b>term</b>…": the snippet escaped, its marks in
 * bold. Marks are code-point offsets (checked against the snippet when the
 * answer was read); overlapping or unordered ones are skipped, not drawn
 * twice. */
char *
hk_format_snippet_markup(const HkDocMatch *m)
{
  GString *g = g_string_new(NULL);
  const char *s = m->snippet;
  glong at = 0;

  g_string_append_printf(g, _("p. %u: "), m->page);
  for (guint k = 0; k + 1 < m->marks->len; k += 2) {
    guint start = g_array_index(m->marks, guint, k);
    guint len = g_array_index(m->marks, guint, k + 1);
    const char *a, *b;
    g_autofree char *before = NULL, *mid = NULL;
    if (start < at)
      continue;
    a = g_utf8_offset_to_pointer(s, start - at);
    b = g_utf8_offset_to_pointer(a, len);
    before = g_markup_escape_text(s, a - s);
    mid = g_markup_escape_text(a, b - a);
    g_string_append_printf(g, "%s<b>%s</b>", before, mid);
    s = b;
    at = start + len;
  }
  {
    g_autofree char *rest = g_markup_escape_text(s, -1);
    g_string_append(g, rest);
  }
  return g_string_free(g, FALSE);
}
