package io.github.autocert4j.servlet;

import static org.mockito.ArgumentMatchers.any;
import static org.mockito.Mockito.doThrow;
import static org.mockito.Mockito.inOrder;
import static org.mockito.Mockito.mock;
import static org.mockito.Mockito.never;
import static org.mockito.Mockito.verify;
import static org.mockito.Mockito.verifyNoInteractions;
import static org.mockito.Mockito.when;

import java.nio.charset.StandardCharsets;

import io.github.autocert4j.ChallengeSolver;
import io.github.autocert4j.Http01Reply;
import io.github.autocert4j.Http01Responder;
import jakarta.servlet.FilterChain;
import jakarta.servlet.ServletOutputStream;
import jakarta.servlet.ServletRequest;
import jakarta.servlet.ServletResponse;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import org.junit.jupiter.api.Test;
import org.mockito.InOrder;

/**
 * The filter's answer table against the Servlet API contract alone, with no container: mocked
 * request, response and chain (the container's side of the interface is what is under test here;
 * {@link ChallengeFilterContract} runs the same table on real Jetty and Tomcat over raw HTTP). The
 * mocks check what a container test cannot see directly: which response methods are called, in
 * which order, that the chain is never called for a challenge path and is the only thing called for
 * any other path, and how a container failure while writing is handled.
 */
class AcmeChallengeFilterMockTest {
    static final String TOKEN = ChallengeFilterContract.TOKEN;
    static final String KEY_AUTHZ = ChallengeFilterContract.KEY_AUTHZ;

    final Http01Responder responder = new Http01Responder();
    final AcmeChallengeFilter filter = new AcmeChallengeFilter(responder);
    final HttpServletResponse res = mock(HttpServletResponse.class);
    final ServletOutputStream out = mock(ServletOutputStream.class);
    final FilterChain chain = mock(FilterChain.class);

    AcmeChallengeFilterMockTest() throws Exception {
        responder.present(new ChallengeSolver.Challenge("http-01", "app.autocert4j.test", TOKEN, KEY_AUTHZ));
        when(res.getOutputStream()).thenReturn(out);
    }

    static HttpServletRequest request(String method, String uri) {
        HttpServletRequest req = mock(HttpServletRequest.class);
        when(req.getMethod()).thenReturn(method);
        when(req.getRequestURI()).thenReturn(uri);
        when(req.getContextPath()).thenReturn("");
        when(req.getServletPath()).thenReturn(uri);
        return req;
    }

    @Test
    void aKnownTokenIs200WithTheKeyAuthorizationSetBeforeTheBodyAndNeverReachesTheChain() throws Exception {
        filter.doFilter(request("GET", "/.well-known/acme-challenge/" + TOKEN), res, chain);
        byte[] body = KEY_AUTHZ.getBytes(StandardCharsets.US_ASCII);
        InOrder order = inOrder(res, out);
        order.verify(res).setStatus(200);
        order.verify(res).setContentType(Http01Reply.CONTENT_TYPE);
        order.verify(res).setHeader("Cache-Control", "no-store");
        order.verify(res).setContentLength(body.length);
        order.verify(out).write(body);
        order.verify(res).flushBuffer();
        verifyNoInteractions(chain);
    }

    @Test
    void headSendsTheHeadersWithoutABody() throws Exception {
        filter.doFilter(request("HEAD", "/.well-known/acme-challenge/" + TOKEN), res, chain);
        verify(res).setStatus(200);
        verify(res).setContentLength(KEY_AUTHZ.length());
        verify(out, never()).write(any(byte[].class));
        verifyNoInteractions(chain);
    }

    @Test
    void anUnknownTokenIs404AndAMalformedOne400() throws Exception {
        filter.doFilter(request("GET", "/.well-known/acme-challenge/unknownTokenAbc"), res, chain);
        verify(res).setStatus(404);
        HttpServletResponse malformed = mock(HttpServletResponse.class);
        when(malformed.getOutputStream()).thenReturn(out);
        filter.doFilter(request("GET", "/.well-known/acme-challenge/" + TOKEN + "%2Fx"), malformed, chain);
        verify(malformed).setStatus(400);
        verifyNoInteractions(chain);
    }

    @Test
    void anotherMethodIs405WithAllowAndClosesWhenABodyIsLeftUnread() throws Exception {
        HttpServletRequest post = request("POST", "/.well-known/acme-challenge/" + TOKEN);
        when(post.getContentLengthLong()).thenReturn(12L);
        filter.doFilter(post, res, chain);
        verify(res).setHeader("Allow", "GET, HEAD");
        verify(res).setHeader("Connection", "close");
        verify(res).setStatus(405);
        verify(post, never()).getInputStream();   // the body is left unread
        verifyNoInteractions(chain);
    }

    @Test
    void everyOtherRequestGoesDownTheChainUntouched() throws Exception {
        HttpServletRequest app = request("GET", "/index.html");
        filter.doFilter(app, res, chain);
        verify(chain).doFilter(app, res);
        verifyNoInteractions(res);

        ServletRequest notHttp = mock(ServletRequest.class);
        ServletResponse notHttpResponse = mock(ServletResponse.class);
        filter.doFilter(notHttp, notHttpResponse, chain);
        verify(chain).doFilter(notHttp, notHttpResponse);
        verifyNoInteractions(notHttp, notHttpResponse);
    }

    @Test
    void aContainerFailureWhileAnsweringBecomesA400NeverAnExceptionIntoTheContainer() throws Exception {
        HttpServletResponse failing = mock(HttpServletResponse.class);
        ServletOutputStream body = mock(ServletOutputStream.class);
        when(failing.getOutputStream()).thenReturn(body);
        // the injected fault: the container refuses the first status (as a broken response object would)
        doThrow(new IllegalStateException("injected: response unusable")).doNothing().when(failing).setStatus(200);
        filter.doFilter(request("GET", "/.well-known/acme-challenge/" + TOKEN), failing, chain);
        InOrder order = inOrder(failing, body);
        order.verify(failing).setStatus(200);
        order.verify(failing).reset();
        order.verify(failing).setStatus(400);
        order.verify(body).write("Bad Request\n".getBytes(StandardCharsets.US_ASCII));
        verify(body, never()).write(KEY_AUTHZ.getBytes(StandardCharsets.US_ASCII));
        verifyNoInteractions(chain);
    }
}
