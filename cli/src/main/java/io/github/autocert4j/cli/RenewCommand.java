package io.github.autocert4j.cli;

import java.math.BigInteger;
import java.net.URI;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.Callable;

import io.github.autocert4j.AcmeCa;
import io.github.autocert4j.AutoCert;
import io.github.autocert4j.DryRunResult;
import io.github.autocert4j.StoreAdmin;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParentCommand;

/**
 * {@code renew}: asks the running servers to renew, through the store (a renewal request each server sharing
 * the store notices; the fleet orders once), or with {@code --dry-run} proves renewal would work against a
 * test CA. Without {@code --force} only certificates in their renewal window (the last third of their
 * lifetime, the last half for short-lived ones: the servers' default) are asked for.
 */
@Command(mixinStandardHelpOptions = true, name = "renew", description = "Asks the running servers to renew certificates (through the store: a fleet renews once), "
        + "or with --dry-run orders test certificates from the staging CA through the servers' challenge path.")
final class RenewCommand implements Callable<Integer> {
    @ParentCommand
    Main main;

    @Parameters(paramLabel = "NAME", arity = "0..*", description = "Certificate ids (default: all in the store).")
    List<String> names = new ArrayList<>();

    @Option(names = "--force", description = "Renew even if not due (certbot's --force-renewal).")
    boolean force;

    @Option(names = "--dry-run", description = "Order throw-away test certificates from --ca instead; writes only the short-lived "
            + "http-01 challenge entries the servers answer from.")
    boolean dryRun;

    @Option(names = "--ca", paramLabel = "URL", description = "Test CA of --dry-run (default Let's Encrypt staging).")
    URI ca;

    @Option(names = "--ca-trust", paramLabel = "PEM", description = "PEM file to trust for the test CA's HTTPS API (a private CA).")
    Path caTrust;

    @Option(names = "--wait", paramLabel = "SECONDS", defaultValue = "0",
            description = "Wait up to this long until every requested certificate is replaced in the store (exit 1 if not); 0: do not wait.")
    long waitSeconds;

    @Override
    public Integer call() throws Exception {
        try (Main.OpenStore s = main.openStore()) {
            StoreAdmin admin = StoreAdmin.of(s.store());
            List<StoreAdmin.StoredCertificate> all = admin.certificates();
            List<StoreAdmin.StoredCertificate> chosen = new ArrayList<>();
            if (names.isEmpty()) {
                chosen.addAll(all);
            } else {
                for (String n : names) {
                    Optional<StoreAdmin.StoredCertificate> c = all.stream().filter(x -> x.id().equalsIgnoreCase(n)).findFirst()
                            .or(() -> all.stream().filter(x -> x.names().stream().anyMatch(n::equalsIgnoreCase)).findFirst());
                    if (c.isEmpty()) {
                        throw new CliException(ExitCodes.NOT_FOUND, "no certificate " + n + " in the store. Fix: see the names with 'certificates'");
                    }
                    chosen.add(c.get());
                }
            }
            if (dryRun) {
                return dryRun(admin, chosen);
            }
            Instant now = main.clock.instant();
            Map<String, BigInteger> requested = new LinkedHashMap<>();
            for (StoreAdmin.StoredCertificate c : chosen) {
                // The servers' default rule: the last third of the lifetime, the last half for short-lived (<= 10 days) ones.
                Duration lifetime = Duration.between(c.notBefore(), c.notAfter());
                boolean due = !now.isBefore(c.notAfter().minus(lifetime.dividedBy(lifetime.compareTo(Duration.ofDays(10)) <= 0 ? 2 : 3)));
                if (!force && !due) {
                    main.out.println(c.id() + ": not due yet (expires " + c.notAfter() + ", " + c.daysLeft(now)
                            + " days left); skipped. Use --force to renew anyway");
                    continue;
                }
                admin.requestRenewal(c.id(), "autocert4j-cli " + System.getProperty("user.name", "?"), now);
                requested.put(c.id(), c.serial());
                main.out.println(c.id() + ": renewal requested (replacing serial " + c.serial().toString(16)
                        + "); the running servers renew it");
            }
            if (waitSeconds <= 0 || requested.isEmpty()) {
                return ExitCodes.OK;
            }
            long deadline = System.nanoTime() + Duration.ofSeconds(waitSeconds).toNanos();
            while (true) {
                List<String> pending = new ArrayList<>();
                for (Map.Entry<String, BigInteger> e : requested.entrySet()) {
                    Optional<StoreAdmin.StoredCertificate> c = admin.certificate(e.getKey());
                    if (c.isEmpty() || c.get().serial().equals(e.getValue())) {
                        pending.add(e.getKey());
                    } else {
                        main.out.println(e.getKey() + ": renewed (serial " + c.get().serial().toString(16) + ", expires " + c.get().notAfter() + ")");
                    }
                }
                requested.keySet().retainAll(pending);
                if (requested.isEmpty()) {
                    return ExitCodes.OK;
                }
                if (System.nanoTime() > deadline) {
                    main.err.println("autocert4j: not renewed within " + waitSeconds + " s: " + String.join(", ", requested.keySet())
                            + ". Fix: check that a server using this store is running, and its log (lastError in its status)");
                    return ExitCodes.FAILED;
                }
                Thread.sleep(250);
            }
        }
    }

    private int dryRun(StoreAdmin admin, List<StoreAdmin.StoredCertificate> chosen) throws Exception {
        AcmeCa testCa = AcmeCa.of(ca != null ? ca : AutoCert.LETS_ENCRYPT_STAGING);
        if (caTrust != null) {
            testCa = testCa.withServerTrust(caTrust);
        }
        List<List<String>> certs = chosen.stream().map(StoreAdmin.StoredCertificate::names).toList();
        DryRunResult r;
        try {
            r = admin.dryRun(testCa, certs, Duration.ofMinutes(2));
        } catch (IllegalArgumentException e) {
            throw new CliException(ExitCodes.USAGE, e.getMessage());
        }
        for (DryRunResult.Outcome o : r.outcomes()) {
            main.out.println(String.join(" ", o.names()) + ": " + (o.succeeded() ? "dry run succeeded (test serial "
                    + o.serial().toString(16) + ", discarded)" : "dry run FAILED: " + o.failure().getMessage()));
        }
        main.out.println(r.succeeded() ? "Congratulations, all simulated renewals succeeded at " + r.directory()
                : "Some simulated renewals failed at " + r.directory());
        return r.succeeded() ? ExitCodes.OK : ExitCodes.FAILED;
    }
}
