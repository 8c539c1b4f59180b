package org.sprnn.io;

// Zip archives written byte by byte, so that a test can make one say what no zip library would write:
// a recorded size or CRC-32 that disagrees with the data, a deflate stream that expands to gigabytes
// from a few megabytes, fields of the central directory set to anything. The layout is PKWARE's
// APPNOTE: local header + data per entry, then the central directory, then the end record (no zip64).

import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.zip.CRC32;
import java.util.zip.Deflater;

/** A zip archive built from entries whose every recorded field the test chooses. */
final class HandZip {

    /** Compression method numbers of the zip format. */
    static final int STORED = 0, DEFLATED = 8;

    /**
     * One entry as the archive records it.
     *
     * @param name       entry name (UTF-8)
     * @param method     {@link #STORED} or {@link #DEFLATED}
     * @param payload    the bytes as they sit in the archive (compressed if DEFLATED)
     * @param crc        the CRC-32 recorded (local header and central directory alike)
     * @param size       the uncompressed size recorded
     */
    record Entry(String name, int method, byte[] payload, long crc, long size) {
        /** An honest entry: the data stored or deflated, its true CRC-32 and size. */
        static Entry of(String name, byte[] data, boolean deflate) {
            return new Entry(name, deflate ? DEFLATED : STORED, deflate ? deflate(data) : data, HandZip.crc(data), data.length);
        }

        Entry withSize(long s) {
            return new Entry(name, method, payload, crc, s);
        }

        Entry withCrc(long c) {
            return new Entry(name, method, payload, c, size);
        }
    }

    private HandZip() {
    }

    /** The archive of these entries, in order. */
    static byte[] write(List<Entry> entries) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        List<Integer> offsets = new ArrayList<>();
        for (Entry e : entries) {
            offsets.add(out.size());
            byte[] name = e.name().getBytes(StandardCharsets.UTF_8);
            ByteBuffer loc = le(30 + name.length);
            loc.putInt(0x04034b50).putShort((short) 20).putShort((short) 0x0800).putShort((short) e.method())
                    .putShort((short) 0).putShort((short) 0x21) // 1980-01-01
                    .putInt((int) e.crc()).putInt(e.payload().length).putInt((int) e.size())
                    .putShort((short) name.length).putShort((short) 0).put(name);
            out.writeBytes(loc.array());
            out.writeBytes(e.payload());
        }
        int cdStart = out.size();
        for (int i = 0; i < entries.size(); i++) {
            Entry e = entries.get(i);
            byte[] name = e.name().getBytes(StandardCharsets.UTF_8);
            ByteBuffer cen = le(46 + name.length);
            cen.putInt(0x02014b50).putShort((short) 20).putShort((short) 20).putShort((short) 0x0800)
                    .putShort((short) e.method()).putShort((short) 0).putShort((short) 0x21)
                    .putInt((int) e.crc()).putInt(e.payload().length).putInt((int) e.size())
                    .putShort((short) name.length).putShort((short) 0).putShort((short) 0)
                    .putShort((short) 0).putShort((short) 0).putInt(0).putInt(offsets.get(i)).put(name);
            out.writeBytes(cen.array());
        }
        int cdSize = out.size() - cdStart;
        ByteBuffer end = le(22);
        end.putInt(0x06054b50).putShort((short) 0).putShort((short) 0).putShort((short) entries.size())
                .putShort((short) entries.size()).putInt(cdSize).putInt(cdStart).putShort((short) 0);
        out.writeBytes(end.array());
        return out.toByteArray();
    }

    static long crc(byte[] data) {
        CRC32 c = new CRC32();
        c.update(data);
        return c.getValue();
    }

    /** Raw deflate (no zlib wrapper), as zip entries hold it. */
    static byte[] deflate(byte[] data) {
        Deflater d = new Deflater(Deflater.BEST_COMPRESSION, true);
        d.setInput(data);
        d.finish();
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        byte[] buf = new byte[8192];
        while (!d.finished()) {
            out.write(buf, 0, d.deflate(buf));
        }
        d.end();
        return out.toByteArray();
    }

    /**
     * A zip bomb's entry: {@code head} followed by {@code zeroMiB} MiB of zero bytes, deflated to about
     * a thousandth of that. Built without ever holding the expansion: one MiB of zeros is deflated once
     * with a sync flush (a self-contained run of blocks that only refers back to zeros) and that run is
     * repeated; the CRC-32 is of the whole expansion, as an honest archive records it.
     *
     * @return the entry, recorded honestly: size {@code head.length + zeroMiB MiB}
     */
    static Entry bomb(String name, byte[] head, int zeroMiB) {
        byte[] mib = new byte[1 << 20];
        Deflater d = new Deflater(Deflater.BEST_COMPRESSION, true);
        byte[] buf = new byte[1 << 16];
        ByteArrayOutputStream first = new ByteArrayOutputStream();
        d.setInput(head);
        drain(d, buf, first);
        d.setInput(mib);
        drain(d, buf, first);
        ByteArrayOutputStream repeat = new ByteArrayOutputStream();
        d.setInput(mib);
        drain(d, buf, repeat); // a steady-state MiB: its back-references reach only zeros
        d.finish();
        ByteArrayOutputStream tail = new ByteArrayOutputStream();
        while (!d.finished()) {
            tail.write(buf, 0, d.deflate(buf));
        }
        d.end();
        ByteArrayOutputStream payload = new ByteArrayOutputStream();
        payload.writeBytes(first.toByteArray());
        byte[] run = repeat.toByteArray();
        for (int i = 1; i < zeroMiB; i++) {
            payload.writeBytes(run);
        }
        payload.writeBytes(tail.toByteArray());
        CRC32 crc = new CRC32();
        crc.update(head);
        for (int i = 0; i < zeroMiB; i++) {
            crc.update(mib);
        }
        return new Entry(name, DEFLATED, payload.toByteArray(), crc.getValue(), head.length + ((long) zeroMiB << 20));
    }

    private static void drain(Deflater d, byte[] buf, ByteArrayOutputStream out) {
        int n;
        do { // a flush is complete once it leaves room in the buffer
            n = d.deflate(buf, 0, buf.length, Deflater.SYNC_FLUSH);
            out.write(buf, 0, n);
        } while (n == buf.length);
    }

    private static ByteBuffer le(int n) {
        return ByteBuffer.allocate(n).order(ByteOrder.LITTLE_ENDIAN);
    }
}
