package io.github.autocert4j.examples;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The README stays a front page (what it is, the two commands, one quickstart per host, links): at
 * most {@value #README_MAX_LINES} lines, the rest lives in docs/. Every relative link of README.md
 * and docs/*.md resolves: to an existing file and, with a {@code #fragment} into a markdown file, to
 * one of its headings (GitHub's anchor rule).
 */
class DocsLinksTest {
    static final int README_MAX_LINES = 450;

    private static final Pattern LINK = Pattern.compile("\\]\\(([^)\\s]+)\\)");
    private static final Pattern FENCE = Pattern.compile("(?ms)^```.*?^```");
    private static final Pattern INLINE_CODE = Pattern.compile("`[^`\\n]*`");
    private static final Pattern HEADING = Pattern.compile("(?m)^#{1,6}\\s+(.+?)\\s*#*\\s*$");

    @Test
    void readmeIsAtMost450Lines() throws IOException {
        long lines = Files.readAllLines(ReadmeSnippetsTest.readme(), StandardCharsets.UTF_8).size();
        assertTrue(lines <= README_MAX_LINES, "README.md has " + lines + " lines, more than " + README_MAX_LINES
                + ". Fix: move the detail into a docs/ page and link it from the README");
    }

    @Test
    void everyRelativeLinkOfTheReadmeAndDocsResolves() throws IOException {
        Path root = ReadmeSnippetsTest.repoRoot();
        List<Path> pages = new ArrayList<>(List.of(root.resolve("README.md")));
        try (Stream<Path> docs = Files.list(root.resolve("docs"))) {
            docs.filter(f -> f.toString().endsWith(".md")).sorted().forEach(pages::add);
        }
        List<String> broken = new ArrayList<>();
        int checked = 0;
        for (Path page : pages) {
            for (String target : relativeLinks(Files.readString(page, StandardCharsets.UTF_8))) {
                checked++;
                String problem = problem(page, target);
                if (problem != null) {
                    broken.add(root.relativize(page) + ": (" + target + ") " + problem);
                }
            }
        }
        assertEquals(List.of(), broken, "broken relative links. Fix: point each at an existing file and heading");
        assertTrue(checked >= 30, "only " + checked + " relative links found; the README alone links a dozen docs pages");
    }

    @Test
    void aBrokenLinkOrAnchorIsReported(@TempDir Path dir) throws IOException {
        Files.createDirectories(dir.resolve("docs"));
        Files.writeString(dir.resolve("docs/a.md"), "# A page\n\n## This repository's tests\n\n## `@WithPebble`\n");
        Path readme = dir.resolve("README.md");
        assertEquals(null, problem(readme, "docs/a.md#this-repositorys-tests"));
        assertEquals(null, problem(readme, "docs/a.md#withpebble"));
        assertEquals(null, problem(readme, "docs/"));
        assertTrue(problem(readme, "docs/b.md").contains("no file"));
        assertTrue(problem(readme, "docs/a.md#missing").contains("no heading"));
        assertEquals(List.of("docs/a.md"), relativeLinks("[x](docs/a.md) [y](https://e.org/)\n```\n[z](no.md)\n```\nsee `[c](c.md)`\n"));
    }

    /** Relative link targets outside code blocks and inline code. */
    static List<String> relativeLinks(String markdown) {
        String text = INLINE_CODE.matcher(FENCE.matcher(markdown).replaceAll("")).replaceAll("");
        List<String> out = new ArrayList<>();
        Matcher m = LINK.matcher(text);
        while (m.find()) {
            String t = m.group(1);
            if (!t.matches("(?i)[a-z][a-z0-9+.-]*:.*")) {
                out.add(t);
            }
        }
        return out;
    }

    /** Why {@code target}, linked from {@code page}, does not resolve; null when it does. */
    static String problem(Path page, String target) throws IOException {
        int hash = target.indexOf('#');
        String file = hash < 0 ? target : target.substring(0, hash);
        String anchor = hash < 0 ? null : target.substring(hash + 1);
        Path resolved = file.isEmpty() ? page : page.getParent().resolve(file).normalize();
        if (!Files.exists(resolved)) {
            return "no file " + resolved;
        }
        if (anchor == null || !resolved.toString().endsWith(".md")) {
            return null;
        }
        Set<String> anchors = anchors(Files.readString(resolved, StandardCharsets.UTF_8));
        return anchors.contains(anchor) ? null : "no heading with anchor #" + anchor + " in " + resolved.getFileName() + " " + anchors;
    }

    /** GitHub's heading anchors: lower case, punctuation dropped, spaces to hyphens, repeats numbered. */
    static Set<String> anchors(String markdown) {
        Set<String> out = new LinkedHashSet<>();
        Map<String, Integer> seen = new HashMap<>();
        Matcher m = HEADING.matcher(FENCE.matcher(markdown).replaceAll(""));
        while (m.find()) {
            String slug = m.group(1).toLowerCase(Locale.ROOT).replaceAll("[^\\p{L}\\p{N}\\s_-]", "").trim().replace(' ', '-');
            int n = seen.merge(slug, 1, Integer::sum) - 1;
            out.add(n == 0 ? slug : slug + "-" + n);
        }
        return out;
    }
}
