package org.sprnn.io;

// numpy's .npz: a zip archive of .npy files, one per named array (np.savez stores entries,
// np.savez_compressed deflates them). java.util.zip reads the central directory and inflates; everything
// else is checked here, because an archive is as untrusted as any file: each entry's .npy header is read
// first (bounded), the exact size it needs is computed, an entry whose recorded size disagrees is refused
// before its data is touched, and the data is inflated only up to that size (a zip bomb stops at its first
// byte too many), then its CRC-32 is compared with the archive's. The bytes then go through the .npy
// parser, so every .npy check applies and messages name "archive.npz:entry.npy".

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.lang.foreign.MemorySegment;
import java.nio.channels.Channels;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Enumeration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.zip.CRC32;
import java.util.zip.ZipEntry;
import java.util.zip.ZipException;
import java.util.zip.ZipFile;
import java.util.zip.ZipOutputStream;
import org.sprnn.Precision;
import org.sprnn.SprnnException;
import org.sprnn.model.Tensor;

/**
 * numpy {@code .npz} archives: name → array, stored or deflated entries.
 *
 * <p>Reading checks, per entry, before and while inflating: the name ends in {@code .npy} and is not
 * repeated; the .npy header (at most {@value Npy#MAX_HEADER_BYTES} bytes) is valid; the entry's
 * uncompressed size recorded in the zip equals what the header needs (header plus shape × dtype size,
 * under 2 GiB); the data holds exactly that many bytes (no more is ever inflated); its CRC-32 equals the
 * archive's. Memory grows with the data actually inflated, up to what the header promises. A zip written
 * by {@code torch.save} is recognised and refused with the way to convert it.
 */
public final class Npz {

    /** The largest entry read: a .npy file in one Java array. */
    private static final long MAX_ENTRY_BYTES = Integer.MAX_VALUE - 16;

    /** The first allocation for an entry's bytes; it doubles as data arrives, up to the header's size. */
    private static final int INITIAL_BUFFER = 1 << 20;

    private Npz() {
    }

    /**
     * Reads every array of an archive; {@code name.npy} entries are returned under {@code name}, in
     * archive order.
     *
     * @param file an {@code .npz} archive (stored or deflated entries)
     * @return entry name without {@code .npy} → values, in float64
     * @throws SprnnException naming the file (and entry) if it is missing, not a zip, a PyTorch archive,
     *                        holds something other than .npy entries, or an entry is malformed, corrupt
     *                        (CRC-32) or not the size its header says
     */
    public static Map<String, Tensor> read(Path file) {
        if (!Files.exists(file)) {
            throw new SprnnException(file + ": no such file");
        }
        Map<String, Tensor> arrays = new LinkedHashMap<>();
        try (ZipFile zip = new ZipFile(file.toFile())) {
            List<ZipEntry> entries = new ArrayList<>();
            for (Enumeration<? extends ZipEntry> en = zip.entries(); en.hasMoreElements(); ) {
                entries.add(en.nextElement());
            }
            refuseTorchArchive(file, entries);
            // duplicates first: ZipFile finds an entry's data by its name, so a second entry of one name would
            // be read with the first one's bytes (and refused as a CRC mismatch instead of for what it is)
            java.util.Set<String> names = new java.util.HashSet<>();
            for (ZipEntry e : entries) {
                if (!e.isDirectory() && !names.add(e.getName())) {
                    String array = e.getName().endsWith(".npy") ? e.getName().substring(0, e.getName().length() - 4) : e.getName();
                    throw new SprnnException(file + ":" + Untrusted.escape(e.getName()) + ": the archive holds "
                            + Untrusted.quote(array) + " twice");
                }
            }
            checkHeap(file, zip, entries);
            for (ZipEntry e : entries) {
                if (e.isDirectory()) {
                    continue;
                }
                String where = file + ":" + Untrusted.escape(e.getName());
                if (!e.getName().endsWith(".npy")) {
                    throw new SprnnException(where + ": entry is not a .npy array");
                }
                String name = e.getName().substring(0, e.getName().length() - 4);
                if (arrays.containsKey(name)) {
                    throw new SprnnException(where + ": the archive holds " + Untrusted.quote(name) + " twice");
                }
                byte[] bytes;
                try (InputStream in = zip.getInputStream(e)) {
                    bytes = readEntry(in, e, where);
                } catch (IOException ex) {
                    throw new SprnnException(where + ": corrupt entry (" + Untrusted.why(ex) + ")");
                }
                arrays.put(name, Npy.parse(MemorySegment.ofArray(bytes), where));
            }
        } catch (NoSuchFileException e) {
            throw new SprnnException(file + ": no such file");
        } catch (ZipException e) {
            throw new SprnnException(file + ": not a valid .npz (zip) archive (" + Untrusted.escape(String.valueOf(e.getMessage())) + ")");
        } catch (IOException e) {
            throw new SprnnException(file + (e.getMessage() == null ? ": not a valid .npz (zip) archive (" + Untrusted.why(e) + ")"
                    : ": cannot read: " + Untrusted.why(e)));
        }
        return arrays;
    }

    /**
     * Refuses, before inflating any entry's data, an archive whose arrays as float64 (what {@link #read} makes of them)
     * need more Java heap than the JVM has left: each entry's .npy header is read first (its first bytes only), so a
     * small file that inflates to gigabytes is refused in milliseconds, not after a minute of inflating them.
     */
    private static void checkHeap(Path file, ZipFile zip, List<ZipEntry> entries) throws IOException {
        long doubles = 0, largestEntry = 0;
        for (ZipEntry e : entries) {
            if (e.isDirectory() || !e.getName().endsWith(".npy")) {
                continue; // refused in the main loop, with its name
            }
            String where = file + ":" + Untrusted.escape(e.getName());
            try (InputStream in = zip.getInputStream(e)) {
                NpyHeader header = NpyHeader.of(MemorySegment.ofArray(headerBytes(in, where)), where);
                if (header.totalBytes() > MAX_ENTRY_BYTES || e.getSize() != header.totalBytes()) {
                    continue; // refused in the main loop, which says which
                }
                doubles = FileElements.multiplyOrHuge(header.count(), 8) > Long.MAX_VALUE - doubles ? Long.MAX_VALUE
                        : doubles + header.count() * 8;
                largestEntry = Math.max(largestEntry, header.totalBytes());
            } catch (IOException ex) {
                throw new SprnnException(where + ": corrupt entry (" + Untrusted.why(ex) + ")");
            }
        }
        long need = doubles > Long.MAX_VALUE - largestEntry ? Long.MAX_VALUE : doubles + largestEntry;
        if (need > usableHeap()) {
            System.gc(); // what looked taken may be garbage not yet collected: ask once more before refusing a real file
            if (need > usableHeap()) {
                throw org.sprnn.JvmSupport.heapTooSmall(file + ": reading its arrays (as its .npy headers give them: float64, "
                        + "and one entry's bytes while it is decoded)", need, "the file is not what its headers say");
            }
        }
    }

    /** Three quarters of the heap not in use: the rest kept for the collector, as arrays this large need room to move into. */
    private static long usableHeap() {
        Runtime rt = Runtime.getRuntime();
        return (rt.maxMemory() - (rt.totalMemory() - rt.freeMemory())) / 4 * 3;
    }

    /** The bytes of an entry's .npy preamble and header, read from the start of its stream (at most 12 + the header limit). */
    private static byte[] headerBytes(InputStream in, String where) throws IOException {
        byte[] pre = in.readNBytes(12); // magic, version, header length: 10 bytes in 1.0, 12 in 2.0/3.0
        long headerEnd = NpyHeader.end(MemorySegment.ofArray(pre), where);
        byte[] buf = pre;
        if (headerEnd > pre.length) {
            buf = Arrays.copyOf(pre, (int) headerEnd); // headerEnd <= 12 + Npy.MAX_HEADER_BYTES
            int n = in.readNBytes(buf, pre.length, buf.length - pre.length);
            if (pre.length + n < buf.length) {
                buf = Arrays.copyOf(buf, pre.length + n); // the header is cut short: NpyHeader.of names it
            }
        }
        return buf;
    }

    /**
     * The bytes of one entry, exactly as many as its .npy header needs, CRC-checked: header first (its
     * length comes from the first 12 bytes), then the recorded size compared with the header's, then the
     * data, with a buffer that grows only as bytes arrive.
     */
    private static byte[] readEntry(InputStream in, ZipEntry e, String where) throws IOException {
        byte[] buf = headerBytes(in, where);
        NpyHeader header = NpyHeader.of(MemorySegment.ofArray(buf), where);
        long needed = header.totalBytes();
        if (needed > MAX_ENTRY_BYTES) {
            throw new SprnnException(where + ": shape " + Arrays.toString(header.shape()) + " needs " + needed
                    + " bytes, more than the " + MAX_ENTRY_BYTES + " sprnn reads from one .npz entry");
        }
        if (e.getSize() != needed) {
            throw new SprnnException(where + ": the archive records " + e.getSize() + " bytes uncompressed but the entry's "
                    + ".npy header (shape " + Arrays.toString(header.shape()) + ") needs " + needed + ": corrupt");
        }
        int have = buf.length;
        if (have > needed) { // the preamble read reached past a tiny array's data: the entry is too long
            throw new SprnnException(where + ": entry holds more than the " + needed + " bytes its .npy header needs: trailing data");
        }
        buf = Arrays.copyOf(buf, (int) Math.min(needed, Math.max(have, INITIAL_BUFFER)));
        while (have < needed) {
            if (have == buf.length) {
                buf = grow(buf, needed, where);
            }
            int n = in.read(buf, have, buf.length - have);
            if (n < 0) {
                throw new SprnnException(where + ": entry ends after " + have + " of the " + needed
                        + " bytes its .npy header needs: truncated");
            }
            have += n;
        }
        if (in.read() >= 0) {
            throw new SprnnException(where + ": entry holds more than the " + needed + " bytes its .npy header needs: trailing data");
        }
        CRC32 crc = new CRC32();
        crc.update(buf, 0, have);
        if (crc.getValue() != e.getCrc()) {
            throw new SprnnException(where + ": CRC-32 mismatch (the archive records " + String.format("%08x", e.getCrc())
                    + ", the data gives " + String.format("%08x", crc.getValue()) + "): the file is corrupt");
        }
        return buf;
    }

    /** Doubles {@code buf}, to at most {@code limit} bytes; a heap too small for that is a one-line refusal. */
    private static byte[] grow(byte[] buf, long limit, String where) {
        int size = (int) Math.min(limit, 2L * buf.length);
        try {
            return Arrays.copyOf(buf, size);
        } catch (OutOfMemoryError oom) {
            throw new SprnnException(where + ": the entry's " + limit + " bytes need more Java heap than the JVM can give: "
                    + "raise its limit (-Xmx, or SPRNN_JAVA_OPTS=-Xmx<size> for the sprnn command)");
        }
    }

    /**
     * Refuses a zip written by {@code torch.save} ({@code <name>/data.pkl}, {@code <name>/data/0}, ...):
     * it holds a pickle, which sprnn does not run, not .npy arrays.
     */
    private static void refuseTorchArchive(Path file, List<ZipEntry> entries) {
        for (ZipEntry e : entries) {
            String n = e.getName();
            if (n.equals("data.pkl") || n.endsWith("/data.pkl")) {
                throw new SprnnException(file + ": a PyTorch archive written by torch.save (it holds " + Untrusted.quote(n)
                        + "), not an .npz of arrays; sprnn does not unpickle: " + ModelFiles.CONVERT_HINT);
            }
        }
    }

    /**
     * Writes arrays as an .npz atomically, entries in name order, each a format 1.0 .npy of {@code dtype}
     * (fp32, fp64 or fp16).
     *
     * @param file the file to write
     * @param arrays entry name (without {@code .npy}) → values
     * @param dtype fp32, fp64 or fp16
     * @param compressed deflate the entries (as {@code np.savez_compressed}) or store them (as {@code np.savez})
     * @throws SprnnException naming the file if it cannot be written
     */
    public static void write(Path file, Map<String, Tensor> arrays, Precision dtype, boolean compressed) {
        AtomicFiles.write(file, writer(file, arrays, dtype, compressed));
    }

    /** What {@link #write} writes, its entries encoded now, the archive written when a batch writes it. */
    static AtomicFiles.ChannelWriter writer(Path file, Map<String, Tensor> arrays, Precision dtype, boolean compressed) {
        Map<String, byte[]> entries = new TreeMap<>();
        arrays.forEach((name, t) -> {
            if (name == null || name.isEmpty()) {
                throw new SprnnException(file + ": empty array name");
            }
            entries.put(name + ".npy", Npy.encode(t, dtype, file + ":" + name + ".npy"));
        });
        return ch -> {
            OutputStream out = Channels.newOutputStream(ch);
            ZipOutputStream zip = new ZipOutputStream(out);
            for (Map.Entry<String, byte[]> e : entries.entrySet()) {
                ZipEntry ze = new ZipEntry(e.getKey());
                byte[] b = e.getValue();
                if (compressed) {
                    ze.setMethod(ZipEntry.DEFLATED);
                } else {
                    CRC32 crc = new CRC32();
                    crc.update(b);
                    ze.setMethod(ZipEntry.STORED);
                    ze.setSize(b.length);
                    ze.setCompressedSize(b.length);
                    ze.setCrc(crc.getValue());
                }
                ze.setTime(315532800000L); // 1980-01-01, the zip epoch: same arrays, same bytes
                zip.putNextEntry(ze);
                zip.write(b);
                zip.closeEntry();
            }
            zip.finish(); // not close(): the channel belongs to AtomicFiles, which forces and closes it
            out.flush();
        };
    }
}
