#ifndef CSPAWN_H
#define CSPAWN_H
#include <sys/types.h>

/* Starts `path` with `argv` and `envp` (both NULL-terminated) through posix_spawn:
 * - descriptors 0, 1 and 2 are opened from the given paths (stdin read-only; stdout and stderr appended,
 *   created 0600 if absent); a NULL path means /dev/null;
 * - every other descriptor is closed in the child, whatever its close-on-exec flag;
 * - the child starts in `cwd` (NULL: the caller's), with no blocked and no ignored signal, and in a new
 *   session when `new_session` is non-zero.
 * Returns 0 and sets *pid, or an errno value. Nothing is ever run through a shell. */
int cspawn_start(pid_t *pid, const char *path, char *const argv[], char *const envp[],
                 const char *stdin_path, const char *stdout_path, const char *stderr_path,
                 const char *cwd, int new_session);

#endif
