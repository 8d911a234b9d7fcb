#!/usr/bin/env bash
# test_runner_beam_export: bin/emulator-export-beam writes JSON pipelines as Apache Beam
# Python programs: every transform (batch, streaming, session windows, the envelope
# transforms of seed 002) gives a program python3 compiles (py_compile; apache_beam need
# not be installed), whose build() has one call per step, in order, to the prelude
# function of the step's transform, passing exactly the step's JSON object with the
# launch parameters substituted and the step's input (main or dead-letter output). A
# pipeline the runner would refuse is refused with the same error, naming the step.
source "$(dirname "$0")/lib.sh"

EXPORT="$BIN_DIR/emulator-export-beam"
CORPUS="$REPO_DIR/tests/fuzz/corpus/fuzz_runner_pipeline"
command -v python3 >/dev/null || { _fail "python3 is required"; finish; }

# check_program PIPELINE PROGRAM PARAMS_JSON: the program's build() against the pipeline
check_program() {
    python3 - "$1" "$2" "$3" <<'PY'
import ast, json, re, sys

pipeline = json.load(open(sys.argv[1]))
params = json.loads(sys.argv[3])
defaults = {k: v.get("default") for k, v in pipeline.get("parameters", {}).items()}
def sub(node):
    if isinstance(node, str):
        return re.sub(r"\$\{([^}]*)\}", lambda m: params.get(m.group(1)) or defaults[m.group(1)], node)
    if isinstance(node, list):
        return [sub(x) for x in node]
    if isinstance(node, dict):
        return {k: sub(v) for k, v in node.items()}
    return node
steps = sub(pipeline["steps"])
tree = ast.parse(open(sys.argv[2]).read())
build = next(n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == "build")
defined = {n.name for n in tree.body if isinstance(n, (ast.FunctionDef, ast.ClassDef))}
calls = [n for n in ast.walk(build) if isinstance(n, ast.Call) and isinstance(n.func, ast.Name)
         and n.func.id not in ("print",) and any(isinstance(a, ast.Call) and getattr(a.func, "attr", "") == "loads" for a in n.args)]
calls.sort(key=lambda n: n.lineno)
assert len(calls) == len(steps), "%d calls for %d steps" % (len(calls), len(steps))
stateless = {"ParseJson", "ExtractField", "RenameFields", "Map", "FlatMap", "Filter", "KeyBy"}
for call, step in zip(calls, steps):
    loads = next(a for a in call.args if isinstance(a, ast.Call) and getattr(a.func, "attr", "") == "loads")
    spec = json.loads(loads.args[0].value)
    assert spec == step, "step %s: %r != %r" % (step["name"], spec, step)
    want = "stateless" if step["transform"] in stateless else step["transform"]
    assert call.func.id == want, "step %s calls %s, not %s" % (step["name"], call.func.id, want)
    assert call.func.id in defined, "the prelude has no %s" % call.func.id
    if "input" in step:
        src = call.args[0]
        assert isinstance(src, ast.Subscript) and src.slice.value == step["input"], \
            "step %s reads %s" % (step["name"], ast.dump(src))
print("ok")
PY
}

export_and_check() { # NAME PIPELINE PARAMS_CSV PARAMS_JSON
    local out="$TEST_TMP/$1.py"
    "$EXPORT" "$2" ${3:+--parameters "$3"} -o "$out" 2>"$TEST_TMP/err"
    expect_eq 0 $? "$1: exported $(cat "$TEST_TMP/err")"
    python3 -m py_compile "$out" 2>"$TEST_TMP/err"
    expect_eq 0 $? "$1: python3 -m py_compile $(cat "$TEST_TMP/err")"
    expect_eq ok "$(check_program "$2" "$out" "$4" 2>&1 | tail -1)" "$1: one call per step, same JSON, same inputs"
}

section "every transform, batch"
export_and_check all "$CORPUS/batch_all_transforms.json" "in=gs://bkt/in.txt" '{"in":"gs://bkt/in.txt"}'
expect_contains "$(grep -c 'STREAMING = False' "$TEST_TMP/all.py")" 1 "a batch program"
expect_contains "$(cat "$TEST_TMP/all.py")" 'out["p.failed"]' "a dead-letter output feeds a step"

section "streaming, session windows, envelope transforms"
export_and_check events "$CORPUS/streaming_events.json" "input=projects/p/subscriptions/s,output=projects/p/topics/o" \
    '{"input":"projects/p/subscriptions/s","output":"projects/p/topics/o"}'
expect_contains "$(cat "$TEST_TMP/events.py")" "STREAMING = True" "a streaming program"
cat >"$TEST_TMP/seed002.json" <<'JSON'
{"parameters": {"input": {"default": "projects/p/topics/words"}, "gap": {"default": "30s"}},
 "steps": [
  {"name": "read", "transform": "ReadPubSub", "topic": "${input}", "binary": true},
  {"name": "decrypt", "transform": "DecryptEnvelope", "input": "read"},
  {"name": "verify", "transform": "VerifySignature", "input": "read"},
  {"name": "words", "transform": "FlatMap", "input": "decrypt", "fn": "split_words"},
  {"name": "key", "transform": "KeyBy", "input": "words"},
  {"name": "session", "transform": "Window", "input": "key", "type": "session", "gap": "${gap}", "allowedLateness": "10s"},
  {"name": "grouped", "transform": "GroupByKey", "input": "session"},
  {"name": "count", "transform": "CountPerElement", "input": "session"},
  {"name": "line", "transform": "Map", "input": "count", "fn": "format", "template": "{key}: \"{value}\" \\ done"},
  {"name": "publish", "transform": "WritePubSub", "input": "line", "topic": "projects/p/topics/counts"},
  {"name": "files", "transform": "WriteText", "input": "line", "path": "gs://bkt/out/counts"},
  {"name": "dead", "transform": "WritePubSub", "input": "decrypt.failed", "topic": "projects/p/topics/dead"},
  {"name": "nothing", "transform": "WritePubSub", "input": "count.failed", "topic": "projects/p/topics/none"}
 ]}
JSON
export_and_check seed002 "$TEST_TMP/seed002.json" "gap=45s" '{"gap":"45s"}'
expect_contains "$(cat "$TEST_TMP/seed002.py")" 'out["count.failed"] = p | "count.failed" >> beam.Create([])' \
    "a dead-letter output of a grouping step is an empty PCollection"

section "what the runner refuses, the export refuses"
printf '{"steps":[{"name":"r","transform":"ReadText","path":"gs://bkt/x"},{"name":"m","transform":"Map","input":"r","fn":"yell"}]}' >"$TEST_TMP/bad.json"
out=$("$EXPORT" "$TEST_TMP/bad.json" 2>&1)
expect_eq 1 $? "exit status 1"
expect_eq "emulator-export-beam: INVALID_ARGUMENT: Invalid pipeline: step 'm': unknown fn 'yell' for Map." "$out" "the launch's error"
out=$("$EXPORT" "$CORPUS/batch_all_transforms.json" 2>&1)
expect_contains "$out" "missing required parameter 'in'" "a required parameter is required"
printf '{"steps":[{"name":"r","transform":"ReadText","path":"gs://bkt/x"},{"name":"j","transform":"ParseJson","input":"r"},{"name":"rows","transform":"WriteBigtable","input":"j","table":"projects/p/instances/i/tables/t","rowKey":"{id}","columnFamily":"ev"}]}' >"$TEST_TMP/sink.json"
out=$("$EXPORT" "$TEST_TMP/sink.json" 2>&1)
expect_eq 1 $? "a sink step: exit status 1"
expect_contains "$out" "UNIMPLEMENTED: Step 'rows': WriteBigtable cannot be exported as Beam yet" \
    "a sink step is refused by name, not exported as a call Python cannot resolve"
"$EXPORT" >/dev/null 2>&1
expect_eq 2 $? "no pipeline: usage"

finish
