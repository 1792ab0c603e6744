package io.switchboard.model;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

/** Address literals and CIDRs parse strictly, never through DNS, and print as kubectl shows them. */
final class AddressParsingTest
{
    @ParameterizedTest(name = "{0} -> {1}")
    @CsvSource({
        "10.96.0.10, 10.96.0.10",
        "0.0.0.0, 0.0.0.0",
        "fd00:10:96::a, fd00:10:96::a",
        "FD00:0:0:0:0:0:0:A, fd00::a",
        "2001:db8:0:0:1:0:0:1, 2001:db8::1:0:0:1",
        "::1, ::1",
        "::, ::",
        "2001:db8:1:2:3:4:5:0, 2001:db8:1:2:3:4:5:0"})
    void parsesAndFormats(final String text, final String formatted)
    {
        assertThat(IpAddresses.format(IpAddresses.parse(text))).isEqualTo(formatted);
    }

    @ParameterizedTest
    @ValueSource(strings = {"", "localhost", "example.com", "10.96", "10.96.0.256", "0x0a.0.0.1", "[fd00::1]", "fe80::1%eth0", "::ffff:10.0.0.1", "1.2.3.4.5"})
    void refuses(final String text)
    {
        assertThatThrownBy(() -> IpAddresses.parse(text)).isInstanceOf(IllegalArgumentException.class);
    }

    @ParameterizedTest(name = "{0} -> {1}")
    @CsvSource({
        "192.0.2.0/24, 192.0.2.0/24",
        "' 10.1.2.3/8 ', 10.0.0.0/8",
        "0.0.0.0/0, 0.0.0.0/0",
        "2001:db8::1/32, 2001:db8::/32"})
    void parsesCidrs(final String text, final String formatted)
    {
        assertThat(Cidr.parse(text).toString()).isEqualTo(formatted);
    }

    @ParameterizedTest
    @ValueSource(strings = {"192.0.2.0", "192.0.2.0/33", "2001:db8::/129", "192.0.2.0/", "192.0.2.0/-1", "foo/8"})
    void refusesCidrs(final String text)
    {
        assertThatThrownBy(() -> Cidr.parse(text)).isInstanceOf(IllegalArgumentException.class);
    }

    @ParameterizedTest(name = "{0} contains {1}: {2}")
    @CsvSource({
        "192.0.2.0/24, 192.0.2.77, true",
        "192.0.2.0/24, 192.0.3.1, false",
        "0.0.0.0/0, 203.0.113.1, true",
        "0.0.0.0/0, 2001:db8::1, false",
        "2001:db8::/32, 2001:db8:ffff::1, true"})
    void cidrContains(final String cidr, final String address, final boolean contains)
    {
        assertThat(Cidr.parse(cidr).contains(IpAddresses.parse(address))).isEqualTo(contains);
    }
}
