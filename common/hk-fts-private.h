/* hk-fts-private.h: what the files of the full-text index (hk-fts*.c)
 * share. The layout is in docs/search.md, "Index". */
#pragma once

#include "hk-fts.h"

#include <groonga.h>

/* Inside STORE_DIR/search/: the file naming the current generation, the
 * lock a rebuild holds, and each generation's database. */
#define HK_FTS_CURRENT "current"
#define HK_FTS_BUILD_LOCK "build.lock"
#define HK_FTS_DB "db"
#define HK_FTS_GEN_MAX 64
/* The layout of a generation (Meta `layout`): one whose layout differs is
 * unusable, and the indexer rebuilds it. 2: no copy of the text (the
 * postings only; snippets come from LMDB), pages never removed. 3: and
 * the documents indexed by created (newest first without a sort); the
 * writer upgrades a layout 2 in place (hk_fts_upgrade). */
#define HK_FTS_LAYOUT "3"
#define HK_FTS_LAYOUT_UPGRADABLE "2"

struct hk_fts {
  grn_ctx ctx;
  bool ctx_init;
  grn_obj *db;
  hk_store *store;
  char *dir;                /* STORE_DIR/search */
  char gen[HK_FTS_GEN_MAX]; /* the generation open */
  bool writable;
  bool defer_flush, unflushed; /* hk_fts_defer_flush */
  HkFtsPlan plan;              /* hk_fts_set_plan */
  HkFtsPlan last;              /* hk_fts_last_plan */
  /* Borrowed from db. */
  grn_obj *meta, *m_value;
  grn_obj *patients;
  grn_obj *docs, *d_version, *d_created, *d_patient, *d_first, *d_pages;
  grn_obj *created, *c_docs; /* Created: its keys, and the documents of each */
  grn_obj *pages, *p_doc;
  grn_obj *terms, *body;
  grn_obj *p_text; /* only while a rebuild loads the text (hk-fts-write.c) */
  char reason[256];
};

/* Start Groonga once per process (quiet: its log is not ours). */
void hk_fts_global_init(void);
/* Read STORE_DIR/search/current into gen. \return 0, -HK_ENOTFOUND,
 * -HK_ECORRUPT (a name that is not a generation's). */
int hk_fts_read_current(const char *dir, char gen[HK_FTS_GEN_MAX]);
/* Open generation gen of f->dir into f (f->ctx initialised). */
int hk_fts_open_gen(hk_fts *f, const char *gen);
/* Close what hk_fts_open_gen opened. */
void hk_fts_close_gen(hk_fts *f);
/* Set f->reason (printf) and return err. */
int hk_fts_fail(hk_fts *f, int err, const char *fmt, ...) G_GNUC_PRINTF(3, 4);
/* A Meta value, into buf (cap bytes); "" if absent. */
void hk_fts_meta_get(hk_fts *f, const char *key, char *buf, size_t cap);
int hk_fts_meta_set(hk_fts *f, const char *key, const char *value);
/* Take the writable generation open in f from layout 2 to 3: the index
 * on Docs.created (built in one pass over the documents). \return 0 or
 * -HK_EIO. */
int hk_fts_upgrade(hk_fts *f);
