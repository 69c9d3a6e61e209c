package io.github.autocert4j.architecture;

import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.classes;
import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.codeUnits;
import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.fields;
import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.noClasses;
import static com.tngtech.archunit.library.dependencies.SlicesRuleDefinition.slices;

import java.util.ArrayList;
import java.util.List;

import com.tngtech.archunit.base.DescribedPredicate;
import com.tngtech.archunit.core.domain.JavaCall;
import com.tngtech.archunit.core.domain.JavaClass;
import com.tngtech.archunit.core.domain.JavaClasses;
import com.tngtech.archunit.core.domain.JavaCodeUnit;
import com.tngtech.archunit.core.domain.JavaField;
import com.tngtech.archunit.core.domain.JavaMember;
import com.tngtech.archunit.core.domain.JavaModifier;
import com.tngtech.archunit.core.domain.properties.HasName;
import com.tngtech.archunit.core.importer.ClassFileImporter;
import com.tngtech.archunit.core.importer.ImportOption;
import com.tngtech.archunit.lang.ArchCondition;
import com.tngtech.archunit.lang.ArchRule;
import com.tngtech.archunit.lang.ConditionEvents;
import com.tngtech.archunit.lang.SimpleConditionEvent;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The package rules of issue 19, checked on the main bytecode of every published module (this
 * module depends on each of them; test classes are not imported). A rule that fails names the
 * class and the dependency that breaks it.
 */
class ArchitectureTest {

    /** Core: the API and SPI package plus the internal packages behind it. */
    static final String[] CORE = {"io.github.autocert4j", "io.github.autocert4j.internal.."};
    static final String INTERNAL = "io.github.autocert4j.internal..";

    static JavaClasses classes;

    @BeforeAll
    static void importClasses() {
        classes = new ClassFileImporter().withImportOption(ImportOption.Predefined.DO_NOT_INCLUDE_TESTS)
                .importPackages("io.github.autocert4j");
    }

    /** The pipeline's stages depend on each other in one direction only. */
    static final ArchRule NO_CYCLES_BETWEEN_INTERNAL_PACKAGES = slices().matching("io.github.autocert4j.internal.(*)..")
            .namingSlices("internal.$1").should().beFreeOfCycles();

    /** The two class cycles issue 19 named stay broken. */
    static final ArchRule NAMED_CYCLES_STAY_BROKEN = noClasses()
            .that().haveFullyQualifiedName("io.github.autocert4j.internal.assembly.DryRun")
            .or().haveFullyQualifiedName("io.github.autocert4j.internal.tls.LiveKeyManager")
            .should().dependOnClassesThat().haveFullyQualifiedName("io.github.autocert4j.AutoCertBuilder")
            .orShould().dependOnClassesThat().haveFullyQualifiedName("io.github.autocert4j.TlsAlpn01Responder")
            .because("AutoCert -> DryRun -> AutoCertBuilder -> AcmeIssuer -> AutoCert and LiveKeyManager <-> TlsAlpn01Responder were cycles");

    static final ArchRule CORE_IS_HOST_NEUTRAL = noClasses().that().resideInAnyPackage(CORE)
            .should().dependOnClassesThat().resideInAnyPackage("io.netty..", "jakarta.servlet..", "javax.servlet..",
                    "org.springframework..", "io.vertx..", "io.quarkus..", "io.micronaut..", "org.eclipse.jetty..",
                    "org.apache.catalina..", "reactor.netty..")
            .because("core runs in every host; host code belongs in the adapters");

    static final ArchRule ADAPTERS_USE_ONLY_THE_API = noClasses().that().resideOutsideOfPackages(CORE)
            .should().dependOnClassesThat().resideInAPackage(INTERNAL)
            .because("module-info exports only io.github.autocert4j; if an adapter needs more, add a small public API there");

    static final ArchRule API_SIGNATURES_EXPOSE_NO_INTERNAL_TYPE = codeUnits()
            .that().areDeclaredInClassesThat(publicApiType()).and(visibleOutside())
            .should(new ArchCondition<JavaCodeUnit>("not expose an internal type in their signature") {
                @Override
                public void check(JavaCodeUnit unit, ConditionEvents events) {
                    List<JavaClass> involved = new ArrayList<>(unit.getReturnType().getAllInvolvedRawTypes());
                    unit.getParameterTypes().forEach(t -> involved.addAll(t.getAllInvolvedRawTypes()));
                    unit.getExceptionTypes().forEach(involved::add);
                    reportInternal(unit.getFullName(), involved, events);
                }
            });

    static final ArchRule API_FIELDS_EXPOSE_NO_INTERNAL_TYPE = fields()
            .that().areDeclaredInClassesThat(publicApiType()).and(visibleOutside())
            .should(new ArchCondition<JavaField>("not be of an internal type") {
                @Override
                public void check(JavaField field, ConditionEvents events) {
                    reportInternal(field.getFullName(), new ArrayList<>(field.getType().getAllInvolvedRawTypes()), events);
                }
            });

    static final ArchRule API_TYPES_EXTEND_NO_INTERNAL_TYPE = classes().that(publicApiType())
            .should(new ArchCondition<JavaClass>("not extend or implement an internal type") {
                @Override
                public void check(JavaClass type, ConditionEvents events) {
                    List<JavaClass> supers = new ArrayList<>(type.getRawInterfaces());
                    type.getRawSuperclass().ifPresent(supers::add);
                    reportInternal(type.getFullName(), supers, events);
                }
            });

    /** By name: Field, Method and Constructor each declare their own setAccessible. */
    static final ArchRule NO_SET_ACCESSIBLE = noClasses()
            .should().callMethodWhere(JavaCall.Predicates.target(HasName.Predicates.name("setAccessible")))
            .orShould().callMethodWhere(JavaCall.Predicates.target(HasName.Predicates.name("trySetAccessible")))
            .because("no reflection into other libraries' internals on a path a user takes");

    @Test
    void noCyclesBetweenInternalPackages() {
        NO_CYCLES_BETWEEN_INTERNAL_PACKAGES.check(classes);
    }

    @Test
    void namedClassCyclesStayBroken() {
        NAMED_CYCLES_STAY_BROKEN.check(classes);
    }

    @Test
    void coreImportsNoHostLibrary() {
        CORE_IS_HOST_NEUTRAL.check(classes);
    }

    @Test
    void adaptersImportNoCoreInternals() {
        ADAPTERS_USE_ONLY_THE_API.check(classes);
    }

    @Test
    void apiSignaturesExposeNoInternalType() {
        API_SIGNATURES_EXPOSE_NO_INTERNAL_TYPE.check(classes);
    }

    @Test
    void apiFieldsExposeNoInternalType() {
        API_FIELDS_EXPOSE_NO_INTERNAL_TYPE.check(classes);
    }

    @Test
    void apiTypesExtendNoInternalType() {
        API_TYPES_EXTEND_NO_INTERNAL_TYPE.check(classes);
    }

    @Test
    void noSetAccessibleInMainCode() {
        NO_SET_ACCESSIBLE.check(classes);
    }

    /** A public (or protected nested) type of the API package. */
    static DescribedPredicate<JavaClass> publicApiType() {
        return DescribedPredicate.describe("public types of io.github.autocert4j",
                c -> c.getPackageName().equals("io.github.autocert4j") && isVisible(c));
    }

    /** Public or protected: what a user of the API can see (package-private members are fenced anyway). */
    static DescribedPredicate<JavaMember> visibleOutside() {
        return DescribedPredicate.describe("are public or protected",
                m -> m.getModifiers().contains(JavaModifier.PUBLIC) || m.getModifiers().contains(JavaModifier.PROTECTED));
    }

    private static boolean isVisible(JavaClass c) {
        boolean visible = c.getModifiers().contains(JavaModifier.PUBLIC) || c.getModifiers().contains(JavaModifier.PROTECTED);
        return visible && c.getEnclosingClass().map(ArchitectureTest::isVisible).orElse(true);
    }

    private static void reportInternal(String where, List<JavaClass> types, ConditionEvents events) {
        for (JavaClass t : types) {
            if (t.getPackageName().startsWith("io.github.autocert4j.internal")) {
                events.add(SimpleConditionEvent.violated(where, where + " exposes internal type " + t.getName()));
            }
        }
    }
}
