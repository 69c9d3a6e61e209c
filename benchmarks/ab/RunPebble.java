import io.github.autocert4j.testkit.PebbleServer;

/** One Pebble (ARI flavour) for coldab.sh: prints its directory URI and API CA file, runs for an hour at most. */
public class RunPebble {
    public static void main(String[] a) throws Exception {
        try (PebbleServer p = PebbleServer.builder().httpPort(Integer.parseInt(a[0])).flavor(PebbleServer.Flavor.ARI).start()) {
            System.out.println(p.directoryUri() + " " + p.acmeServerCaPem());
            System.out.flush();
            Thread.sleep(3600_000L);
        }
    }
}
