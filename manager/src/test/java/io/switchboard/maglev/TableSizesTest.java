package io.switchboard.maglev;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.math.BigInteger;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class TableSizesTest
{
    @Test
    void everyCandidateIsPrimeAndTheyAscend()
    {
        final int[] candidates = TableSizes.candidates();

        assertThat(candidates).isSorted().doesNotHaveDuplicates().contains(251, 65521, 131071);
        for (final int candidate : candidates)
        {
            assertThat(BigInteger.valueOf(candidate).isProbablePrime(64)).as("%d is prime", candidate).isTrue();
            assertThat(TableSizes.isPrime(candidate)).as("%d is prime", candidate).isTrue();
        }
    }

    @Test
    void primalityCheckRejectsComposites()
    {
        assertThat(TableSizes.isPrime(0)).isFalse();
        assertThat(TableSizes.isPrime(1)).isFalse();
        assertThat(TableSizes.isPrime(65537)).isTrue();
        assertThat(TableSizes.isPrime(65536)).isFalse();
        assertThat(TableSizes.isPrime(251 * 509)).isFalse();
        assertThat(TableSizes.isPrime(65521 * 2)).isFalse();
    }

    @ParameterizedTest
    @CsvSource({
        "0,    251",
        "1,    251",
        "2,    251",
        "3,    509",
        "5,    509",
        "6,   1021",
        "10,  1021",
        "11,  2039",
        "100, 16381",
        "327, 32749",
        "328, 65521",
        "655, 65521",
        "656, 65521",
        "2000, 65521",
        "1000000, 65521",
    })
    void defaultsChooseTheSmallestPrimeWithAHundredSlotsPerBackend(final int backends, final int expected)
    {
        assertThat(TableSizes.defaults().sizeFor(backends)).isEqualTo(expected);
    }

    @Test
    void configuredBoundsAreHonoured()
    {
        final TableSizes sizes = new TableSizes(1021, 8191);

        assertThat(sizes.sizeFor(0)).isEqualTo(1021);
        assertThat(sizes.sizeFor(10)).isEqualTo(1021);
        assertThat(sizes.sizeFor(11)).isEqualTo(2039);
        assertThat(sizes.sizeFor(81)).isEqualTo(8191);
        assertThat(sizes.sizeFor(82)).isEqualTo(8191);
        assertThat(new TableSizes(251, 131071).sizeFor(1000)).isEqualTo(131071);
        assertThat(new TableSizes(251, 251).sizeFor(1000)).isEqualTo(251);
    }

    @Test
    void boundsOutsideTheListAreRefused()
    {
        assertThatThrownBy(() -> new TableSizes(250, 65521)).hasMessageContaining("minimum").hasMessageContaining("250");
        assertThatThrownBy(() -> new TableSizes(251, 65537)).hasMessageContaining("maximum").hasMessageContaining("65537");
        assertThatThrownBy(() -> new TableSizes(8191, 4093)).hasMessageContaining("below the minimum");
        assertThatThrownBy(() -> TableSizes.defaults().sizeFor(-1)).isInstanceOf(IllegalArgumentException.class);
    }
}
