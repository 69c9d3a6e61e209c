package io.github.autocert4j.cli;

import java.io.IOException;
import java.io.StringReader;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPair;
import java.security.PrivateKey;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.Callable;
import java.util.stream.Stream;

import org.bouncycastle.asn1.pkcs.PrivateKeyInfo;
import org.bouncycastle.openssl.PEMKeyPair;
import org.bouncycastle.openssl.PEMParser;
import org.bouncycastle.openssl.jcajce.JcaPEMKeyConverter;
import org.jose4j.json.JsonUtil;
import org.jose4j.jwk.JsonWebKey;
import org.jose4j.jwk.PublicJsonWebKey;

import io.github.autocert4j.CertStore;
import io.github.autocert4j.StoreAdmin;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParentCommand;

/**
 * {@code import certbot [DIR]}: moves certbot's certificates and ACME accounts into the store without a new
 * order. For every lineage in {@code DIR/renewal/*.conf} it reads {@code live/NAME/privkey.pem} and
 * {@code fullchain.pem} (symlinks into {@code archive/}), the CA ({@code server}) and the account id
 * ({@code account}) from the renewal file, and the account's key ({@code accounts/.../ID/private_key.json}, a
 * JWK) and location ({@code regr.json}'s {@code uri}). Everything is checked before anything is written: an
 * expired certificate, a key that does not belong to its certificate, a missing file, or a conflict with
 * what the store already holds refuses the whole import (exit 5) and the store stays as it was. A write that
 * fails half-way is rolled back to the bytes that were there before.
 */
@Command(mixinStandardHelpOptions = true, name = "import", description = "Imports certificates, keys and ACME accounts from another tool (today: certbot) into the store.",
        subcommands = ImportCommand.Certbot.class)
final class ImportCommand {
    @ParentCommand
    Main main;

    /** {@code import certbot [DIR]}. */
    @Command(mixinStandardHelpOptions = true, name = "certbot", description = "Imports certbot's live/, archive/ and accounts/ (default /etc/letsencrypt): each "
            + "certificate with its key and CA, and each account (key + URL per CA), so the servers serve them at once and renew "
            + "them on schedule without a new order. All or nothing.")
    static final class Certbot implements Callable<Integer> {
        @ParentCommand
        ImportCommand parent;

        @Parameters(paramLabel = "DIR", arity = "0..1", defaultValue = "/etc/letsencrypt", description = "certbot's config directory (default ${DEFAULT-VALUE}).")
        Path dir;

        @Option(names = "--only", paramLabel = "NAME", split = ",", description = "Import only these lineages (certbot's certificate names).")
        List<String> only;

        @Option(names = "--replace", description = "Replace certificates the store already holds under the same id (default: refuse).")
        boolean replace;

        @Option(names = "--check", description = "Check everything and report what would be imported; write nothing.")
        boolean check;

        /** One lineage, read and checked. */
        private record Lineage(String name, List<String> names, PrivateKey key, List<X509Certificate> chain, URI server,
                               String accountId) {
        }

        /** One account, read. */
        private record Account(URI server, KeyPair key, URI location) {
        }

        @Override
        public Integer call() throws Exception {
            Main main = parent.main;
            Instant now = main.clock.instant();
            List<String> problems = new ArrayList<>();
            if (!Files.isDirectory(dir.resolve("renewal")) || !Files.isDirectory(dir.resolve("live"))) {
                throw new CliException(ExitCodes.REFUSED, dir + " is not a certbot directory (no renewal/ or live/). Fix: pass certbot's "
                        + "--config-dir (default /etc/letsencrypt); nothing was imported");
            }
            List<Lineage> lineages = new ArrayList<>();
            Map<String, Account> accounts = new LinkedHashMap<>();
            List<Path> confs;
            try (Stream<Path> s = Files.list(dir.resolve("renewal"))) {
                confs = s.filter(p -> p.getFileName().toString().endsWith(".conf")).sorted().toList();
            }
            for (Path conf : confs) {
                String name = conf.getFileName().toString().replaceFirst("\\.conf$", "");
                if (only != null && !only.contains(name)) {
                    continue;
                }
                try {
                    Lineage l = readLineage(name, conf, now, problems);
                    if (l != null) {
                        lineages.add(l);
                        if (l.accountId() != null && !accounts.containsKey(l.accountId())) {
                            Account a = readAccount(l.accountId(), l.server(), problems);
                            if (a != null) {
                                accounts.put(l.accountId(), a);
                            }
                        }
                    }
                } catch (IOException | RuntimeException e) {
                    problems.add(name + ": cannot read it: " + e.getMessage());
                }
            }
            if (only != null) {
                for (String o : only) {
                    if (lineages.stream().noneMatch(l -> l.name().equals(o)) && problems.stream().noneMatch(p -> p.startsWith(o + ":"))) {
                        problems.add(o + ": no renewal/" + o + ".conf in " + dir);
                    }
                }
            }
            if (lineages.isEmpty() && problems.isEmpty()) {
                problems.add("no certificates in " + dir.resolve("renewal"));
            }
            try (Main.OpenStore s = main.openStore()) {
                StoreAdmin admin = StoreAdmin.of(s.store());
                for (Lineage l : lineages) {
                    Optional<StoreAdmin.StoredCertificate> existing = admin.certificate(l.names().get(0));
                    if (existing.isPresent() && !existing.get().serial().equals(l.chain().get(0).getSerialNumber()) && !replace) {
                        problems.add(l.name() + ": the store already has certificate " + existing.get().id() + " (serial "
                                + existing.get().serial().toString(16) + ", expires " + existing.get().notAfter()
                                + "). Fix: --replace to overwrite it, or --only the other lineages");
                    }
                }
                for (Account a : accounts.values()) {
                    Optional<Map.Entry<KeyPair, URI>> existing = admin.account(a.server());
                    if (existing.isPresent() && !(java.util.Arrays.equals(existing.get().getKey().getPublic().getEncoded(),
                            a.key().getPublic().getEncoded()) && existing.get().getValue().equals(a.location()))) {
                        problems.add("account " + a.location() + ": the store already has another account for " + a.server() + " ("
                                + existing.get().getValue() + "); the servers keep using that one. Fix: import into a new store, or "
                                + "delete the store's account first if it is unused");
                    }
                }
                if (!problems.isEmpty()) {
                    main.err.println("autocert4j: import refused; nothing was written to the store:");
                    problems.forEach(p -> main.err.println("  - " + p));
                    return ExitCodes.REFUSED;
                }
                for (Lineage l : lineages) {
                    main.out.println((check ? "would import " : "importing ") + l.name() + ": " + String.join(" ", l.names()) + " (serial "
                            + l.chain().get(0).getSerialNumber().toString(16) + ", expires " + l.chain().get(0).getNotAfter().toInstant()
                            + ", CA " + l.server() + ")");
                }
                for (Account a : accounts.values()) {
                    main.out.println((check ? "would import " : "importing ") + "account " + a.location() + " for " + a.server());
                }
                if (check) {
                    return ExitCodes.OK;
                }
                write(s.store(), admin, lineages, accounts.values(), now);
            }
            main.out.println("Imported " + lineages.size() + " certificate(s) and " + accounts.size() + " account(s). Next: start the "
                    + "server on this store, then stop certbot's renewals (systemctl disable --now certbot.timer); see docs/operations.md");
            return ExitCodes.OK;
        }

        /** Writes everything; on a failure restores every key it may have touched to its old bytes (or absence). */
        private void write(CertStore store, StoreAdmin admin, List<Lineage> lineages, Collection<Account> accounts, Instant now)
                throws Exception {
            Map<String, Optional<byte[]>> before = new LinkedHashMap<>();
            for (Lineage l : lineages) {
                for (String k : StoreAdmin.importKeys(l.names().get(0), l.server())) {
                    before.putIfAbsent(k, store.load(k));
                }
            }
            try {
                for (Account a : accounts) {
                    admin.importAccount(a.server(), a.key(), a.location());
                }
                for (Lineage l : lineages) {
                    admin.importCertificate(l.names(), l.key(), l.chain(), l.server(), now);
                }
            } catch (IOException | RuntimeException e) {
                List<String> notRestored = new ArrayList<>();
                for (Map.Entry<String, Optional<byte[]>> b : before.entrySet()) {
                    try {
                        if (b.getValue().isPresent()) {
                            store.store(b.getKey(), b.getValue().get());
                        } else {
                            store.delete(b.getKey());
                        }
                    } catch (IOException | RuntimeException again) {
                        notRestored.add(b.getKey());
                    }
                }
                throw new CliException(ExitCodes.STORE, "writing to the store failed (" + e.getMessage() + "); "
                        + (notRestored.isEmpty() ? "everything written was rolled back" : "could not roll back " + notRestored
                        + ": check them with 'certificates'"));
            }
        }

        private Lineage readLineage(String name, Path conf, Instant now, List<String> problems) throws IOException {
            Map<String, String> c = readConf(conf);
            String server = c.get("server");
            if (server == null || server.isBlank()) {
                problems.add(name + ": " + conf + " names no 'server' (the CA). Fix: add server = <the ACME directory URL certbot used>");
                return null;
            }
            Path live = dir.resolve("live").resolve(name);
            Path keyFile = live.resolve("privkey.pem");
            Path chainFile = live.resolve("fullchain.pem");
            for (Path f : List.of(keyFile, chainFile)) {
                if (!Files.isRegularFile(f)) {
                    problems.add(name + ": " + f + " is missing" + (Files.isSymbolicLink(f) ? " (a dangling link into archive/)" : "")
                            + ". Fix: restore certbot's directory from a backup, or leave this lineage out with --only");
                    return null;
                }
            }
            PrivateKey key;
            try {
                key = readPrivateKey(Files.readString(keyFile, StandardCharsets.US_ASCII));
            } catch (IOException | RuntimeException e) {
                problems.add(name + ": " + keyFile + " holds no readable private key (" + e.getMessage() + ")");
                return null;
            }
            List<X509Certificate> chain = new ArrayList<>();
            try (var in = Files.newInputStream(chainFile)) {
                for (var cert : CertificateFactory.getInstance("X.509").generateCertificates(in)) {
                    chain.add((X509Certificate) cert);
                }
            } catch (Exception e) {
                problems.add(name + ": " + chainFile + " holds no readable certificates (" + e.getMessage() + ")");
                return null;
            }
            if (chain.isEmpty()) {
                problems.add(name + ": " + chainFile + " is empty");
                return null;
            }
            List<String> names = sanNames(chain.get(0));
            if (names.remove(name.toLowerCase(Locale.ROOT))) {
                names.add(0, name.toLowerCase(Locale.ROOT));
            }
            if (names.isEmpty()) {
                problems.add(name + ": the certificate names no DNS name or IP address");
                return null;
            }
            List<String> bad = StoreAdmin.problems(names, key, chain, now);
            if (!bad.isEmpty()) {
                problems.add(name + ": " + String.join("; ", bad) + ". Fix: renew it with certbot first (certbot renew --cert-name "
                        + name + "), or leave it out with --only and let the server order it");
                return null;
            }
            return new Lineage(name, names, key, chain, URI.create(server.trim()), c.get("account"));
        }

        private Account readAccount(String id, URI server, List<String> problems) throws IOException {
            Path accounts = dir.resolve("accounts");
            Path found = null;
            if (Files.isDirectory(accounts)) {
                try (Stream<Path> s = Files.walk(accounts, 6)) {
                    found = s.filter(p -> Files.isDirectory(p) && p.getFileName().toString().equals(id)).findFirst().orElse(null);
                }
            }
            if (found == null) {
                problems.add("account " + id + " (of " + server + "): no accounts/.../" + id + "/ in " + dir
                        + ". Fix: copy certbot's accounts/ directory along with renewal/, live/ and archive/");
                return null;
            }
            try {
                PublicJsonWebKey jwk = (PublicJsonWebKey) JsonWebKey.Factory.newJwk(Files.readString(found.resolve("private_key.json")));
                Map<String, Object> regr = JsonUtil.parseJson(Files.readString(found.resolve("regr.json")));
                Object uri = regr.get("uri");
                if (jwk.getPrivateKey() == null || !(uri instanceof String u) || u.isBlank()) {
                    problems.add("account " + id + ": " + found + " has no private key or no account URL (regr.json 'uri')");
                    return null;
                }
                return new Account(server, new KeyPair(jwk.getPublicKey(), jwk.getPrivateKey()), URI.create(u));
            } catch (IOException e) {
                problems.add("account " + id + ": cannot read " + found + ": " + e.getMessage());
                return null;
            } catch (Exception e) {
                problems.add("account " + id + ": " + found + " is not a certbot account (" + e.getMessage() + ")");
                return null;
            }
        }

        private static Map<String, String> readConf(Path conf) throws IOException {
            Map<String, String> m = new HashMap<>();
            for (String line : Files.readAllLines(conf, StandardCharsets.UTF_8)) {
                String t = line.strip();
                if (t.isEmpty() || t.startsWith("#") || t.startsWith("[")) {
                    continue;
                }
                int eq = t.indexOf('=');
                if (eq > 0) {
                    m.putIfAbsent(t.substring(0, eq).strip(), t.substring(eq + 1).strip());
                }
            }
            return m;
        }

        private static PrivateKey readPrivateKey(String pem) throws IOException {
            try (PEMParser p = new PEMParser(new StringReader(pem))) {
                Object o = p.readObject();
                JcaPEMKeyConverter conv = new JcaPEMKeyConverter();
                if (o instanceof PEMKeyPair kp) {
                    return jdkKey(conv.getPrivateKey(kp.getPrivateKeyInfo()));
                }
                if (o instanceof PrivateKeyInfo info) {
                    return jdkKey(conv.getPrivateKey(info));
                }
                throw new IOException(o == null ? "no PEM block" : "a " + o.getClass().getSimpleName() + ", not a private key");
            }
        }

        /** The JDK's own key object (JSSE refuses BouncyCastle's "ECDSA" keys). */
        private static PrivateKey jdkKey(PrivateKey k) throws IOException {
            try {
                String alg = k.getAlgorithm().equals("ECDSA") ? "EC" : k.getAlgorithm();
                return java.security.KeyFactory.getInstance(alg).generatePrivate(new java.security.spec.PKCS8EncodedKeySpec(k.getEncoded()));
            } catch (java.security.GeneralSecurityException e) {
                throw new IOException("unsupported key " + k.getAlgorithm(), e);
            }
        }

        private static List<String> sanNames(X509Certificate leaf) {
            List<String> out = new ArrayList<>();
            try {
                Collection<List<?>> sans = leaf.getSubjectAlternativeNames();
                if (sans != null) {
                    for (List<?> san : sans) {
                        if (Integer.valueOf(2).equals(san.get(0)) || Integer.valueOf(7).equals(san.get(0))) {
                            out.add(((String) san.get(1)).toLowerCase(Locale.ROOT));
                        }
                    }
                }
            } catch (java.security.cert.CertificateParsingException e) {
                return out;
            }
            return out;
        }
    }
}
