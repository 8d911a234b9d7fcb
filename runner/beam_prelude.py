# The emulator runner's built-in transforms written with Apache Beam's Python SDK: the
# first part of every program `bin/emulator-export-beam` writes (runner/runner_beam.c adds
# the pipeline's own steps after it). Each function takes the step's JSON object as the
# emulator parsed it (docs/pipelines.md) and does what the emulator's transform does, so
# the same pipeline runs on Dataflow, Flink or Spark. Elements are Elem objects (value,
# key, Pub/Sub attributes); grouping steps go through Beam's own (key, value) pairs.
import argparse
import base64
import hashlib
import hmac
import json
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


# --- stateless transforms (main and "failed" outputs) ---


class Stateless(beam.DoFn):
    """ParseJson, ExtractField, RenameFields, Map, FlatMap, Filter, KeyBy."""

    def __init__(self, spec):
        self.spec = spec
        self.regex = None

    def setup(self):
        pattern = self.spec.get("pattern")
        if pattern is not None:
            whole = self.spec.get("fn") in ("matches", "attribute_matches")
            self.regex = re.compile("^(" + pattern + ")$" if whole else pattern)

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
                pieces = [piece for piece in self.regex.split(text) if piece]
            for piece in pieces:
                yield e.with_value(piece)
        elif transform == "Filter" and self.passes(fn, e):
            yield e

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
            return value is not None and bool(self.regex.match(value))
        text = text_of(e.value)
        if fn == "not_empty":
            return text != ""
        if fn == "matches":
            return bool(self.regex.match(text))
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
