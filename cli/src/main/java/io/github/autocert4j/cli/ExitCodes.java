package io.github.autocert4j.cli;

/**
 * The CLI's exit codes, for scripts (also in {@code autocert4j --help} and docs/operations.md).
 */
public final class ExitCodes {
    /** Done (for {@code renew} without {@code --force}: also when nothing was due). */
    public static final int OK = 0;
    /** The action failed: a dry run failed, the CA refused a revocation, {@code renew --wait} timed out. */
    public static final int FAILED = 1;
    /** Bad usage: unknown option, missing store, bad value. */
    public static final int USAGE = 2;
    /** A named certificate is not in the store. */
    public static final int NOT_FOUND = 3;
    /** The store cannot be read or written (unreachable database, unreadable directory, lock timeout). */
    public static final int STORE = 4;
    /** {@code import} refused the input (expired, mismatched, missing, conflicting): nothing was written. */
    public static final int REFUSED = 5;

    private ExitCodes() {
    }
}
