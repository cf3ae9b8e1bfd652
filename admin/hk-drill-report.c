/* hk-drill-report.c: the drill's findings, as JSON and as files on disk. */
#include "hk-drill-report.h"
#include "hk-json.h"
#include "hk-drill-pdf.h"

#include "hk-build.h"
#include "hk-error.h"
#include "hk-time.h"

#include <errno.h>
#include <json-glib/json-glib.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* Japan has no daylight saving: a fixed +09:00 needs no tzdata. */
#define HK_JST_OFFSET_S (9 * 3600)

HkDrillStep *
hk_drill_report_add(HkDrillReport *r, const char *name, const char *title, const char *title_ja)
{
  HkDrillStep *s;

  g_assert(r->nsteps < HK_DRILL_MAX_STEPS);
  s = &r->steps[r->nsteps++];
  s->name = name;
  s->title = title;
  s->title_ja = title_ja;
  s->result = HK_DRILL_SKIPPED;
  s->reason = g_strdup("not run");
  return s;
}

const HkDrillStep *
hk_drill_report_failed(const HkDrillReport *r)
{
  for (guint i = 0; i < r->nsteps; i++)
    if (r->steps[i].result != HK_DRILL_PASS)
      return &r->steps[i];
  return NULL;
}

const char *
hk_drill_result_name(HkDrillResult res)
{
  return res == HK_DRILL_PASS ? "PASS" : res == HK_DRILL_FAIL ? "FAIL" : "SKIPPED";
}

const char *
hk_drill_result_ja(HkDrillResult res)
{
  return res == HK_DRILL_PASS ? "合格" : res == HK_DRILL_FAIL ? "不合格" : "未実施";
}

char *
hk_drill_format_jst(int64_t usec)
{
  GTimeZone *tz = g_time_zone_new_offset(HK_JST_OFFSET_S);
  GDateTime *utc = g_date_time_new_from_unix_utc(usec / G_USEC_PER_SEC);
  GDateTime *jst = utc ? g_date_time_to_timezone(utc, tz) : NULL;
  char *res = jst ? g_date_time_format(jst, "%Y-%m-%d %H:%M:%S JST") : g_strdup("?");

  if (jst)
    g_date_time_unref(jst);
  if (utc)
    g_date_time_unref(utc);
  g_time_zone_unref(tz);
  return res;
}

/* Times as whole milliseconds (what a reader compares) and microseconds
 * (a fast step takes well under 1 ms): integers, because a double would be
 * written as 601.89999999999998. */
static void
hk_member_ms(JsonBuilder *b, const char *name, double ms)
{
  char *us = g_strdup_printf("%.*s_us", (int)(strlen(name) - 3), name);

  json_builder_set_member_name(b, name);
  json_builder_add_int_value(b, (int64_t)(ms + 0.5));
  json_builder_set_member_name(b, strcmp(name, "ms") == 0 ? "us" : us);
  json_builder_add_int_value(b, (int64_t)(ms * 1000.0 + 0.5));
  g_free(us);
}

char *
hk_drill_report_json(const HkDrillReport *r)
{
  JsonBuilder *b = json_builder_new();
  JsonGenerator *g = json_generator_new();
  JsonNode *root;
  const HkDrillStep *failed = hk_drill_report_failed(r);
  char *utc = hk_time_format(r->started_at), *jst = hk_drill_format_jst(r->started_at);
  char *text;

  json_builder_begin_object(b);
  hk_json_member_str(b, "report", "hikae downtime drill");
  hk_json_member_str(b, "program", "hikae-admin drill " HK_VERSION);
  hk_json_member_str(b, "verdict", failed ? "FAIL" : "PASS");
  hk_json_member_str(b, "failed_step", failed ? failed->name : NULL);
  hk_json_member_str(b, "failed_reason", failed ? failed->reason : NULL);
  hk_json_member_str(b, "started_at", utc);
  hk_json_member_str(b, "started_at_jst", jst);
  hk_json_member_str(b, "server", r->server);
  hk_json_member_str(b, "user", r->user);
  hk_member_ms(b, "total_ms", r->total_ms);
  hk_json_member_str(b, "patient_id", r->patient_id);
  hk_json_member_str(b, "patient_from", r->patient_source);
  hk_json_member_str(b, "document_id", r->document_id);
  json_builder_set_member_name(b, "freshness");
  json_builder_begin_object(b);
  hk_json_member_str(b, "archive_as_of", r->archive_as_of);
  json_builder_set_member_name(b, "age_s");
  if (r->have_age)
    json_builder_add_int_value(b, r->age_s);
  else
    json_builder_add_null_value(b);
  json_builder_set_member_name(b, "max_age_min");
  json_builder_add_int_value(b, r->max_age_min);
  hk_json_member_str(b, "indexer", r->indexer);
  hk_json_member_str(b, "sealed_reason", r->sealed_reason);
  hk_json_member_str(b, "server_time", r->server_time);
  json_builder_end_object(b);
  json_builder_set_member_name(b, "steps");
  json_builder_begin_array(b);
  for (guint i = 0; i < r->nsteps; i++) {
    const HkDrillStep *s = &r->steps[i];
    json_builder_begin_object(b);
    hk_json_member_str(b, "name", s->name);
    hk_json_member_str(b, "title", s->title);
    hk_json_member_str(b, "title_ja", s->title_ja);
    hk_json_member_str(b, "result",
                  s->result == HK_DRILL_PASS   ? "pass"
                  : s->result == HK_DRILL_FAIL ? "fail"
                                               : "skipped");
    hk_member_ms(b, "ms", s->ms);
    hk_json_member_str(b, "reason", s->reason);
    hk_json_member_str(b, "detail", s->detail);
    json_builder_end_object(b);
  }
  json_builder_end_array(b);
  json_builder_end_object(b);
  root = json_builder_get_root(b);
  json_generator_set_root(g, root);
  json_generator_set_pretty(g, TRUE);
  text = json_generator_to_data(g, NULL);
  json_node_unref(root);
  g_object_unref(g);
  g_object_unref(b);
  g_free(utc);
  g_free(jst);
  return text;
}

int
hk_drill_report_write(const HkDrillReport *r, const char *dir, char **pdf, char **json,
                      char **reason)
{
  char stamp[32], *base = NULL, *part = NULL, *text = NULL;
  time_t t = (time_t)(r->started_at / G_USEC_PER_SEC);
  GError *err = NULL;
  struct tm tm;
  int ret = -HK_EIO;

  *pdf = *json = NULL;
  if (g_mkdir_with_parents(dir, 0750) != 0) {
    *reason = g_strdup_printf("cannot create the report folder %s: %s", dir, g_strerror(errno));
    goto out;
  }
  gmtime_r(&t, &tm);
  strftime(stamp, sizeof stamp, "%Y%m%dT%H%M%SZ", &tm);
  base = g_strdup_printf("%s/hikae-drill-%s", dir, stamp);
  *pdf = g_strconcat(base, ".pdf", NULL);
  *json = g_strconcat(base, ".json", NULL);
  /* A half-written PDF must never sit under the final name. */
  part = g_strconcat(*pdf, ".part", NULL);
  ret = hk_drill_pdf_write(r, part, reason);
  if (ret)
    goto out;
  /* As the JSON: the report names patient and document IDs. */
  if (chmod(part, 0640) != 0 || rename(part, *pdf) != 0) {
    *reason = g_strdup_printf("cannot chmod or rename %s: %s", part, g_strerror(errno));
    ret = -HK_EIO;
    goto out;
  }
  text = hk_drill_report_json(r);
  /* g_file_set_contents writes a temporary file and renames it. */
  if (!g_file_set_contents_full(*json, text, -1, G_FILE_SET_CONTENTS_CONSISTENT, 0640, &err)) {
    *reason = g_strdup_printf("cannot write %s: %s", *json, err->message);
    ret = -HK_EIO;
    goto out;
  }
  ret = 0;
out:
  if (ret) {
    if (part)
      unlink(part);
    g_clear_pointer(pdf, g_free);
    g_clear_pointer(json, g_free);
  }
  g_clear_error(&err);
  g_free(base);
  g_free(part);
  g_free(text);
  return ret;
}

void
hk_drill_report_clear(HkDrillReport *r)
{
  for (guint i = 0; i < r->nsteps; i++) {
    g_free(r->steps[i].reason);
    g_free(r->steps[i].detail);
  }
  g_free(r->server);
  g_free(r->user);
  g_free(r->patient_id);
  g_free(r->patient_source);
  g_free(r->document_id);
  g_free(r->archive_as_of);
  g_free(r->indexer);
  g_free(r->sealed_reason);
  g_free(r->server_time);
  memset(r, 0, sizeof *r);
}
