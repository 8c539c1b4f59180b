package org.sprnn.io;

// numpy's .npz: a zip archive of .npy files, one per named array (np.savez stores entries,
// np.savez_compressed deflates them). java.util.zip reads both; each entry's bytes then go through the
// .npy parser, so every .npy check applies and messages name "archive.npz:entry.npy".

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.lang.foreign.MemorySegment;
import java.nio.channels.Channels;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.Enumeration;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.TreeMap;
import java.util.zip.CRC32;
import java.util.zip.ZipEntry;
import java.util.zip.ZipException;
import java.util.zip.ZipFile;
import java.util.zip.ZipOutputStream;
import org.sprnn.SprnnException;
import org.sprnn.model.Tensor;

/** numpy {@code .npz} archives: name → array, stored or deflated entries. */
public final class Npz {
    private Npz() {
    }

    /**
     * Reads every array of an archive; {@code name.npy} entries are returned under {@code name}, in
     * archive order.
     *
     * @throws SprnnException naming the file (and entry) if it is missing, not a zip, holds something other
     *                        than .npy entries, or an entry is malformed
     */
    public static Map<String, Tensor> read(Path file) {
        if (!Files.exists(file)) {
            throw new SprnnException(file + ": no such file");
        }
        Map<String, Tensor> arrays = new LinkedHashMap<>();
        try (ZipFile zip = new ZipFile(file.toFile())) {
            for (Enumeration<? extends ZipEntry> en = zip.entries(); en.hasMoreElements(); ) {
                ZipEntry e = en.nextElement();
                if (e.isDirectory()) {
                    continue;
                }
                String where = file + ":" + e.getName();
                if (!e.getName().endsWith(".npy")) {
                    throw new SprnnException(where + ": entry is not a .npy array");
                }
                if (e.getSize() > Integer.MAX_VALUE - 16) {
                    throw new SprnnException(where + ": entry of " + e.getSize() + " bytes is too large");
                }
                byte[] bytes;
                try (InputStream in = zip.getInputStream(e)) {
                    bytes = in.readNBytes(Integer.MAX_VALUE - 16);
                } catch (IOException ex) {
                    throw new SprnnException(where + ": corrupt entry (" + ex.getMessage() + ")");
                }
                String name = e.getName().substring(0, e.getName().length() - 4);
                if (arrays.put(name, Npy.parse(MemorySegment.ofArray(bytes), where)) != null) {
                    throw new SprnnException(where + ": the archive holds '" + name + "' twice");
                }
            }
        } catch (NoSuchFileException e) {
            throw new SprnnException(file + ": no such file");
        } catch (ZipException e) {
            throw new SprnnException(file + ": not a valid .npz (zip) archive (" + e.getMessage() + ")");
        } catch (IOException e) {
            throw new SprnnException(file + ": cannot read: " + e.getMessage());
        }
        return arrays;
    }

    /**
     * Writes arrays as an .npz atomically, entries in name order, each a format 1.0 .npy of {@code dtype}
     * (F32, F64 or F16).
     *
     * @param compressed deflate the entries (as {@code np.savez_compressed}) or store them (as {@code np.savez})
     * @throws SprnnException naming the file if it cannot be written
     */
    public static void write(Path file, Map<String, Tensor> arrays, DType dtype, boolean compressed) {
        Map<String, byte[]> entries = new TreeMap<>();
        arrays.forEach((name, t) -> {
            if (name == null || name.isEmpty()) {
                throw new SprnnException(file + ": empty array name");
            }
            entries.put(name + ".npy", Npy.encode(t, dtype, file + ":" + name + ".npy"));
        });
        AtomicFiles.write(file, ch -> {
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
        });
    }
}
