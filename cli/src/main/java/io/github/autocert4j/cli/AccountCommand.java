package io.github.autocert4j.cli;

import java.net.URI;
import java.nio.file.Path;
import java.util.concurrent.Callable;

import io.github.autocert4j.AcmeAccounts;
import io.github.autocert4j.AcmeCa;
import io.github.autocert4j.IssuanceException;
import io.github.autocert4j.StoreAccounts;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParentCommand;

/**
 * {@code account status|rollover|deactivate|new --ca URL}: the store's ACME account at one CA (docs/security.md, "When
 * a key leaks"). {@code rollover} replaces the account key (crash-safe; running servers adopt it at their next order),
 * {@code deactivate} ends the account (running servers then refuse to order), {@code new} registers a new account after
 * a deactivation.
 */
@Command(mixinStandardHelpOptions = true, name = "account",
        description = "The store's ACME account at a CA: status, rollover (new key), deactivate, new (after deactivate).")
final class AccountCommand implements Callable<Integer> {
    @ParentCommand
    Main main;

    @Parameters(paramLabel = "ACTION", description = "status, rollover, deactivate or new.")
    String action;

    @Option(names = "--ca", required = true, paramLabel = "URL", description = "The CA's ACME directory, e.g. "
            + "https://acme-v02.api.letsencrypt.org/directory.")
    URI ca;

    @Option(names = "--ca-trust", paramLabel = "PEM", description = "PEM file to trust for the CA's HTTPS API (a private CA).")
    Path caTrust;

    @Override
    public Integer call() throws Exception {
        if (!java.util.List.of("status", "rollover", "deactivate", "new").contains(action)) {
            throw new CliException(ExitCodes.USAGE, "unknown action '" + action + "'. Fix: one of status, rollover, deactivate, new");
        }
        AcmeCa target = caTrust == null ? AcmeCa.of(ca) : AcmeCa.of(ca).withServerTrust(caTrust);
        try (Main.OpenStore s = main.openStore()) {
            StoreAccounts account = StoreAccounts.of(s.store(), target);
            try {
                switch (action) {
                    case "rollover" -> main.out.println("account " + account.rolloverKey() + " at " + ca + ": key rolled over");
                    case "deactivate" -> main.out.println("account " + account.deactivate() + " at " + ca
                            + ": deactivated; the servers refuse to order until 'account new'");
                    case "new" -> main.out.println("account " + account.registerNew() + " at " + ca + ": registered");
                    default -> { }
                }
            } catch (IllegalStateException e) {
                throw new CliException(ExitCodes.USAGE, e.getMessage());
            } catch (IssuanceException e) {
                main.err.println("autocert4j: account " + action + " failed: " + e.getMessage());
                return ExitCodes.FAILED;
            }
            AcmeAccounts.Status st = account.status();
            main.out.println("CA: " + st.directory());
            main.out.println("  Account: " + (st.location() == null ? "(none yet)" : st.location()));
            main.out.println("  Key thumbprint: " + (st.keyThumbprint() == null ? "(none yet)" : st.keyThumbprint()));
            main.out.println("  Deactivated: " + (st.deactivatedAt() == null ? "no" : st.deactivatedAt()));
            main.out.println("  Key rollover pending: " + (st.rolloverPending() ? "yes (settled at the next login)" : "no"));
            return ExitCodes.OK;
        }
    }
}
