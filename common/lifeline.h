/* lifeline.h: a stage dies with the flow that started it, so kill -9 of a flow leaves nothing running. */
#ifndef TV_LIFELINE_H
#define TV_LIFELINE_H

/*
 * A stage gets SIGTERM when its parent dies (PR_SET_PDEATHSIG) and, when a
 * flow exported TV_FLOW_PID, when that flow dies even if a shell subshell
 * stands between them (a pipeline element, a function wrapping a tool).
 * Linux only; elsewhere it does nothing.
 */

/* Ties this process's life to its parent's and its flow's; called by tv_log_init. */
void tv_lifeline(void);

#endif
