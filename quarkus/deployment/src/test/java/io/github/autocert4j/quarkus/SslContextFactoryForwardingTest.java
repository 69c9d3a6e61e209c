package io.github.autocert4j.quarkus;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.lang.reflect.Method;
import java.lang.reflect.Modifier;
import java.util.Arrays;
import java.util.List;

import io.vertx.core.spi.tls.SslContextFactory;
import org.junit.jupiter.api.Test;

/**
 * {@code JdkServerEngineOptions.Factory} records what Vert.x asks for and forwards it to Vert.x's own factory, one
 * override per setter of {@link SslContextFactory} (Vert.x 4.5 (Quarkus)). A setter a later Vert.x adds to the interface (as a default
 * method) would otherwise reach the interface's do-nothing default on the wrapper and never Vert.x's factory, not even
 * on the paths the wrapper delegates (client authentication, trust managers, clients): this test makes such an upgrade
 * fail here, naming the method to forward.
 */
class SslContextFactoryForwardingTest {
    @Test
    void everyMethodOfTheSpiIsOverridden() {
        List<String> missing = Arrays.stream(SslContextFactory.class.getMethods())
                .filter(m -> !Modifier.isStatic(m.getModifiers()))
                .filter(m -> !declares(JdkServerEngineOptions.Factory.class, m))
                .map(m -> m.getName() + Arrays.toString(m.getParameterTypes()))
                .toList();
        assertEquals(List.of(), missing, "JdkServerEngineOptions.Factory must override (and forward to Vert.x's factory) every "
                + "method of Vert.x's SslContextFactory. Fix: add the missing overrides");
    }

    private static boolean declares(Class<?> type, Method m) {
        try {
            type.getDeclaredMethod(m.getName(), m.getParameterTypes());
            return true;
        } catch (NoSuchMethodException e) {
            return false;
        }
    }
}
