package io.github.autocert4j.cli;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.KeyPair;
import java.security.KeyStore;
import java.security.cert.Certificate;
import java.security.cert.X509Certificate;
import java.util.Base64;
import java.util.concurrent.Callable;

import io.github.autocert4j.StoreAdmin;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParentCommand;

/**
 * {@code export NAME --format pem|pkcs12}: the chain (leaf first) for another tool; the private key only with
 * {@code --include-key} (then written to a file created 0600, never to a terminal unless {@code --out -}).
 */
@Command(mixinStandardHelpOptions = true, name = "export", description = "Writes a stored certificate's chain as PEM or PKCS#12; the private key only with --include-key.")
final class ExportCommand implements Callable<Integer> {
    @ParentCommand
    Main main;

    @Parameters(paramLabel = "NAME", description = "Certificate id.")
    String name;

    @Option(names = "--format", defaultValue = "pem", description = "pem (default) or pkcs12.")
    String format;

    @Option(names = "--include-key", description = "Also export the private key (PEM: first block; PKCS#12: a key entry). Handle the output as a secret.")
    boolean includeKey;

    @Option(names = "--out", paramLabel = "FILE", description = "Write here (created 0600 when it holds a key); '-' or absent: stdout "
            + "(PEM only; with --include-key only as '--out -').")
    String outFile;

    @Option(names = "--password-env", paramLabel = "VAR", defaultValue = "AUTOCERT4J_EXPORT_PASSWORD",
            description = "Environment variable with the PKCS#12 password (default ${DEFAULT-VALUE}); required for pkcs12.")
    String passwordEnv;

    @Override
    public Integer call() throws Exception {
        if (!format.equals("pem") && !format.equals("pkcs12")) {
            throw new CliException(ExitCodes.USAGE, "--format " + format + " is not known. Fix: --format pem or --format pkcs12");
        }
        if (includeKey && outFile == null) {
            throw new CliException(ExitCodes.USAGE, "--include-key writes the private key: give --out FILE (created 0600), or --out - "
                    + "to really print it");
        }
        if (format.equals("pkcs12") && (outFile == null || outFile.equals("-"))) {
            throw new CliException(ExitCodes.USAGE, "PKCS#12 is binary. Fix: --out FILE.p12");
        }
        byte[] bytes;
        try (Main.OpenStore s = main.openStore()) {
            StoreAdmin admin = StoreAdmin.of(s.store());
            StoreAdmin.StoredCertificate c = admin.certificate(name).orElseThrow(() -> new CliException(ExitCodes.NOT_FOUND,
                    "no certificate " + name + " in the store. Fix: see the names with 'certificates'"));
            if (format.equals("pem")) {
                StringBuilder pem = new StringBuilder();
                if (includeKey) {
                    pem.append(new String(admin.privateKeyPem(c.id()).orElseThrow(), StandardCharsets.US_ASCII));
                }
                for (X509Certificate x : c.chain()) {
                    pem.append("-----BEGIN CERTIFICATE-----\n")
                            .append(Base64.getMimeEncoder(64, "\n".getBytes(StandardCharsets.US_ASCII)).encodeToString(x.getEncoded()))
                            .append("\n-----END CERTIFICATE-----\n");
                }
                bytes = pem.toString().getBytes(StandardCharsets.US_ASCII);
            } else {
                String password = main.env.get(passwordEnv);
                if (password == null || password.isEmpty()) {
                    throw new CliException(ExitCodes.USAGE, "no PKCS#12 password: set the environment variable " + passwordEnv);
                }
                KeyStore ks = KeyStore.getInstance("PKCS12");
                ks.load(null, null);
                if (includeKey) {
                    KeyPair kp = admin.keyPair(c.id()).orElseThrow();
                    ks.setKeyEntry(c.id(), kp.getPrivate(), password.toCharArray(), c.chain().toArray(new Certificate[0]));
                } else {
                    for (int i = 0; i < c.chain().size(); i++) {
                        ks.setCertificateEntry(i == 0 ? c.id() : c.id() + "-chain-" + i, c.chain().get(i));
                    }
                }
                ByteArrayOutputStream buf = new ByteArrayOutputStream();
                ks.store(buf, password.toCharArray());
                bytes = buf.toByteArray();
            }
        }
        if (outFile == null || outFile.equals("-")) {
            main.out.print(new String(bytes, StandardCharsets.US_ASCII));
            main.out.flush();
        } else {
            Path p = Path.of(outFile);
            Files.deleteIfExists(p);
            try {
                Files.createFile(p, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString(includeKey ? "rw-------" : "rw-r--r--")));
            } catch (UnsupportedOperationException notPosix) {
                Files.createFile(p);
            }
            Files.write(p, bytes, StandardOpenOption.TRUNCATE_EXISTING);
            main.err.println("autocert4j: wrote " + p + (includeKey ? " (with the private key, mode 0600)" : ""));
        }
        return ExitCodes.OK;
    }
}
