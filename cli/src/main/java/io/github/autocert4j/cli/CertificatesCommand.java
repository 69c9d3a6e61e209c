package io.github.autocert4j.cli;

import java.time.Instant;
import java.util.List;
import java.util.concurrent.Callable;

import io.github.autocert4j.StoreAdmin;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParentCommand;

/** {@code certificates}: like {@code certbot certificates}, every stored certificate; {@code --json} for scripts. Never locks. */
@Command(mixinStandardHelpOptions = true, name = "certificates", description = "Lists every certificate in the store: names, serial, issuer, validity, days left, "
        + "profile, ARI window (when the CA offers ARI), pending renewal request.")
final class CertificatesCommand implements Callable<Integer> {
    @ParentCommand
    Main main;

    @Option(names = "--json", description = "One JSON object {\"certificates\": [...]} on stdout.")
    boolean json;

    @Override
    public Integer call() throws Exception {
        List<StoreAdmin.StoredCertificate> all;
        try (Main.OpenStore s = main.openStore()) {
            all = StoreAdmin.of(s.store()).certificates();
        }
        Instant now = main.clock.instant();
        if (json) {
            Json j = new Json();
            j.beginObject().name("store").value(main.storeDir != null ? main.storeDir.toString() : "postgresql").name("certificates").beginArray();
            for (StoreAdmin.StoredCertificate c : all) {
                j.beginObject().name("id").value(c.id()).name("names").beginArray();
                c.names().forEach(j::value);
                j.endArray().name("serial").value(c.serial().toString(16)).name("issuer").value(c.issuerDn())
                        .name("issuerId").value(c.issuerId()).name("profile").value(c.profile())
                        .name("notBefore").value(c.notBefore().toString()).name("notAfter").value(c.notAfter().toString())
                        .name("daysLeft").value(c.daysLeft(now)).name("expired").value(!now.isBefore(c.notAfter()))
                        .name("storedAt").value(c.storedAt() == null ? null : c.storedAt().toString())
                        .name("renewalRequested").value(c.renewalRequest().map(r -> r.requestedAt() == null ? "" : r.requestedAt().toString()).orElse(null))
                        .name("renewalPending").value(c.renewalPending())
                        .name("ariWindowStart").value(c.ari().map(a -> a.start().toString()).orElse(null))
                        .name("ariWindowEnd").value(c.ari().map(a -> a.end().toString()).orElse(null))
                        .name("ariChosen").value(c.ari().map(a -> a.chosen().toString()).orElse(null)).endObject();
            }
            j.endArray().endObject();
            main.out.println(j);
            return ExitCodes.OK;
        }
        if (all.isEmpty()) {
            main.out.println("No certificates found.");
            return ExitCodes.OK;
        }
        main.out.println("Found the following certificates:");
        for (StoreAdmin.StoredCertificate c : all) {
            long days = c.daysLeft(now);
            main.out.println("  Certificate Name: " + c.id());
            main.out.println("    Serial Number: " + c.serial().toString(16));
            main.out.println("    Domains: " + String.join(" ", c.names()));
            main.out.println("    Issuer: " + c.issuerDn() + (c.issuerId() == null ? "" : " (CA " + c.issuerId() + ")"));
            main.out.println("    Valid From: " + c.notBefore());
            main.out.println("    Expiry Date: " + c.notAfter() + (now.isBefore(c.notAfter()) ? " (VALID: " + days + " days)" : " (INVALID: EXPIRED)"));
            if (c.profile() != null) {
                main.out.println("    Profile: " + c.profile());
            }
            if (c.storedAt() != null) {
                main.out.println("    Stored At: " + c.storedAt());
            }
            c.ari().ifPresent(a -> main.out.println("    ARI Window: " + a.start() + " .. " + a.end() + " (renewal picked at " + a.chosen() + ")"));
            c.renewalRequest().ifPresent(r -> main.out.println("    Renewal Requested: " + r.requestedAt() + " by " + r.requestedBy()
                    + (c.renewalPending() ? " (pending)" : " (done)")));
        }
        return ExitCodes.OK;
    }
}
