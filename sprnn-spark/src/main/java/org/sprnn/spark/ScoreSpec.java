package org.sprnn.spark;

import java.io.Serializable;

/**
 * What each task needs to score its partition, resolved on the driver from the transformer's parameters and the
 * DataFrame's schema, and shipped to the executors (serialisable; the model itself is not: each executor reads it).
 *
 * @param key          the executor engine it runs on
 * @param batchSize    rows per engine run
 * @param outputKind   what each row gets
 * @param inputCol     the sequence column's name, for messages
 * @param inputIndex   its position in the row
 * @param lengthsCol   the lengths column's name, or null
 * @param lengthsIndex its position, or -1
 * @param idCol        the column that names a row in error messages, or null
 * @param idIndex      its position, or -1
 */
record ScoreSpec(ExecutorEngines.Key key, int batchSize, OutputKind outputKind, String inputCol, int inputIndex,
                 String lengthsCol, int lengthsIndex, String idCol, int idIndex) implements Serializable {
}
