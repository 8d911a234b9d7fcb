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

section "the sinks: WriteBigtable and WriteSpanner, with their dead-letter outputs"
cat >"$TEST_TMP/sinks.json" <<'JSON'
{"steps": [
  {"name": "read", "transform": "ReadPubSub", "subscription": "projects/p/subscriptions/events"},
  {"name": "parse", "transform": "ParseJson", "input": "read"},
  {"name": "rows", "transform": "WriteBigtable", "input": "parse", "table": "projects/p/instances/i/tables/events",
   "rowKey": "{user}#{id}", "columnFamily": "ev", "columns": {"amount": "amount", "note": "note"}, "timestampField": "ts"},
  {"name": "store", "transform": "WriteSpanner", "input": "parse", "database": "projects/p/instances/s/databases/d",
   "table": "Events", "columns": {"Id": "id", "UserName": "user", "Amount": "amount"}},
  {"name": "bad-rows", "transform": "WritePubSub", "input": "rows.failed", "topic": "projects/p/topics/dead"},
  {"name": "bad-store", "transform": "WritePubSub", "input": "store.failed", "topic": "projects/p/topics/dead"}
]}
JSON
export_and_check sinks "$TEST_TMP/sinks.json" "" '{}'
expect_contains "$(cat "$TEST_TMP/sinks.py")" 'out["rows.failed"] = WriteBigtable(out["parse"], ' "a sink's call gives its dead-letter output"
# The sinks' mapping, run for real: the program imported with apache_beam stubbed (it is not
# installed here), the same elements as the runner's own sink tests, the same reasons.
mapping=$(python3 - "$TEST_TMP/sinks.py" <<'PY' 2>&1
import sys, types
beam = types.ModuleType("apache_beam")
class DoFn(object):
    TimestampParam = None
beam.DoFn = DoFn
for name in ("apache_beam.io", "apache_beam.options", "apache_beam.options.pipeline_options", "apache_beam.transforms"):
    sys.modules[name] = types.ModuleType(name)
sys.modules["apache_beam.io"].fileio = None
sys.modules["apache_beam.options.pipeline_options"].PipelineOptions = object
sys.modules["apache_beam.options.pipeline_options"].StandardOptions = object
sys.modules["apache_beam.transforms"].window = None
sys.modules["apache_beam"] = beam
prog = {"__name__": "exported"}
exec(compile(open(sys.argv[1]).read(), sys.argv[1], "exec"), prog)
Elem, SinkError = prog["Elem"], prog["SinkError"]
bt = {"name": "rows", "rowKey": "{user}#{id}", "columnFamily": "ev",
      "columns": {"amount": "amount", "note": "note"}, "timestampField": "ts"}
def attempt(fn, *args):
    try:
        return fn(*args)
    except SinkError as e:
        return "SinkError: " + str(e)
ok = {"user": "ann", "id": 7, "amount": 12.5, "note": None, "ts": "2026-12-02T10:00:00.123456Z"}
print(attempt(prog["bigtable_row_key"], bt, Elem(ok)))
print(attempt(prog["bigtable_micros"], bt, Elem(ok), 0))
print(attempt(prog["bigtable_cells"], bt, Elem(ok)))
print(attempt(prog["bigtable_row_key"], bt, Elem({"id": 1})))
print(attempt(prog["bigtable_micros"], bt, Elem(dict(ok, ts="soon")), 0))
print(attempt(prog["bigtable_cells"], bt, Elem({"user": "a", "id": 1})))
print(attempt(prog["bigtable_row_key"], bt, Elem("text")))
sp = {"name": "store", "table": "Events", "columns": {"Id": "id", "UserName": "user", "Amount": "amount"}}
cols = {"Id": {"type": "INT64", "nullable": False, "key": True},
        "UserName": {"type": "STRING(MAX)", "nullable": True, "key": False},
        "Amount": {"type": "FLOAT64", "nullable": True, "key": False}}
print(attempt(prog["spanner_row"], sp, cols, Elem({"id": "42", "user": "ann", "amount": 3})))
print(attempt(prog["spanner_row"], sp, cols, Elem({"id": 1, "amount": "lots"})))
print(attempt(prog["spanner_row"], sp, cols, Elem({"user": "bob"})))
print(attempt(prog["spanner_row"], sp, cols, Elem({"id": 2**63})))
print(attempt(prog["spanner_value"], "ARRAY<DATE>", ["2026-12-02", "2026-02-30"]))
print(attempt(prog["spanner_value"], "NUMERIC", "1.50"), attempt(prog["spanner_value"], "BOOL", "true"),
      attempt(prog["spanner_value"], "TIMESTAMP", "2026-12-02T10:00:00.5+01:00"))
PY
)
expect_eq "b'ann#7'
1796205600123000
[(b'amount', b'12.5')]
SinkError: Step 'rows': the row key needs {user}, which the element does not have.
SinkError: Step 'rows': field 'ts' must be a timestamp (microseconds since the epoch, or RFC 3339 text).
SinkError: Step 'rows': the element has no field to write.
SinkError: Step 'rows': the element is not a JSON object (ParseJson it first).
(['Id', 'UserName', 'Amount'], [42, 'ann', 3.0])
SinkError: Step 'store': field 'amount' (column Events.Amount): \"lots\" is not a valid FLOAT64.
SinkError: Step 'store': field 'id' (key column Events.Id) is missing.
SinkError: Step 'store': field 'id' (column Events.Id): 9223372036854775808 is not a valid INT64.
SinkError: \"2026-02-30\" is not a valid DATE
1.50 True 2026-12-02 09:00:00.500000+00:00" "$mapping" "the exported sinks map elements as the runner does, with its reasons"

section "what the runner refuses, the export refuses"
printf '{"steps":[{"name":"r","transform":"ReadText","path":"gs://bkt/x"},{"name":"m","transform":"Map","input":"r","fn":"yell"}]}' >"$TEST_TMP/bad.json"
out=$("$EXPORT" "$TEST_TMP/bad.json" 2>&1)
expect_eq 1 $? "exit status 1"
expect_eq "emulator-export-beam: INVALID_ARGUMENT: Invalid pipeline: step 'm': unknown fn 'yell' for Map." "$out" "the launch's error"
out=$("$EXPORT" "$CORPUS/batch_all_transforms.json" 2>&1)
expect_contains "$out" "missing required parameter 'in'" "a required parameter is required"
"$EXPORT" >/dev/null 2>&1
expect_eq 2 $? "no pipeline: usage"

finish
