package io.github.autocert4j.internal.store;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/** File-system steps of {@code FileCertStore} (split out of it, issue 19). */
public final class FileIo {

    private FileIo() {
    }

    /**
     * The temporary files under {@code root} (names matching {@code tempFile}, group 1 the writer's
     * pid) written before {@code tooOld}, or by a process that is gone before {@code processStart}.
     */
    public static List<Path> leftovers(Path root, Pattern tempFile, Instant tooOld, Instant processStart) throws IOException {
        List<Path> leftovers = new ArrayList<>();
        long self = ProcessHandle.current().pid();
        try (Stream<Path> files = Files.walk(root)) {
            files.filter(Files::isRegularFile).forEach(p -> {
                Matcher m = tempFile.matcher(p.getFileName().toString());
                if (!m.matches()) {
                    return;
                }
                Instant written;
                try {
                    written = Files.getLastModifiedTime(p).toInstant();
                } catch (IOException gone) {
                    return; // renamed or removed meanwhile
                }
                long pid = parsePid(m.group(1));
                boolean writerGone = pid == self || pid < 0 || ProcessHandle.of(pid).map(h -> !h.isAlive()).orElse(true);
                if (written.isBefore(tooOld) || (writerGone && written.isBefore(processStart))) {
                    leftovers.add(p);
                }
            });
        }
        return leftovers;
    }

    public static void writeFully(FileChannel ch, ByteBuffer buf) throws IOException {
        while (buf.hasRemaining()) {
            ch.write(buf);
        }
    }

    private static long parsePid(String digits) {
        try {
            return Long.parseLong(digits);
        } catch (NumberFormatException e) {
            return -1;
        }
    }

    public static void fsyncDirectory(Path dir) {
        // Makes the rename durable: without it a power cut can forget the new directory entry.
        try (FileChannel ch = FileChannel.open(dir, StandardOpenOption.READ)) {
            ch.force(true);
        } catch (IOException ignored) {
            // Some file systems refuse to open directories; the rename itself is still atomic.
        }
    }
}
