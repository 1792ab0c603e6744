package io.switchboard.libbpf;

import io.switchboard.bpf.BpfException;
import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

class LibbpfLibraryTest
{
    @Test
    void aMissingLibraryIsOneExceptionNamingItAndWhatToInstall()
    {
        final BpfException failure = catchThrowableOfType(BpfException.class,
            () -> LibbpfLibrary.open("libbpf-switchboard-missing.so.1"));

        assertThat(failure.operation()).isEqualTo("dlopen");
        assertThat(failure.object()).isEqualTo("libbpf-switchboard-missing.so.1");
        assertThat(failure.errnoName()).isEqualTo("ENOENT");
        assertThat(failure.getMessage())
            .contains("libbpf-switchboard-missing.so.1")
            .contains("install libbpf 1.1 or newer");
    }

    @Test
    void aLibbpfOlderThanOnePointOneIsRejectedWithBothVersions()
    {
        assertThatThrownBy(() -> LibbpfLibrary.checkVersion(0, 8, "libbpf.so.0"))
            .isInstanceOf(BpfException.class)
            .hasMessageContaining("libbpf.so.0")
            .hasMessageContaining("libbpf 0.8 is too old")
            .hasMessageContaining("1.1 or newer");
        assertThatThrownBy(() -> LibbpfLibrary.checkVersion(1, 0, "libbpf.so.1"))
            .hasMessageContaining("libbpf 1.0 is too old");
    }

    @Test
    void versionsFromOnePointOneOnAreAccepted()
    {
        LibbpfLibrary.checkVersion(1, 1, "libbpf.so.1");
        LibbpfLibrary.checkVersion(1, 5, "libbpf.so.1");
        LibbpfLibrary.checkVersion(2, 0, "libbpf.so.1");
    }

    @Test
    void theInstalledLibbpfLoadsAndReportsItsVersion()
    {
        final String version = LibbpfLibrary.require();

        assertThat(version).matches("\\d+\\.\\d+");
        assertThat(Libbpf.libbpf_major_version()).isGreaterThanOrEqualTo(1);
    }
}
