package io.github.autocert4j.micronaut;

import io.micronaut.http.HttpRequest;
import io.micronaut.http.annotation.Controller;
import io.micronaut.http.annotation.Get;

/** The test application's one page: says which scheme and host it was reached with. */
@Controller("/hello")
public class HelloController {
    /** {@code "<scheme> <host>"}. */
    @Get(produces = "text/plain")
    public String hello(HttpRequest<?> request) {
        return (request.isSecure() ? "tls " : "plain ") + request.getHeaders().get("Host");
    }
}
