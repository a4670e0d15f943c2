/* statedir.h: where this host keeps its state (run lock, circuit breaker, run records), decided once. */
#ifndef TV_STATEDIR_H
#define TV_STATEDIR_H

/*
 * The state directory is BACKUP_STATE_DIR (or appsettings.json's
 * BackupWorker:StateDirectory), default /var/lib/tralivali-backup; a user who
 * cannot write there gets ${XDG_STATE_HOME:-$HOME/.local/state}/tralivali-backup.
 * Scripts learn it from `tv-state --dir`, never by deciding it themselves.
 */

/* Returns the state directory, created if missing, or NULL (logged) if no candidate is writable. */
const char *tv_state_dir(void);
/* Returns the path of the lock that keeps backups, restores and retention from overlapping, or NULL. */
const char *tv_state_lock_path(void);
/*
 * Takes the run lock for the life of the process, recording holder as its owner;
 * a child of a lock holder (TV_LOCK_HELD set) skips it.  Returns 0, or 75 after
 * logging who holds it.
 */
int tv_state_lock(const char *holder);

/* Returns this host's name, for lock owners: two hosts may share a state directory on NFS. */
const char *tv_host_name(void);

#endif
