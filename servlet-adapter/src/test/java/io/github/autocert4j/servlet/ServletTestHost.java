package io.github.autocert4j.servlet;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;

import jakarta.servlet.http.HttpServlet;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;

/** A real embedded container as a user would set it up: a plain-HTTP connector and an HTTPS connector with the live certificate. */
interface ServletTestHost extends AutoCloseable {

    /** Where the HTTPS connector listens. */
    InetSocketAddress httpsAddress();

    /** Where the plain-HTTP connector listens. */
    InetSocketAddress httpAddress();

    @Override
    void close() throws Exception;

    /** The host's own application: answers every path with "<plain|tls> <raw uri>". */
    final class AppServlet extends HttpServlet {
        @Override
        protected void doGet(HttpServletRequest req, HttpServletResponse res) throws IOException {
            byte[] body = ((req.isSecure() ? "tls " : "plain ") + req.getRequestURI()).getBytes(StandardCharsets.UTF_8);
            res.setStatus(200);
            res.setContentType("text/plain;charset=utf-8");
            res.setContentLength(body.length);
            res.getOutputStream().write(body);
        }

        @Override
        protected void doPost(HttpServletRequest req, HttpServletResponse res) throws IOException {
            doGet(req, res);
        }
    }
}
