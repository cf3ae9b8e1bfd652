/* hk-error.h: the one error convention of hikae's plain-C layers.
 *
 * Functions return 0 on success or a negative HK_E* code. LMDB, OpenSSL and
 * errno codes are translated into this space at the one place they are met. */
#pragma once

enum {
  HK_OK = 0,
  HK_ENOMEM = 1,  /* out of memory */
  HK_EINVAL,      /* invalid argument or input */
  HK_ENOTFOUND,   /* no such record */
  HK_EEXIST,      /* record already exists */
  HK_EIO,         /* I/O error */
  HK_ECORRUPT,    /* stored data does not parse or does not match its hash */
  HK_EFORMAT,     /* store of an unknown format version */
  HK_ESPACE,      /* store map full (caller grows and retries) */
  HK_EBUSY,       /* resource busy (reader table full, lock held) */
  HK_ESEALED,     /* indexer sealed by the tripwire */
  HK_ETOOBIG,     /* input over its size limit */
  HK_EPERM,       /* permission denied */
  HK_EAUTH,       /* authentication failed */
  HK_ELOCKED,     /* account locked */
  HK_ERESIZED,    /* map resized by another process (reader retries) */
  HK_ETIMEOUT,    /* operation timed out */
  HK_ECRYPTO,     /* a cryptographic library call failed */
  HK_EMAX
};

/* Describe an HK_E code (either sign). Never NULL. */
const char *hk_strerror(int err);

/* Map an errno value to an HK_E code (negative). */
int hk_err_from_errno(int e);
