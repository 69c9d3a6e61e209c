package io.github.autocert4j.spring.boot;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import org.junit.jupiter.api.Test;

class HttpsRedirectTest {
    private final HttpsRedirect to8443 = new HttpsRedirect(() -> 8443);

    @Test
    void keepsHostPathAndQueryAndSwapsThePort() {
        assertEquals("https://example.com:8443/a/b?c=d", to8443.location("example.com:80", "/a/b?c=d"));
        assertEquals("https://example.com/", new HttpsRedirect(() -> 443).location("example.com", "/"));
        assertEquals("https://[2001:db8::1]:8443/x", to8443.location("[2001:db8::1]:80", "/x"));
        assertEquals("https://127.0.0.1:8443/", to8443.location("127.0.0.1", null));
    }

    @Test
    void noRedirectForAForgedHostOrWhileThePortIsUnknown() {
        assertNull(to8443.location("evil.com/path", "/"));
        assertNull(to8443.location("evil.com@other.com", "/"));
        assertNull(to8443.location("example.com:80:80", "/"));
        assertNull(to8443.location("[::1", "/"));
        assertNull(to8443.location("", "/"));
        assertNull(to8443.location(null, "/"));
        assertNull(new HttpsRedirect(() -> -1).location("example.com", "/"));
    }

    @Test
    void getAndHeadGet301OthersKeepTheirMethodWith308() {
        assertEquals(301, HttpsRedirect.status("GET"));
        assertEquals(301, HttpsRedirect.status("HEAD"));
        assertEquals(308, HttpsRedirect.status("POST"));
    }
}
