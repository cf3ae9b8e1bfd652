/* hk-sandbox.h: confine a parser child (hk-thumbnail.c) before it touches
 * hostile bytes.
 *
 * A parser worker is forked from the indexer (hk-inspect.c), which holds
 * the store's data.mdb open read-write. Before it parses anything it
 *  1. closes every descriptor but its two pipes, requests in and answers
 *     out (close_range, or /proc/self/fd where that is missing);
 *  2. restricts itself with Landlock where the kernel has it: no file
 *     access at all (a PDF thumbnail child may read the font folders,
 *     nothing else), no TCP bind or connect, no signals or abstract Unix
 *     sockets out of its domain;
 *  3. loads a seccomp filter (libseccomp) that allows only what poppler,
 *     cairo, libjpeg-turbo and glib were seen to need on the corpus:
 *     reading, writing its answer pipe, memory, futexes, time, exit. Any other
 *     system call (open, socket, execve, ptrace...) stops the child with
 *     SIGSYS; it first writes the call's number to its pipe so that the
 *     quarantine reason can name it. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

typedef enum {
  /* Parse only (and a JPEG's thumbnail): no file may be opened. */
  HK_SANDBOX_PARSE,
  /* Draw a PDF page: system fonts may be read, read-only, and only in
   * the font folders (Landlock). Without Landlock every open fails with
   * EACCES: thumbnails then lack the text of fonts a PDF does not embed. */
  HK_SANDBOX_RENDER,
} HkSandboxProfile;

/* The first word a worker writes to its answer pipe when the filter stopped it;
 * the second is the system call's number. */
#define HK_SANDBOX_TRAPPED 0x53595343u /* "CSYS" */

/* Confine the calling process (a fresh parser worker, single-threaded).
 * in_fd (if >= 0) and out_fd are the only descriptors left open (and, in
 * sanitizer builds, stderr, where AddressSanitizer reports); out_fd is the
 * only one it may write to.
 * \return 0; -HK_EIO if a step that the kernel offers failed (the caller
 *         must then not parse: it _exits). A missing Landlock is not an
 *         error (hk_sandbox_landlock_abi() says so). */
int hk_sandbox_enter(int in_fd, int out_fd, HkSandboxProfile profile);

/* Landlock's ABI version on this kernel, 0 if it has none. */
int hk_sandbox_landlock_abi(void);

/* The name of system call nr on this machine ("openat"), or its number
 * as text (g_free). */
char *hk_sandbox_syscall_name(uint32_t nr);
