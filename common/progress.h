/* progress.h: one updating line on the terminal while a stage runs: documents, bytes, rate, ETA. */
#ifndef TV_PROGRESS_H
#define TV_PROGRESS_H

/*
 * Drawn on stderr when it is a terminal, or on the descriptor TV_PROGRESS_FD
 * names when that is one (a flow whose stages log into files passes its
 * terminal that way); never under -q, in cron or into a file.
 */
struct tv_progress;

/* Returns 1 if a progress line would be drawn, so a caller can skip estimating the total otherwise. */
int tv_progress_wanted(void);
/* Starts a line labelled label, expecting about total documents (0: unknown); NULL if none is wanted. */
struct tv_progress *tv_progress_start(const char *label, unsigned long long total);
/* Counts docs more documents and bytes more bytes; redraws at most four times a second.  p may be NULL. */
void tv_progress_add(struct tv_progress *p, unsigned long long docs, unsigned long long bytes);
/* Erases the line and frees p, so the log line that follows starts clean.  p may be NULL. */
void tv_progress_end(struct tv_progress *p);

#endif
