/* help.c: --help prints the program's manual page, one source for both. */

#include <limits.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "help.h"

/* Where the manual pages are installed: $(mandir), given by the build. */
#ifndef TV_MAN_DIR
#define TV_MAN_DIR	"/usr/local/share/man"
#endif

extern char **environ;

int
tv_in_build_tree(void)
{
#ifdef TV_BUILD_TOOLS_DIR
	char exe[PATH_MAX], tools[PATH_MAX], *slash;
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);

	if (n <= 0 || realpath(TV_BUILD_TOOLS_DIR, tools) == NULL)
		return 0;
	exe[n] = '\0';
	if ((slash = strrchr(exe, '/')) != NULL)
		*slash = '\0';
	return strcmp(exe, tools) == 0;
#else
	return 0;
#endif
}

/* Writes the path of prog's page into buf; returns 0, or -1 if it does not fit. */
static int
page_path(const char *prog, int section, char *buf, size_t len)
{
	int n;

#ifdef TV_SOURCE_MAN_DIR
	if (tv_in_build_tree())
		n = snprintf(buf, len, "%s/%s.%d", TV_SOURCE_MAN_DIR, prog, section);
	else
#endif
		n = snprintf(buf, len, "%s/man%d/%s.%d", TV_MAN_DIR, section, prog, section);
	return n >= 0 && (size_t)n < len ? 0 : -1;
}

/* Runs argv with its output on ours; returns 1 if it ran and exited 0. */
static int
run(char *const argv[])
{
	pid_t pid;
	int status;

	fflush(stdout);
	return posix_spawnp(&pid, argv[0], NULL, NULL, argv, environ) == 0 &&
	    waitpid(pid, &status, 0) == pid && WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

int
tv_help_page(const char *prog, int section)
{
	char path[PATH_MAX], sect[8];
	char *groff[] = { "groff", "-mandoc", "-Tutf8", "-Ww", "-P-cbou", "-rLL=80n", path, NULL };
	char *man[] = { "man", "-P", "cat", sect, (char *)prog, NULL };

	snprintf(sect, sizeof(sect), "%d", section);
	if (page_path(prog, section, path, sizeof(path)) == 0 && access(path, R_OK) == 0 && run(groff))
		return 0;
	/* A packaged page is compressed (tv-export.1.gz): man reads it. */
	setenv("MANWIDTH", "80", 0);
	if (run(man))
		return 0;
	printf("\nThe manual page says the rest: man %d %s\n", section, prog);
	return -1;
}
