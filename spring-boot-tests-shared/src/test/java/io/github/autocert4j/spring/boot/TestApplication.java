package io.github.autocert4j.spring.boot;

import org.springframework.boot.SpringBootConfiguration;
import org.springframework.boot.autoconfigure.EnableAutoConfiguration;
import org.springframework.context.annotation.Import;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.RestController;

/** A minimal Boot application: one page, Spring MVC or WebFlux depending on the web type it is started with. */
@SpringBootConfiguration
@EnableAutoConfiguration
@Import(TestApplication.Hello.class)
class TestApplication {
    static final String PAGE = "hello from a Spring Boot application over HTTPS";

    @RestController
    static class Hello {
        @GetMapping("/")
        String hello() {
            return PAGE;
        }
    }
}
