'use strict';
// sql_sweep.js: every GoogleSQL function of the translator's table, and every operator,
// cast and clause shape below, over a pool of values of every type (columns, literals,
// NULLs, a parameter, arrays, a struct), sent to our Spanner through executeSql
// (tests/integ/test_spanner_sql_sweep.sh makes the table and runs this). Most statements
// are refused (wrong argument types); what matters is how: each must be answered, and
// never INTERNAL. A crash shows as a connection the server dropped; an INTERNAL answer is
// an SQLite error the translator let through (spanner_sql_functions.c maps the others).
//
//   node tests/spanner/sql_sweep.js SESSION_URL FUNCTION_TABLE_SOURCE
//   (SWEEP_STRIDE=N: every Nth statement only, for slow builds such as ASan's)
//
// Prints "ok <family>" or "FAIL <family>: <statement> -> <answer>" per family (a function,
// or an operator, cast or clause shape), then "<n> statements: <ok> answered, <refused>
// refused".

const fs = require('node:fs');
const http = require('node:http');

// Columns of T (the test's table) and literals of every type.
const POOL = ['I', 'F', 'F32', 'S', 'B', 'D', 'TS', 'N', 'BO', 'J', 'AI', 'ASx', 'AF', 'NULL', "'x'", '1', '1.5',
              "b'q'", "DATE '2024-01-01'", "TIMESTAMP '2024-01-01T00:00:00Z'", 'JSON \'{"a":[1]}\'', '[1, 2]',
              "['a']", 'STRUCT(1 AS a)', '@p', "NUMERIC '1.5'", 'CAST(NULL AS INT64)', "'2024-01-01'", "'$.a'",
              '0', '-1', '9223372036854775807', "CAST('nan' AS FLOAT64)", '[STRUCT(1 AS a)]', 'ARRAY<INT64>[]',
              'J.a', 'AI[OFFSET(0)]'];
const BINARY = ['+', '-', '*', '/', '||', '=', '!=', '<', '<=', '>', '>=', 'AND', 'OR', '&', '|', '^', '<<', '>>',
                'LIKE', 'NOT LIKE', 'IS DISTINCT FROM', 'IS NOT DISTINCT FROM', 'IN', 'NOT IN'];
const TYPES = ['INT64', 'FLOAT64', 'FLOAT32', 'NUMERIC', 'STRING', 'BYTES', 'BOOL', 'DATE', 'TIMESTAMP', 'JSON',
               'ARRAY<INT64>', 'ARRAY<STRING>', 'STRUCT<a INT64>', 'STRING(2)'];

// The functions of spanner_sql_translate.c's table: name, fewest and most arguments
// (-1: any), aggregate.
function functionsOf(source) {
    const table = source.slice(source.indexOf('static const struct fn_def functions[] = {'));
    const defs = [];
    for (const m of table.slice(0, table.indexOf('\n};')).matchAll(/\{"([A-Z0-9_.]+)", (-?\d+), (-?\d+), (true|false)/g))
        defs.push({name: m[1], min: +m[2], max: +m[3], aggregate: m[4] === 'true'});
    return defs;
}

// A fixed pseudo-random sequence, so that every run sends the same statements.
let seed = 12345;
const pick = (n) => {
    seed = (seed * 1103515245 + 12345) % 2147483648;
    return seed % n;
};

// statements(functions): [{family, sql}]
function statements(functions) {
    const out = [];
    const add = (family, sql) => out.push({family, sql});
    for (const f of functions) {
        const most = f.max < 0 ? f.min + 2 : Math.min(f.max, 4);
        for (let n = f.min; n <= most; n++) {
            const tries = n === 0 ? 1 : n === 1 ? POOL.length : 120;
            for (let k = 0; k < tries; k++) {
                const args = Array.from({length: n}, () => (n === 1 ? POOL[k] : POOL[pick(POOL.length)]));
                const a = args.join(', ');
                add(f.name, `SELECT ${f.name}(${a}) FROM T`);
                if (!f.aggregate) {
                    add(f.name, `SELECT SAFE.${f.name}(${a}) FROM T`);
                } else if (n > 0) {
                    add(f.name, `SELECT ${f.name}(DISTINCT ${a}) FROM T`);
                    add(f.name, `SELECT ${f.name}(${a} HAVING MAX I) FROM T GROUP BY S`);
                    add(f.name, `SELECT ${f.name}(DISTINCT ${a} HAVING MIN ${args[0]}) FROM T`);
                    add(f.name, `SELECT ${f.name}(${a} IGNORE NULLS) FROM T`);
                }
            }
        }
    }
    for (const a of POOL) {
        for (const b of POOL) {
            for (const op of BINARY)
                add(`operator ${op}`, `SELECT ${a} ${op} ${op.endsWith('IN') ? `(${b})` : b} FROM T`);
            add('array subscripts', `SELECT ${a}[OFFSET(${b})], ${a}[SAFE_ORDINAL(${b})] FROM T`);
            add('array subscripts', `SELECT ${a}[${b}] FROM T`);
            add('IN UNNEST', `SELECT ${a} IN UNNEST(${b}) FROM T`);
            add('BETWEEN', `SELECT ${a} BETWEEN ${b} AND ${a} FROM T`);
            add('CASE and IF', `SELECT CASE ${a} WHEN ${b} THEN 1 END, IF(${a}, ${b}, ${a}) FROM T`);
            add('UNNEST WITH OFFSET', `SELECT x FROM T, UNNEST(${a}) AS x WITH OFFSET o WHERE o = ${b}`);
            add('GROUP BY and HAVING', `SELECT ${a}, COUNT(*) FROM T GROUP BY 1 HAVING MAX(${b}) IS NOT NULL ORDER BY 1`);
            add('ORDER BY and LIMIT', `SELECT ${a} FROM T ORDER BY ${b} LIMIT 2`);
        }
        for (const type of TYPES)
            add('CAST and SAFE_CAST', `SELECT CAST(${a} AS ${type}), SAFE_CAST(${a} AS ${type}) FROM T`);
        for (const op of ['-', 'NOT ', '~'])
            add('unary operators', `SELECT ${op}${a} FROM T`);
        add('field access', `SELECT ${a}.a, STRUCT(${a} AS x).x FROM T`);
        add('subqueries', `SELECT (SELECT ${a}), EXISTS(SELECT ${a}) FROM T`);
        add('subqueries', `SELECT ARRAY(SELECT ${a} FROM T)`);
        add('IS', `SELECT ${a} IS NULL, ${a} IS TRUE FROM T`);
        add('array literals', `SELECT [${a}, ${a}] FROM T`);
        add('WHERE, LIMIT and OFFSET', `SELECT * FROM T WHERE ${a}`);
        add('WHERE, LIMIT and OFFSET', `SELECT * FROM T LIMIT ${a}`);
        add('WHERE, LIMIT and OFFSET', `SELECT * FROM T LIMIT 1 OFFSET ${a}`);
        add('set operations', `SELECT ${a} UNION ALL SELECT ${a}`);
        add('set operations', `SELECT ${a} INTERSECT DISTINCT SELECT 1`);
        add('set operations', `SELECT ${a} EXCEPT DISTINCT SELECT NULL`);
    }
    // query shapes over a smaller pool: joins, WITH, SELECT AS, hints, sampling, correlated
    // subqueries, analytic calls (refused by Spanner)
    const small = POOL.slice(0, 14).concat(['@p', '0', 'AI[SAFE_OFFSET(0)]', '(SELECT MAX(I) FROM T)',
                                            'ARRAY(SELECT S FROM T)', 'COUNT(*)', 'SUM(I)', 'ARRAY_AGG(S)']);
    for (const a of small) {
        for (const b of small) {
            add('joins', `SELECT t1.K FROM T t1 JOIN T t2 ON t1.I = t2.I WHERE ${a} = ${b}`);
            add('joins', `SELECT * FROM T t1 LEFT JOIN T t2 USING (K) WHERE ${a} IS NOT NULL ORDER BY ${b}`);
            add('WITH', `WITH w AS (SELECT ${a} AS x, ${b} AS y FROM T) SELECT x, y FROM w`);
            add('SELECT AS', `SELECT AS STRUCT ${a} AS x, ${b} AS y FROM T`);
            add('SELECT AS', `SELECT ARRAY(SELECT AS STRUCT ${a}, ${b}) FROM T`);
            add('SELECT * EXCEPT and REPLACE', `SELECT * EXCEPT (K) REPLACE (${a} AS I) FROM T WHERE ${b}`);
            add('GROUP BY and HAVING', `SELECT ${a} FROM T GROUP BY ${b}`);
            add('GROUP BY and HAVING', `SELECT COUNT(DISTINCT ${a}), ${b} FROM T GROUP BY ${b}`);
            add('analytic calls', `SELECT ${a} OVER (), ANY_VALUE(${a}) OVER (PARTITION BY ${b}) FROM T`);
            add('UNNEST WITH OFFSET', `SELECT x.a FROM UNNEST([STRUCT(${a} AS a), STRUCT(${b} AS a)]) AS x`);
            add('UNNEST WITH OFFSET', `SELECT * FROM UNNEST(${a}) WITH OFFSET AS o, UNNEST(${b}) AS v`);
            add('TABLESAMPLE and hints', `SELECT ${a} FROM T TABLESAMPLE BERNOULLI (${b} PERCENT)`);
            add('TABLESAMPLE and hints', `SELECT ${a} FROM T@{FORCE_INDEX=_BASE_TABLE} WHERE K IN (SELECT ${b} FROM T)`);
            add('set operations', `(SELECT ${a} FROM T) UNION ALL (SELECT ${b} FROM T) ORDER BY 1 LIMIT 1`);
            add('subqueries', `SELECT (SELECT ${a} FROM T t2 WHERE t2.K = t1.K), ${b} IN (SELECT I FROM T) FROM T t1`);
            add('subqueries', `SELECT ${a} FROM T WHERE EXISTS (SELECT 1 FROM UNNEST(${b}) x)`);
            add('ORDER BY and LIMIT', `SELECT ${a} FROM T ORDER BY ${b} NULLS LAST, 1 DESC LIMIT @p`);
        }
    }
    return out;
}

function main() {
    const url = new URL(process.argv[2]);
    const all = statements(functionsOf(fs.readFileSync(process.argv[3], 'utf8')));
    const stride = Math.max(1, +(process.env.SWEEP_STRIDE || 1));
    const work = all.filter((_, i) => i % stride === 0);
    const agent = new http.Agent({keepAlive: true, maxSockets: 1});
    const post = (sql) => new Promise((resolve) => {
        const req = http.request({host: url.hostname, port: url.port, path: `${url.pathname}:executeSql`,
                                  method: 'POST', agent, headers: {'Content-Type': 'application/json'}}, (res) => {
            const chunks = [];
            res.on('data', (c) => chunks.push(c));
            res.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
            res.on('error', (e) => resolve(`no answer: ${e.message}`));
        });
        req.on('error', (e) => resolve(`no answer: ${e.message}`));
        req.end(JSON.stringify({sql, params: {p: 'x'}, paramTypes: {p: {code: 'STRING'}}}));
    });
    const failed = new Map(), families = [];
    let answered = 0, refused = 0;
    (async () => {
        for (const {family, sql} of work) {
            if (!families.includes(family)) families.push(family);
            if (failed.has(family)) continue;
            const answer = await post(sql);
            if (answer.startsWith('no answer') || answer.includes('"INTERNAL"')) {
                failed.set(family, `${sql} -> ${answer.slice(0, 300)}`);
                /* a crashed service is restarted by the supervisor: give it time */
                if (answer.startsWith('no answer')) await new Promise((r) => setTimeout(r, 3000));
            } else if (answer.startsWith('{"error"')) {
                refused++;
            } else {
                answered++;
            }
        }
        for (const family of families)
            console.log(failed.has(family) ? `FAIL ${family}: ${failed.get(family)}` : `ok ${family}`);
        console.log(`${work.length} statements: ${answered} answered, ${refused} refused`);
        agent.destroy();
    })();
}

main();
