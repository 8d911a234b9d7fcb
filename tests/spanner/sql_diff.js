'use strict';
// sql_diff.js: the client side of the differential SQL test (tests/spanner/sql_diff.sh starts
// both Spanner endpoints, then runs this with OURS_URL and GOOGLE_URL, each ".../v1"). The
// corpus format and what each section sends are described in sql_diff.sh's header; this
// reads the corpus files, runs each file's steps on both endpoints at once (a file's steps in
// order on each, over one kept-alive connection per endpoint), and compares the answers
// step by step: column names and types, then the rows (in order when the statement has an
// ORDER BY, as multisets otherwise); DML by rows modified; an error by its code (messages
// are not compared).
//
//   OURS_URL=... GOOGLE_URL=... node tests/spanner/sql_diff.js corpus.sql ...
//   (VERBOSE=1: every check; SQL_DIFF_DUMP=DIR: each side's results, a line per step, in
//   DIR/<file>.ours.jsonl and DIR/<file>.google.jsonl)
//
// Prints a FAIL block per failing check and ends with "N checks, F failed" (each file counts
// as one check, that its database was built, and each of its steps as one).

const fs = require('node:fs');
const http = require('node:http');
const path = require('node:path');

const CODES = ['OK', 'CANCELLED', 'UNKNOWN', 'INVALID_ARGUMENT', 'DEADLINE_EXCEEDED', 'NOT_FOUND',
               'ALREADY_EXISTS', 'PERMISSION_DENIED', 'RESOURCE_EXHAUSTED', 'FAILED_PRECONDITION',
               'ABORTED', 'OUT_OF_RANGE', 'UNIMPLEMENTED', 'INTERNAL', 'UNAVAILABLE', 'DATA_LOSS',
               'UNAUTHENTICATED'];
const SECTIONS = new Set(['ddl', 'dml', 'query', 'stream', 'commit', 'read', 'alter', 'batch', 'tx']);
const PROJECT = 'projects/diff-project';
const INSTANCE = `${PROJECT}/instances/diff`;
const REQUEST_TIMEOUT_MS = 60000;
const NO_ANSWER = '{"error":{"status":"NO_ANSWER"}}';

// ---- the corpus ----

// parseCorpus(text): {ddl: [sql], steps: [{kind, note, expect, params, group, sql}]}. A
// statement's lines are joined by spaces and end with ";" at the end of a line; "-- " lines
// start a section (group numbers them: a "-- tx" section is one transaction) or annotate the
// next statement; other "--" lines and blank lines are skipped.
function parseCorpus(text) {
    const all = [];
    let section = '', group = 0, sql = '', note = '', expect = '', params = '';
    const flush = () => {
        if (sql !== '') {
            all.push({kind: section, note, expect, params: params === '' ? {} : JSON.parse(params),
                      group, sql: sql.replace(/\t/g, ' ')});
        }
        sql = note = expect = params = '';
    };
    for (const line of text.split('\n')) {
        const header = /^-- (\S+)[ \t]*$/.exec(line);
        if (header && SECTIONS.has(header[1])) {
            flush();
            section = header[1];
            group++;
        } else if (line.startsWith('-- google-emulator-wrong: ')) {
            note = line.slice(26);
        } else if (line.startsWith('-- expect: ')) {
            expect = line.slice(11);
        } else if (line.startsWith('-- params: ')) {
            params = line.slice(11).replace(/\t/g, ' ');
        } else if (!line.startsWith('--') && !/^[ \t]*$/.test(line)) {
            sql = sql === '' ? line : `${sql} ${line}`;
            if (/;[ \t]*$/.test(line)) {
                sql = sql.replace(/;[ \t]*$/, '');
                flush();
            }
        }
    }
    flush();
    return {ddl: all.filter((s) => s.kind === 'ddl').map((s) => s.sql),
            steps: all.filter((s) => s.kind !== 'ddl')};
}

// ---- one Spanner REST endpoint ----

class Endpoint {
    constructor(base) {
        this.base = base; // ".../v1"
        const url = new URL(base);
        this.host = url.hostname;
        this.port = url.port;
        this.prefix = url.pathname;
        this.agent = new http.Agent({keepAlive: true, maxSockets: 1});
    }

    // request(method, path, body): the answer's body text ('' when none came).
    request(method, rest, body, retried = false) {
        return new Promise((resolve) => {
            const headers = {'Content-Type': 'application/json'};
            if (body !== undefined && body !== '')
                headers['Content-Length'] = Buffer.byteLength(body);
            const req = http.request({host: this.host, port: this.port, method, headers,
                                      path: `${this.prefix}/${rest}`, agent: this.agent,
                                      timeout: REQUEST_TIMEOUT_MS}, (res) => {
                const chunks = [];
                res.on('data', (c) => chunks.push(c));
                res.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
                res.on('error', () => resolve(''));
            });
            req.on('timeout', () => req.destroy(new Error('timeout')));
            req.on('error', (e) => {
                // a kept-alive connection the server closed as this request went out: once more
                if (req.reusedSocket && e.code === 'ECONNRESET' && !retried)
                    resolve(this.request(method, rest, body, true));
                else
                    resolve('');
            });
            if (body !== undefined && body !== '')
                req.write(body);
            req.end();
        });
    }

    // answer(...): the answer's text, or an error object's when none came.
    async answer(method, rest, body) {
        const out = await this.request(method, rest, body);
        return out === '' ? NO_ANSWER : out;
    }

    close() {
        this.agent.destroy();
    }
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

// parseJson(text): the JSON value, or undefined.
function parseJson(text) {
    try {
        return JSON.parse(text);
    } catch {
        return undefined;
    }
}

// parseJsonStream(text): the JSON values written one after another in text (ours answers
// one array; Google's gateway one object per line); undefined when it is not such a sequence.
function parseJsonStream(text) {
    const whole = parseJson(text);
    if (whole !== undefined) return [whole];
    const values = [];
    let pending = '';
    for (const line of text.split('\n')) {
        pending += `${line}\n`;
        const value = parseJson(pending);
        if (value !== undefined) {
            values.push(value);
            pending = '';
        }
    }
    return pending.trim() === '' ? values : undefined;
}

// answerOf(text): a step's answer as a JSON value.
function answerOf(text) {
    const value = parseJson(text);
    return value === undefined ? {error: {status: 'INVALID_JSON', message: text.slice(0, 200)}} : value;
}

// jq's notion of true: anything but null (or absent) and false.
const truthy = (v) => v !== undefined && v !== null && v !== false;
const isObject = (v) => v !== null && typeof v === 'object' && !Array.isArray(v);
const get = (v, ...keys) => keys.reduce((o, k) => (isObject(o) && k in o ? o[k] : undefined), v);

// withTx(body, tx, seqno): body naming transaction tx (and seqno, unless body gives one:
// "none" for no seqno).
function withTx(body, tx, seqno) {
    const out = {...body, transaction: {id: tx}};
    if (seqno !== undefined && !('seqno' in body)) out.seqno = String(seqno);
    if (out.seqno === 'none') delete out.seqno;
    return JSON.stringify(out);
}

// A file's steps on one endpoint.
class Side {
    constructor(endpoint, dbId) {
        this.ep = endpoint;
        this.db = `${INSTANCE}/databases/${dbId}`;
        this.dbId = dbId;
        this.tx = '';
        this.seqno = 0;
        this.section = undefined;
    }

    // create(ddl): the database with ddl and a session; an error text when either failed.
    async create(ddl) {
        const ep = this.ep;
        await ep.request('POST', `${PROJECT}/instances`, JSON.stringify(
            {instanceId: 'diff', instance: {config: `${PROJECT}/instanceConfigs/emulator-config`,
                                            displayName: 'diff', nodeCount: 1}}));
        const created = await ep.request('POST', `${INSTANCE}/databases`, JSON.stringify(
            {createStatement: `CREATE DATABASE \`${this.dbId}\``, extraStatements: ddl}));
        if (created.includes('"error"'))
            return `the database was not created at ${ep.base}: ${created}`;
        for (let i = 0; i < 100; i++) {
            if ((await ep.request('GET', this.db)).includes('"READY"')) break;
            await sleep(100);
        }
        const session = get(parseJson(await ep.request('POST', `${this.db}/sessions`, '{}')), 'name');
        if (typeof session !== 'string' || session === '')
            return `no database at ${ep.base}: ${created}`;
        this.session = session;
        return undefined;
    }

    // begin(options): [true, id] or [false, the answer's text] (options: JSON text).
    async begin(options) {
        const out = await this.ep.request('POST', `${this.session}:beginTransaction`, `{"options":${options}}`);
        const id = get(parseJson(out), 'id');
        if (truthy(id) && id !== '') return [true, String(id)];
        return [false, out === '' ? NO_ANSWER : out];
    }

    // step(s): the step's answer as a JSON value.
    async step(s) {
        const body = {sql: s.sql, ...s.params};
        switch (s.kind) {
        case 'tx': return this.txStep(s, body);
        case 'batch': return this.batch(JSON.parse(s.sql));
        case 'dml': return this.dml(body);
        case 'commit':
            return answerOf(await this.ep.answer('POST', `${this.session}:commit`, JSON.stringify(
                {singleUseTransaction: {readWrite: {}}, ...JSON.parse(s.sql)})));
        case 'read':
            return answerOf(await this.ep.answer('POST', `${this.session}:read`, JSON.stringify(JSON.parse(s.sql))));
        case 'stream':
            return streamResult(await this.ep.answer('POST', `${this.session}:executeStreamingSql`,
                                                     JSON.stringify(body)));
        case 'alter': return this.alter(s.sql);
        default:
            return answerOf(await this.ep.answer('POST', `${this.session}:executeSql`, JSON.stringify(body)));
        }
    }

    // dml(body): the statement in a read-write transaction of its own, committed after it.
    async dml(body) {
        const [ok, id] = await this.begin('{"readWrite":{}}');
        const tx = ok ? id : '';
        const text = JSON.stringify(body);
        const answer = await this.ep.answer('POST', `${this.session}:executeSql`,
                                            `${text.slice(0, -1)},"transaction":{"id":"${tx}"},"seqno":"1"}`);
        await this.ep.request('POST', `${this.session}:commit`, `{"transactionId":"${tx}"}`);
        return answerOf(answer);
    }

    // batch(body): an executeBatchDml body in a read-write transaction of its own, committed.
    async batch(body) {
        const [ok, tx] = await this.begin('{"readWrite":{}}');
        if (!ok) return answerOf(tx);
        const answer = await this.ep.answer('POST', `${this.session}:executeBatchDml`, withTx(body, tx, 1));
        await this.ep.request('POST', `${this.session}:commit`, `{"transactionId":"${tx}"}`);
        return answerOf(answer);
    }

    // alter(sql): the statement through updateDatabaseDdl, its operation awaited.
    async alter(sql) {
        let out = await this.ep.request('PATCH', `${this.db}/ddl`, JSON.stringify({statements: [sql]}));
        const op = get(parseJson(out), 'name');
        if (!truthy(op) || op === '') return answerOf(out === '' ? NO_ANSWER : out);
        for (let i = 0; i < 300; i++) {
            out = await this.ep.request('GET', op);
            if (get(parseJson(out), 'done') === true) break;
            await sleep(100);
        }
        const error = get(parseJson(out), 'error');
        return truthy(error) ? error : {altered: true};
    }

    // txStep(s, body): a statement of a "-- tx" section in the section's transaction, begun
    // here (read-write) unless the section began it. A transaction that could not begin keeps
    // the failed answer as its "ID", so the section's later steps fail on both sides alike.
    async txStep(s, body) {
        if (s.group !== this.section) {
            this.section = s.group;
            this.tx = '';
            this.seqno = 0;
        }
        const space = s.sql.indexOf(' ');
        const word = space < 0 ? s.sql : s.sql.slice(0, space);
        const rest = space < 0 ? '' : s.sql.slice(space + 1);
        if (word === 'BEGIN') {
            const [ok, tx] = await this.begin(rest);
            this.tx = tx;
            return ok ? {began: true} : answerOf(tx);
        }
        if (this.tx === '') {
            const [ok, tx] = await this.begin('{"readWrite":{}}');
            this.tx = tx;
            if (!ok) return answerOf(tx);
        }
        this.seqno++;
        const session = this.session;
        switch (word) {
        case 'COMMIT':
            return answerOf(await this.ep.answer('POST', `${session}:commit`, JSON.stringify(
                {transactionId: this.tx, ...JSON.parse(rest || '{}')})));
        case 'ROLLBACK':
            return answerOf(await this.ep.answer('POST', `${session}:rollback`, `{"transactionId":"${this.tx}"}`));
        case 'READ':
            return answerOf(await this.ep.answer('POST', `${session}:read`, withTx(JSON.parse(rest), this.tx)));
        case 'BATCH':
            return answerOf(await this.ep.answer('POST', `${session}:executeBatchDml`,
                                                 withTx(JSON.parse(rest), this.tx, this.seqno)));
        default:
            return answerOf(await this.ep.answer('POST', `${session}:executeSql`, withTx(body, this.tx, this.seqno)));
        }
    }
}

// streamResult(text): executeStreamingSql's PartialResultSets merged into one ResultSet
// (values regrouped into rows; a chunked value is flagged, not merged), or its error. Ours
// answers a JSON array of them; Google's gateway one {"result": ...} or {"error": ...} per
// line.
function streamResult(text) {
    let parts = parseJsonStream(text);
    if (parts === undefined) return answerOf(text);
    if (parts.length === 1 && Array.isArray(parts[0])) parts = parts[0];
    parts = parts.map((p) => {
        if (truthy(get(p, 'result'))) return p.result;
        if (truthy(get(p, 'error')) && !(isObject(p.error) && 'status' in p.error)) return p.error;
        return p;
    });
    const failed = parts.find((p) => truthy(get(p, 'error')) || typeof get(p, 'code') === 'number');
    if (failed !== undefined) return failed;
    if (parts.some((p) => truthy(get(p, 'chunkedValue')))) return {chunked: true};
    const metadata = get(parts[0], 'metadata');
    const n = (get(metadata, 'rowType', 'fields') || []).length;
    const values = parts.flatMap((p) => get(p, 'values') || []);
    const rows = [];
    for (let i = 0; n > 0 && i < values.length / n; i++) rows.push(values.slice(i * n, (i + 1) * n));
    const out = {metadata: metadata === undefined ? null : metadata};
    const stats = get(parts[parts.length - 1], 'stats');
    if (truthy(stats)) out.stats = stats;
    out.rows = rows;
    return out;
}

// ---- results ----

// typeName(type): "INT64", "ARRAY<STRING>", "STRUCT<a INT64, STRING>", ...
function typeName(type) {
    const code = get(type, 'code');
    if (code === 'ARRAY') return `ARRAY<${typeName(get(type, 'arrayElementType'))}>`;
    if (code === 'STRUCT') {
        const fields = get(type, 'structType', 'fields') || [];
        return `STRUCT<${fields.map((f) => (truthy(f.name) && f.name !== '' ? `${f.name} ` : '') +
                                    typeName(f.type)).join(', ')}>`;
    }
    return code === undefined ? null : code;
}

const codeName = (code) => (code >= 0 && code < CODES.length ? CODES[code] : null);

// resultOf(answer): what a step's answer means, the value compared.
function resultOf(a) {
    if (truthy(get(a, 'error'))) return {error: get(a, 'error', 'status') ?? null, message: get(a, 'error', 'message') ?? null};
    if (typeof get(a, 'code') === 'number') return {error: codeName(a.code), message: a.message ?? null};
    if (truthy(get(a, 'resultSets')) || truthy(get(a, 'status'))) {
        return {batch: (a.resultSets || []).map((r) => {
                    const n = get(r, 'stats', 'rowCountExact');
                    return truthy(n) ? Number(n) : null;
                }),
                status: codeName(get(a, 'status', 'code') ?? 0)};
    }
    const exact = get(a, 'stats', 'rowCountExact');
    if (truthy(exact)) return {modified: Number(exact)};
    const atLeast = get(a, 'stats', 'rowCountLowerBound');
    if (truthy(atLeast)) return {modifiedAtLeast: Number(atLeast)};
    if (truthy(get(a, 'commitTimestamp'))) return {committed: true};
    if (truthy(get(a, 'altered'))) return {altered: true};
    if (truthy(get(a, 'began'))) return {began: true};
    if (isObject(a) && Object.keys(a).length === 0) return {rolledBack: true};
    return {fields: (get(a, 'metadata', 'rowType', 'fields') || []).map((f) => [f.name ?? '', typeName(f.type)]),
            rows: get(a, 'rows') || []};
}

// equal(a, b): JSON equality, object keys in any order.
function equal(a, b) {
    if (a === b) return true;
    if (typeof a !== typeof b || a === null || b === null || typeof a !== 'object') return false;
    if (Array.isArray(a) !== Array.isArray(b)) return false;
    if (Array.isArray(a)) return a.length === b.length && a.every((v, i) => equal(v, b[i]));
    const keys = Object.keys(a);
    return keys.length === Object.keys(b).length && keys.every((k) => k in b && equal(a[k], b[k]));
}

// canonical(v): v's JSON with object keys sorted (the order rows are sorted in).
function canonical(v) {
    if (Array.isArray(v)) return `[${v.map(canonical).join(',')}]`;
    if (isObject(v)) return `{${Object.keys(v).sort().map((k) => `${JSON.stringify(k)}:${canonical(v[k])}`).join(',')}}`;
    return JSON.stringify(v);
}

// comparable(result, sql): rows sorted unless the statement orders them; no message.
function comparable(result, sql) {
    const out = {...result};
    delete out.message;
    if (Array.isArray(out.rows) && !sql.toUpperCase().includes('ORDER BY'))
        out.rows = out.rows.map((r) => [canonical(r), r]).sort((x, y) => (x[0] < y[0] ? -1 : x[0] > y[0] ? 1 : 0))
            .map((x) => x[1]);
    return out;
}

// runSide(side, plan): each step's result; throws with a message when the database could
// not be built.
async function runSide(side, plan) {
    const failure = await side.create(plan.ddl);
    if (failure !== undefined) throw new Error(failure);
    const results = [];
    for (const s of plan.steps) results.push(resultOf(await side.step(s)));
    return results;
}

async function main() {
    const ours = new Endpoint(process.env.OURS_URL);
    const google = new Endpoint(process.env.GOOGLE_URL);
    const verbose = process.env.VERBOSE === '1';
    let checks = 0, failures = 0, dbSeq = 0;
    for (const file of process.argv.slice(2)) {
        const name = path.basename(file);
        checks++;
        dbSeq++;
        let plan;
        try {
            plan = parseCorpus(fs.readFileSync(file, 'utf8'));
        } catch (e) {
            failures++;
            console.log(`FAIL ${name}: the corpus file could not be read: ${e.message}`);
            continue;
        }
        const sides = await Promise.allSettled([runSide(new Side(ours, `d${dbSeq}`), plan),
                                                runSide(new Side(google, `d${dbSeq}`), plan)]);
        const broken = sides.find((s) => s.status === 'rejected');
        if (broken) {
            failures++;
            console.log(`FAIL ${name}: its schema could not be built: ${broken.reason.message}`);
            continue;
        }
        const [got, want] = sides.map((s) => s.value);
        if (process.env.SQL_DIFF_DUMP) {
            const dump = (side, results) => fs.writeFileSync(path.join(process.env.SQL_DIFF_DUMP, `${name}.${side}.jsonl`),
                                                             results.map((r) => `${JSON.stringify(r)}\n`).join(''));
            dump('ours', got);
            dump('google', want);
        }
        plan.steps.forEach((s, i) => {
            checks++;
            const mine = comparable(got[i], s.sql);
            const theirs = comparable(s.note !== '' ? JSON.parse(s.expect) : want[i], s.sql);
            const title = `${name} #${i + 1}: ${s.sql}`;
            if (equal(mine, theirs) && mine.error !== 'NO_ANSWER') {
                if (verbose) console.log(`ok   ${title}`);
                return;
            }
            failures++;
            const wrong = s.note !== '' ? `(Google's emulator is wrong here: ${s.note}) ` : '';
            console.log(`FAIL ${title}\n  ${wrong}expected: ${JSON.stringify(s.note !== '' ? JSON.parse(s.expect) : want[i])}` +
                        `\n  ours:     ${JSON.stringify(got[i])}`);
        });
    }
    ours.close();
    google.close();
    console.log(`${checks} checks, ${failures} failed`);
}

main().catch((e) => {
    console.log(`sql_diff.js: ${e.stack}`);
    process.exit(1);
});
