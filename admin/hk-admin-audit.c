/* hikae-admin audit verify: re-check the hash chain of the audit log, and
 * that it reaches its anchor (audit.head) and the checkpoints the server sent
 * to the system journal (--expect SEQ:HASH, docs/audit.md). */
#include "hk-admin-audit.h"

#include "hk-admin.h"
#include "hk-audit.h"
#include "hk-config.h"
#include "hk-error.h"

#include <stdio.h>
#include <string.h>

int
hk_admin_audit_main(int argc, char **argv)
{
  char *state = NULL;
  char **expect = NULL;
  GOptionEntry entries[] = {
      {"state", 0, 0, G_OPTION_ARG_FILENAME, &state, "Server state folder", "DIR"},
      {"expect", 0, 0, G_OPTION_ARG_STRING_ARRAY, &expect,
       "A checkpoint from the journal the log must reach (repeatable)", "SEQ:HASH"},
      {NULL},
  };
  HkAuditReport r = { 0 };
  HkAuditCheckpoint *cps = NULL;
  size_t ncps = expect ? g_strv_length(expect) : 0;
  int ret, status = 2;

  if (argc < 2 || strcmp(argv[1], "verify") != 0) {
    if (argc >= 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
      printf("Usage: %s audit verify --state DIR [--expect SEQ:HASH]...\n", HK_ADMIN_PROGRAM);
      status = 0;
    } else {
      status = hk_usage_error(HK_ADMIN_PROGRAM, "audit: expected \"verify\"");
    }
    goto out;
  }
  argc--;
  argv++;
  ret = hk_admin_parse("audit verify", "Verify the audit log's hash chain", entries, &argc, &argv,
                       &state, "--state DIR");
  if (ret) {
    status = ret;
    goto out;
  }
  ncps = expect ? g_strv_length(expect) : 0;
  cps = g_new0(HkAuditCheckpoint, ncps + 1);
  for (size_t i = 0; i < ncps; i++) {
    if (hk_audit_checkpoint_parse(expect[i], &cps[i]) < 0) {
      status = hk_usage_error(HK_ADMIN_PROGRAM,
                              "--expect \"%s\": expected SEQ:HASH (64 hex digits)", expect[i]);
      goto out;
    }
  }
  ret = hk_audit_verify(state, cps, ncps, &r);
  if (ret == 0) {
    printf("audit log: %llu records verified, chain intact, anchor reached",
           (unsigned long long)r.records);
    if (ncps)
      printf(", %zu journal checkpoint(s) reached", ncps);
    printf("\n");
    status = 0;
  } else if (ret == -HK_ECORRUPT) {
    printf("audit log: BROKEN at record line %llu: %s (%llu records verified before it)\n",
           (unsigned long long)r.bad_line, r.reason ? r.reason : "unknown",
           (unsigned long long)r.records);
    status = 1;
  } else {
    fprintf(stderr, "%s: audit log in %s: %s\n", HK_ADMIN_PROGRAM, state, hk_strerror(ret));
    status = 1;
  }
out:
  hk_audit_report_clear(&r);
  g_free(cps);
  g_strfreev(expect);
  g_free(state);
  return status;
}
