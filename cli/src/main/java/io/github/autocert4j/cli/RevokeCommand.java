package io.github.autocert4j.cli;

import java.math.BigInteger;
import java.net.URI;
import java.nio.file.Path;
import java.util.concurrent.Callable;

import io.github.autocert4j.AcmeCa;
import io.github.autocert4j.AutoCert;
import io.github.autocert4j.IssuanceException;
import io.github.autocert4j.StoreAdmin;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParentCommand;

/**
 * {@code revoke NAME --reason R}: revokes the stored certificate at the CA that issued it, signed with the store's
 * account for that CA (else the certificate's key). The certificate stays in the store; renew it afterwards
 * ({@code renew NAME --force}) so the servers stop serving the revoked one.
 */
@Command(mixinStandardHelpOptions = true, name = "revoke", description = "Revokes a stored certificate at its CA (the store's account signs). Then run: renew NAME --force")
final class RevokeCommand implements Callable<Integer> {
    @ParentCommand
    Main main;

    @Parameters(paramLabel = "NAME", description = "Certificate id.")
    String name;

    @Option(names = "--reason", required = true, description = "RFC 5280 reason: unspecified, keyCompromise, superseded, "
            + "cessationOfOperation, affiliationChanged, ... (case and '-'/'_' do not matter).")
    String reason;

    @Option(names = "--ca", paramLabel = "URL", description = "The issuing CA's ACME directory (default: Let's Encrypt production or "
            + "staging, whichever issued it). Must be the CA the store says issued it.")
    URI ca;

    @Option(names = "--ca-trust", paramLabel = "PEM", description = "PEM file to trust for the CA's HTTPS API (a private CA).")
    Path caTrust;

    @Option(names = "--with-certificate-key", description = "Sign with the certificate's own key instead of the account "
            + "(the account is lost, deactivated or not trusted).")
    boolean withCertificateKey;

    @Override
    public Integer call() throws Exception {
        try (Main.OpenStore s = main.openStore()) {
            StoreAdmin admin = StoreAdmin.of(s.store());
            StoreAdmin.StoredCertificate c = admin.certificate(name).orElseThrow(() -> new CliException(ExitCodes.NOT_FOUND,
                    "no certificate " + name + " in the store. Fix: see the names with 'certificates'"));
            URI directory = ca;
            if (directory == null) {
                for (URI known : new URI[] {AutoCert.LETS_ENCRYPT_PRODUCTION, AutoCert.LETS_ENCRYPT_STAGING}) {
                    if (StoreAdmin.caId(known).equals(c.issuerId())) {
                        directory = known;
                    }
                }
                if (directory == null) {
                    throw new CliException(ExitCodes.USAGE, name + " was issued by CA " + c.issuerId()
                            + ". Fix: pass its ACME directory with --ca https://...");
                }
            } else if (c.issuerId() != null && !StoreAdmin.caId(directory).equals(c.issuerId())) {
                throw new CliException(ExitCodes.USAGE, name + " was issued by CA " + c.issuerId() + ", not " + directory
                        + ". Fix: pass that CA's directory with --ca");
            }
            AcmeCa target = AcmeCa.of(directory);
            if (caTrust != null) {
                target = target.withServerTrust(caTrust);
            }
            try {
                BigInteger serial = withCertificateKey ? io.github.autocert4j.StoreAccounts.of(s.store(), target).revoke(c.id(), reason, true)
                        : admin.revoke(c.id(), target, reason);
                main.out.println(c.id() + ": serial " + serial.toString(16) + " revoked at " + directory + " (reason " + reason
                        + "). Next: autocert4j renew " + c.id() + " --force, so the servers stop serving it");
                return ExitCodes.OK;
            } catch (IllegalArgumentException e) {
                throw new CliException(ExitCodes.USAGE, e.getMessage());
            } catch (IssuanceException e) {
                main.err.println("autocert4j: revocation failed: " + e.getMessage());
                return ExitCodes.FAILED;
            }
        }
    }
}
