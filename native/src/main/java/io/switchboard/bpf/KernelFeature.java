package io.switchboard.bpf;

/**
 * One thing a BPF object needs from the running kernel, in the kernel's own numbers. A
 * {@link KernelProbe} answers whether the kernel has it; what it is called and which kernel brought it
 * is the caller's table.
 */
public sealed interface KernelFeature
{
    /** {@code enum bpf_prog_type}: the kernel loads programs of this type. */
    record ProgramType(int programType) implements KernelFeature
    {
    }

    /** {@code enum bpf_map_type}: the kernel creates maps of this type. */
    record MapType(int mapType) implements KernelFeature
    {
    }

    /**
     * The helper ({@code enum bpf_func_id}) may be called from programs of this type loaded for this
     * {@code expected_attach_type} (0 where the type has none).
     */
    record Helper(int programType, int attachType, int helperId) implements KernelFeature
    {
    }

    /** Programs of this type load with this {@code expected_attach_type} ({@code enum bpf_attach_type}). */
    record AttachType(int programType, int attachType) implements KernelFeature
    {
    }

    /** The {@code BPF_ATOMIC} instructions with {@code BPF_FETCH}, compare-and-swap among them (clang {@code -mcpu=v3}). */
    record Atomics() implements KernelFeature
    {
    }

    /** {@code BPF_F_INNER_MAP}: inner maps of a map-in-map may differ in {@code max_entries}. */
    record InnerMapFlag() implements KernelFeature
    {
    }

    /** {@code BPF_LINK_CREATE} for XDP (a link on an interface that can be pinned). */
    record XdpLink() implements KernelFeature
    {
    }

    /** {@code BPF_LINK_CREATE} for cgroup hooks. */
    record CgroupLink() implements KernelFeature
    {
    }

    /** {@code BPF_BTF_LOAD}: type information for maps and programs. */
    record Btf() implements KernelFeature
    {
    }
}
