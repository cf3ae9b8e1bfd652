/* hk-store-v1.h: write a store in format 1 (before document IDs were
 * namespaced by source) with raw LMDB, exactly as format-1 hikae wrote
 * one, so that tests can migrate it. */
#pragma once

typedef struct {
  const char *patient_id;
  const char *source_id;
  const char *type;
  const char *created_at;
  const char *text; /* the content, text/plain */
} HkV1Doc;

/* Create a format-1 store in the empty or missing folder dir holding docs
 * (a source_id given twice is two versions, in order). \return 0 or an
 * LMDB error code. */
int hk_store_v1_write(const char *dir, const HkV1Doc *docs, unsigned n);
