'use strict';
// bigtable_diff: the differential test of our Bigtable data plane and table admin API
// against Google's Bigtable emulator (cbtemulator). tests/bigtable/bigtable_diff.sh starts
// both and runs this with GOOGLE_BIGTABLE=127.0.0.1:PORT (gRPC: the gRPC stubs under
// @google-cloud/bigtable's generated admin and data clients, so that gax's retries and
// page-following neither hide nor slow a refusal) and OURS_BIGTABLE=http://127.0.0.1:PORT
// (our REST API through fetch: the same requests as proto3 JSON, bytes in base64; the
// generated client's REST transport cannot send readRows by rowKeys, see
// tests/node/bigtable.test.js).
//
// Every case of tests/bigtable/bigtable_corpus.js gets a fresh table with its column
// families on both sides; its rows are written with mutateRows, then its steps run in order
// on both: reads (readRows) and writes (mutateRow, mutateRows, checkAndMutateRow,
// readModifyWriteRow). Each step is one check: the results must be equal. A read's result
// is its cells in order, each "row/family:qualifier@timestamp=value[label]"; a write's is
// its outcome (per-entry codes, predicateMatched, the row readModifyWriteRow answered); a
// refused request's is its google.rpc.Code name (messages are not compared). Timestamps
// from the server's clock (timestampMicros -1, readModifyWriteRow) read "now".
//
// Then every case of tests/bigtable/bigtable_admin_corpus.js runs in an instance of its own
// (made on ours; Google's emulator takes any parent): createTable, getTable, listTables,
// deleteTable, modifyColumnFamilies, dropRowRange, generateConsistencyToken and
// checkConsistency, and data calls to read back what they left. An admin answer's result
// is what it means, not how each side spells it (tableOf, adminResult): the table's id, its
// families' GC rules (maxAge as proto3 JSON text), cluster states, granularity and
// deletion protection as the view shows them; a list's tables and whether more pages
// follow; tokens only as present.
//
// Where the two differ and ours is kept, the step carries `expect: <result>` and either
// `googleEmulatorWrong: "<what Bigtable does, and where that is written>"` or
// `undocumented: "<why ours keeps its answer>"`; ours is checked against `expect`, and a
// line says so when Google's emulator starts giving it too. A step with `skipGoogle` is not
// sent to Google's emulator (it crashes on it, or answers at random).
//
//   node tests/bigtable/bigtable_diff.js [case-name-substring ...]   ("admin:" picks the admin cases)
//   (VERBOSE=1: every check; TIMING=1: each side's time per request)
//
// Prints one line per failing check and ends with "N checks, F failed".

const path = require('node:path');
const nodeModules = path.join(__dirname, '..', 'node', 'node_modules');
const {v2} = require(path.join(nodeModules, '@google-cloud/bigtable'));
const grpc = require(path.join(nodeModules, '@grpc/grpc-js'));
const {PassThroughClient} = require(path.join(nodeModules, 'google-auth-library'));
const corpus = require('./bigtable_corpus.js');
const adminCorpus = require('./bigtable_admin_corpus.js');

const INSTANCE = 'projects/bt-diff/instances/diff-inst';
const CODES = ['OK', 'CANCELLED', 'UNKNOWN', 'INVALID_ARGUMENT', 'DEADLINE_EXCEEDED', 'NOT_FOUND',
               'ALREADY_EXISTS', 'PERMISSION_DENIED', 'RESOURCE_EXHAUSTED', 'FAILED_PRECONDITION',
               'ABORTED', 'OUT_OF_RANGE', 'UNIMPLEMENTED', 'INTERNAL', 'UNAVAILABLE', 'DATA_LOSS',
               'UNAUTHENTICATED'];
// Google's emulator answers at once or not at all (it has crashed).
const DEADLINE_MS = 20000;
const NOW = 1e15; // timestamps from here on (2001 and later) came from a server's clock
// The data API's methods a step may call, and the table admin API's.
const METHODS = ['readRows', 'mutateRow', 'mutateRows', 'checkAndMutateRow', 'readModifyWriteRow'];
const ADMIN_METHODS = ['createTable', 'getTable', 'listTables', 'deleteTable', 'modifyColumnFamilies',
                       'dropRowRange', 'generateConsistencyToken', 'checkConsistency'];

// ---- requests: the corpus writes bytes as strings (UTF-8) or Buffers ----

// The fields of the v2 data API's messages that are bytes: their string values become
// Buffers before a request is sent.
const BYTES_FIELDS = new Set([
  'rowKey', 'rowKeys', 'columnQualifier', 'value', 'startKeyClosed', 'startKeyOpen', 'endKeyClosed',
  'endKeyOpen', 'rowKeyRegexFilter', 'columnQualifierRegexFilter', 'valueRegexFilter',
  'startQualifierClosed', 'startQualifierOpen', 'endQualifierClosed', 'endQualifierOpen',
  'startValueClosed', 'startValueOpen', 'endValueClosed', 'endValueOpen', 'qualifier', 'appendValue',
  'key', 'rowKeyPrefix', // the admin API's: CreateTableRequest.Split, DropRowRangeRequest
  'rawValue', // Value's, in AddToCell and MergeToCell
]);

function withBuffers(value, key) {
  if (Array.isArray(value)) return value.map(item => withBuffers(item, key));
  if (typeof value === 'string' && BYTES_FIELDS.has(key)) return Buffer.from(value, 'latin1');
  if (value && typeof value === 'object' && !Buffer.isBuffer(value)) {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, withBuffers(v, k)]));
  }
  return value;
}

// A request with Buffers as proto3 JSON: bytes in base64.
function toJson(value) {
  if (Buffer.isBuffer(value)) return value.toString('base64');
  if (Array.isArray(value)) return value.map(toJson);
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, toJson(v)]));
  }
  return value;
}

// ---- results ----

// Results are equal when their JSON is, the members of objects in any order.
function sortedKeys(value) {
  if (Array.isArray(value)) return value.map(sortedKeys);
  if (!value || typeof value !== 'object') return value;
  return Object.fromEntries(Object.keys(value).sort().map(k => [k, sortedKeys(value[k])]));
}
const same = (a, b) => JSON.stringify(sortedKeys(a)) === JSON.stringify(sortedKeys(b));

// Bytes as text when printable ASCII, else "0x" and hex.
function show(buffer) {
  const bytes = Buffer.from(buffer);
  return /^[\x20-\x7e]*$/.test(bytes.toString('latin1')) && !bytes.toString('latin1').startsWith('0x')
    ? bytes.toString('latin1') : `0x${bytes.toString('hex')}`;
}

function time(micros) {
  const n = Number(micros);
  return n >= NOW ? 'now' : n;
}

// A chunk of either side as {rowKey, family, qualifier, timestamp, labels, value, valueSize,
// resetRow, commitRow}: Buffers and strings, undefined when absent.
function grpcChunk(c) {
  return {
    rowKey: c.rowKey && c.rowKey.length ? Buffer.from(c.rowKey) : undefined,
    family: c.familyName ? c.familyName.value : undefined,
    qualifier: c.qualifier ? Buffer.from(c.qualifier.value) : undefined,
    timestamp: c.timestampMicros, labels: c.labels || [], value: Buffer.from(c.value || []),
    valueSize: Number(c.valueSize || 0), resetRow: !!c.resetRow, commitRow: !!c.commitRow,
  };
}

function jsonChunk(c) {
  const wrapped = v => (v && typeof v === 'object' ? v.value : v);
  const b64 = v => (v === undefined || v === null ? undefined : Buffer.from(v, 'base64'));
  const qualifier = wrapped(c.qualifier);
  return {
    rowKey: c.rowKey ? b64(c.rowKey) : undefined, family: wrapped(c.familyName),
    qualifier: qualifier === undefined ? undefined : b64(qualifier), timestamp: c.timestampMicros,
    labels: c.labels || [], value: b64(c.value) || Buffer.alloc(0), valueSize: Number(c.valueSize || 0),
    resetRow: !!c.resetRow, commitRow: !!c.commitRow,
  };
}

// The cells of a stream of chunks, as [row, family, qualifier, timestamp, value, labels].
function cellsOfChunks(chunks) {
  const cells = [];
  let row = [];
  let key;
  let family;
  let qualifier;
  let cell = null;
  for (const c of chunks) {
    if (c.resetRow) {
      row = [];
      cell = null;
      continue;
    }
    if (c.rowKey) key = c.rowKey;
    if (c.family !== undefined) family = c.family;
    if (c.qualifier !== undefined) qualifier = c.qualifier;
    if (!cell) cell = {key, family, qualifier, timestamp: c.timestamp, labels: c.labels, parts: []};
    cell.parts.push(c.value);
    if (c.valueSize === 0) {
      row.push([show(cell.key), cell.family, show(cell.qualifier), time(cell.timestamp ?? 0),
                show(Buffer.concat(cell.parts)), [...cell.labels]]);
      cell = null;
    }
    if (c.commitRow) {
      cells.push(...row);
      row = [];
    }
  }
  return cells;
}

// A cell as one string: "row/family:qualifier@timestamp=value", then "[label]" if any.
function cellText([row, family, qualifier, timestamp, value, labels]) {
  return `${row}/${family}:${qualifier}@${timestamp}=${value}${labels.length ? `[${labels.join(',')}]` : ''}`;
}

// What a read promises to keep in order: rows by key, and within a family its columns by
// qualifier and their cells newest first. The mutual order of families is not specified
// (Row.families in data.proto), nor that of cells with the same column and timestamp
// (RowFilter.Interleave, sink): each row is stably sorted by family, and each run of
// cells with one column and timestamp sorted by value and labels, before comparing.
function canonical(cells) {
  const out = [];
  for (let i = 0; i < cells.length;) {
    let j = i + 1;
    while (j < cells.length && cells[j][0] === cells[i][0]) j++;
    const row = cells.slice(i, j).sort((a, b) => (a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : 0));
    for (let k = 0; k < row.length;) {
      let m = k + 1;
      while (m < row.length && same(row[m].slice(0, 4), row[k].slice(0, 4))) m++;
      out.push(...row.slice(k, m).sort((a, b) => (JSON.stringify(a) < JSON.stringify(b) ? -1 : 1)));
      k = m;
    }
    i = j;
  }
  return out.map(cellText);
}

// The cells of a Row message (readModifyWriteRow's answer), in either encoding.
function cellsOfRow(row, json) {
  const bytes = v => (json ? Buffer.from(v || '', 'base64') : Buffer.from(v || []));
  const cells = [];
  for (const f of row.families || []) {
    for (const column of f.columns || []) {
      for (const cell of column.cells || []) {
        cells.push([show(bytes(row.key)), f.name, show(bytes(column.qualifier)),
                    time(cell.timestampMicros ?? 0), show(bytes(cell.value)), [...(cell.labels || [])]]);
      }
    }
  }
  return cells;
}

// ---- admin results: what the API means, not how each side spells it ----

// A Duration as proto3 JSON text ("1.5s"), from that text or from a message {seconds, nanos}.
function durationText(value) {
  if (typeof value === 'string') {
    const m = /^(-?\d+)(?:\.(\d{1,9}))?s$/.exec(value);
    if (!m) return value;
    const fraction = (m[2] || '').replace(/0+$/, '');
    return `${BigInt(m[1])}${fraction ? `.${fraction}` : ''}s`;
  }
  const seconds = BigInt(value.seconds || 0);
  const nanos = Number(value.nanos || 0);
  const sign = seconds === 0n && nanos < 0 ? '-' : '';
  const fraction = nanos ? `.${String(Math.abs(nanos)).padStart(9, '0').replace(/0+$/, '')}` : '';
  return `${sign}${seconds}${fraction}s`;
}

// A GcRule as {maxNumVersions: N} | {maxAge: "Xs"} | {union: [...]} | {intersection: [...]},
// {} for none (absent, null or empty: all keep every cell). The gRPC client names the
// oneof's member in `rule`.
const GC_KINDS = ['maxNumVersions', 'maxAge', 'intersection', 'union'];
function gcRule(rule) {
  if (!rule) return {};
  const kind = rule.rule || GC_KINDS.find(k => rule[k] !== undefined && rule[k] !== null);
  switch (kind) {
  case 'maxNumVersions':
    return {maxNumVersions: Number(rule.maxNumVersions)};
  case 'maxAge':
    return {maxAge: durationText(rule.maxAge)};
  case 'union':
  case 'intersection':
    return {[kind]: ((rule[kind] && rule[kind].rules) || []).map(gcRule)};
  default:
    return {};
  }
}

const byKey = ([a], [b]) => (a < b ? -1 : a > b ? 1 : 0);

// A cluster's state in a Table: its replication state and the encryption type of each
// encryptionInfo (versions and statuses are the key's, not the table's).
function clusterState(state) {
  const out = {};
  if (state.replicationState && state.replicationState !== 'STATE_NOT_KNOWN') {
    out.replicationState = state.replicationState;
  }
  const types = (state.encryptionInfo || []).map(e => e.encryptionType);
  if (types.length) out.encryption = types;
  return out;
}

// A family as its gcRule, or {gcRule, aggregate: "sum" | "min" | "max" | ...} for an aggregate
// family (its aggregator: Google's emulator leaves the output-only state_type out).
function familyOf(f) {
  const rule = gcRule(f && f.gcRule);
  const aggregate = f && f.valueType && f.valueType.aggregateType;
  if (!aggregate) return rule;
  return {gcRule: rule, aggregate: ['sum', 'min', 'max', 'hllppUniqueCount'].find(k => aggregate[k]) || 'none'};
}

// A Table as {name, columnFamilies: {id: family}, clusterStates, granularity,
// deletionProtection}, each member only when the answer has it (proto3: an empty map, an
// unspecified enum and false are absent). name is the table id when the table is in the
// instance asked, its whole name otherwise.
function tableOf(t, instance) {
  const prefix = `${instance}/tables/`;
  const out = {name: t.name.startsWith(prefix) ? t.name.slice(prefix.length) : t.name};
  const families = Object.entries(t.columnFamilies || {}).sort(byKey);
  if (families.length) out.columnFamilies = Object.fromEntries(families.map(([id, f]) => [id, familyOf(f)]));
  const states = Object.entries(t.clusterStates || {}).sort(byKey);
  if (states.length) out.clusterStates = Object.fromEntries(states.map(([id, s]) => [id, clusterState(s)]));
  if (t.granularity && t.granularity !== 'TIMESTAMP_GRANULARITY_UNSPECIFIED') out.granularity = t.granularity;
  if (t.deletionProtection) out.deletionProtection = true;
  return out;
}

// The instance of an admin request: its parent, or the instance of the table it names.
const instanceOf = request => request.parent || request.name.replace(/\/tables\/.*$/, '');

// An admin method's answer (a message of either encoding) to request as the result
// compared. Tokens differ by design: a consistency token is compared as present, a page
// token as "more". memory keeps the last of each for the next step's '$token' and '$nextPage'.
function adminResult(method, request, answer, memory) {
  const instance = instanceOf(request);
  switch (method) {
  case 'createTable':
  case 'getTable':
  case 'modifyColumnFamilies':
    return {table: tableOf(answer, instance)};
  case 'listTables':
    memory.nextPage = answer.nextPageToken || '';
    return {tables: (answer.tables || []).map(t => tableOf(t, instance)).sort((a, b) => byKey([a.name], [b.name])),
            more: !!answer.nextPageToken};
  case 'generateConsistencyToken':
    memory.token = answer.consistencyToken;
    return {token: typeof answer.consistencyToken === 'string' && answer.consistencyToken.length > 0};
  case 'checkConsistency':
    return {consistent: !!answer.consistent};
  default: // deleteTable, dropRowRange: google.protobuf.Empty
    return {ok: true};
  }
}

// The request with this side's remembered tokens in place of '$token' and '$nextPage'.
function withMemory(request, memory) {
  const out = {...request};
  if (out.consistencyToken === '$token') out.consistencyToken = memory.token;
  if (out.pageToken === '$nextPage') out.pageToken = memory.nextPage;
  return out;
}

// An admin request for gRPC: bytes as Buffers, maxAge "1.5s" as a Duration message, an
// updateMask "gcRule" as a FieldMask of proto names.
function grpcAdminRequest(value, key) {
  if (key === 'maxAge' && typeof value === 'string') {
    const m = /^(-?)(\d+)(?:\.(\d{1,9}))?s$/.exec(value);
    if (!m) throw new Error(`maxAge ${value}: not a Duration; send it to ours only (skipGoogle)`);
    const sign = m[1] ? -1 : 1;
    return {seconds: sign * Number(m[2]), nanos: sign * Number((m[3] || '').padEnd(9, '0'))};
  }
  if (key === 'updateMask' && typeof value === 'string') {
    return {paths: value.split(',').filter(Boolean).map(p => p.replace(/[A-Z]/g, c => `_${c.toLowerCase()}`))};
  }
  if (Array.isArray(value)) return value.map(item => grpcAdminRequest(item, key));
  if (typeof value === 'string' && BYTES_FIELDS.has(key)) return Buffer.from(value, 'latin1');
  if (value && typeof value === 'object' && !Buffer.isBuffer(value)) {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, grpcAdminRequest(v, k)]));
  }
  return value;
}

// ---- the two sides ----

// Google's emulator, over gRPC.
class Google {
  constructor(hostPort) {
    const [host, port] = hostPort.split(':');
    const options = {apiEndpoint: host, port: Number(port), sslCreds: grpc.credentials.createInsecure(),
                     authClient: new PassThroughClient()};
    this.admin = new v2.BigtableTableAdminClient(options);
    this.data = new v2.BigtableClient(options);
    this.memory = {}; // the last consistency and page tokens (withMemory)
  }

  async close() {
    await this.admin.close();
    await this.data.close();
  }

  async createTable(tableId, columnFamilies) {
    await this.admin.createTable({parent: INSTANCE, tableId, table: {columnFamilies}});
  }

  // The gRPC stub under the generated client: gax would retry or wait seconds on a
  // refused stream, and the test wants each answer once, as the server gave it.
  async stub() {
    if (!this.stubPromise) {
      this.data.initialize();
      this.stubPromise = this.data.bigtableStub;
    }
    return this.stubPromise;
  }

  async stream(method, request) {
    const stub = await this.stub();
    return new Promise((resolve, reject) => {
      const messages = [];
      stub[method](withBuffers(request), {deadline: Date.now() + DEADLINE_MS}).on('data', m => messages.push(m))
        .on('end', () => resolve(messages)).on('error', reject);
    });
  }

  async unary(method, request) {
    const stub = await this.stub();
    return new Promise((resolve, reject) => {
      stub[method](withBuffers(request), {deadline: Date.now() + DEADLINE_MS},
                   (error, response) => (error ? reject(error) : resolve(response)));
    });
  }

  // The admin client's gRPC stub, for the same reason.
  async adminStub() {
    if (!this.adminStubPromise) {
      this.admin.initialize();
      this.adminStubPromise = this.admin.bigtableTableAdminStub;
    }
    return this.adminStubPromise;
  }

  async adminCall(method, request) {
    const stub = await this.adminStub();
    try {
      const answer = await new Promise((resolve, reject) => {
        stub[method](grpcAdminRequest(withMemory(request, this.memory)), {deadline: Date.now() + DEADLINE_MS},
                     (error, response) => (error ? reject(error) : resolve(response)));
      });
      return adminResult(method, request, answer, this.memory);
    } catch (error) {
      if (typeof error.code !== 'number') throw error;
      return {error: CODES[error.code] || `code ${error.code}`};
    }
  }

  async call(method, request) {
    if (ADMIN_METHODS.includes(method)) return this.adminCall(method, request);
    try {
      switch (method) {
      case 'readRows': {
        const responses = await this.stream('readRows', request);
        return {cells: canonical(cellsOfChunks(responses.flatMap(r => r.chunks).map(grpcChunk)))};
      }
      case 'mutateRows': {
        const responses = await this.stream('mutateRows', request);
        const codes = [];
        for (const entry of responses.flatMap(r => r.entries)) codes[Number(entry.index)] = CODES[entry.status.code];
        return {entries: codes};
      }
      case 'mutateRow':
        await this.unary('mutateRow', request);
        return {ok: true};
      case 'checkAndMutateRow': {
        const response = await this.unary('checkAndMutateRow', request);
        return {predicateMatched: !!response.predicateMatched};
      }
      case 'readModifyWriteRow': {
        const response = await this.unary('readModifyWriteRow', request);
        return {row: canonical(cellsOfRow(response.row, false))};
      }
      default:
        throw new Error(`unknown method ${method}`);
      }
    } catch (error) {
      if (typeof error.code !== 'number') throw error;
      return {error: CODES[error.code] || `code ${error.code}`};
    }
  }
}

// Ours, over REST.
class Ours {
  constructor(url) {
    this.url = url.replace(/\/+$/, '');
    this.memory = {}; // the last consistency and page tokens (withMemory)
  }

  async close() {}

  // An HTTP request to path (a resource name, each segment URL-encoded, then an optional
  // ":method" or "?query"): {json} or {error: code name}.
  async send(httpMethod, path, body) {
    const response = await fetch(`${this.url}/v2/${path}`, {
      method: httpMethod, headers: {'Content-Type': 'application/json'},
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await response.text();
    let json;
    try {
      json = text ? JSON.parse(text) : {};
    } catch {
      throw new Error(`${httpMethod} ${path}: HTTP ${response.status}, not JSON: ${text.slice(0, 200)}`);
    }
    if (response.status !== 200) {
      if (!json.error || !json.error.status) throw new Error(`${httpMethod} ${path}: HTTP ${response.status} ${text}`);
      return {error: json.error.status};
    }
    return {json};
  }

  async post(path, body) {
    return this.send('POST', path, body);
  }

  // An instance with one cluster; usable once its operation is done.
  async createInstance(instanceId) {
    const answer = await this.post('projects/bt-diff/instances', {
      instanceId, instance: {displayName: instanceId},
      clusters: {'diff-c1': {location: 'projects/bt-diff/locations/us-east1-b', serveNodes: 1}},
    });
    if (answer.error) throw new Error(`createInstance ${instanceId}: ${answer.error}`);
    for (let i = 0; i < 100; i++) {
      const response = await fetch(`${this.url}/v2/${answer.json.name}`);
      if ((await response.json()).done) return;
      await new Promise(resolve => setTimeout(resolve, 100));
    }
    throw new Error(`createInstance ${instanceId}: the operation did not finish`);
  }

  // The admin methods' REST bindings (bigtableadmin v2).
  async adminCall(method, request) {
    const {parent, name, view, pageSize, pageToken, ...rest} = withMemory(request, this.memory);
    const body = toJson(withBuffers(rest));
    const path = n => n.split('/').map(encodeURIComponent).join('/');
    const query = params => {
      const set = Object.entries(params).filter(([, v]) => v !== undefined);
      return set.length ? `?${new URLSearchParams(set.map(([k, v]) => [k, String(v)]))}` : '';
    };
    let answer;
    switch (method) {
    case 'createTable':
      answer = await this.post(`${path(parent)}/tables`, body);
      break;
    case 'listTables':
      answer = await this.send('GET', `${path(parent)}/tables${query({view, pageSize, pageToken})}`);
      break;
    case 'getTable':
      answer = await this.send('GET', `${path(name)}${query({view})}`);
      break;
    case 'deleteTable':
      answer = await this.send('DELETE', path(name));
      break;
    default: // POST name:method
      answer = await this.post(`${path(name)}:${method}`, body);
    }
    return answer.error ? answer : adminResult(method, request, answer.json, this.memory);
  }

  async createTable(tableId, columnFamilies) {
    const answer = await this.post(`${INSTANCE}/tables`, {tableId, table: {columnFamilies}});
    if (answer.error) throw new Error(`createTable ${tableId}: ${answer.error}`);
  }

  async call(method, request) {
    if (ADMIN_METHODS.includes(method)) return this.adminCall(method, request);
    const {tableName, ...body} = request;
    const answer = await this.post(`${tableName}:${method}`, toJson(withBuffers(body)));
    if (answer.error) return answer;
    const json = answer.json;
    switch (method) {
    case 'readRows':
      return {cells: canonical(cellsOfChunks(json.flatMap(r => r.chunks || []).map(jsonChunk)))};
    case 'mutateRows': {
      const codes = [];
      for (const entry of json.flatMap(r => r.entries || [])) {
        codes[Number(entry.index || 0)] = CODES[(entry.status && entry.status.code) || 0];
      }
      return {entries: codes};
    }
    case 'mutateRow':
      return {ok: true};
    case 'checkAndMutateRow':
      return {predicateMatched: !!json.predicateMatched};
    case 'readModifyWriteRow':
      return {row: canonical(cellsOfRow(json.row || {}, true))};
    default:
      throw new Error(`unknown method ${method}`);
    }
  }
}

// ---- cases ----

// The mutateRows request that writes a case's rows: [key, family, qualifier, timestamp,
// value], in order, one entry per run of the same key.
function rowsRequest(rows) {
  const entries = [];
  for (const [key, family, qualifier, timestamp, value] of rows) {
    if (!entries.length || entries[entries.length - 1].rowKey !== key) entries.push({rowKey: key, mutations: []});
    entries[entries.length - 1].mutations.push(
      {setCell: {familyName: family, columnQualifier: qualifier, timestampMicros: timestamp, value}});
  }
  return {entries};
}

function stepsOf(testCase) {
  const steps = [];
  if (testCase.rows && testCase.rows.length) steps.push({mutateRows: rowsRequest(testCase.rows), what: 'rows'});
  return steps.concat(testCase.steps || []);
}

function methodOf(step) {
  const all = METHODS.concat(ADMIN_METHODS);
  const methods = all.filter(m => step[m] !== undefined);
  if (methods.length !== 1) throw new Error(`a step needs exactly one of ${all}: ${JSON.stringify(step)}`);
  return methods[0];
}

// The request of a step of an admin case (instance: the case's own): under
// step.instance's instance if it names one, for step.table's table, else the case's.
function adminRequest(testCase, instance, step, method) {
  const parent = step.instance ? `projects/bt-diff/instances/${step.instance}` : instance;
  if (method === 'createTable' || method === 'listTables') return {parent, ...step[method]};
  const name = `${parent}/tables/${step.table ?? testCase.table}`;
  return METHODS.includes(method) ? {tableName: name, ...step[method]} : {name, ...step[method]};
}

// Runs one step on both sides and checks ours against Google's answer or the step's
// `expect`; counts.checks and counts.failed add up.
async function check(google, ours, counts, title, step, method, request) {
  let t0 = Date.now();
  const got = await ours.call(method, request);
  const tOurs = Date.now() - t0;
  t0 = Date.now();
  const reference = step.skipGoogle ? {skipped: step.skipGoogle} : await google.call(method, request);
  if (reference.error === 'UNAVAILABLE' || reference.error === 'DEADLINE_EXCEEDED') {
    throw new Error(`Google's emulator stopped answering at ${title}: ${JSON.stringify(step[method])}`);
  }
  const note = step.googleEmulatorWrong || step.undocumented;
  const want = note ? step.expect : reference;
  if (process.env.TIMING) console.log(`time ${title}: ours ${tOurs} ms, google ${Date.now() - t0} ms`);
  counts.checks++;
  if (!same(got, want)) {
    counts.failed++;
    console.log(`FAIL ${title}\n  request:  ${JSON.stringify(toJson(withBuffers(step[method])))}`);
    if (step.googleEmulatorWrong) console.log(`  (Google's emulator is wrong here: ${step.googleEmulatorWrong})`);
    if (step.undocumented) console.log(`  (undocumented; ours is kept: ${step.undocumented})`);
    console.log(`  expected: ${JSON.stringify(want)}\n  ours:     ${JSON.stringify(got)}`);
  } else if (process.env.VERBOSE === '1') {
    console.log(`ok   ${title}${note ? ` (Google's emulator: ${JSON.stringify(reference)})` : ''}`);
  }
  if (note && !step.skipGoogle && same(reference, step.expect)) {
    console.log(`note ${title}: Google's emulator now gives the expected answer: drop the annotation`);
  }
}

// A data case: a fresh table t<index> with its families on both sides, its rows, its steps.
async function runDataCase(google, ours, counts, testCase, index) {
  const tableId = `t${index}`;
  const families = testCase.families || {cf1: {}, cf2: {}};
  await google.createTable(tableId, families);
  await ours.createTable(tableId, families);
  for (const [n, step] of stepsOf(testCase).entries()) {
    const method = methodOf(step);
    const request = {tableName: `${INSTANCE}/tables/${step.table || tableId}`, ...step[method]};
    const title = `${testCase.name} #${n + 1} ${method}${step.what ? ` (${step.what})` : ''}`;
    await check(google, ours, counts, title, step, method, request);
  }
}

// An admin case: an instance of its own, admin-<index> (made on ours; Google's emulator
// takes any parent), so that its listTables see its own tables only; then its steps.
async function runAdminCase(google, ours, counts, testCase, index) {
  const instanceId = `admin-${index}`;
  await ours.createInstance(instanceId);
  const instance = `projects/bt-diff/instances/${instanceId}`;
  for (const [n, step] of testCase.steps.entries()) {
    const method = methodOf(step);
    const request = adminRequest(testCase, instance, step, method);
    const title = `admin: ${testCase.name} #${n + 1} ${method}${step.what ? ` (${step.what})` : ''}`;
    await check(google, ours, counts, title, step, method, request);
  }
}

async function main() {
  const google = new Google(process.env.GOOGLE_BIGTABLE);
  const ours = new Ours(process.env.OURS_BIGTABLE);
  const only = process.argv.slice(2);
  const chosen = testCase => !only.length || only.some(part => testCase.name.includes(part));
  const counts = {checks: 0, failed: 0};
  await ours.createInstance('diff-inst');
  for (const [index, testCase] of corpus.entries()) {
    if (chosen(testCase)) await runDataCase(google, ours, counts, testCase, index);
  }
  for (const [index, testCase] of adminCorpus.entries()) {
    if (chosen({name: `admin: ${testCase.name}`})) await runAdminCase(google, ours, counts, testCase, index);
  }
  await google.close();
  await ours.close();
  console.log(`${counts.checks} checks, ${counts.failed} failed`);
  process.exitCode = counts.failed ? 1 : 0;
}

main().catch(error => {
  console.error(`bigtable_diff: ${error.stack || error}`);
  process.exitCode = 2;
});
