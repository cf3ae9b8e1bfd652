/* Unit tests of hikae-viewer's non-GUI parts: age, freshness, the API
 * parsers, the stamp text, and the pack and ward list renderers checked
 * with poppler. */
#include "hk-api.h"
#include "hk-format.h"
#include "hk-jpeg.h"
#include "hk-pack.h"
#include "hk-print.h"
#include "hk-stamp.h"
#include "hk-ward-list.h"

#include <cairo-pdf.h>
#include <check.h>
#include <glib/gstdio.h>
#include <pango/pangocairo.h>
#include <poppler.h>
#include <stdlib.h>
#include <string.h>
#include <turbojpeg.h>

static GDateTime *
day(int y, int m, int d)
{
  return g_date_time_new_local(y, m, d, 12, 0, 0);
}

START_TEST(test_age)
{
  g_autoptr(GDateTime) t1 = day(2026, 5, 3);
  g_autoptr(GDateTime) t2 = day(2026, 5, 4);
  g_autoptr(GDateTime) leap_common = day(2027, 2, 28);
  g_autoptr(GDateTime) leap_march = day(2027, 3, 1);

  ck_assert_int_eq(hk_format_age("1950-05-04", t1), 75);
  ck_assert_int_eq(hk_format_age("1950-05-04", t2), 76);
  ck_assert_int_eq(hk_format_age("2024-02-29", leap_common), 2);
  ck_assert_int_eq(hk_format_age("2024-02-29", leap_march), 3);
  ck_assert_int_eq(hk_format_age("2026-05-04", t2), 0);
  ck_assert_int_eq(hk_format_age("2030-01-01", t2), -1);
  ck_assert_int_eq(hk_format_age("1950-02-30", t2), -1);
  ck_assert_int_eq(hk_format_age("19500504", t2), -1);
  ck_assert_int_eq(hk_format_age(NULL, t2), -1);
}
END_TEST

static HkStatusInfo *
status_at(GDateTime *as_of, const char *indexer, const char *reason)
{
  HkStatusInfo *s = g_new0(HkStatusInfo, 1);

  s->archive_as_of = as_of ? g_date_time_ref(as_of) : NULL;
  s->indexer = g_strdup(indexer);
  s->sealed_reason = g_strdup(reason);
  return s;
}

START_TEST(test_freshness)
{
  g_autoptr(GDateTime) now = g_date_time_new_utc(2026, 11, 20, 0, 45, 0);
  g_autoptr(GDateTime) recent = g_date_time_add_minutes(now, -3);
  g_autoptr(GDateTime) old = g_date_time_add_hours(now, -3);
  g_autoptr(HkStatusInfo) ok = status_at(recent, "running", NULL);
  g_autoptr(HkStatusInfo) stale = status_at(old, "running", NULL);
  g_autoptr(HkStatusInfo) sealed = status_at(recent, "sealed", "mass rewrite of PDFs");
  g_autoptr(HkStatusInfo) stopped = status_at(recent, "stopped", NULL);
  g_autofree char *t_ok = NULL, *t_stale = NULL, *t_sealed = NULL, *t_stopped = NULL;
  g_autofree char *t_none = NULL;

  ck_assert_int_eq(hk_format_freshness(ok, now, 3600, &t_ok), HK_FRESHNESS_OK);
  ck_assert_ptr_nonnull(strstr(t_ok, "Archive current as of"));
  ck_assert_ptr_nonnull(strstr(t_ok, "(3 min ago)"));
  ck_assert_int_eq(hk_format_freshness(stale, now, 3600, &t_stale), HK_FRESHNESS_STALE);
  ck_assert_ptr_nonnull(strstr(t_stale, "STALE"));
  ck_assert_int_eq(hk_format_freshness(sealed, now, 3600, &t_sealed), HK_FRESHNESS_SEALED);
  ck_assert_ptr_nonnull(strstr(t_sealed, "mass rewrite of PDFs"));
  ck_assert_int_eq(hk_format_freshness(stopped, now, 3600, &t_stopped), HK_FRESHNESS_STOPPED);
  ck_assert_int_eq(hk_format_freshness(NULL, now, 3600, &t_none), HK_FRESHNESS_UNKNOWN);
}
END_TEST

START_TEST(test_ago)
{
  g_autoptr(GDateTime) now = g_date_time_new_utc(2026, 11, 20, 10, 0, 0);
  g_autoptr(GDateTime) a = g_date_time_add_seconds(now, -20);
  g_autoptr(GDateTime) b = g_date_time_add_minutes(now, -125);
  g_autoptr(GDateTime) c = g_date_time_add_days(now, -3);
  g_autoptr(GDateTime) future = g_date_time_add_minutes(now, 2);
  g_autofree char *ta = hk_format_ago(a, now), *tb = hk_format_ago(b, now);
  g_autofree char *tc = hk_format_ago(c, now), *tf = hk_format_ago(future, now);

  ck_assert_str_eq(ta, "just now");
  ck_assert_str_eq(tb, "2 h 5 min ago");
  ck_assert_str_eq(tc, "3 days ago");
  ck_assert_str_eq(tf, "just now");
}
END_TEST

START_TEST(test_parse_status)
{
  const char *body = "{\"documents\":120,\"patients\":20,\"archive_as_of\":"
                     "\"2026-11-20T08:42:00+09:00\",\"last_document_at\":null,"
                     "\"indexer\":\"sealed\",\"sealed_reason\":\"tripwire\"}";
  g_autoptr(GError) e = NULL;
  g_autoptr(HkStatusInfo) s = hk_api_parse_status(body, -1, &e);

  ck_assert_ptr_nonnull(s);
  ck_assert_int_eq(s->documents, 120);
  ck_assert_int_eq(s->patients, 20);
  ck_assert_ptr_nonnull(s->archive_as_of);
  ck_assert_int_eq(g_date_time_get_hour(s->archive_as_of), 8);
  ck_assert_ptr_null(s->last_document_at);
  ck_assert_str_eq(s->indexer, "sealed");
  ck_assert_str_eq(s->sealed_reason, "tripwire");
  ck_assert_ptr_null(hk_api_parse_status("[1,2]", -1, NULL));
  ck_assert_ptr_null(hk_api_parse_status("not json", -1, NULL));
}
END_TEST

START_TEST(test_parse_patient)
{
  const char *body =
      "{\"id\":\"0001234567\",\"name\":\"山田 花子\",\"kana\":\"ヤマダ ハナコ\","
      "\"birth_date\":\"1950-05-04\",\"sex\":\"F\","
      "\"allergies\":[{\"allergen\":\"ペニシリン\",\"reaction\":\"発疹\",\"severity\":\"SV\"}],"
      "\"problems\":[\"高血圧\",{\"code\":\"E11\",\"name\":\"2型糖尿病\"}],"
      "\"admission\":{\"ward\":\"5A\",\"room\":\"512\",\"bed\":\"2\","
      "\"admitted_at\":\"2026-11-01T10:00:00+09:00\"}}";
  g_autoptr(HkPatientInfo) p = hk_api_parse_patient(body, -1, NULL);
  g_autoptr(HkPatientInfo) q = hk_api_parse_patient("{\"id\":\"X1\",\"admission\":null}", -1, NULL);
  g_autofree char *loc = NULL, *allergens = NULL;

  ck_assert_ptr_nonnull(p);
  ck_assert_str_eq(p->id, "0001234567");
  ck_assert_str_eq(p->kana, "ヤマダ ハナコ");
  ck_assert_uint_eq(p->allergies->len, 1);
  ck_assert_uint_eq(p->problems->len, 2);
  ck_assert_str_eq(((HkProblemInfo *)g_ptr_array_index(p->problems, 1))->code, "E11");
  ck_assert(p->admitted);
  loc = hk_format_location(p);
  ck_assert_str_eq(loc, "Ward 5A, room 512, bed 2");
  allergens = hk_format_allergens(p);
  ck_assert_str_eq(allergens, "ペニシリン (発疹)");

  /* No admission, no allergies: "not admitted", and an empty allergy list
   * (the banner then says "No allergies recorded in archive"). */
  ck_assert_ptr_nonnull(q);
  ck_assert(!q->admitted);
  ck_assert_uint_eq(q->allergies->len, 0);
  ck_assert_ptr_null(hk_format_allergens(q));
  ck_assert_ptr_null(hk_api_parse_patient("{\"name\":\"no id\"}", -1, NULL));
}
END_TEST

/* "No allergies recorded" and "allergy data could not be read" are told
 * apart: parsed from the record, in the header's banner and on the printed
 * pack's cover (issue 10, item 1). */
START_TEST(test_allergies_unreadable)
{
  const char *kept =
      "{\"id\":\"S0000777\",\"name\":\"佐藤 次郎\",\"allergies\":[{\"allergen\":\"ペニシリン\"}],"
      "\"allergies_status\":\"unreadable\",\"allergies_unreadable\":{\"since\":"
      "\"2026-11-20T05:03:00.000Z\",\"reason\":\"ADT-61 S0000777_-_ADT-61_x_1: not an HL7 "
      "v2.5 message\"},\"problems\":[],\"problems_status\":\"unreadable\","
      "\"problems_unreadable\":{\"since\":\"2026-11-20T05:03:00.000Z\",\"reason\":\"PPR-01\"},"
      "\"admission\":null,\"admission_status\":\"none_recorded\",\"admission_unreadable\":null}";
  const char *unknown =
      "{\"id\":\"S0000778\",\"allergies\":[],\"allergies_status\":\"unreadable\","
      "\"allergies_unreadable\":{\"since\":\"2026-11-20T05:03:00.000Z\",\"reason\":\"cut\"}}";
  const char *none = "{\"id\":\"S0000779\",\"allergies\":[],\"allergies_status\":"
                     "\"none_recorded\",\"allergies_unreadable\":null}";
  g_autoptr(HkPatientInfo) p = hk_api_parse_patient(kept, -1, NULL);
  g_autoptr(HkPatientInfo) u = hk_api_parse_patient(unknown, -1, NULL);
  g_autoptr(HkPatientInfo) n = hk_api_parse_patient(none, -1, NULL);
  g_autoptr(HkPatientInfo) c = NULL;
  g_autofree char *b1 = NULL, *b2 = NULL, *b3 = NULL, *b4 = NULL;
  gboolean alarm = FALSE;

  ck_assert_ptr_nonnull(p);
  ck_assert(p->allergies_state.unreadable);
  ck_assert_ptr_nonnull(strstr(p->allergies_state.reason, "ADT-61"));
  ck_assert_ptr_nonnull(p->allergies_state.since);
  ck_assert(p->problems_state.unreadable);
  ck_assert(!p->admission_state.unreadable);
  c = hk_patient_info_copy(p);
  ck_assert(c->allergies_state.unreadable);
  ck_assert_str_eq(c->allergies_state.reason, p->allergies_state.reason);

  b1 = hk_format_allergy_banner(p, TRUE, &alarm);
  ck_assert(alarm);
  ck_assert_msg(strstr(b1, "ペニシリン") && strstr(b1, "could not be read"), "banner: %s", b1);
  b2 = hk_format_allergy_banner(u, TRUE, &alarm);
  ck_assert(alarm);
  ck_assert_msg(strstr(b2, "ALLERGIES UNKNOWN") && strstr(b2, "quarantine"), "banner: %s", b2);
  ck_assert_msg(!strstr(b2, "No allergies"), "banner: %s", b2);
  b3 = hk_format_allergy_banner(n, TRUE, &alarm);
  ck_assert(!alarm);
  ck_assert_str_eq(b3, "No allergies recorded in archive");
  b4 = hk_format_allergy_banner(p, FALSE, &alarm);
  ck_assert_msg(!g_str_has_prefix(b4, "⚠"), "printed banner: %s", b4);

  /* The printed pack's cover says it too. */
  {
    g_autoptr(HkStatusInfo) st = hk_api_parse_status(
        "{\"archive_as_of\":\"2026-11-20T08:42:00+09:00\",\"indexer\":\"running\"}", -1, NULL);
    g_autoptr(GDateTime) now = g_date_time_new_now_utc();
    g_autoptr(HkPack) pack = hk_pack_new(u, st, "clerk1", now, TRUE);
    g_autofree char *dir = g_dir_make_tmp("hk-pack-XXXXXX", NULL);
    g_autofree char *out = g_build_filename(dir, "pack.pdf", NULL);
    g_autofree char *uri = g_filename_to_uri(out, NULL, NULL);
    PopplerDocument *res;
    PopplerPage *page;
    g_autofree char *t = NULL;

    ck_assert_int_ge(hk_pack_paginate(pack, HK_PAPER_A4_WIDTH, HK_PAPER_A4_HEIGHT), 1);
    ck_assert(hk_pack_write_pdf(pack, out, NULL));
    res = poppler_document_new_from_file(uri, NULL, NULL);
    ck_assert_ptr_nonnull(res);
    page = poppler_document_get_page(res, 0);
    t = poppler_page_get_text(page);
    ck_assert_msg(strstr(t, "ALLERGIES UNKNOWN") != NULL, "cover: %s", t);
    ck_assert_msg(strstr(t, "No allergies recorded") == NULL, "cover: %s", t);
    g_object_unref(page);
    g_object_unref(res);
    g_unlink(out);
    g_rmdir(dir);
  }
}
END_TEST

START_TEST(test_parse_lists)
{
  const char *search = "{\"patients\":[{\"id\":\"A1\",\"name\":\"n\",\"kana\":\"カナ\","
                       "\"birth_date\":\"2000-01-01\",\"sex\":\"M\"},{\"name\":\"no id\"}]}";
  const char *census = "{\"inpatients\":[{\"patient_id\":\"B2\",\"name\":\"x\",\"ward\":\"3B\","
                       "\"room\":\"301\",\"bed\":\"1\",\"admitted_at\":\"2026-11-19T09:00:00Z\"}]}";
  const char *docs =
      "{\"documents\":[{\"id\":\"00aa\",\"patient_id\":\"A1\",\"type\":\"consent\","
      "\"title\":\"同意書\",\"created_at\":\"2026-11-20T14:03:00+09:00\",\"content_type\":"
      "\"application/pdf\",\"size\":10,\"sha256\":\"abcdef0123456789\",\"version\":1,"
      "\"versions\":[{\"version\":1,\"sha256\":\"abcdef0123456789\"},{\"version\":2,"
      "\"sha256\":\"ff\"}]}],\"next_cursor\":\"c2\"}";
  g_autoptr(GPtrArray) s = hk_api_parse_patients(search, -1, NULL);
  g_autoptr(GPtrArray) c = hk_api_parse_census(census, -1, NULL);
  g_autofree char *cursor = NULL;
  g_autoptr(GPtrArray) d = hk_api_parse_documents(docs, -1, &cursor, NULL, NULL);
  const HkDocInfo *doc;

  ck_assert_uint_eq(s->len, 1); /* a row without an ID is dropped */
  ck_assert_uint_eq(c->len, 1);
  ck_assert_str_eq(((HkPatientInfo *)g_ptr_array_index(c, 0))->id, "B2");
  ck_assert_str_eq(((HkPatientInfo *)g_ptr_array_index(c, 0))->ward, "3B");
  ck_assert_uint_eq(d->len, 1);
  ck_assert_str_eq(cursor, "c2");
  doc = g_ptr_array_index(d, 0);
  ck_assert_uint_eq(doc->version, 1);
  ck_assert_uint_eq(doc->latest_version, 2);
  ck_assert(hk_doc_info_is_old_version(doc));
  ck_assert_ptr_null(hk_api_parse_documents("{}", -1, NULL, NULL, NULL));
}
END_TEST

/* A search answer's matches: marks outside their snippet (or not two
 * integers) are dropped, never drawn on other text; the first mark's text
 * is what the document view searches for; "unsearched" is read. */
/* The server's highlight rectangles become fractions of the page; an
 * answer with a rectangle that is not one is refused whole. */
START_TEST(test_parse_highlights)
{
  const char *good = "{\"page\":1,\"version\":2,\"units\":65535,"
                     "\"boxes\":[[0,6553,65535,13107],[100,200,300,400]]}";
  static const char *const bad[] = {
      "{\"page\":1,\"units\":65535,\"boxes\":[[0,0,65536,10]]}",
      "{\"page\":1,\"units\":65535,\"boxes\":[[10,0,5,10]]}",
      "{\"page\":1,\"units\":65535,\"boxes\":[[0,0,5]]}",
      "{\"page\":1,\"units\":65535,\"boxes\":[[0,0,5,\"x\"]]}",
      "{\"page\":1,\"units\":65535,\"boxes\":[[-1,0,5,5]]}",
      "{\"page\":1,\"units\":0,\"boxes\":[]}",
      "{\"page\":1,\"units\":65535}",
      "[1,2]",
  };
  g_autoptr(GArray) b = hk_api_parse_highlights(good, -1, NULL);
  g_autoptr(GArray) none = hk_api_parse_highlights("{\"units\":65535,\"boxes\":[]}", -1, NULL);

  ck_assert_ptr_nonnull(b);
  ck_assert_uint_eq(b->len, 2);
  ck_assert_double_eq_tol(g_array_index(b, HkHighlightBox, 0).x1, 1.0, 1e-9);
  ck_assert_double_eq_tol(g_array_index(b, HkHighlightBox, 0).y0, 0.1, 1e-4);
  ck_assert_double_eq_tol(g_array_index(b, HkHighlightBox, 1).y1, 400.0 / 65535, 1e-9);
  ck_assert_ptr_nonnull(none);
  ck_assert_uint_eq(none->len, 0);
  for (guint i = 0; i < G_N_ELEMENTS(bad); i++) {
    g_autoptr(GError) e = NULL;
    GArray *r = hk_api_parse_highlights(bad[i], -1, &e);
    ck_assert_msg(r == NULL && e != NULL, "accepted: %s", bad[i]);
  }
}
END_TEST

START_TEST(test_parse_matches)
{
  const char *docs =
      "{\"documents\":[{\"id\":\"00aa\",\"patient_id\":\"A1\",\"title\":\"t\",\"sha256\":\"ab\","
      "\"matches\":[{\"page\":2,\"snippet\":\"既往に造影剤アレルギー\",\"marks\":[[3,3],[9,5],"
      "[-1,2],[1,\"x\"],[2]]},{\"page\":0,\"snippet\":\"abc\",\"marks\":[[0,0]]},\"junk\"]},"
      "{\"id\":\"00bb\",\"patient_id\":\"A1\",\"title\":\"u\",\"sha256\":\"cd\"}],"
      "\"next_cursor\":null,\"unsearched\":7}";
  gint64 unsearched = -1;
  g_autoptr(GPtrArray) d = hk_api_parse_documents(docs, -1, NULL, &unsearched, NULL);
  const HkDocInfo *a;
  const HkDocMatch *m;
  g_autofree char *term = NULL;
  g_autoptr(HkDocInfo) copy = NULL;

  ck_assert_uint_eq(d->len, 2);
  ck_assert_int_eq(unsearched, 7);
  a = g_ptr_array_index(d, 0);
  ck_assert_ptr_nonnull(a->matches);
  ck_assert_uint_eq(a->matches->len, 2);
  m = g_ptr_array_index(a->matches, 0);
  ck_assert_uint_eq(m->page, 2);
  ck_assert_uint_eq(m->marks->len, 2); /* only [3,3]: [9,5] ends past the 11 characters */
  term = hk_doc_match_dup_term(m);
  ck_assert_str_eq(term, "造影剤");
  m = g_ptr_array_index(a->matches, 1);
  ck_assert_uint_eq(m->page, 1); /* page 0 does not exist: read as the first */
  ck_assert_uint_eq(m->marks->len, 0);
  ck_assert_ptr_null(hk_doc_match_dup_term(m));
  ck_assert_ptr_null(((HkDocInfo *)g_ptr_array_index(d, 1))->matches);
  copy = hk_doc_info_copy(a);
  ck_assert_uint_eq(copy->matches->len, 2);
  ck_assert_str_eq(((HkDocMatch *)g_ptr_array_index(copy->matches, 0))->snippet,
                   "既往に造影剤アレルギー");
  ck_assert_ptr_null(hk_api_parse_documents("{}", -1, NULL, &unsearched, NULL));
  ck_assert_int_eq(unsearched, 0);
}
END_TEST

START_TEST(test_parse_moved_refused)
{
  const char *docs =
      "{\"documents\":[{\"id\":\"00aa\",\"patient_id\":\"B2\",\"type\":\"consent\","
      "\"title\":\"t\",\"version\":2,\"sha256\":\"ab\",\"refused_versions\":[{\"at\":"
      "\"2026-11-20T00:00:00Z\",\"reason\":\"old\"},{\"at\":\"2026-11-21T00:00:00Z\","
      "\"reason\":\"no longer parses\",\"sha256\":\"cd\"}],\"moved\":{\"direction\":\"to\","
      "\"patient_id\":\"B2\",\"at\":\"2026-11-22T00:00:00Z\"}},"
      "{\"id\":\"00bb\",\"patient_id\":\"A1\",\"type\":\"consent\",\"title\":\"u\","
      "\"sha256\":\"ef\",\"refused_versions\":[],\"moved\":{\"direction\":\"sideways\"}},"
      "{\"id\":\"00cc\",\"patient_id\":\"A1\",\"type\":\"consent\",\"title\":\"v\","
      "\"sha256\":\"01\",\"moved\":null}]}";
  g_autoptr(GPtrArray) d = hk_api_parse_documents(docs, -1, NULL, NULL, NULL);
  const HkDocInfo *a, *b, *c;
  g_autoptr(HkDocInfo) copy = NULL;

  ck_assert_uint_eq(d->len, 3);
  a = g_ptr_array_index(d, 0);
  b = g_ptr_array_index(d, 1);
  c = g_ptr_array_index(d, 2);
  ck_assert_str_eq(a->moved_direction, "to");
  ck_assert_str_eq(a->moved_patient, "B2");
  ck_assert_ptr_nonnull(a->moved_at);
  ck_assert_uint_eq(a->refused_count, 2);
  ck_assert_str_eq(a->refused_reason, "no longer parses"); /* the latest */
  ck_assert_ptr_nonnull(a->refused_at);
  ck_assert_ptr_null(b->moved_direction); /* unknown direction: not shown as a move */
  ck_assert_uint_eq(b->refused_count, 0);
  ck_assert_ptr_null(c->moved_direction);
  copy = hk_doc_info_copy(a);
  ck_assert_str_eq(copy->moved_patient, "B2");
  ck_assert_uint_eq(copy->refused_count, 2);
}
END_TEST

START_TEST(test_parse_error)
{
  g_autofree char *code = NULL, *msg = NULL;
  gint64 retry = 0;

  hk_api_parse_error("{\"error\":\"locked\",\"message\":\"m\",\"retry_after_s\":840}", -1, &code,
                     &msg, &retry);
  ck_assert_str_eq(code, "locked");
  ck_assert_int_eq(retry, 840);
  g_clear_pointer(&code, g_free);
  g_clear_pointer(&msg, g_free);
  hk_api_parse_error("<html>", -1, &code, &msg, &retry);
  ck_assert_ptr_null(code);
  ck_assert_int_eq(retry, -1);
}
END_TEST

static HkStamp
sample_stamp(GDateTime *printed, GDateTime *asof)
{
  HkStamp s = {0};

  s.patient_id = "0001234567";
  s.patient_name = "山田 花子";
  s.birth_date = "1950-05-04";
  s.doc_title = "経過記録";
  s.sha256 = "0123456789abcdef0123";
  s.version = 2;
  s.user = "nurse1";
  s.printed_at = printed;
  s.archive_as_of = asof;
  return s;
}

START_TEST(test_sha256_matches)
{
  g_autoptr(GBytes) b = g_bytes_new_static("abc", 3);
  /* SHA-256("abc"), FIPS 180-2 appendix B.1. */
  const char *abc = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
  g_autofree char *upper = g_ascii_strup(abc, -1);
  g_autofree char *flipped = g_strdup(abc);

  flipped[63] = 'c';
  ck_assert(hk_api_sha256_matches(b, abc));
  ck_assert(hk_api_sha256_matches(b, upper));
  ck_assert(!hk_api_sha256_matches(b, flipped));
  ck_assert(!hk_api_sha256_matches(b, "ba7816bf8f01"));
  ck_assert(!hk_api_sha256_matches(b, NULL));
}
END_TEST

START_TEST(test_stamp_text)
{
  g_autoptr(GDateTime) printed = g_date_time_new_utc(2026, 11, 20, 5, 3, 0);
  g_autoptr(GDateTime) asof = g_date_time_new_utc(2026, 11, 20, 4, 42, 0);
  HkStamp s = sample_stamp(printed, asof);
  g_autofree char *id = hk_stamp_identity_text(&s);
  g_autofree char *doc = hk_stamp_document_text(&s);
  g_autofree char *foot = hk_stamp_footer_text(&s, 3, 10);

  ck_assert_ptr_nonnull(strstr(id, "0001234567"));
  ck_assert_ptr_nonnull(strstr(id, "山田 花子"));
  ck_assert_ptr_nonnull(strstr(id, "1950-05-04"));
  ck_assert_ptr_nonnull(strstr(id, "DOWNTIME COPY — hikae read-only archive"));
  ck_assert_ptr_nonnull(strstr(doc, "経過記録"));
  ck_assert_ptr_nonnull(strstr(doc, "0123456789ab"));
  ck_assert_ptr_null(strstr(doc, "0123456789abc")); /* a 12-digit prefix only */
  ck_assert_ptr_nonnull(strstr(doc, "version 2"));
  ck_assert_ptr_nonnull(strstr(foot, "nurse1"));
  ck_assert_ptr_nonnull(strstr(foot, "Page 3 of 10"));
  ck_assert_ptr_nonnull(strstr(foot, "Archive current as of"));
}
END_TEST

START_TEST(test_stamp_list_text)
{
  g_autoptr(GDateTime) printed = g_date_time_new_utc(2026, 11, 20, 5, 3, 0);
  HkStamp s = {.list_title = "Ward list: 5E",
               .doc_title = "Census: 42 inpatients",
               .user = "nurse1",
               .printed_at = printed};
  g_autofree char *id = hk_stamp_identity_text(&s);
  g_autofree char *doc = hk_stamp_document_text(&s);
  g_autofree char *foot = hk_stamp_footer_text(&s, 2, 3);

  /* The list's title stands where one patient's identity would; nothing
   * claims a patient ("ID ?", "born unknown") the list does not have. */
  ck_assert_str_eq(id, "Ward list: 5E  —  DOWNTIME COPY — hikae read-only archive");
  ck_assert_str_eq(doc, "Census: 42 inpatients");
  ck_assert_ptr_nonnull(strstr(foot, "Printed by nurse1 at "));
  ck_assert_ptr_nonnull(strstr(foot, "Archive current as of unknown"));
  ck_assert_ptr_nonnull(strstr(foot, "Page 2 of 3"));
}
END_TEST

/* ---- the pack, checked with poppler ---------------------------------- */

static GBytes *
make_pdf(int pages)
{
  g_autofree char *path = NULL;
  int fd = g_file_open_tmp("hk-test-XXXXXX.pdf", &path, NULL);
  cairo_surface_t *s;
  cairo_t *cr;
  char *data = NULL;
  gsize len = 0;

  close(fd);
  s = cairo_pdf_surface_create(path, 595, 842);
  cr = cairo_create(s);
  for (int i = 0; i < pages; i++) {
    cairo_move_to(cr, 100, 400);
    cairo_set_font_size(cr, 20);
    cairo_show_text(cr, "source page content");
    cairo_show_page(cr);
  }
  cairo_destroy(cr);
  cairo_surface_destroy(s);
  ck_assert(g_file_get_contents(path, &data, &len, NULL));
  g_unlink(path);
  return g_bytes_new_take(data, len);
}

static GBytes *
make_jpeg(void)
{
  tjhandle tj = tjInitCompress();
  int w = 64, h = 48;
  unsigned char *rgb = g_malloc0(w * h * 3);
  unsigned char *jpeg = NULL;
  unsigned long size = 0;
  GBytes *res;

  for (int i = 0; i < w * h * 3; i++)
    rgb[i] = (unsigned char)(i * 7);
  ck_assert_int_eq(tjCompress2(tj, rgb, w, 0, h, TJPF_RGB, &jpeg, &size, TJSAMP_420, 85, 0), 0);
  res = g_bytes_new(jpeg, size);
  tjFree(jpeg);
  tjDestroy(tj);
  g_free(rgb);
  return res;
}

static HkDocInfo *
doc(const char *id, const char *title, const char *sha)
{
  HkDocInfo *d = g_new0(HkDocInfo, 1);

  d->id = g_strdup(id);
  d->patient_id = g_strdup("0001234567");
  d->type = g_strdup("progress_note");
  d->title = g_strdup(title);
  d->sha256 = g_strdup(sha);
  d->version = 1;
  d->latest_version = 1;
  d->content_type = g_strdup("application/pdf");
  d->versions = g_ptr_array_new();
  return d;
}

START_TEST(test_jpeg_decode)
{
  g_autoptr(GBytes) j = make_jpeg();
  g_autoptr(GBytes) junk = g_bytes_new_static("not a jpeg", 10);
  g_autoptr(GError) e = NULL;
  cairo_surface_t *s = hk_jpeg_decode(j, 90, NULL);

  ck_assert_ptr_nonnull(s);
  /* Rotated a quarter turn: width and height swap. */
  ck_assert_int_eq(cairo_image_surface_get_width(s), 48);
  ck_assert_int_eq(cairo_image_surface_get_height(s), 64);
  cairo_surface_destroy(s);
  ck_assert_ptr_null(hk_jpeg_decode(junk, 0, &e));
  ck_assert_ptr_nonnull(e);
}
END_TEST

START_TEST(test_pack_pdf)
{
  g_autoptr(HkPatientInfo) p = hk_api_parse_patient(
      "{\"id\":\"0001234567\",\"name\":\"山田 花子\",\"kana\":\"ヤマダ ハナコ\","
      "\"birth_date\":\"1950-05-04\",\"sex\":\"F\",\"allergies\":"
      "[{\"allergen\":\"ペニシリン\"}]}",
      -1, NULL);
  g_autoptr(HkStatusInfo) st = hk_api_parse_status(
      "{\"archive_as_of\":\"2026-11-20T08:42:00+09:00\",\"indexer\":\"running\"}", -1, NULL);
  g_autoptr(GDateTime) now = g_date_time_new_now_utc();
  g_autoptr(HkPack) pack = hk_pack_new(p, st, "clerk1", now, TRUE);
  g_autoptr(GBytes) pdf = make_pdf(3);
  g_autoptr(GBytes) jpeg = make_jpeg();
  GString *long_text = g_string_new(NULL);
  g_autoptr(GBytes) text = NULL;
  g_autoptr(GBytes) junk = g_bytes_new_static("\xff\xfe\x00\x01binary", 10);
  g_autoptr(HkDocInfo) d1 = NULL;
  g_autoptr(HkDocInfo) d2 = NULL;
  g_autoptr(HkDocInfo) d3 = NULL;
  g_autoptr(HkDocInfo) wrong = NULL;
  g_autofree char *sha1 = g_compute_checksum_for_bytes(G_CHECKSUM_SHA256, pdf);
  g_autofree char *sha2 = g_compute_checksum_for_bytes(G_CHECKSUM_SHA256, jpeg);
  g_autofree char *sha3 = NULL;
  g_autofree char *prefix1 = g_strndup(sha1, 12);
  g_autoptr(GError) e = NULL;
  g_autoptr(GError) e2 = NULL;
  g_autofree char *dir = g_dir_make_tmp("hk-pack-XXXXXX", NULL);
  g_autofree char *out = g_build_filename(dir, "pack.pdf", NULL);
  g_autofree char *uri = NULL;
  PopplerDocument *res = NULL;
  int n_pages, text_pages;

  for (int i = 0; i < 200; i++)
    g_string_append_printf(long_text, "line %d: Na 140 mmol/L, K 4.1 mmol/L\n", i);
  text = g_string_free_to_bytes(long_text);
  sha3 = g_compute_checksum_for_bytes(G_CHECKSUM_SHA256, text);
  d1 = doc("d1", "手術同意書", sha1);
  d2 = doc("d2", "Scanned referral", sha2);
  d3 = doc("d3", "検査結果", sha3);
  /* Bytes that are not those the record names (a damaged blob, or another
   * version) are refused, whatever they are. */
  wrong = doc("d4", "別の版", sha1);
  ck_assert(!hk_pack_add(pack, wrong, jpeg, &e2));
  ck_assert(g_error_matches(e2, HK_PACK_ERROR, HK_PACK_ERROR_CONTENT));
  ck_assert_msg(strstr(e2->message, "SHA-256") != NULL, "error: %s", e2->message);
  ck_assert(hk_pack_add(pack, d1, pdf, NULL));
  ck_assert(hk_pack_add(pack, d2, jpeg, NULL));
  ck_assert(hk_pack_add(pack, d3, text, NULL));
  g_free(d3->sha256);
  d3->sha256 = g_compute_checksum_for_bytes(G_CHECKSUM_SHA256, junk);
  ck_assert(!hk_pack_add(pack, d3, junk, &e));
  ck_assert_uint_eq(hk_pack_get_n_documents(pack), 3);

  n_pages = hk_pack_paginate(pack, HK_PAPER_A4_WIDTH, HK_PAPER_A4_HEIGHT);
  text_pages = n_pages - 1 - 3 - 1;
  ck_assert_int_ge(text_pages, 2); /* 200 lines do not fit one page */
  ck_assert(hk_pack_write_pdf(pack, out, NULL));

  uri = g_filename_to_uri(out, NULL, NULL);
  res = poppler_document_new_from_file(uri, NULL, NULL);
  ck_assert_ptr_nonnull(res);
  ck_assert_int_eq(poppler_document_get_n_pages(res), n_pages);
  for (int i = 0; i < n_pages; i++) {
    PopplerPage *page = poppler_document_get_page(res, i);
    g_autofree char *t = poppler_page_get_text(page);
    g_autofree char *pn = g_strdup_printf("Page %d of %d", i + 1, n_pages);
    ck_assert_msg(strstr(t, "DOWNTIME COPY") != NULL, "page %d has no stamp", i + 1);
    ck_assert_msg(strstr(t, "hikae read-only archive") != NULL, "page %d: motto", i + 1);
    ck_assert_msg(strstr(t, "0001234567") != NULL, "page %d has no patient ID", i + 1);
    ck_assert_msg(strstr(t, "1950-05-04") != NULL, "page %d has no birth date", i + 1);
    ck_assert_msg(strstr(t, "clerk1") != NULL, "page %d has no user", i + 1);
    ck_assert_msg(strstr(t, pn) != NULL, "page %d has no page number", i + 1);
    if (i == 0) {
      ck_assert_msg(strstr(t, "ペニシリン") != NULL, "cover lists no allergy");
      ck_assert_msg(strstr(t, "手術同意書") != NULL, "cover lists no document");
    }
    if (i >= 1 && i <= 3)
      ck_assert_msg(strstr(t, prefix1) != NULL, "page %d: no SHA-256 prefix", i + 1);
    g_object_unref(page);
  }
  g_object_unref(res);
  g_unlink(out);
  g_rmdir(dir);
}
END_TEST

/* ---- the ward list, checked with poppler ----------------------------- */

#define WL_WARDS 3
#define WL_PER_WARD 20

/* The patient at position n of the expected order (ward, room, bed), with
 * IDs that do not follow that order, so that a list printed in input or ID
 * order cannot pass. */
static HkPatientInfo *
wl_patient(int n)
{
  static const char *const wards[WL_WARDS] = {"3W", "5E", "7N"};
  HkPatientInfo *p = g_new0(HkPatientInfo, 1);
  int k = n % WL_PER_WARD;

  p->id = g_strdup_printf("10%08d", (n * 7919) % 100003);
  p->name = n == 21 ? g_strdup("山田 花子")
                    : g_strdup_printf("Test Patient %c%c", 'A' + n / 26, 'A' + n % 26);
  p->kana = n == 21 ? g_strdup("ヤマダ ハナコ") : g_strdup("テスト カンジャ");
  p->admitted = TRUE;
  p->ward = g_strdup(wards[n / WL_PER_WARD]);
  p->room = g_strdup_printf("%d", 301 + k / 4);
  p->bed = g_strdup_printf("%d", 1 + k % 4);
  p->admitted_at = g_date_time_new_local(2026, 11, 1 + k, 9, 30, 0);
  return p;
}

/* The 60 inpatients in a shuffled order, as no census promises any. */
static GPtrArray *
wl_census(void)
{
  GPtrArray *rows = g_ptr_array_new_with_free_func((GDestroyNotify)hk_patient_info_free);
  GRand *r = g_rand_new_with_seed(20261120);

  for (int n = 0; n < WL_WARDS * WL_PER_WARD; n++)
    g_ptr_array_add(rows, wl_patient(n));
  for (guint i = rows->len - 1; i > 0; i--) {
    guint j = (guint)g_rand_int_range(r, 0, (gint32)i + 1);
    gpointer t = rows->pdata[i];
    rows->pdata[i] = rows->pdata[j];
    rows->pdata[j] = t;
  }
  g_rand_free(r);
  ck_assert_ptr_ne(rows->pdata[0], NULL);
  return rows;
}

static guint
count_of(const char *hay, const char *needle)
{
  guint n = 0;

  for (const char *p = strstr(hay, needle); p; p = strstr(p + 1, needle))
    n++;
  return n;
}

START_TEST(test_ward_list_pdf)
{
  g_autoptr(GPtrArray) rows = wl_census();
  g_autoptr(HkStatusInfo) st = hk_api_parse_status(
      "{\"archive_as_of\":\"2026-11-20T08:42:00+09:00\",\"indexer\":\"running\"}", -1, NULL);
  g_autoptr(GDateTime) now = g_date_time_new_now_utc();
  g_autoptr(HkWardList) list = hk_ward_list_new(rows, NULL, st, "nurse7", now);
  g_autofree char *dir = g_dir_make_tmp("hk-ward-XXXXXX", NULL);
  g_autofree char *out = g_build_filename(dir, "ward.pdf", NULL);
  g_autofree char *uri = NULL;
  g_auto(GStrv) ids = hk_ward_list_dup_patient_ids(list);
  GString *all = g_string_new(NULL);
  PopplerDocument *res = NULL;
  const char *prev = NULL;
  int n_pages;

  /* The order the events are recorded in is the order on paper. */
  ck_assert_uint_eq(hk_ward_list_get_n_patients(list), WL_WARDS * WL_PER_WARD);
  ck_assert_uint_eq(g_strv_length(ids), WL_WARDS * WL_PER_WARD);
  for (int n = 0; n < WL_WARDS * WL_PER_WARD; n++) {
    g_autoptr(HkPatientInfo) p = wl_patient(n);
    ck_assert_str_eq(ids[n], p->id);
  }

  n_pages = hk_ward_list_paginate(list, HK_PAPER_A4_WIDTH, HK_PAPER_A4_HEIGHT);
  ck_assert_int_gt(n_pages, 1); /* 60 rows and 3 ward headings do not fit one page */
  ck_assert(hk_ward_list_write_pdf(list, out, NULL));

  uri = g_filename_to_uri(out, NULL, NULL);
  res = poppler_document_new_from_file(uri, NULL, NULL);
  ck_assert_ptr_nonnull(res);
  ck_assert_int_eq(poppler_document_get_n_pages(res), n_pages);
  for (int i = 0; i < n_pages; i++) {
    PopplerPage *page = poppler_document_get_page(res, i);
    g_autofree char *t = poppler_page_get_text(page);
    g_autofree char *pn = g_strdup_printf("Page %d of %d", i + 1, n_pages);
    ck_assert_msg(strstr(t, "DOWNTIME COPY — hikae read-only archive") != NULL,
                  "page %d has no motto", i + 1);
    ck_assert_msg(strstr(t, "Printed by nurse7") != NULL, "page %d has no user", i + 1);
    ck_assert_msg(strstr(t, "Archive current as of 2026-11-20 08:42 +09:00") != NULL,
                  "page %d has no archive time", i + 1);
    ck_assert_msg(strstr(t, pn) != NULL, "page %d has no page number", i + 1);
    ck_assert_msg(strstr(t, "Ward list: all wards") != NULL, "page %d has no title", i + 1);
    ck_assert_msg(strstr(t, "Census: 60 inpatients") != NULL, "page %d: no count", i + 1);
    /* The column header, on every page. */
    for (const char *const *h = (const char *const[]){"Ward", "Room", "Bed", "Patient ID", "Name",
                                                      "Kana", "Admitted", NULL};
         *h; h++)
      ck_assert_msg(strstr(t, *h) != NULL, "page %d: no \"%s\" column", i + 1, *h);
    ck_assert_msg(count_of(t, "Patient ID") == 1, "page %d: header not once", i + 1);
    /* Every page holds some of the list. */
    ck_assert_msg(count_of(t, "テスト カンジャ") > 0, "page %d has no rows", i + 1);
    g_string_append(all, t);
    g_string_append_c(all, '\n');
    g_object_unref(page);
  }
  g_object_unref(res);

  ck_assert_ptr_nonnull(strstr(all->str, "60 inpatients"));
  ck_assert_uint_eq(count_of(all->str, "山田 花子"), 1);
  ck_assert_uint_eq(count_of(all->str, "ヤマダ ハナコ"), 1);
  ck_assert_uint_eq(count_of(all->str, "Ward 5E · 20 inpatients"), 1);
  ck_assert_uint_eq(count_of(all->str, "2026-11-20 09:30"), WL_WARDS);
  /* Every patient exactly once, in ward, room and bed order. */
  for (int n = 0; n < WL_WARDS * WL_PER_WARD; n++) {
    g_autoptr(HkPatientInfo) p = wl_patient(n);
    const char *at = strstr(all->str, p->id);
    ck_assert_msg(at != NULL, "patient %s (%s %s-%s) missing", p->id, p->ward, p->room, p->bed);
    ck_assert_msg(count_of(all->str, p->id) == 1, "patient %s printed more than once", p->id);
    ck_assert_msg(at > prev, "patient %s (%s %s-%s) out of order", p->id, p->ward, p->room, p->bed);
    prev = at;
  }
  g_string_free(all, TRUE);
  g_unlink(out);
  g_rmdir(dir);
}
END_TEST

START_TEST(test_ward_list_one_ward)
{
  g_autoptr(GPtrArray) rows = g_ptr_array_new_with_free_func((GDestroyNotify)hk_patient_info_free);
  g_autoptr(HkWardList) list = NULL;
  g_autoptr(HkWardList) empty = NULL;
  g_autofree char *dir = g_dir_make_tmp("hk-ward-XXXXXX", NULL);
  g_autofree char *out = g_build_filename(dir, "ward.pdf", NULL);
  g_autofree char *uri = NULL;
  PopplerDocument *res = NULL;
  PopplerPage *page = NULL;
  g_autofree char *t = NULL;

  for (int n = 2 * WL_PER_WARD - 1; n >= WL_PER_WARD; n--)
    g_ptr_array_add(rows, wl_patient(n));
  list = hk_ward_list_new(rows, "5E", NULL, "nurse8", NULL);
  ck_assert_str_eq(hk_ward_list_get_title(list), "Ward list: 5E");
  ck_assert_int_eq(hk_ward_list_paginate(list, HK_PAPER_A4_WIDTH, HK_PAPER_A4_HEIGHT), 1);
  ck_assert(hk_ward_list_write_pdf(list, out, NULL));
  uri = g_filename_to_uri(out, NULL, NULL);
  res = poppler_document_new_from_file(uri, NULL, NULL);
  ck_assert_ptr_nonnull(res);
  ck_assert_int_eq(poppler_document_get_n_pages(res), 1);
  page = poppler_document_get_page(res, 0);
  t = poppler_page_get_text(page);
  /* The title twice: in the stamp and above the table. */
  ck_assert_uint_eq(count_of(t, "Ward list: 5E"), 2);
  ck_assert_ptr_nonnull(strstr(t, "DOWNTIME COPY — hikae read-only archive"));
  ck_assert_ptr_nonnull(strstr(t, "Page 1 of 1"));
  ck_assert_ptr_nonnull(strstr(t, "Archive current as of unknown"));
  /* One ward: its name is in the title, not repeated as a heading. */
  ck_assert_ptr_null(strstr(t, "Ward 5E ·"));
  ck_assert_ptr_nonnull(strstr(t, "山田 花子"));
  g_object_unref(page);
  g_object_unref(res);
  g_unlink(out);

  /* An empty census still makes a stamped page that says so. */
  empty = hk_ward_list_new(NULL, "9Z", NULL, "nurse8", NULL);
  ck_assert_int_eq(hk_ward_list_paginate(empty, HK_PAPER_A4_WIDTH, HK_PAPER_A4_HEIGHT), 1);
  ck_assert(hk_ward_list_write_pdf(empty, out, NULL));
  res = poppler_document_new_from_file(uri, NULL, NULL);
  ck_assert_ptr_nonnull(res);
  page = poppler_document_get_page(res, 0);
  g_free(t);
  t = poppler_page_get_text(page);
  ck_assert_ptr_nonnull(strstr(t, "No current inpatients."));
  ck_assert_ptr_nonnull(strstr(t, "DOWNTIME COPY — hikae read-only archive"));
  g_object_unref(page);
  g_object_unref(res);
  g_unlink(out);
  g_rmdir(dir);
}
END_TEST

/* A throwaway self-signed CA (its key was never kept): HkClient needs one
 * to exist, though this test never connects. */
static const char test_ca_pem[] =
    "-----BEGIN CERTIFICATE-----\n"
    "MIIBkTCCATegAwIBAgIUbvd/ouY2AI3u6OqUrPTd2Vq/v8swCgYIKoZIzj0EAwIw\n"
    "HTEbMBkGA1UEAwwSaGlrYWUtdW5pdC10ZXN0LWNhMCAXDTI2MTEyMTE4MDgwMloY\n"
    "DzIxMjYxMDI4MTgwODAyWjAdMRswGQYDVQQDDBJoaWthZS11bml0LXRlc3QtY2Ew\n"
    "WTATBgcqhkjOPQIBBggqhkjOPQMBBwNCAASdbNPAYlc34lmv6yDkZ3kgMAAL5Dwa\n"
    "7HO2PZXn1MFmmkppoftz6URszOwaTYtCap8Z2LNTbtCs5MKGwaYb0b3Wo1MwUTAd\n"
    "BgNVHQ4EFgQUHUWIX/g0jmoGEgqNWBpnPMVu2eQwHwYDVR0jBBgwFoAUHUWIX/g0\n"
    "jmoGEgqNWBpnPMVu2eQwDwYDVR0TAQH/BAUwAwEB/zAKBggqhkjOPQQDAgNIADBF\n"
    "AiEA0PSlem3nIRKUk5sdI27mM+C6lK6mqwh/2DNIx5xNrCwCIHrLLfaE1ZGTjg+t\n"
    "zNNAXH4ISkmZQ9REc1sz7vdcPOig\n"
    "-----END CERTIFICATE-----\n";

static void
store_result(GObject *source, GAsyncResult *result, gpointer user_data)
{
  *(GAsyncResult **)user_data = g_object_ref(result);
}

START_TEST(test_ward_list_unrecorded)
{
  g_autofree char *dir = g_dir_make_tmp("hk-ward-XXXXXX", NULL);
  g_autofree char *ca = g_build_filename(dir, "ca.pem", NULL);
  g_autofree char *out = g_build_filename(dir, "ward.pdf", NULL);
  g_autoptr(GPtrArray) rows = wl_census();
  g_autoptr(HkWardList) list = hk_ward_list_new(rows, NULL, NULL, "nurse9", NULL);
  g_autoptr(HkClient) client = NULL;
  g_autoptr(GError) e = NULL;
  GAsyncResult *result = NULL;

  ck_assert(g_file_set_contents(ca, test_ca_pem, -1, NULL));
  /* A client that cannot record anything (no session): the rule is no
   * event, no print, so no PDF may appear. */
  client = hk_client_new("https://127.0.0.1:9", ca, &e);
  ck_assert_msg(client != NULL, "%s", e ? e->message : "");
  hk_print_run_ward_list_async(client, list, NULL, out, NULL, store_result, &result);
  while (!result)
    g_main_context_iteration(NULL, TRUE);
  ck_assert(!hk_print_run_ward_list_finish(client, result, &e));
  ck_assert_ptr_nonnull(e);
  ck_assert_msg(strstr(e->message, "could not be recorded") != NULL, "%s", e->message);
  ck_assert(!g_file_test(out, G_FILE_TEST_EXISTS));
  g_object_unref(result);
  g_unlink(ca);
  g_rmdir(dir);
}
END_TEST

/* After each test (in its own forked process): drop the font caches that
 * pango and cairo keep for the life of a process, so that what
 * LeakSanitizer reports at exit is a leak of ours, not a cache. */
static void
release_font_caches(void)
{
  pango_cairo_font_map_set_default(NULL);
  cairo_debug_reset_static_data();
}

/* Read by LeakSanitizer only. Fontconfig's configuration and match cache
 * live until FcFini(), which this program does not link; and cairo 1.16's
 * PDF backend loses a few arrays inside cairo_surface_finish() for every
 * PDF it writes (the pack's as much as the ward list's). A leaked layout,
 * cairo_t or record of ours has neither frame, so it is still reported. */
const char *__lsan_default_suppressions(void);
const char *
__lsan_default_suppressions(void)
{
  return "leak:FcInitLoadConfigAndFonts\nleak:FcFontRenderPrepare\nleak:cairo_surface_finish\n";
}

/* Read by AddressSanitizer only: whole stacks, through libraries built
 * without frame pointers, so that the suppressions above can see which
 * call an allocation came from. ASAN_OPTIONS adds to this. */
const char *__asan_default_options(void);
const char *
__asan_default_options(void)
{
  return "fast_unwind_on_malloc=0";
}

int
main(void)
{
  Suite *s = suite_create("viewer");
  TCase *tc = tcase_create("units");
  SRunner *sr;
  int failed;

  /* Before GLib's slice allocator starts (on first use): GObjects from
   * plain malloc, so that LeakSanitizer can see a leaked one. */
  g_setenv("G_SLICE", "always-malloc", TRUE);
  /* English output regardless of the machine's locale. */
  g_setenv("LANGUAGE", "C", TRUE);
  g_setenv("TZ", "Asia/Tokyo", TRUE);
  tcase_add_checked_fixture(tc, NULL, release_font_caches);
  tcase_add_test(tc, test_age);
  tcase_add_test(tc, test_parse_highlights);
  tcase_add_test(tc, test_freshness);
  tcase_add_test(tc, test_ago);
  tcase_add_test(tc, test_parse_status);
  tcase_add_test(tc, test_parse_patient);
  tcase_add_test(tc, test_allergies_unreadable);
  tcase_add_test(tc, test_parse_moved_refused);
  tcase_add_test(tc, test_parse_lists);
  tcase_add_test(tc, test_parse_error);
  tcase_add_test(tc, test_parse_matches);
  tcase_add_test(tc, test_sha256_matches);
  tcase_add_test(tc, test_stamp_text);
  tcase_add_test(tc, test_stamp_list_text);
  tcase_add_test(tc, test_jpeg_decode);
  tcase_add_test(tc, test_pack_pdf);
  tcase_add_test(tc, test_ward_list_pdf);
  tcase_add_test(tc, test_ward_list_one_ward);
  tcase_add_test(tc, test_ward_list_unrecorded);
  suite_add_tcase(s, tc);
  sr = srunner_create(s);
  srunner_run_all(sr, CK_NORMAL);
  failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
