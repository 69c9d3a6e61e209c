package io.github.autocert4j.cli;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.Map;

import javax.sql.DataSource;

import org.postgresql.ds.PGSimpleDataSource;

import io.github.autocert4j.CertStore;
import io.github.autocert4j.FileCertStore;
import io.github.autocert4j.postgres.PostgresCertStore;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code autocert4j}: the operator's command line on the certificate store the servers share (a directory, or
 * a PostgreSQL database). Read-only unless the command is one that writes ({@code renew}, {@code revoke}
 * marks nothing but talks to the CA, {@code import}); it never prints a private key unless asked
 * ({@code export --include-key}). See docs/operations.md for every command and the exit codes
 * ({@link ExitCodes}).
 *
 * <pre>
 * java -jar autocert4j-cli-all.jar --store /var/lib/myapp/certs certificates
 * AUTOCERT4J_JDBC_URL=jdbc:postgresql://db/app AUTOCERT4J_DB_USER=app AUTOCERT4J_DB_PASSWORD=... \
 *     java -jar autocert4j-cli-all.jar renew example.com --force --wait 120
 * </pre>
 */
@Command(name = "autocert4j", mixinStandardHelpOptions = true, version = "autocert4j-cli 0.1.0",
        description = "Looks at and acts on the certificates in an autocert4j store (files or PostgreSQL).",
        subcommands = {CertificatesCommand.class, RenewCommand.class, RevokeCommand.class, ExportCommand.class, ImportCommand.class,
            AccountCommand.class},
        exitCodeListHeading = "%nExit codes:%n",
        exitCodeList = {"0:done", "1:the action failed (dry run, revocation, --wait timed out)", "2:bad usage",
            "3:no such certificate", "4:the store cannot be read or written", "5:import refused; the store is unchanged"})
public final class Main {

    @Option(names = "--store", paramLabel = "DIR", description = "Directory of a file store (env AUTOCERT4J_STORE).")
    Path storeDir;

    @Option(names = "--jdbc-url", paramLabel = "URL", description = "JDBC URL of a PostgreSQL store, e.g. jdbc:postgresql://db:5432/app (env AUTOCERT4J_JDBC_URL).")
    String jdbcUrl;

    @Option(names = "--db-user", paramLabel = "USER", description = "Database user (env AUTOCERT4J_DB_USER).")
    String dbUser;

    @Option(names = "--db-password-env", paramLabel = "VAR", defaultValue = "AUTOCERT4J_DB_PASSWORD",
            description = "Environment variable holding the database password (default ${DEFAULT-VALUE}); never an option, so it stays out of ps and shell history.")
    String dbPasswordEnv;

    @Option(names = "--table-prefix", paramLabel = "PREFIX", defaultValue = "autocert4j_", description = "Table prefix of the PostgreSQL store (default ${DEFAULT-VALUE}).")
    String tablePrefix;

    @Option(names = "--lock-timeout", defaultValue = "60", paramLabel = "SECONDS",
            description = "How long a write waits for a store lock a server holds (an order in progress), default ${DEFAULT-VALUE} s.")
    long lockTimeoutSeconds;

    final Map<String, String> env;
    final PrintWriter out;
    final PrintWriter err;
    final Clock clock;

    Main(Map<String, String> env, PrintWriter out, PrintWriter err, Clock clock) {
        this.env = env;
        this.out = out;
        this.err = err;
        this.clock = clock;
    }

    /** Runs the command line. */
    public static void main(String[] args) {
        System.exit(run(args, System.getenv(), new PrintWriter(System.out, true), new PrintWriter(System.err, true), Clock.systemUTC()));
    }

    /**
     * Runs {@code args} with {@code env} as the environment, printing to {@code out} and {@code err}; returns the
     * exit code ({@link ExitCodes}). What {@link #main} calls; tests call it in-process.
     */
    public static int run(String[] args, Map<String, String> env, PrintWriter out, PrintWriter err, Clock clock) {
        Main main = new Main(env, out, err, clock);
        CommandLine cl = new CommandLine(main);
        cl.setOut(out);
        cl.setErr(err);
        cl.setExecutionExceptionHandler((e, commandLine, parseResult) -> {
            if (e instanceof CliException c) {
                err.println("autocert4j: " + c.getMessage());
                return c.exitCode;
            }
            if (e instanceof CertStore.UnavailableException || e instanceof IOException) {
                err.println("autocert4j: the store failed: " + e.getMessage());
                return ExitCodes.STORE;
            }
            err.println("autocert4j: unexpected error: " + e);
            return ExitCodes.FAILED;
        });
        int code = cl.execute(args);
        out.flush();
        err.flush();
        return code;
    }

    /** Opens the store named by the options or the environment; the caller closes it ({@link OpenStore}). */
    OpenStore openStore() throws CliException {
        Path dir = storeDir != null ? storeDir : env.get("AUTOCERT4J_STORE") == null ? null : Path.of(env.get("AUTOCERT4J_STORE"));
        String url = jdbcUrl != null ? jdbcUrl : env.get("AUTOCERT4J_JDBC_URL");
        if (dir != null && url != null) {
            throw new CliException(ExitCodes.USAGE, "both a file store (" + dir + ") and a PostgreSQL store (" + url
                    + ") are given. Fix: pass only --store or only --jdbc-url (and unset the other's environment variable)");
        }
        if (dir != null) {
            if (!Files.isDirectory(dir)) {
                throw new CliException(ExitCodes.STORE, "the file store " + dir + " is not a directory. Fix: pass the directory the "
                        + "servers give FileCertStore.of(...)");
            }
            return new OpenStore(FileCertStore.of(dir, Duration.ofSeconds(lockTimeoutSeconds)), () -> { });
        }
        if (url != null) {
            if (!url.startsWith("jdbc:postgresql:")) {
                throw new CliException(ExitCodes.USAGE, "--jdbc-url " + url + " is not a PostgreSQL JDBC URL. Fix: jdbc:postgresql://HOST:PORT/DATABASE");
            }
            PGSimpleDataSource ds = new PGSimpleDataSource();
            ds.setUrl(url);
            String user = dbUser != null ? dbUser : env.get("AUTOCERT4J_DB_USER");
            if (user != null) {
                ds.setUser(user);
            }
            String password = env.get(dbPasswordEnv);
            if (password != null) {
                ds.setPassword(password);
            }
            ds.setConnectTimeout(10);
            ds.setApplicationName("autocert4j-cli");
            PostgresCertStore store = PostgresCertStore.builder((DataSource) ds).tablePrefix(tablePrefix)
                    .lockTimeout(Duration.ofSeconds(lockTimeoutSeconds)).build();
            return new OpenStore(store, store::close);
        }
        throw new CliException(ExitCodes.USAGE, "no store given. Fix: --store DIR (a file store) or --jdbc-url jdbc:postgresql://... "
                + "(or the environment variables AUTOCERT4J_STORE / AUTOCERT4J_JDBC_URL)");
    }

    /** An open store and how to close it. */
    record OpenStore(CertStore store, Runnable closer) implements AutoCloseable {
        @Override
        public void close() {
            closer.run();
        }
    }
}
