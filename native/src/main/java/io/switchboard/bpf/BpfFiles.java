package io.switchboard.bpf;

import io.switchboard.libbpf.Libbpf;

import java.lang.foreign.Arena;
import java.nio.file.Path;

/** Pinning and opening objects on bpffs. */
final class BpfFiles
{
    private BpfFiles()
    {
    }

    static int objGet(final Path pin)
    {
        try (Arena scratch = Arena.ofConfined())
        {
            final int fd = Libbpf.bpf_obj_get(scratch.allocateFrom(pin.toString()));
            if (fd < 0)
            {
                throw new BpfException("bpf_obj_get", pin.toString(), fd);
            }
            return fd;
        }
    }

    static void objPin(final int fd, final Path pin, final String object)
    {
        try (Arena scratch = Arena.ofConfined())
        {
            final int rc = Libbpf.bpf_obj_pin(fd, scratch.allocateFrom(pin.toString()));
            if (rc < 0)
            {
                throw new BpfException("bpf_obj_pin", object + " at " + pin, rc);
            }
        }
    }
}
