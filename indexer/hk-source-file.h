/* hk-source-file.h: read one file of a source tree (a drop folder, an
 * SS-MIX2 root) without ever leaving the tree or blocking on it.
 *
 * A source folder is written by other systems and, on a shared share, by
 * whoever can write there. Between the walk that found a file and the read
 * that takes it, a file or any folder on its path can be swapped for a
 * symbolic link to somewhere else, or for a FIFO that blocks open() for
 * ever. So every component is resolved relative to a descriptor of the
 * root, never by path: openat2(RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS) where
 * the kernel has it, else one openat(O_DIRECTORY | O_NOFOLLOW) per folder.
 * The file itself is opened O_NOFOLLOW | O_NONBLOCK | O_NOCTTY, and only
 * what fstat() of the open descriptor says is a regular file is read. */
#pragma once

#include <stddef.h>

/* Read the file at path: root followed by the rest (as the walkers build
 * paths, from root as given, relative or absolute), or a relative path
 * below root. root itself may be reached through links (it is the
 * operator's configuration); nothing below it is.
 *
 * \param root    the source folder
 * \param path    the file, below root
 * \param max     refuse files over this many bytes
 * \param data    on success the bytes, NUL-terminated (g_free)
 * \param len     on success their number
 * \param reason  on failure why, naming the file relative to root (g_free)
 * \return 0;
 *         -HK_ENOTFOUND if the file or a folder on its path does not exist;
 *         -HK_EINVAL if it is not a regular file (a symbolic link, FIFO,
 *          socket, device or folder, or a link or non-folder on its path),
 *          or if path is not below root;
 *         -HK_ETOOBIG if it is over max bytes;
 *         -HK_EPERM if it may not be read;
 *         -HK_EIO if reading failed or the file changed size while read. */
int hk_source_file_read(const char *root, const char *path, size_t max, char **data, size_t *len,
                        char **reason);

/* What kind of file mode is, for a reason text: "a FIFO (named pipe)",
 * "a socket", "a character device", "a symbolic link"...; "a regular file"
 * for one. */
const char *hk_source_file_kind(unsigned mode);
