package io.github.autocert4j;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.reflect.Method;
import java.net.URL;
import java.net.URLClassLoader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Optional;

import com.google.common.net.InternetDomainName;
import io.github.autocert4j.internal.names.CompactPublicSuffixList;
import io.github.autocert4j.internal.names.PublicSuffixGuard;
import io.github.autocert4j.internal.names.PublicSuffixList;
import io.github.autocert4j.internal.names.PublicSuffixes;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The three sources of the public-suffix guard ({@link PublicSuffixes}): Guava when it is on the class path
 * (this module's test class path has it: core declares it optional), the bundled copy when it is not (a class
 * loader with core's classes and no Guava, as an application without Guava has), and the user's file, which
 * wins over both. Each source gives the same answers for the list's kinds of rules.
 */
class PublicSuffixSourcesTest {

    /** Rules every source must agree on: normal, private section, wildcard, exception, IDN, none (default "*"). */
    static void answersTheListsRules(PublicSuffixes psl) {
        for (String suffix : List.of("com", "co.uk", "github.io", "uk", "foo.ck", "*.co.uk", "xn--p1ai", "claudeusercontent.com", "test")) {
            assertTrue(psl.isPublicSuffix(suffix), psl.source() + ": " + suffix);
        }
        for (String owned : List.of("example.com", "example.co.uk", "me.github.io", "www.ck", "a.b.example.test", "xn--e1afmkfd.xn--p1ai")) {
            assertFalse(psl.isPublicSuffix(owned), psl.source() + ": " + owned);
        }
        assertEquals(Optional.of("example.co.uk"), psl.registrableDomain("a.b.example.co.uk"), psl.source());
        assertEquals(Optional.of("me.github.io"), psl.registrableDomain("shop.me.github.io"), psl.source());
        assertEquals(Optional.of("www.ck"), psl.registrableDomain("x.www.ck"), psl.source() + ": exception rule !www.ck");
        assertEquals(Optional.of("example.test"), psl.registrableDomain("a.example.test"), psl.source() + ": no rule, last label");
        assertEquals(Optional.of("xn--e1afmkfd.xn--p1ai"), psl.registrableDomain("www.xn--e1afmkfd.xn--p1ai"), psl.source() + ": IDN, ASCII out");
        assertEquals(Optional.of("example.com"), psl.registrableDomain("*.example.com"), psl.source());
        assertEquals(Optional.empty(), psl.registrableDomain("co.uk"), psl.source());
        assertEquals(Optional.empty(), psl.registrableDomain("*.co.uk"), psl.source());
    }

    @Test
    void guavaOnTheClassPathIsUsed() {
        PublicSuffixes psl = PublicSuffixes.configured(Map.of(), getClass().getClassLoader());
        String guava = InternetDomainName.class.getPackage().getImplementationVersion();
        assertTrue(psl.source().startsWith("Guava " + (guava == null ? "" : guava)), psl.source());
        answersTheListsRules(psl);
        // the guard in this class loader uses it too, and says so in its message
        String problem = PublicSuffixGuard.problem("certificate", "co.uk");
        assertTrue(problem.contains("'co.uk' is a public suffix (Public Suffix List: Guava"), problem);
        assertNull(PublicSuffixGuard.problem("certificate", "example.co.uk"));
    }

    @Test
    void withoutGuavaTheBundledCopyIsUsed() throws Exception {
        CompactPublicSuffixList bundled = CompactPublicSuffixList.builtIn();
        assertEquals("bundled copy of " + PublicSuffixList.BUILT_IN_VERSION, bundled.source());
        answersTheListsRules(bundled);
        // An application without Guava: core's classes in a loader whose parent (the platform loader) has no Guava.
        try (URLClassLoader noGuava = new URLClassLoader(new URL[] {location(PublicSuffixGuard.class)}, ClassLoader.getPlatformClassLoader())) {
            assertFalse(PublicSuffixes.guavaPresent(noGuava));
            Class<?> guard = Class.forName(PublicSuffixGuard.class.getName(), true, noGuava);
            assertTrue(guard.getClassLoader() == noGuava, "core loaded apart from the test class path");
            Object list = guard.getMethod("list").invoke(null);
            String source = source(list, noGuava);
            assertEquals("bundled copy of " + PublicSuffixList.BUILT_IN_VERSION, source);
            assertEquals(CompactPublicSuffixList.class.getName(), list.getClass().getName());
            Method problem = guard.getMethod("problem", String.class, String.class);
            String refused = (String) problem.invoke(null, "certificate", "github.io");
            assertTrue(refused.contains("'github.io' is a public suffix (Public Suffix List: bundled copy of 2026-08-19"), refused);
            assertNull(problem.invoke(null, "certificate", "me.github.io"));
        }
        // and with Guava's jar added to such a loader, Guava's list is chosen
        try (URLClassLoader withGuava = new URLClassLoader(new URL[] {location(PublicSuffixGuard.class), location(InternetDomainName.class)},
                ClassLoader.getPlatformClassLoader())) {
            Class<?> guard = Class.forName(PublicSuffixGuard.class.getName(), true, withGuava);
            Object list = guard.getMethod("list").invoke(null);
            assertTrue(source(list, withGuava).startsWith("Guava "), source(list, withGuava));
        }
    }

    @Test
    void theUsersFileWinsOverGuavaAndTheBundledCopy(@TempDir Path dir) throws Exception {
        StringBuilder dat = new StringBuilder("// the user's own copy\ncom\nuk\nco.uk\n");
        for (int i = 0; i < 120; i++) {
            dat.append("tld").append(i).append('\n');
        }
        dat.append("shops.example.com\n");
        Path file = dir.resolve("public_suffix_list.dat");
        Files.writeString(file, dat);
        assertTrue(PublicSuffixes.guavaPresent(getClass().getClassLoader()), "Guava is on this test class path");
        PublicSuffixes own = PublicSuffixes.configured(Map.of(PublicSuffixList.ENV, file.toString()), getClass().getClassLoader());
        assertEquals(file.toString(), own.source());
        assertTrue(own.isPublicSuffix("shops.example.com"), "a rule only the user's file has");
        assertFalse(PublicSuffixes.configured(Map.of(), getClass().getClassLoader()).isPublicSuffix("shops.example.com"));
        assertFalse(own.isPublicSuffix("github.io"), "the user's file has no github.io rule: it replaces, not adds");
        assertEquals(Optional.of("a.shops.example.com"), own.registrableDomain("www.a.shops.example.com"));
        IllegalStateException missing = assertThrows(IllegalStateException.class,
                () -> PublicSuffixes.configured(Map.of(PublicSuffixList.ENV, dir.resolve("none.dat").toString()), getClass().getClassLoader()));
        assertTrue(missing.getMessage().contains("cannot be read. Fix: download https://publicsuffix.org/list/public_suffix_list.dat"),
                missing.getMessage());
    }

    /** {@code list.source()} through the interface as {@code loader} has it (the Guava implementation is package-private). */
    private static String source(Object list, ClassLoader loader) throws Exception {
        return (String) Class.forName(PublicSuffixes.class.getName(), false, loader).getMethod("source").invoke(list);
    }

    private static URL location(Class<?> c) {
        return c.getProtectionDomain().getCodeSource().getLocation();
    }
}
