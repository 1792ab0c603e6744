package io.switchboard.bpf;

import java.lang.foreign.MemoryLayout;
import java.lang.foreign.PaddingLayout;
import java.lang.foreign.StructLayout;
import java.util.List;

/**
 * A C struct as the BPF object's BTF describes it: the one definition of a map key or value (DESIGN,
 * "Map ABI"). {@link #verify(StructLayout)} checks a Java mirror against it field by field, so a header
 * changed without its mirror fails at start-up naming the struct and the field.
 */
public record BtfStruct(String name, long size, List<Member> members)
{
    /** One field: its name, byte offset and size in bytes. */
    public record Member(String name, long offset, long size)
    {
    }

    /** The member called {@code memberName}, or null. */
    public Member member(final String memberName)
    {
        for (final Member member : members)
        {
            if (member.name().equals(memberName))
            {
                return member;
            }
        }
        return null;
    }

    /**
     * Checks that {@code layout} has exactly this struct's size and named fields, each at the same
     * offset with the same size. Unnamed padding in the Java layout stands for C padding or
     * explicitly named {@code pad} fields alike.
     *
     * @throws BpfException naming the struct and the first field that differs.
     */
    public void verify(final StructLayout layout)
    {
        final String object = "struct " + name;
        if (layout.byteSize() != size)
        {
            throw BpfException.of("check map ABI", object,
                "size is " + size + " bytes in BTF, " + layout.byteSize() + " in the Java layout");
        }
        long offset = 0;
        int named = 0;
        for (final MemoryLayout element : layout.memberLayouts())
        {
            if (element instanceof PaddingLayout || element.name().isEmpty())
            {
                offset += element.byteSize();
                continue;
            }
            final String field = element.name().orElseThrow();
            final Member member = member(field);
            if (null == member)
            {
                throw BpfException.of("check map ABI", object, "field '" + field + "' of the Java layout is not in BTF");
            }
            if (member.offset() != offset || member.size() != element.byteSize())
            {
                throw BpfException.of("check map ABI", object, "field '" + field + "' is " + member.size() +
                    " bytes at offset " + member.offset() + " in BTF, " + element.byteSize() + " bytes at offset " +
                    offset + " in the Java layout");
            }
            named++;
            offset += element.byteSize();
        }
        for (final Member member : members)
        {
            if (layout.memberLayouts().stream().noneMatch(e -> e.name().filter(member.name()::equals).isPresent()) &&
                !member.name().startsWith("pad") && !member.name().startsWith("_"))
            {
                throw BpfException.of("check map ABI", object,
                    "field '" + member.name() + "' of BTF is missing from the Java layout");
            }
        }
        if (0 == named)
        {
            throw BpfException.of("check map ABI", object, "the Java layout names no field");
        }
    }
}
