#!/usr/bin/env bash
# dist.sh — builds a self-contained linux-x64 distribution of sprnn for machines without a JDK (GPU
# servers): a jlink'd Java runtime with only the modules sprnn needs (java.base, jdk.incubator.vector;
# no java.desktop), the shaded CLI jar and a bin/sprnn launcher (bash) with native access enabled.
#
#   scripts/dist.sh            build (mvn package, tests skipped) and assemble
#   scripts/dist.sh --no-build assemble from an existing sprnn-cli/target/sprnn.jar
#
# Output (ignored by git): dist/sprnn-linux-x64/ (unpacked) and dist/sprnn-linux-x64.tar.xz.
# On the target: tar xJf sprnn-linux-x64.tar.xz && sprnn-linux-x64/bin/sprnn selftest
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

find_jdk() { # a JDK >= 25 with jlink: JAVA_HOME if it is one, else /usr/lib/jvm/*
  local c v
  for c in "${JAVA_HOME:-}" /usr/lib/jvm/*; do
    [ -n "$c" ] && [ -x "$c/bin/jlink" ] || continue
    v=$("$c/bin/java" -XshowSettings:properties -version 2>&1 | sed -n 's/^ *java\.specification\.version = \([0-9]*\).*/\1/p' | head -n1)
    if [ -n "$v" ] && [ "$v" -ge 25 ]; then echo "$c"; return 0; fi
  done
  return 1
}
jdk=$(find_jdk) || { echo "dist.sh: no JDK >= 25 with jlink found (JAVA_HOME, /usr/lib/jvm/*)" >&2; exit 2; }
export JAVA_HOME="$jdk" PATH="$jdk/bin:$PATH"
export MAVEN_OPTS="${MAVEN_OPTS:-} --sun-misc-unsafe-memory-access=allow"

if [ "${1:-}" != "--no-build" ]; then
  mvn -B -q -ntp -DskipTests -pl sprnn-cli -am package
fi
jar="$root/sprnn-cli/target/sprnn.jar"
[ -f "$jar" ] || { echo "dist.sh: $jar missing (build first)" >&2; exit 2; }

# java.base + the Vector API (cpu engine). jdeps also lists java.desktop and java.sql, both reached only
# through Jackson's optional java.beans/java.sql support, which Jackson loads reflectively and skips.
modules=java.base,jdk.incubator.vector
out="$root/dist/sprnn-linux-x64"
rm -rf "$out" "$root/dist/sprnn-linux-x64.tar.xz"
mkdir -p "$out/bin" "$out/lib"
jlink --add-modules "$modules" --strip-debug --no-header-files --no-man-pages --compress zip-9 \
  --output "$out/runtime"
cp "$jar" "$out/lib/sprnn.jar"
cat > "$out/bin/sprnn" <<'LAUNCHER'
#!/usr/bin/env bash
# sprnn launcher of the self-contained distribution: runs the bundled Java runtime.
# Extra JVM flags: SPRNN_JAVA_OPTS (e.g. -Xmx8g).
self="$0"
while [ -L "$self" ]; do
  link=$(readlink "$self")
  case "$link" in /*) self="$link" ;; *) self="$(dirname "$self")/$link" ;; esac
done
home="$(cd "$(dirname "$self")/.." && pwd)"
# The JVM prints "WARNING: Using incubator modules: jdk.incubator.vector" on stderr at every start, before
# main; no option turns it off. The JVM starts with its stderr going through a filter that drops exactly
# that line and with the caller's stderr kept as descriptor 3; the CLI's main moves stderr back onto it
# first thing, so nothing it prints is reordered or arrives after it exits (as in the ./sprnn launcher).
# java is exec'd: it keeps this script's pid, signals, stdin and exit status.
filter=()
if { : >&2; } 2>/dev/null; then # stderr is open
  exec 3>&2 2> >(trap '' INT TERM QUIT HUP; LC_ALL=C exec grep -a -v -x -F --line-buffered 'WARNING: Using incubator modules: jdk.incubator.vector' >&2)
  filter=(-Dsprnn.stderr.fd=3 "-Dsprnn.stderr.filterPid=${!:-}")
fi
exec "$home/runtime/bin/java" --enable-native-access=ALL-UNNAMED --add-modules jdk.incubator.vector \
  -XX:+UseParallelGC "${filter[@]}" -Dsprnn.commit=@SPRNN_COMMIT@ ${SPRNN_JAVA_OPTS:-} -jar "$home/lib/sprnn.jar" "$@"
LAUNCHER
# the commit the bundle was built from, for benchmark rows ("-dirty" with uncommitted changes)
commit=$(git rev-parse --short=12 HEAD 2>/dev/null || echo unknown)
if [ "$commit" != unknown ] && ! git diff --quiet HEAD -- 2>/dev/null; then commit="$commit-dirty"; fi
sed -i "s/@SPRNN_COMMIT@/$commit/" "$out/bin/sprnn"
chmod +x "$out/bin/sprnn"
printf 'sprnn %s, built %s from commit %s; runtime: %s (%s)\n' \
  "$(sed -n 's:.*<version>\(.*\)</version>.*:\1:p' pom.xml | head -n1)" "$(date -u +%Y-%m-%dT%H:%M:%SZ)" \
  "$(git rev-parse --short HEAD 2>/dev/null || echo unknown)" "$("$out/runtime/bin/java" -version 2>&1 | head -n1)" \
  "$modules" > "$out/VERSION"
tar -C "$root/dist" -cJf "$root/dist/sprnn-linux-x64.tar.xz" sprnn-linux-x64
echo "dist.sh: $(du -sh "$out" | cut -f1) unpacked in $out; $(du -h "$root/dist/sprnn-linux-x64.tar.xz" | cut -f1) as dist/sprnn-linux-x64.tar.xz"
