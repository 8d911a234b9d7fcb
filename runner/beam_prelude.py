# The emulator runner's built-in transforms written with Apache Beam's Python SDK: the
# first part of every program `bin/emulator-export-beam` writes (runner/runner_beam.c adds
# the pipeline's own steps after it). Each function takes the step's JSON object as the
# emulator parsed it (docs/pipelines.md) and does what the emulator's transform does, so
# the same pipeline runs on Dataflow, Flink or Spark. Elements are Elem objects (value,
# key, Pub/Sub attributes); grouping steps go through Beam's own (key, value) pairs.
import argparse
import base64
import calendar
import datetime
import decimal
import hashlib
import hmac
import json
import math
import re
import time

import apache_beam as beam
from apache_beam.io import fileio
from apache_beam.options.pipeline_options import PipelineOptions, StandardOptions
from apache_beam.transforms import window


class Elem(object):
    """An element: a JSON value, an optional key, the Pub/Sub attributes it came with."""

    def __init__(self, value, key=None, attrs=None):
        self.value = value
        self.key = key
        self.attrs = dict(attrs or {})

    def with_value(self, value):
        return Elem(value, self.key, self.attrs)


def text_of(value):
    """A string as itself, anything else as compact JSON (rn_value_text)."""
    if isinstance(value, str):
        return value
    return json.dumps(value, separators=(",", ":"))


def duration(text):
    """"90", "90s", "5m", "2h", "1d" in seconds."""
    units = {"s": 1, "m": 60, "h": 3600, "d": 86400}
    if text[-1] in units:
        return int(text[:-1]) * units[text[-1]]
    return int(text)


def dead_letter(elem, reason, code=None):
    attrs = dict(elem.attrs)
    attrs["error"] = reason
    if code:
        attrs["error_reason"] = code
    return beam.pvalue.TaggedOutput("failed", Elem(elem.value, elem.key, attrs))


# --- sources and sinks ---


def ReadText(p, spec):
    if spec.get("watch"):
        lines = (p | spec["name"] + "/match" >> fileio.MatchContinuously(
                     spec["path"], interval=duration(spec["watch"]))
                 | spec["name"] + "/read" >> fileio.ReadMatches()
                 | spec["name"] + "/lines" >> beam.FlatMap(
                     lambda f: f.read_utf8().splitlines()))
    else:
        lines = p | spec["name"] >> beam.io.ReadFromText(spec["path"])
    return lines | spec["name"] + "/elem" >> beam.Map(Elem)


def ReadPubSub(p, spec):
    source = beam.io.ReadFromPubSub(
        topic=spec.get("topic"), subscription=spec.get("subscription"),
        with_attributes=True, timestamp_attribute=spec.get("timestampAttribute"))

    def to_elem(msg):
        if spec.get("binary"):
            data = base64.b64encode(msg.data).decode("ascii")
        else:
            data = msg.data.decode("utf-8", "replace")
        return Elem(data, attrs=msg.attributes)

    return (p | spec["name"] >> source
            | spec["name"] + "/elem" >> beam.Map(to_elem))


def WriteText(pcoll, spec, streaming):
    lines = pcoll | spec["name"] + "/text" >> beam.Map(lambda e: text_of(e.value))
    if not streaming:
        return lines | spec["name"] >> beam.io.WriteToText(
            spec["path"], file_name_suffix=spec.get("suffix", ""),
            num_shards=int(spec.get("shards", 1)), shard_name_template="-SSSSS-of-NNNNN")
    directory, _, prefix = spec["path"].rpartition("/")
    return lines | spec["name"] >> fileio.WriteToFiles(
        path=directory, shards=int(spec.get("shards", 1)),
        file_naming=fileio.default_file_naming(prefix + "-", spec.get("suffix", "")))


def WritePubSub(pcoll, spec):
    def to_message(e):
        return beam.io.PubsubMessage(text_of(e.value).encode("utf-8"), e.attrs or None)

    return (pcoll | spec["name"] + "/message" >> beam.Map(to_message)
            | spec["name"] >> beam.io.WriteToPubSub(spec["topic"], with_attributes=True))


# --- Bigtable and Spanner sinks: the rows are written, the elements that cannot be are the
# step's "failed" output, with the emulator's reasons (runner_sink_bigtable.c and
# runner_sink_spanner.c follow the same rules) ---


class SinkError(ValueError):
    """Why an element cannot be written: its dead-letter reason."""


MISSING = object()


def sink_fields(spec, value):
    """(qualifier or column, field, the field's value or MISSING): the step's "columns", else
    every field of the object."""
    columns = spec.get("columns")
    if columns:
        return [(c, f, value.get(f, MISSING)) for c, f in columns.items()]
    return [(f, f, v) for f, v in value.items()]


def sink_object(spec, elem):
    if not isinstance(elem.value, dict):
        raise SinkError("Step '%s': the element is not a JSON object (ParseJson it first)."
                        % spec["name"])
    return elem.value


RFC3339 = re.compile(r"(\d{4})-(\d\d)-(\d\d)[Tt](\d\d):(\d\d):(\d\d)(\.\d{1,9})?"
                     r"([Zz]|[+-]\d\d:\d\d)$")


def rfc3339_micros(text):
    """RFC 3339 text as microseconds since the epoch, or None."""
    m = RFC3339.match(text)
    if not m:
        return None
    y, mo, d, h, mi, s = (int(g) for g in m.groups()[:6])
    try:
        seconds = calendar.timegm(datetime.datetime(y, mo, d, h, mi, s).timetuple())
    except ValueError:
        return None
    zone = m.group(8)
    if zone not in ("Z", "z"):
        sign = 1 if zone[0] == "+" else -1
        seconds -= sign * (int(zone[1:3]) * 3600 + int(zone[4:6]) * 60)
    fraction = (m.group(7) or ".")[1:]
    return seconds * 1000000 + int((fraction + "000000")[:6])


def bigtable_row_key(spec, elem):
    """rowKey with {key}, {value} and {<field>} replaced; a missing part is an error."""
    value = sink_object(spec, elem)
    template, pos, parts = spec["rowKey"], 0, []
    for m in re.finditer(r"\{([^}]*)\}", template):
        name = m.group(1)
        part = elem.key if name == "key" else value if name == "value" else value.get(name)
        if part is None:
            raise SinkError("Step '%s': the row key needs {%s}, which the element does not have."
                            % (spec["name"], name))
        parts += [template[pos:m.start()], text_of(part)]
        pos = m.end()
    key = ("".join(parts) + template[pos:]).encode("utf-8")
    if not 1 <= len(key) <= 4096:
        raise SinkError("Step '%s': the row key must be 1 to 4096 bytes, not %d."
                        % (spec["name"], len(key)))
    return key


def bigtable_micros(spec, elem, event_micros):
    """The cells' timestamp: timestampField (microseconds or RFC 3339), else the event time;
    rounded down to the millisecond."""
    field = spec.get("timestampField")
    value = sink_object(spec, elem).get(field) if field else None
    us = max(event_micros, 0)
    if value is not None:
        text_us = rfc3339_micros(value) if isinstance(value, str) else None
        if text_us is not None:
            us = text_us
        elif isinstance(value, int) and not isinstance(value, bool) and value >= 0:
            us = value
        elif isinstance(value, str) and re.match(r"\d+$", value):
            us = int(value)
        else:
            raise SinkError("Step '%s': field '%s' must be a timestamp (microseconds since the "
                            "epoch, or RFC 3339 text)." % (spec["name"], field))
    return us - us % 1000


def bigtable_cells(spec, elem):
    """(qualifier, value bytes) of each field to write; a missing or null field writes none."""
    cells = [(q.encode("utf-8"), text_of(v).encode("utf-8"))
             for q, _, v in sink_fields(spec, sink_object(spec, elem))
             if v is not MISSING and v is not None]
    if not cells:
        raise SinkError("Step '%s': the element has no field to write." % spec["name"])
    return cells


class ToBigtableRow(beam.DoFn):
    def __init__(self, spec):
        self.spec = spec

    def process(self, elem, timestamp=beam.DoFn.TimestampParam):
        from google.cloud.bigtable.row import DirectRow
        try:
            key = bigtable_row_key(self.spec, elem)
            micros = bigtable_micros(self.spec, elem, int(timestamp.micros))
            cells = bigtable_cells(self.spec, elem)
        except SinkError as e:
            yield dead_letter(elem, str(e))
            return
        row = DirectRow(row_key=key)
        when = datetime.datetime.fromtimestamp(micros / 1e6, datetime.timezone.utc)
        for qualifier, value in cells:
            row.set_cell(self.spec["columnFamily"], qualifier, value, timestamp=when)
        yield row


def write_rows(pcoll, spec, to_row, write):
    """A sink: to_row maps each element to a row (or the "failed" output), write writes
    them; returns the failed elements."""
    rows = pcoll | spec["name"] + "/rows" >> beam.ParDo(to_row).with_outputs("failed", main="rows")
    rows.rows | spec["name"] >> write
    return rows.failed


def WriteBigtable(pcoll, spec):
    from apache_beam.io.gcp.bigtableio import WriteToBigTable
    _, project, _, instance, _, table = spec["table"].split("/")
    return write_rows(pcoll, spec, ToBigtableRow(spec), WriteToBigTable(
        project_id=project, instance_id=instance, table_id=table))


def is_decimal_text(text):
    try:
        return bool(text) and not text[0].isspace() and math.isfinite(float(text))
    except ValueError:
        return False


def spanner_scalar(base, value):
    """value for a column of type base as the Spanner client takes it, or None if it does
    not fit (rn_spanner_value)."""
    is_number = isinstance(value, (int, float)) and not isinstance(value, bool)
    if base == "STRING":
        return value if isinstance(value, str) else text_of(value) if (
            is_number or isinstance(value, bool)) else None
    if base == "INT64":
        if isinstance(value, str) and re.match(r"-?\d+$", value):
            value = int(value)
        ok = isinstance(value, int) and not isinstance(value, bool) and -2**63 <= value < 2**63
        return value if ok else None
    if base in ("FLOAT64", "FLOAT32"):
        if isinstance(value, str) and value in ("NaN", "Infinity", "-Infinity"):
            return float(value.replace("Infinity", "inf"))
        if isinstance(value, str):
            return float(value) if is_decimal_text(value) else None
        return float(value) if is_number else None
    if base == "NUMERIC":
        if isinstance(value, str):
            return decimal.Decimal(value) if is_decimal_text(value) else None
        return decimal.Decimal(text_of(value)) if is_number else None
    if base == "BOOL":
        if isinstance(value, bool):
            return value
        return {"true": True, "false": False}.get(value) if isinstance(value, str) else None
    if base == "TIMESTAMP":
        us = rfc3339_micros(value) if isinstance(value, str) else None
        return None if us is None else datetime.datetime.fromtimestamp(
            us // 1000000, datetime.timezone.utc).replace(microsecond=us % 1000000)
    if base == "DATE":
        if not isinstance(value, str) or not re.match(r"\d{4}-\d\d-\d\d$", value):
            return None
        try:
            return datetime.date.fromisoformat(value)
        except ValueError:
            return None
    if base == "BYTES":
        return value.encode("utf-8") if isinstance(value, str) else None
    if base == "JSON":
        from google.cloud.spanner_v1 import JsonObject
        return JsonObject(value)
    return None


def spanner_value(type_, value):
    """A field's value for a column of Spanner type type_; SinkError's text says why not."""
    if value is None:
        return None
    if type_.startswith("ARRAY<") and type_.endswith(">") and isinstance(value, list):
        return [spanner_value(type_[6:-1], v) for v in value]
    converted = None if type_.startswith("ARRAY<") else spanner_scalar(type_.split("(")[0], value)
    if converted is None:
        raise SinkError("%.80s is not a valid %s" % (json.dumps(value, separators=(",", ":")),
                                                     type_))
    return converted


def spanner_row(spec, columns, elem):
    """(column names, values) of the element's insertOrUpdate; columns: the table's, name ->
    {"type", "nullable", "key"} as INFORMATION_SCHEMA gives them."""
    table, names, values = spec["table"], [], []
    by_lower = {name.lower(): name for name in columns}
    for column, field, value in sink_fields(spec, sink_object(spec, elem)):
        name = by_lower.get(column.lower())
        if name is None:
            raise SinkError("Step '%s': table %s has no column '%s'." % (spec["name"], table, column))
        col = columns[name]
        if value is MISSING and not col["key"]:
            continue  # the column keeps its value (NULL in a new row)
        if value is MISSING or (value is None and not col["nullable"]):
            raise SinkError("Step '%s': field '%s' (%s column %s.%s) is %s." % (
                spec["name"], field, "key" if col["key"] else "NOT NULL", table, name,
                "missing" if value is MISSING else "null"))
        try:
            values.append(spanner_value(col["type"], value))
        except SinkError as e:
            raise SinkError("Step '%s': field '%s' (column %s.%s): %s." % (
                spec["name"], field, table, name, e))
        names.append(name)
    for name, col in columns.items():
        if col["key"] and name not in names:
            raise SinkError("Step '%s': the element has no value for key column %s.%s."
                            % (spec["name"], table, name))
    return names, values


class ToSpannerMutation(beam.DoFn):
    def __init__(self, spec):
        self.spec = spec
        self.columns = None

    def setup(self):
        """The table's columns, from INFORMATION_SCHEMA (as the emulator reads them when the
        job starts); a mapped column the table lacks fails the pipeline."""
        from google.cloud import spanner
        _, project, _, instance, _, database = self.spec["database"].split("/")
        db = spanner.Client(project=project).instance(instance).database(database)
        where = "TABLE_SCHEMA = '' AND LOWER(TABLE_NAME) = LOWER(@t)"
        args = {"params": {"t": self.spec["table"]},
                "param_types": {"t": spanner.param_types.STRING}}
        with db.snapshot(multi_use=True) as snap:
            rows = list(snap.execute_sql("SELECT COLUMN_NAME, SPANNER_TYPE, IS_NULLABLE FROM "
                                         "INFORMATION_SCHEMA.COLUMNS WHERE " + where, **args))
            keys = {r[0] for r in snap.execute_sql(
                "SELECT COLUMN_NAME FROM INFORMATION_SCHEMA.INDEX_COLUMNS WHERE " + where +
                " AND INDEX_TYPE = 'PRIMARY_KEY'", **args)}
        self.columns = {r[0]: {"type": r[1], "nullable": r[2] != "NO", "key": r[0] in keys}
                        for r in rows}
        lower = {name.lower() for name in self.columns}
        for column in self.spec.get("columns") or {}:
            if column.lower() not in lower:
                raise ValueError("Step '%s': table %s has no column '%s'"
                                 % (self.spec["name"], self.spec["table"], column))

    def process(self, elem):
        from apache_beam.io.gcp.experimental.spannerio import WriteMutation
        try:
            names, values = spanner_row(self.spec, self.columns, elem)
        except SinkError as e:
            yield dead_letter(elem, str(e))
            return
        yield WriteMutation.insert_or_update(table=self.spec["table"], columns=names,
                                             values=[values])


def WriteSpanner(pcoll, spec):
    from apache_beam.io.gcp.experimental.spannerio import WriteToSpanner
    _, project, _, instance, _, database = spec["database"].split("/")
    return write_rows(pcoll, spec, ToSpannerMutation(spec), WriteToSpanner(
        project_id=project, instance_id=instance, database_id=database))


# --- stateless transforms (main and "failed" outputs) ---


class Stateless(beam.DoFn):
    """ParseJson, ExtractField, RenameFields, Map, FlatMap, Filter, KeyBy."""

    def __init__(self, spec):
        self.spec = spec
        self.regex = None

    def setup(self):
        pattern = self.spec.get("pattern")
        if pattern is not None:  # RE2 in the emulator; Python's re reads most of it alike
            self.regex = re.compile(pattern)

    def process(self, e):
        transform, fn = self.spec["transform"], self.spec.get("fn")
        if transform == "ParseJson":
            if not isinstance(e.value, str):
                yield e
                return
            try:
                yield e.with_value(json.loads(e.value))
            except ValueError:
                yield dead_letter(e, "not valid JSON")
        elif transform == "ExtractField":
            if isinstance(e.value, dict) and self.spec["field"] in e.value:
                yield e.with_value(e.value[self.spec["field"]])
            else:
                yield dead_letter(e, "field missing")
        elif transform == "RenameFields":
            if not isinstance(e.value, dict):
                yield dead_letter(e, "not a JSON object")
                return
            value = dict(e.value)
            for old, new in self.spec["fields"].items():
                if old in value:
                    value[new] = value.pop(old)
            yield e.with_value(value)
        elif transform == "KeyBy":
            field = self.spec.get("field")
            if field is None:
                yield Elem(e.value, e.value, e.attrs)
            elif isinstance(e.value, dict) and field in e.value:
                yield Elem(e.value, e.value[field], e.attrs)
            else:
                yield dead_letter(e, "key field missing")
        elif transform == "Map":
            yield e.with_value(self.map_text(fn, e))
        elif transform == "FlatMap":
            text = text_of(e.value)
            if fn == "split_words":
                pieces = re.findall(r"[A-Za-z']+", text)
            else:
                pieces = self.split(text)
            for piece in pieces:
                yield e.with_value(piece)
        elif transform == "Filter" and self.passes(fn, e):
            yield e

    def split(self, text):
        """The non-empty pieces between matches (groups not kept); an empty match ends it."""
        pieces, at = [], 0
        while True:
            match = self.regex.search(text, at)
            if match is None or match.end() <= at:
                break
            if match.start() > at:
                pieces.append(text[at:match.start()])
            at = match.end()
        if at < len(text):
            pieces.append(text[at:])
        return pieces

    def map_text(self, fn, e):
        text = text_of(e.value)
        if fn == "lowercase":
            return text.lower()
        if fn == "uppercase":
            return text.upper()
        if fn == "trim":
            return text.strip()

        def placeholder(match):
            name = match.group(1)
            if name == "key":
                return text_of(e.key) if e.key is not None else ""
            if name == "value":
                return text
            field = e.value.get(name) if isinstance(e.value, dict) else None
            return text_of(field) if field is not None else ""

        return re.sub(r"\{([^{}]{0,64})\}", placeholder, self.spec["template"])

    def passes(self, fn, e):
        if fn == "attribute_matches":
            value = e.attrs.get(self.spec["attribute"])
            if self.regex is None:
                return value is None
            return value is not None and bool(self.regex.fullmatch(value))
        text = text_of(e.value)
        if fn == "not_empty":
            return text != ""
        if fn == "matches":
            return bool(self.regex.fullmatch(text))
        return bool(self.regex.search(text))


def stateless(pcoll, spec, dofn=None):
    results = pcoll | spec["name"] >> beam.ParDo(dofn or Stateless(spec)).with_outputs(
        "failed", main="main")
    return results.main, results.failed


# --- envelope transforms (seed 002) ---


class Envelope(beam.DoFn):
    """DecryptEnvelope and VerifySignature: wrapped keys unwrapped by Cloud KMS, cached
    (100 entries, 200 s), AES-256-GCM data or HMAC-SHA256 signatures."""

    CACHE_ENTRIES, CACHE_TTL_S = 100, 200

    def __init__(self, spec):
        self.spec = spec

    def setup(self):
        from google.cloud import kms  # the worker's dependency: google-cloud-kms

        self.kms = kms.KeyManagementServiceClient()
        self.cache = {}

    def unwrap(self, key_name, wrapped_b64):
        now = time.time()
        hit = self.cache.get((key_name, wrapped_b64))
        if hit and hit[1] > now:
            return hit[0]
        reply = self.kms.decrypt(request={"name": key_name,
                                          "ciphertext": base64.b64decode(wrapped_b64)})
        if len(self.cache) >= self.CACHE_ENTRIES:
            self.cache.pop(min(self.cache, key=lambda k: self.cache[k][1]))
        self.cache[(key_name, wrapped_b64)] = (reply.plaintext, now + self.CACHE_TTL_S)
        return reply.plaintext

    def process(self, e):
        signed = self.spec["transform"] == "VerifySignature"
        key_attr, wrapped_attr = (("kms_key", "sign_key_wrapped") if signed
                                  else ("kms_keyname", "dek_wrapped"))
        if not e.attrs.get(key_attr) or not e.attrs.get(wrapped_attr):
            yield dead_letter(e, "attributes %s and %s are required" % (key_attr, wrapped_attr),
                              "BAD_ENVELOPE")
            return
        try:
            key = self.unwrap(e.attrs[key_attr], e.attrs[wrapped_attr])
        except Exception as error:  # google.api_core.exceptions.*
            if type(error).__name__ in ("ServiceUnavailable", "DeadlineExceeded"):
                raise  # KMS unreachable: Beam retries the bundle
            code = {"NotFound": "KEY_NOT_FOUND", "FailedPrecondition": "KEY_DISABLED",
                    "PermissionDenied": "PERMISSION_DENIED"}.get(type(error).__name__,
                                                                 "BAD_WRAPPED_KEY")
            yield dead_letter(e, "Cloud KMS could not unwrap the key: %s" % error, code)
            return
        if signed:
            text = text_of(e.value).encode("utf-8")
            expected = hmac.new(key, text, hashlib.sha256).digest()
            if hmac.compare_digest(expected, base64.b64decode(e.attrs.get("signature", ""))):
                yield e
            else:
                yield dead_letter(e, "the signature does not match the data", "BAD_SIGNATURE")
            return
        from cryptography.hazmat.primitives.ciphers.aead import AESGCM

        try:
            data = base64.b64decode(e.value)
            text = AESGCM(key).decrypt(data[:12], data[12:], None).decode("utf-8")
        except Exception:
            yield dead_letter(e, "the data does not decrypt with its key", "BAD_TAG")
            return
        attrs = {k: v for k, v in e.attrs.items() if k not in ("kms_keyname", "dek_wrapped")}
        yield Elem(text, e.key, attrs)


def DecryptEnvelope(pcoll, spec):
    return stateless(pcoll, spec, Envelope(spec))


def VerifySignature(pcoll, spec):
    return stateless(pcoll, spec, Envelope(spec))


# --- windows and grouping ---


def Window(pcoll, spec):
    kind = spec["type"]
    if kind == "fixed":
        fn = window.FixedWindows(duration(spec["size"]))
    elif kind == "sliding":
        fn = window.SlidingWindows(duration(spec["size"]), duration(spec["period"]))
    else:
        fn = window.Sessions(duration(spec["gap"]))
    lateness = duration(spec["allowedLateness"]) if spec.get("allowedLateness") else 0
    return pcoll | spec["name"] >> beam.WindowInto(fn, allowed_lateness=lateness)


def keyed(pcoll, name, key_of):
    """(key as compact JSON, element) pairs: JSON keys of any type group as the emulator's."""
    return pcoll | name + "/key" >> beam.Map(lambda e: (text_of_key(key_of(e)), e.value))


def text_of_key(key):
    return json.dumps(key, separators=(",", ":"))


def unkeyed(name):
    return name + "/elem" >> beam.Map(
        lambda kv: Elem(kv[1], json.loads(kv[0])) if kv[0] != "null" else Elem(kv[1]))


def GroupByKey(pcoll, spec):
    return (keyed(pcoll, spec["name"], lambda e: e.key)
            | spec["name"] >> beam.GroupByKey()
            | spec["name"] + "/list" >> beam.MapTuple(lambda k, values: (k, list(values)))
            | unkeyed(spec["name"]))


def CountPerElement(pcoll, spec):
    return (keyed(pcoll, spec["name"], lambda e: e.value)
            | spec["name"] >> beam.combiners.Count.PerKey()
            | unkeyed(spec["name"]))


def number(value):
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def Combine(pcoll, spec):
    fn = spec["fn"]
    pairs = keyed(pcoll, spec["name"], lambda e: e.key)
    if fn != "count":
        pairs = (pairs | spec["name"] + "/number" >> beam.MapTuple(lambda k, v: (k, number(v)))
                 | spec["name"] + "/numbers" >> beam.Filter(lambda kv: kv[1] is not None))
    combiners = {"sum": beam.CombinePerKey(sum), "count": beam.combiners.Count.PerKey(),
                 "mean": beam.combiners.Mean.PerKey(), "min": beam.CombinePerKey(min),
                 "max": beam.CombinePerKey(max)}
    combiner = combiners.get(fn) or beam.combiners.Top.PerKey(int(spec.get("n", 1)))
    return pairs | spec["name"] >> combiner | unkeyed(spec["name"])


def options(argv=None):
    """Beam's pipeline options from the command line (--runner DataflowRunner, ...)."""
    parser = argparse.ArgumentParser()
    _, beam_args = parser.parse_known_args(argv)
    return PipelineOptions(beam_args)


# --- the pipeline (written by bin/emulator-export-beam) ---
