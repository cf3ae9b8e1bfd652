/* Unit tests of hk-config: options from a key file given with --config, the
 * command line winning over it, and usage errors (bad values, unknown
 * options, an unreadable file). --help and --version exit the process, so
 * they are left to the programs' integration tests. */
#include "hk-config.h"
#include "hk-error.h"
#include "hk-test.h"

#include <stdarg.h>
#include <string.h>

#define PROG "hikae-test"

static char *tmp;
static int opt_port;
static char *opt_store;
static char *opt_name;
static gboolean opt_verbose;
static double opt_ratio;
static char **opt_tags;

static const GOptionEntry entries[] = {
    {"port", 'p', 0, G_OPTION_ARG_INT, &opt_port, "Port", "N"},
    {"store", 0, 0, G_OPTION_ARG_FILENAME, &opt_store, "Store folder", "DIR"},
    {"name", 0, 0, G_OPTION_ARG_STRING, &opt_name, "Name", "TEXT"},
    {"verbose", 'v', 0, G_OPTION_ARG_NONE, &opt_verbose, "Say more", NULL},
    {"ratio", 0, 0, G_OPTION_ARG_DOUBLE, &opt_ratio, "Ratio", "R"},
    {"tag", 0, 0, G_OPTION_ARG_STRING_ARRAY, &opt_tags, "Tag", "T"},
    {NULL},
};

static void
setup(void)
{
  tmp = hk_test_mkdtemp("config");
  opt_port = 443;
  opt_store = NULL;
  opt_name = NULL;
  opt_verbose = FALSE;
  opt_ratio = 0;
  opt_tags = NULL;
}

static void
teardown(void)
{
  hk_test_rmtree(tmp);
  g_free(tmp);
  g_free(opt_store);
  g_free(opt_name);
  g_strfreev(opt_tags);
}

static char *
write_config(const char *text)
{
  char *path = g_build_filename(tmp, "hikae.conf", NULL);

  ck_assert(g_file_set_contents(path, text, -1, NULL));
  return path;
}

/* Parse a NULL-terminated argument list (argv[0] is added); *left receives
 * the arguments GOption left over, joined by spaces. */
static int
parse(char **left, ...)
{
  GPtrArray *owned = g_ptr_array_new_with_free_func(g_free);
  char **argv;
  int argc, ret;
  va_list ap;
  const char *a;

  g_ptr_array_add(owned, g_strdup(PROG));
  va_start(ap, left);
  while ((a = va_arg(ap, const char *)))
    g_ptr_array_add(owned, g_strdup(a));
  va_end(ap);
  /* GOption rearranges argv; keep our own list of what to free. */
  argc = (int)owned->len;
  argv = g_new0(char *, owned->len + 1);
  memcpy(argv, owned->pdata, owned->len * sizeof *argv);
  ret = hk_config_parse(PROG, "- test", "A test program.", entries, &argc, &argv);
  if (left) {
    argv[argc] = NULL;
    *left = g_strjoinv(" ", argv);
  }
  g_free(argv);
  g_ptr_array_unref(owned);
  return ret;
}

START_TEST(test_key_file)
{
  char *conf = write_config("# hikae-test settings\n"
                            "[" PROG "]\n"
                            "port=8443\n"
                            "store=/var/lib/hikae/store\n"
                            "name=山田 病院\n"
                            "verbose=true\n"
                            "ratio=0.25\n"
                            "tag=a;b;\n"
                            "[other-program]\n"
                            "port=1\n");
  char *left = NULL;

  ck_assert_int_eq(parse(&left, "--config", conf, "extra", NULL), 0);
  ck_assert_int_eq(opt_port, 8443);
  ck_assert_pstr_eq(opt_store, "/var/lib/hikae/store");
  ck_assert_pstr_eq(opt_name, "山田 病院");
  ck_assert(opt_verbose);
  ck_assert_double_eq_tol(opt_ratio, 0.25, 1e-12);
  ck_assert_ptr_nonnull(opt_tags);
  ck_assert_uint_eq(g_strv_length(opt_tags), 2);
  ck_assert_str_eq(opt_tags[0], "a");
  ck_assert_str_eq(opt_tags[1], "b");
  /* --config and its value are consumed; positional arguments remain. */
  ck_assert_str_eq(left, PROG " extra");
  g_free(left);
  g_free(conf);
}
END_TEST

START_TEST(test_key_file_equals_form)
{
  char *conf = write_config("[" PROG "]\nport=8443\n");
  char *arg = g_strconcat("--config=", conf, NULL);

  ck_assert_int_eq(parse(NULL, arg, NULL), 0);
  ck_assert_int_eq(opt_port, 8443);
  /* Options the file does not name keep their defaults. */
  ck_assert_ptr_null(opt_store);
  ck_assert(!opt_verbose);
  g_free(arg);
  g_free(conf);
}
END_TEST

START_TEST(test_command_line_wins)
{
  char *conf = write_config("[" PROG "]\nport=8443\nstore=/from/file\nname=file\nverbose=false\n");

  /* Whether the option comes before or after --config. */
  ck_assert_int_eq(parse(NULL, "--port", "9000", "--config", conf, "--store=/from/cli", "-v", NULL),
                   0);
  ck_assert_int_eq(opt_port, 9000);
  ck_assert_pstr_eq(opt_store, "/from/cli");
  ck_assert_pstr_eq(opt_name, "file");
  ck_assert(opt_verbose);
  g_free(conf);
}
END_TEST

START_TEST(test_no_config)
{
  char *left = NULL;

  ck_assert_int_eq(parse(&left, "-p", "8080", "--name", "x", "--", "--port", NULL), 0);
  ck_assert_int_eq(opt_port, 8080);
  ck_assert_pstr_eq(opt_name, "x");
  ck_assert_ptr_null(opt_store);
  /* After "--" nothing is an option. */
  ck_assert_ptr_nonnull(strstr(left, "--port"));
  g_free(left);
}
END_TEST

START_TEST(test_bad_values)
{
  char *conf;

  conf = write_config("[" PROG "]\nport=eighty\n");
  ck_assert_int_eq(parse(NULL, "--config", conf, NULL), -HK_EINVAL);
  g_free(conf);
  conf = write_config("[" PROG "]\nverbose=perhaps\n");
  ck_assert_int_eq(parse(NULL, "--config", conf, NULL), -HK_EINVAL);
  g_free(conf);
  conf = write_config("[" PROG "]\nratio=half\n");
  ck_assert_int_eq(parse(NULL, "--config", conf, NULL), -HK_EINVAL);
  g_free(conf);
  ck_assert_int_eq(parse(NULL, "--port", "eighty", NULL), -HK_EINVAL);
  ck_assert_int_eq(parse(NULL, "--port", NULL), -HK_EINVAL);
  ck_assert_int_eq(parse(NULL, "--ratio", "x", NULL), -HK_EINVAL);
}
END_TEST

START_TEST(test_unreadable_config)
{
  char *missing = g_build_filename(tmp, "missing.conf", NULL);
  char *conf;

  ck_assert_int_eq(parse(NULL, "--config", missing, NULL), -HK_EIO);
  /* Not a key file at all. */
  conf = write_config("port = 8443 but no group\n");
  ck_assert_int_eq(parse(NULL, "--config", conf, NULL), -HK_EIO);
  g_free(conf);
  /* A folder is not a file. */
  ck_assert_int_eq(parse(NULL, "--config", tmp, NULL), -HK_EIO);
  g_free(missing);
}
END_TEST

START_TEST(test_unknown_option)
{
  char *conf = write_config("[" PROG "]\nport=8443\n");

  ck_assert_int_eq(parse(NULL, "--no-such-option", NULL), -HK_EINVAL);
  ck_assert_int_eq(parse(NULL, "-Z", NULL), -HK_EINVAL);
  ck_assert_int_eq(parse(NULL, "--config", conf, "--bogus=1", NULL), -HK_EINVAL);
  /* --config needs a value. */
  ck_assert_int_eq(parse(NULL, "--config", NULL), -HK_EINVAL);
  ck_assert_int_eq(hk_usage_error(PROG, "%s", "a usage error"), 2);
  g_free(conf);
}
END_TEST

static Suite *
config_suite(void)
{
  Suite *s = suite_create("config");
  TCase *tc = tcase_create("config");

  tcase_add_checked_fixture(tc, setup, teardown);
  tcase_add_test(tc, test_key_file);
  tcase_add_test(tc, test_key_file_equals_form);
  tcase_add_test(tc, test_command_line_wins);
  tcase_add_test(tc, test_no_config);
  tcase_add_test(tc, test_bad_values);
  tcase_add_test(tc, test_unreadable_config);
  tcase_add_test(tc, test_unknown_option);
  suite_add_tcase(s, tc);
  return s;
}

int
main(void)
{
  return hk_test_run(config_suite());
}
