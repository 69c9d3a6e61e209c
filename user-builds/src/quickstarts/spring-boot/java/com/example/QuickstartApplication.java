package com.example;

import org.springframework.boot.SpringApplication;
import org.springframework.boot.autoconfigure.SpringBootApplication;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.RestController;

/** Stands for your Spring Boot application: autocert4j needs nothing in it, only application.yml. */
@SpringBootApplication
@RestController
public class QuickstartApplication {
    public static void main(String[] args) {
        SpringApplication.run(QuickstartApplication.class, args);
    }

    @GetMapping("/")
    String hello() {
        return "hello over TLS";
    }
}
