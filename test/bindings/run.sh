#!/usr/bin/env bash
# Synthesizes one pipeline from TypeScript (the reference), Python, Java and Go, each app through the CDK CLI from
# a folder without cdk.json, then compares every template (root and nested) with the TypeScript app's.
# Needs the packages in dist/python, dist/java and dist/go (package:python, package:java, package:go).
# CDK_VERSION and CONSTRUCTS_VERSION are the project's (the test:bindings task sets them from .projenrc.ts).
# Output: dist/bindings/<language>.out.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
here="$root/test/bindings"
out="$root/dist/bindings"
: "${CDK_VERSION:?the project\'s aws-cdk-lib version}" "${CONSTRUCTS_VERSION:?the project\'s constructs version}"
export CDK_DISABLE_CLI_TELEMETRY=true
rm -rf "$out"
mkdir -p "$out"

step() { echo "--- $1 ($((SECONDS - started)) s so far)"; }
started=$SECONDS

# NAME FOLDER APP: `cdk synth` of APP, run in FOLDER, into dist/bindings/NAME.out.
synth() {
  (cd "$2" && "$root/node_modules/.bin/cdk" synth --quiet --app "$3" --output "$out/$1.out")
}

step 'TypeScript: the reference app, on the sources'
synth typescript "$here/typescript" "npx ts-node --swc app.ts"

step "Python: the wheel, with aws-cdk-lib==$CDK_VERSION from PyPI, in a virtual environment of its own, the README's example"
# The environment (.venv-bindings) keeps aws-cdk-lib and constructs between runs and is made anew when their versions
# change: installing the 50 MB aws-cdk-lib wheel, bytecode and all, took a third of this script. The wheel itself is
# installed anew every run, its requirements resolved against what is there (pip fetches whatever is missing), and
# `pip check` fails the run on any requirement of the wheel that the environment does not meet.
venv="$root/.venv-bindings"
dependencies="aws-cdk-lib==$CDK_VERSION constructs==$CONSTRUCTS_VERSION"
if [ "$(cat "$venv/.dependencies" 2>/dev/null)" != "$dependencies" ]; then
  rm -rf "$venv"
  python3 -m venv "$venv"
  # shellcheck disable=SC2086 # two requirement words
  "$venv/bin/pip" install -q --disable-pip-version-check $dependencies
  echo "$dependencies" > "$venv/.dependencies"
fi
"$venv/bin/pip" uninstall -q -y cdk-migration-pipeline
"$venv/bin/pip" install -q --disable-pip-version-check "$root"/dist/python/*.whl
"$venv/bin/pip" check
mkdir -p "$out/python-app"
"$venv/bin/python" "$here/python/readme_example.py" "$root/README.md" > "$out/python-app/app.py"
synth python "$out/python-app" "$venv/bin/python app.py"

step "Java: the Maven artifact with aws-cdk-lib $CDK_VERSION from Maven Central"
# Maven keeps a release it has resolved once; drop the previous build of the artifact so this one is used.
(cd "$here/java" && mvn -B -q -Dcdk.version="$CDK_VERSION" -Dconstructs.version="$CONSTRUCTS_VERSION" \
  dependency:purge-local-repository -DmanualInclude=io.github.cdkmigrationpipeline:cdk-migration-pipeline -DreResolve=false \
  compile dependency:build-classpath -Dmdep.outputFile="$out/java-classpath.txt")
synth java "$here/java" "java -cp $out/java-target/classes:$(cat "$out/java-classpath.txt") io.github.cdkmigrationpipeline.bindings.BindingsApp"

step "Go: the generated module with github.com/aws/aws-cdk-go/awscdk/v2 v$CDK_VERSION"
if ! grep -q "github.com/aws/aws-cdk-go/awscdk/v2 v$CDK_VERSION\$" "$here/go/go.mod"; then
  echo "test/bindings/go/go.mod must require github.com/aws/aws-cdk-go/awscdk/v2 v$CDK_VERSION" >&2
  exit 1
fi
(cd "$here/go" && go build -o "$out/go-app" .)
synth go "$here/go" "$out/go-app"

step 'Templates compared with the TypeScript app'
npx ts-node --swc "$here/compare-templates.ts" "$out/typescript.out" python="$out/python.out" java="$out/java.out" go="$out/go.out"
echo "(bindings: $((SECONDS - started)) s)"
