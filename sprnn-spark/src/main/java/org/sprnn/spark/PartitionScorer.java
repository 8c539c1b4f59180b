package org.sprnn.spark;

// Scores one partition: reads its rows in order, gathers them into batches of the configured size, runs each
// batch on the executor's engine (sequences of different lengths padded to the batch's longest and run with
// per-sequence lengths, PyTorch's packed semantics) and yields each input row with its output appended. Lazy:
// a batch is read only when the rows before it have been taken, so a partition never sits in memory whole.

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Locale;
import java.util.NoSuchElementException;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.sprnn.SprnnException;
import org.sprnn.engine.RnnOutput;
import org.sprnn.engine.SequenceLengths;
import org.sprnn.io.Untrusted;
import org.sprnn.model.RnnModel;
import org.sprnn.model.Tensor;

/** The rows of one partition with the model's output appended, batch by batch. */
final class PartitionScorer implements Iterator<Row> {
    /** The longest sequence a row may hold (steps), so a hostile row cannot make a batch allocate without bound. */
    static final int MAX_STEPS = 1 << 20;
    /**
     * The most values (steps × rows × max(input, output width)) one engine run may hold: 32 M doubles, 256 MB for the
     * input and as much for the output. A batch is cut short before a row that would pass it; one row alone past
     * it is refused, named.
     */
    static final long MAX_BATCH_VALUES = 1L << 25;
    /** The budget in force: {@link #MAX_BATCH_VALUES}; tests in local mode lower it. */
    static volatile long batchValueBudget = MAX_BATCH_VALUES;

    /** One row's sequence as read, before batching. */
    private record Sequence(Row row, long index, float[] values, int steps, int length) {
    }

    private final Iterator<Row> rows;
    private final ScoreSpec spec;
    private final int partition;
    private final ArrayDeque<Row> ready = new ArrayDeque<>();
    private Sequence pending; // read, but left for the next batch (it would have passed MAX_BATCH_VALUES)
    private ExecutorEngines.Loaded engine; // this partition's, taken at its first batch
    private long read;

    PartitionScorer(Iterator<Row> rows, ScoreSpec spec, int partition) {
        this.rows = rows;
        this.spec = spec;
        this.partition = partition;
    }

    @Override
    public boolean hasNext() {
        if (ready.isEmpty() && (pending != null || rows.hasNext())) {
            scoreNextBatch();
        }
        return !ready.isEmpty();
    }

    @Override
    public Row next() {
        if (!hasNext()) {
            throw new NoSuchElementException();
        }
        return ready.poll();
    }

    private void scoreNextBatch() {
        ExecutorEngines.Key key = spec.key().forTask();
        if (engine == null) {
            engine = ExecutorEngines.get(key); // once a partition: its rows all scored by one model
        }
        ExecutorEngines.Loaded loaded = engine;
        RnnModel model = loaded.model();
        int width = Math.max(model.inputSize(), model.outputSize());
        List<Sequence> batch = new ArrayList<>(Math.min(spec.batchSize(), 1024));
        int steps = 0;
        while (batch.size() < spec.batchSize() && (pending != null || rows.hasNext())) {
            Sequence s = pending != null ? pending : read(rows.next(), read++, model.inputSize());
            pending = null;
            int longest = Math.max(steps, s.steps());
            if ((long) longest * (batch.size() + 1) * width > batchValueBudget) {
                if (batch.isEmpty()) {
                    throw new SprnnException(where(s) + ": " + s.steps() + " steps of " + width + " values are more than one run "
                            + "may hold (" + batchValueBudget + " values)");
                }
                pending = s; // starts the next batch
                break;
            }
            steps = longest;
            batch.add(s);
        }
        Tensor x = pack(batch, steps, model.inputSize());
        int fullSteps = steps;
        boolean ragged = batch.stream().anyMatch(s -> s.length() != fullSteps);
        RnnOutput out;
        loaded = ExecutorEngines.acquire(key, loaded, where(batch.get(0))); // another of the same file where a run failed
        engine = loaded;
        try {
            out = ragged ? loaded.engine().run(x, null, null, SequenceLengths.of(batch.stream().mapToInt(Sequence::length).toArray()))
                    : loaded.engine().run(x, null, null);
        } catch (RuntimeException e) {
            String msg = String.valueOf(e.getMessage());
            java.util.regex.Matcher m = BATCH_ELEMENT.matcher(msg);
            if (msg.startsWith("overflow") && m.find() && Integer.parseInt(m.group(1)) < batch.size()) {
                // this row's values, with the model's weights, leave the range the engine computes in: the row's fault, not
                // the engine's, which stays
                int k = Integer.parseInt(m.group(1));
                throw new SprnnException(where(batch.get(k)) + ": its values, with the model's weights, leave the range "
                        + loaded.engineName() + " computes in (batch element " + k + " of this run: " + msg + ")", e);
            }
            // every row was checked on the way in, so any other failure is the engine's: drop it, the next run builds anew
            ExecutorEngines.evict(key, loaded, ExecutorEngines.FAILED);
            engine = null;
            throw new SprnnException(where(batch.get(0)) + " (a batch of " + batch.size() + " rows starting there, through row "
                    + batch.get(batch.size() - 1).index() + "): " + loaded.engineName() + " failed: " + msg, e);
        } finally {
            ExecutorEngines.release(loaded);
        }
        for (int b = 0; b < batch.size(); b++) {
            ready.add(append(batch.get(b).row(), output(out, b, batch.get(b).length(), model)));
        }
    }

    /** The "(batch element N" an overflow refusal names. */
    private static final java.util.regex.Pattern BATCH_ELEMENT = java.util.regex.Pattern.compile("\\(batch element (\\d+)");

    /** This row's output in the chosen kind: all its steps, its last step, or its final hidden states. */
    private Object output(RnnOutput out, int b, int length, RnnModel model) {
        int batch = out.output().dim(1);
        int width = out.output().dim(2);
        double[] y = out.output().data();
        switch (spec.outputKind()) {
            case ALL -> {
                float[][] all = new float[length][width];
                for (int t = 0; t < length; t++) {
                    for (int j = 0; j < width; j++) {
                        all[t][j] = (float) y[(t * batch + b) * width + j];
                    }
                }
                return all;
            }
            case LAST -> {
                float[] last = new float[width];
                for (int j = 0; j < width; j++) {
                    last[j] = (float) y[((length - 1) * batch + b) * width + j];
                }
                return last;
            }
            default -> { // STATE: h_n [layers x directions][H]
                int layers = out.hN().dim(0);
                int h = out.hN().dim(2);
                double[] hn = out.hN().data();
                float[][] state = new float[layers][h];
                for (int l = 0; l < layers; l++) {
                    for (int j = 0; j < h; j++) {
                        state[l][j] = (float) hn[(l * batch + b) * h + j];
                    }
                }
                return state;
            }
        }
    }

    private static Row append(Row row, Object value) {
        Object[] values = new Object[row.length() + 1];
        for (int i = 0; i < row.length(); i++) {
            values[i] = row.get(i);
        }
        values[row.length()] = value;
        return RowFactory.create(values);
    }

    /** [T][B][I] with the batch's sequences side by side, zeros past each one's end. */
    private static Tensor pack(List<Sequence> batch, int steps, int input) {
        int n = batch.size();
        double[] x = new double[Math.multiplyExact(Math.multiplyExact(steps, n), input)];
        for (int b = 0; b < n; b++) {
            Sequence s = batch.get(b);
            for (int t = 0; t < s.steps(); t++) {
                for (int i = 0; i < input; i++) {
                    x[(t * n + b) * input + i] = s.values()[t * input + i];
                }
            }
        }
        return new Tensor(new int[] {steps, n, input}, x);
    }

    /** Reads and checks one row's sequence (and length), naming the row in any refusal. */
    private Sequence read(Row row, long index, int input) {
        int col = spec.inputIndex();
        if (row.isNullAt(col)) {
            throw bad(row, index, spec.inputCol() + " is null");
        }
        float[] values;
        int steps;
        Object v = row.get(col);
        if (v instanceof byte[] bytes) {
            if (bytes.length % (4L * input) != 0 || bytes.length == 0) {
                throw bad(row, index, String.format(Locale.ROOT, "%s holds %d bytes, not a whole number of float32 steps of %d inputs "
                        + "(%d bytes each)", spec.inputCol(), bytes.length, input, 4 * input));
            }
            steps = (int) (bytes.length / (4L * input));
            if (steps > MAX_STEPS) {
                throw bad(row, index, spec.inputCol() + " has " + steps + " steps, more than " + MAX_STEPS);
            }
            values = new float[steps * input]; // at most bytes.length / 4
            ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer().get(values);
        } else {
            List<?> outer = row.getList(col);
            steps = outer.size();
            if (steps == 0) {
                throw bad(row, index, spec.inputCol() + " has no steps");
            }
            if (steps > MAX_STEPS) {
                throw bad(row, index, spec.inputCol() + " has " + steps + " steps, more than " + MAX_STEPS);
            }
            List<List<?>> inner = new ArrayList<>(steps);
            for (int t = 0; t < steps; t++) { // every step's size first: nothing is allocated for a row that is wrong
                Object step = outer.get(t);
                List<?> stepValues = step instanceof scala.collection.Seq<?> seq ? scala.jdk.javaapi.CollectionConverters.asJava(seq)
                        : step instanceof List<?> list ? list : null;
                if (stepValues == null) {
                    throw bad(row, index, spec.inputCol() + " step " + t + " is null");
                }
                if (stepValues.size() != input) {
                    throw bad(row, index, String.format(Locale.ROOT, "%s step %d has %d values, the model takes %d inputs",
                            spec.inputCol(), t, stepValues.size(), input));
                }
                inner.add(stepValues);
            }
            if ((long) steps * input > batchValueBudget) {
                throw bad(row, index, steps + " steps of " + input + " inputs are more than one run may hold (" + batchValueBudget + " values)");
            }
            values = new float[steps * input];
            for (int t = 0; t < steps; t++) {
                List<?> step = inner.get(t);
                for (int i = 0; i < input; i++) {
                    Object e = step.get(i);
                    if (!(e instanceof Number num)) {
                        throw bad(row, index, spec.inputCol() + " step " + t + " value " + i + " is null");
                    }
                    double d = num.doubleValue(); // double columns are narrowed to float32, what every engine reads
                    if (Double.isFinite(d) && Math.abs(d) > Float.MAX_VALUE) {
                        throw bad(row, index, String.format(Locale.ROOT, "%s step %d value %d is %s, outside float32's range",
                                spec.inputCol(), t, i, d));
                    }
                    values[t * input + i] = (float) d;
                }
            }
        }
        for (int k = 0; k < values.length; k++) {
            if (!Float.isFinite(values[k])) {
                throw bad(row, index, String.format(Locale.ROOT, "%s step %d value %d is %s", spec.inputCol(), k / input, k % input, values[k]));
            }
        }
        int length = steps;
        if (spec.lengthsIndex() >= 0) {
            if (row.isNullAt(spec.lengthsIndex())) {
                throw bad(row, index, spec.lengthsCol() + " is null");
            }
            long len = ((Number) row.get(spec.lengthsIndex())).longValue();
            if (len < 1 || len > steps) {
                throw bad(row, index, String.format(Locale.ROOT, "%s is %d; the sequence has %d steps (expected 1..%d)",
                        spec.lengthsCol(), len, steps, steps));
            }
            length = (int) len;
        }
        return new Sequence(row, index, values, steps, length);
    }

    private SprnnException bad(Row row, long index, String what) {
        return new SprnnException(where(row, index) + ": " + what);
    }

    private String where(Sequence s) {
        return where(s.row(), s.index());
    }

    /** "row 17 of partition 3 (id=...)": the row's place, and its id column where one is configured. */
    private String where(Row row, long index) {
        String id = "";
        if (spec.idIndex() >= 0) {
            id = " (" + spec.idCol() + "=" + Untrusted.quote(String.valueOf(row.get(spec.idIndex())), 80) + ")";
        }
        return "sprnn-spark: row " + index + " of partition " + partition + id;
    }
}
