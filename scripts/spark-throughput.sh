#!/usr/bin/env bash
# spark-throughput.sh — issue 18's measurement: sequences per second through SprnnTransformer on Spark local[2]
# against the library alone on the same data and batches (cpu engine), in one JVM, rounds alternated.
#
#   bash scripts/spark-throughput.sh OUT_DIR [ROWS] [ROUNDS]      # e.g. results/spark 20000 5
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
out=${1:?usage: spark-throughput.sh OUT_DIR [ROWS] [ROUNDS]}
export JAVA_HOME=${JAVA_HOME:-/usr/lib/jvm/temurin-25-jdk-amd64}
export PATH="$JAVA_HOME/bin:$PATH" MAVEN_OPTS="${MAVEN_OPTS:-} --sun-misc-unsafe-memory-access=allow"
cd "$root"
# one reactor build: sprnn-core resolves to its target/classes (nothing is installed)
mvn -B -ntp -q -pl sprnn-spark -am test-compile dependency:build-classpath -Dmdep.includeScope=test -Dmdep.outputFile=target/test-classpath.txt
flags=$(sed -n 's:.*<spark.jvm.flags>\(.*\)</spark.jvm.flags>.*:\1:p' sprnn-spark/pom.xml)
# shellcheck disable=SC2086
java --enable-native-access=ALL-UNNAMED --add-modules jdk.incubator.vector --sun-misc-unsafe-memory-access=allow -Xmx6g $flags \
  -Dlog4j2.configurationFile=sprnn-spark/src/test/resources/log4j2.properties \
  -cp "sprnn-spark/target/test-classes:sprnn-spark/target/classes:sprnn-core/target/classes:$(cat sprnn-spark/target/test-classpath.txt)" \
  org.sprnn.spark.SparkThroughput "$out" "${@:2}"
