#include "hk-sandbox.h"

#include "hk-error.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <glib.h>
#include <linux/landlock.h>
#include <seccomp.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

/* Landlock beyond what Debian 12's kernel headers (ABI 2) describe; the
 * kernel takes the attribute's size, so a newer ABI is used where present. */
struct hk_landlock_ruleset_attr {
  uint64_t handled_access_fs;
  uint64_t handled_access_net; /* ABI 4 */
  uint64_t scoped;             /* ABI 6 */
};
#define HK_LL_FS_TRUNCATE (1ull << 14)  /* ABI 3 */
#define HK_LL_FS_IOCTL_DEV (1ull << 15) /* ABI 5 */
#define HK_LL_NET_BIND_TCP (1ull << 0)
#define HK_LL_NET_CONNECT_TCP (1ull << 1)
#define HK_LL_SCOPE_ABSTRACT_UNIX (1ull << 0)
#define HK_LL_SCOPE_SIGNAL (1ull << 1)

/* What a PDF page may read: fonts and fontconfig's configuration. */
static const char *const hk_font_dirs[] = {
    "/usr/share/fonts",      "/usr/local/share/fonts", "/etc/fonts",
    "/var/cache/fontconfig", "/usr/share/poppler",
};

int
hk_sandbox_landlock_abi(void)
{
  long abi = syscall(SYS_landlock_create_ruleset, NULL, 0, LANDLOCK_CREATE_RULESET_VERSION);

  return abi > 0 ? (int)abi : 0;
}

char *
hk_sandbox_syscall_name(uint32_t nr)
{
  char *name = seccomp_syscall_resolve_num_arch(SCMP_ARCH_NATIVE, (int)nr);
  char *out = name ? g_strdup(name) : g_strdup_printf("number %u", nr);

  free(name);
  return out;
}

/* ---- in the child ---- */

static int hk_trap_fd = -1;

/* Tell the parent which call was refused, then die of SIGSYS: a second
 * refused call while SIGSYS is blocked (we are in its handler) makes the
 * kernel reset the action to the default and kill the process. */
static void
hk_sigsys(int sig, siginfo_t *si, void *uc)
{
  uint32_t rec[3] = {HK_SANDBOX_TRAPPED, (uint32_t)si->si_syscall, 0};
  ssize_t n = write(hk_trap_fd, rec, sizeof rec);

  (void)sig;
  (void)uc;
  (void)n;
  syscall(SYS_ptrace, 0, 0, 0, 0);
  _exit(126); /* not reached */
}

static int
hk_uint_cmp(const void *a, const void *b)
{
  unsigned x = *(const unsigned *)a, y = *(const unsigned *)b;

  return x < y ? -1 : x > y;
}

/* Close every descriptor but in_fd (if >= 0), out_fd (and stderr if
 * keep_stderr). */
static int
hk_close_others(int in_fd, int out_fd, bool keep_stderr)
{
  unsigned kept[3], n = 0, from = 0;
  int ret = 0;

  kept[n++] = (unsigned)out_fd;
  if (in_fd >= 0)
    kept[n++] = (unsigned)in_fd;
  if (keep_stderr)
    kept[n++] = 2u;
  qsort(kept, n, sizeof kept[0], hk_uint_cmp);
  for (unsigned i = 0; i < n && ret == 0; i++) {
    if (kept[i] > from && close_range(from, kept[i] - 1, 0) != 0)
      ret = -HK_EIO;
    from = MAX(from, kept[i] + 1);
  }
  if (ret == 0 && close_range(from, ~0u, 0) != 0)
    ret = -HK_EIO;
  if (ret == 0)
    goto out;
  /* Kernels before 5.9: walk /proc/self/fd. */
  DIR *d = opendir("/proc/self/fd");
  struct dirent *e;
  if (!d)
    goto out;
  ret = 0;
  while ((e = readdir(d))) {
    int fd = atoi(e->d_name);
    if (e->d_name[0] < '0' || e->d_name[0] > '9' || fd == in_fd || fd == out_fd || fd == dirfd(d) ||
        (keep_stderr && fd == 2))
      continue;
    close(fd);
  }
  closedir(d);
out:
  return ret;
}

/* Landlock: no file access (but the font folders when rendering), no TCP,
 * no signals or abstract sockets out of the domain. 0 if applied or if the
 * kernel has no Landlock. */
static int
hk_landlock(HkSandboxProfile profile, bool *files_ok)
{
  int abi = hk_sandbox_landlock_abi();
  struct hk_landlock_ruleset_attr attr = {0};
  size_t size = sizeof attr.handled_access_fs;
  int rs = -1, ret = 0;

  *files_ok = false;
  if (abi < 1)
    goto out;
  attr.handled_access_fs = (1ull << 13) - 1; /* ABI 1: EXECUTE..MAKE_SYM */
  if (abi >= 2)
    attr.handled_access_fs |= LANDLOCK_ACCESS_FS_REFER;
  if (abi >= 3)
    attr.handled_access_fs |= HK_LL_FS_TRUNCATE;
  if (abi >= 5)
    attr.handled_access_fs |= HK_LL_FS_IOCTL_DEV;
  if (abi >= 4) {
    attr.handled_access_net = HK_LL_NET_BIND_TCP | HK_LL_NET_CONNECT_TCP;
    size = 2 * sizeof(uint64_t);
  }
  if (abi >= 6) {
    attr.scoped = HK_LL_SCOPE_ABSTRACT_UNIX | HK_LL_SCOPE_SIGNAL;
    size = sizeof attr;
  }
  rs = (int)syscall(SYS_landlock_create_ruleset, &attr, size, 0);
  if (rs < 0) {
    ret = -HK_EIO;
    goto out;
  }
  for (size_t i = 0; profile == HK_SANDBOX_RENDER && i < G_N_ELEMENTS(hk_font_dirs); i++) {
    struct landlock_path_beneath_attr pb = {
        .allowed_access = LANDLOCK_ACCESS_FS_READ_FILE | LANDLOCK_ACCESS_FS_READ_DIR,
    };
    pb.parent_fd = open(hk_font_dirs[i], O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (pb.parent_fd < 0)
      continue; /* not installed here */
    if (syscall(SYS_landlock_add_rule, rs, LANDLOCK_RULE_PATH_BENEATH, &pb, 0) != 0)
      ret = -HK_EIO;
    close(pb.parent_fd);
    if (ret)
      goto out;
  }
  if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 ||
      syscall(SYS_landlock_restrict_self, rs, 0) != 0) {
    ret = -HK_EIO;
    goto out;
  }
  *files_ok = profile == HK_SANDBOX_RENDER;
out:
  if (rs >= 0)
    close(rs);
  return ret;
}

/* The system calls a parse needs, found by running the corpus under
 * strace and under this filter with its trap report (docs/reliability.md). */
static const int hk_allowed[] = {
    SCMP_SYS(read),
    SCMP_SYS(close),
    SCMP_SYS(lseek),
    SCMP_SYS(fstat),
    SCMP_SYS(munmap),
    SCMP_SYS(mremap),
    SCMP_SYS(brk),
    SCMP_SYS(madvise),
    SCMP_SYS(futex),
    SCMP_SYS(exit),
    SCMP_SYS(exit_group),
    SCMP_SYS(rt_sigreturn),
    SCMP_SYS(rt_sigprocmask),
    SCMP_SYS(getpid),
    SCMP_SYS(gettid),
    SCMP_SYS(clock_gettime),
    SCMP_SYS(clock_getres),
    SCMP_SYS(gettimeofday),
    SCMP_SYS(clock_nanosleep),
    SCMP_SYS(nanosleep),
    SCMP_SYS(getrandom),
    SCMP_SYS(sched_yield),
    SCMP_SYS(getrusage),
};

#if defined(__SANITIZE_ADDRESS__)
static const int hk_allowed_sanitized[] = {
    SCMP_SYS(sigaltstack),
};
#endif

static int
hk_seccomp(int keep_fd, HkSandboxProfile profile, bool files_ok)
{
  scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_TRAP);
  int rc = ctx ? 0 : -ENOMEM;
  int ret = 0;

  for (size_t i = 0; rc == 0 && i < G_N_ELEMENTS(hk_allowed); i++)
    rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, hk_allowed[i], 0);
  /* Writes only to the result pipe (and stderr: closed in production). */
  if (rc == 0)
    rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(write), 1,
                          SCMP_A0(SCMP_CMP_EQ, (scmp_datum_t)keep_fd));
  if (rc == 0)
    rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(write), 1, SCMP_A0(SCMP_CMP_EQ, 2));
  /* Memory, but never executable: code injected by an exploit cannot be
   * mapped to run (mremap keeps the protection it had). */
  if (rc == 0)
    rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(mmap), 1,
                          SCMP_A2(SCMP_CMP_MASKED_EQ, PROT_EXEC, 0));
  if (rc == 0)
    rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(mprotect), 1,
                          SCMP_A2(SCMP_CMP_MASKED_EQ, PROT_EXEC, 0));
  /* fstat() of a descriptor only (glibc's fstat is newfstatat(fd, "",
   * AT_EMPTY_PATH)); a path to look at is a file access. */
  if (rc == 0)
    rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(newfstatat), 1,
                          SCMP_A3(SCMP_CMP_MASKED_EQ, AT_EMPTY_PATH, AT_EMPTY_PATH));
  if (rc == 0 && profile == HK_SANDBOX_RENDER) {
    /* Fonts: read-only opens, confined to the font folders by Landlock;
     * without Landlock they fail instead (the page is drawn without). */
    const scmp_datum_t wr = O_ACCMODE | O_CREAT | O_TRUNC | O_APPEND | O_PATH | __O_TMPFILE;
    uint32_t act = files_ok ? SCMP_ACT_ALLOW : SCMP_ACT_ERRNO(EACCES);
    rc = seccomp_rule_add(ctx, act, SCMP_SYS(openat), 1, SCMP_A2(SCMP_CMP_MASKED_EQ, wr, 0));
    if (rc == 0)
      rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(fcntl), 0);
    if (rc == 0)
      rc = seccomp_rule_add(ctx, act, SCMP_SYS(newfstatat), 1, SCMP_A3(SCMP_CMP_EQ, 0));
  }
#if defined(__SANITIZE_ADDRESS__)
  /* AddressSanitizer tears down its alternate signal stack at _exit: in
   * sanitizer builds only, never in production. */
  for (size_t i = 0; rc == 0 && i < G_N_ELEMENTS(hk_allowed_sanitized); i++)
    rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, hk_allowed_sanitized[i], 0);
#endif
  if (rc == 0)
    rc = seccomp_load(ctx);
  if (rc != 0)
    ret = -HK_EIO;
  if (ctx)
    seccomp_release(ctx);
  return ret;
}

int
hk_sandbox_enter(int in_fd, int out_fd, HkSandboxProfile profile)
{
#if defined(__SANITIZE_ADDRESS__)
  const bool keep_stderr = true;
#else
  const bool keep_stderr = false;
#endif
  struct sigaction sa = {0};
  bool files_ok = false;
  int ret;

  ret = hk_close_others(in_fd, out_fd, keep_stderr);
  if (ret == 0)
    ret = hk_landlock(profile, &files_ok);
  if (ret == 0) {
    hk_trap_fd = out_fd;
    sa.sa_sigaction = hk_sigsys;
    sa.sa_flags = SA_SIGINFO;
    sigemptyset(&sa.sa_mask);
    if (sigaction(SIGSYS, &sa, NULL) != 0)
      ret = -HK_EIO;
  }
  if (ret == 0)
    ret = hk_seccomp(out_fd, profile, files_ok);
  return ret;
}
