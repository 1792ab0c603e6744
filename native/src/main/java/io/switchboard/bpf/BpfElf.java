package io.switchboard.bpf;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Deque;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

/**
 * Reads what a compiled BPF object asks of the kernel straight from its ELF file, without the kernel:
 * for every program (a global function in an executable section other than {@code .text}), the helper
 * ids it calls and the atomic operations it uses, its own and those of every subprogram it reaches
 * through BPF-to-BPF calls (followed through the {@code .rel} sections, as libbpf links them). So the list
 * of helpers the agent probes for cannot drift from the code: it is the code.
 */
public final class BpfElf
{
    /** {@code BPF_JMP | BPF_CALL}. */
    private static final int OP_CALL = 0x85;
    /** {@code BPF_LD | BPF_IMM | BPF_DW}: a 16-byte instruction. */
    private static final int OP_LD_IMM64 = 0x18;
    /** {@code BPF_STX | BPF_ATOMIC | BPF_W} and {@code ... | BPF_DW}. */
    private static final int OP_ATOMIC_W = 0xc3;
    private static final int OP_ATOMIC_DW = 0xdb;
    private static final int PSEUDO_CALL = 1;
    private static final int SHT_SYMTAB = 2;
    private static final int SHT_REL = 9;
    private static final long SHF_EXECINSTR = 0x4;
    private static final int STT_FUNC = 2;
    private static final int STB_GLOBAL = 1;
    private static final int INSN_SIZE = 8;

    /**
     * One program of the object.
     *
     * @param name      the program's (function's) name, e.g. {@code sb_xdp}.
     * @param section   its ELF section, libbpf's program kind, e.g. {@code xdp}, {@code cgroup/connect4}.
     * @param helpers   ids ({@code enum bpf_func_id}) of the helpers it and its subprograms call.
     * @param atomicOps the {@code imm} of every {@code BPF_ATOMIC} instruction it and its subprograms hold
     *                  ({@code BPF_ADD} 0x00, {@code BPF_CMPXCHG} 0xf1, ...).
     */
    public record Program(String name, String section, Set<Integer> helpers, Set<Integer> atomicOps)
    {
    }

    private record Section(String name, int type, long flags, int offset, int size, int link, int info)
    {
    }

    private record Symbol(String name, int info, int section, long value, long size)
    {
        int type()
        {
            return info & 0xf;
        }

        int binding()
        {
            return (info & 0xff) >>> 4;
        }
    }

    /** A function's instructions: [first, end) in its section, in instruction units. */
    private record Function(String name, int section, int first, int end)
    {
    }

    private final ByteBuffer elf;
    private final List<Section> sections = new ArrayList<>();
    private final List<Symbol> symbols = new ArrayList<>();
    /** section index → (byte offset in it → symbol index) of the call relocations against it. */
    private final Map<Integer, Map<Long, Integer>> relocations = new HashMap<>();
    private final List<Function> functions = new ArrayList<>();

    private BpfElf(final byte[] bytes, final String name)
    {
        this.elf = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN);
        if (bytes.length < 64 || elf.getInt(0) != 0x464c457f || elf.get(4) != 2 || elf.get(5) != 1)
        {
            throw BpfException.of("reading ELF", name, "not a 64-bit little-endian ELF file");
        }
        readSections();
        readSymbols();
        readRelocations();
    }

    /**
     * The programs of an object, each with what it and the subprograms it reaches call.
     *
     * @throws BpfException naming the object when it is not an ELF file Switchboard can read.
     */
    public static List<Program> programs(final byte[] object, final String name)
    {
        try
        {
            return new BpfElf(object, name).programs();
        }
        catch (final IndexOutOfBoundsException ex)
        {
            throw BpfException.of("reading ELF", name, "truncated or malformed (" + ex.getMessage() + ")");
        }
    }

    private List<Program> programs()
    {
        final List<Program> programs = new ArrayList<>();
        for (final Function function : functions)
        {
            final Section section = sections.get(function.section());
            final Symbol symbol = symbolOf(function);
            if (".text".equals(section.name()) || symbol.binding() != STB_GLOBAL)
            {
                continue;
            }
            final Set<Integer> helpers = new TreeSet<>();
            final Set<Integer> atomics = new TreeSet<>();
            final Set<Function> seen = new HashSet<>();
            final Deque<Function> pending = new ArrayDeque<>(List.of(function));
            while (!pending.isEmpty())
            {
                final Function next = pending.pop();
                if (seen.add(next))
                {
                    scan(next, helpers, atomics, pending);
                }
            }
            programs.add(new Program(function.name(), section.name(), Collections.unmodifiableSet(helpers),
                Collections.unmodifiableSet(atomics)));
        }
        return programs;
    }

    private Symbol symbolOf(final Function function)
    {
        for (final Symbol symbol : symbols)
        {
            if (symbol.type() == STT_FUNC && symbol.section() == function.section() &&
                symbol.value() / INSN_SIZE == function.first())
            {
                return symbol;
            }
        }
        throw new IllegalStateException("no symbol for " + function.name());
    }

    private void scan(final Function function, final Set<Integer> helpers, final Set<Integer> atomics,
        final Deque<Function> pending)
    {
        final Section section = sections.get(function.section());
        final Map<Long, Integer> relocated = relocations.getOrDefault(function.section(), Map.of());
        for (int insn = function.first(); insn < function.end(); insn++)
        {
            final int at = section.offset() + insn * INSN_SIZE;
            final int code = elf.get(at) & 0xff;
            final int src = (elf.get(at + 1) & 0xff) >>> 4;
            final int imm = elf.getInt(at + 4);
            if (code == OP_CALL && src == 0)
            {
                helpers.add(imm);
            }
            else if (code == OP_ATOMIC_W || code == OP_ATOMIC_DW)
            {
                atomics.add(imm);
            }
            else if (code == OP_CALL && src == PSEUDO_CALL)
            {
                pending.push(callee(function.section(), insn, imm, relocated.get((long)insn * INSN_SIZE)));
            }
            else if (code == OP_LD_IMM64 && isFunction(relocated.get((long)insn * INSN_SIZE)))
            {
                // a callback's address (bpf_loop, bpf_for_each_map_elem): the byte offset imm from the symbol
                final Symbol symbol = symbols.get(relocated.get((long)insn * INSN_SIZE));
                pending.push(functionAt(symbol.section(), (symbol.value() + imm) / INSN_SIZE, insn));
            }
            if (code == OP_LD_IMM64)
            {
                insn++;
            }
        }
    }

    /** The function a BPF-to-BPF call (or a callback's address) at {@code insn} names, as libbpf resolves it. */
    private Function callee(final int section, final int insn, final int imm, final Integer relocatedSymbol)
    {
        final int targetSection;
        final long targetInsn;
        if (null == relocatedSymbol)
        {
            targetSection = section;
            targetInsn = insn + (long)imm + 1;
        }
        else
        {
            final Symbol symbol = symbols.get(relocatedSymbol);
            targetSection = symbol.section();
            targetInsn = symbol.value() / INSN_SIZE + imm + 1;
        }
        return functionAt(targetSection, targetInsn, insn);
    }

    private Function functionAt(final int section, final long targetInsn, final int fromInsn)
    {
        for (final Function function : functions)
        {
            if (function.section() == section && function.first() <= targetInsn && targetInsn < function.end())
            {
                return function;
            }
        }
        throw new IllegalStateException("a call at instruction " + fromInsn + " reaches no function in section " +
            sections.get(section).name());
    }

    /** Whether a relocation names a symbol in an executable section (code, not a map or data). */
    private boolean isFunction(final Integer symbolIndex)
    {
        if (null == symbolIndex)
        {
            return false;
        }
        final int section = symbols.get(symbolIndex).section();
        return section > 0 && section < sections.size() && (sections.get(section).flags() & SHF_EXECINSTR) != 0;
    }

    private void readSections()
    {
        final long tableOffset = elf.getLong(0x28);
        final int entrySize = elf.getShort(0x3a) & 0xffff;
        final int count = elf.getShort(0x3c) & 0xffff;
        final int namesIndex = elf.getShort(0x3e) & 0xffff;
        final List<int[]> raw = new ArrayList<>();
        final List<Long> flags = new ArrayList<>();
        for (int i = 0; i < count; i++)
        {
            final int at = Math.toIntExact(tableOffset + (long)i * entrySize);
            raw.add(new int[] {elf.getInt(at), elf.getInt(at + 4), Math.toIntExact(elf.getLong(at + 24)),
                Math.toIntExact(elf.getLong(at + 32)), elf.getInt(at + 40), elf.getInt(at + 44)});
            flags.add(elf.getLong(at + 8));
        }
        final int names = raw.get(namesIndex)[2];
        for (int i = 0; i < count; i++)
        {
            final int[] s = raw.get(i);
            sections.add(new Section(string(names + s[0]), s[1], flags.get(i), s[2], s[3], s[4], s[5]));
        }
    }

    private void readSymbols()
    {
        for (final Section section : sections)
        {
            if (section.type() != SHT_SYMTAB)
            {
                continue;
            }
            final int names = sections.get(section.link()).offset();
            for (int at = section.offset(); at < section.offset() + section.size(); at += 24)
            {
                symbols.add(new Symbol(string(names + elf.getInt(at)), elf.get(at + 4) & 0xff,
                    elf.getShort(at + 6) & 0xffff, elf.getLong(at + 8), elf.getLong(at + 16)));
            }
        }
        for (final Symbol symbol : symbols)
        {
            if (symbol.type() == STT_FUNC && symbol.section() > 0 && symbol.section() < sections.size() &&
                (sections.get(symbol.section()).flags() & SHF_EXECINSTR) != 0)
            {
                functions.add(new Function(symbol.name(), symbol.section(), (int)(symbol.value() / INSN_SIZE),
                    (int)((symbol.value() + symbol.size()) / INSN_SIZE)));
            }
        }
    }

    private void readRelocations()
    {
        for (final Section section : sections)
        {
            if (section.type() != SHT_REL || (sections.get(section.info()).flags() & SHF_EXECINSTR) == 0)
            {
                continue;
            }
            final Map<Long, Integer> bySite = relocations.computeIfAbsent(section.info(), ignored -> new HashMap<>());
            for (int at = section.offset(); at < section.offset() + section.size(); at += 16)
            {
                bySite.put(elf.getLong(at), (int)(elf.getLong(at + 8) >>> 32));
            }
        }
    }

    private String string(final int offset)
    {
        int end = offset;
        while (elf.get(end) != 0)
        {
            end++;
        }
        final byte[] bytes = new byte[end - offset];
        elf.get(offset, bytes);
        return new String(bytes, StandardCharsets.UTF_8);
    }
}
