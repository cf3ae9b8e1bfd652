#include "hk-error.h"

#include <errno.h>

const char *
hk_strerror(int err)
{
  static const char *const msgs[HK_EMAX] = {
    [HK_OK] = "success",
    [HK_ENOMEM] = "out of memory",
    [HK_EINVAL] = "invalid argument or input",
    [HK_ENOTFOUND] = "not found",
    [HK_EEXIST] = "already exists",
    [HK_EIO] = "input/output error",
    [HK_ECORRUPT] = "data corrupt or hash mismatch",
    [HK_EFORMAT] = "unknown store format version",
    /* ENOSPC and EDQUOT map here too (hk_err_from_errno) */
    [HK_ESPACE] = "no space left (file system or store map full)",
    [HK_EBUSY] = "resource busy",
    [HK_ESEALED] = "indexer sealed by the tripwire",
    [HK_ETOOBIG] = "input too large",
    [HK_EPERM] = "permission denied",
    [HK_EAUTH] = "authentication failed",
    [HK_ELOCKED] = "account locked",
    [HK_ERESIZED] = "store map resized",
    [HK_ETIMEOUT] = "timed out",
    [HK_ECRYPTO] = "cryptographic operation failed",
  };
  /* In unsigned arithmetic: -INT_MIN would overflow an int. */
  unsigned e = err < 0 ? 0u - (unsigned)err : (unsigned)err;
  const char *m = "unknown error";

  if (e < HK_EMAX && msgs[e])
    m = msgs[e];
  return m;
}

int
hk_err_from_errno(int e)
{
  int ret;

  switch (e) {
  case 0: ret = HK_OK; break;
  case ENOMEM: ret = -HK_ENOMEM; break;
  case ENOENT: ret = -HK_ENOTFOUND; break;
  case EEXIST: ret = -HK_EEXIST; break;
  case EACCES:
  case EPERM:
  case EROFS: ret = -HK_EPERM; break;
  case ENOSPC:
  case EDQUOT: ret = -HK_ESPACE; break;
  case EINVAL: ret = -HK_EINVAL; break;
  case EFBIG: ret = -HK_ETOOBIG; break;
  case EBUSY:
  case EAGAIN: ret = -HK_EBUSY; break;
  case ETIMEDOUT: ret = -HK_ETIMEOUT; break;
  default: ret = -HK_EIO; break;
  }
  return ret;
}
