/* help.h: --help prints the program's manual page, one source for both. */
#ifndef TV_HELP_H
#define TV_HELP_H

/*
 * Writes the manual page of prog (section 1 or 8) to standard output as plain
 * text, rendered by groff: the page beside the sources when prog runs from its
 * build tree, else the installed one.  Returns 0, or -1 after saying where the
 * page is to be read when it cannot be shown (no page, no groff).
 */
int tv_help_page(const char *prog, int section);

/* Returns 1 if this program runs from the build tree it was built in (make check, a developer). */
int tv_in_build_tree(void);

#endif
