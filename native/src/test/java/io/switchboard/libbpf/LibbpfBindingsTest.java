package io.switchboard.libbpf;

import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Collectors;

import static org.assertj.core.api.Assertions.assertThat;

class LibbpfBindingsTest
{
    private static final Path SYMBOLS = Path.of("jextract/libbpf.symbols");

    @Test
    void bindingsDeclareExactlyTheSymbolsOfTheJextractFilter() throws IOException
    {
        final Set<String> listed = Files.readAllLines(SYMBOLS).stream()
            .map(String::strip)
            .filter(line -> line.startsWith("--include-function "))
            .map(line -> line.substring("--include-function ".length()).strip())
            .collect(Collectors.toCollection(TreeSet::new));
        // each bound function has a holder class named after it, as jextract generates
        final Set<String> bound = Arrays.stream(Libbpf.class.getDeclaredClasses())
            .map(Class::getSimpleName)
            .collect(Collectors.toCollection(TreeSet::new));

        assertThat(listed).isNotEmpty();
        assertThat(bound).isEqualTo(listed);
    }

    @Test
    void everyHolderHasAStaticMethodOfTheSameName()
    {
        final Set<String> methods = Arrays.stream(Libbpf.class.getDeclaredMethods())
            .filter(m -> java.lang.reflect.Modifier.isPublic(m.getModifiers()))
            .map(java.lang.reflect.Method::getName)
            .collect(Collectors.toSet());
        for (final Class<?> holder : Libbpf.class.getDeclaredClasses())
        {
            assertThat(methods).as("wrapper for %s", holder.getSimpleName()).contains(holder.getSimpleName());
        }
    }
}
