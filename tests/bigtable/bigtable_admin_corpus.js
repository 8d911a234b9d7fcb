'use strict';
// The admin cases of the Bigtable differential test (tests/bigtable/bigtable_diff.js reads
// them after tests/bigtable/bigtable_corpus.js): the table admin API (BigtableTableAdmin)
// that Google's emulator implements.
//
// A case: {name, table (the table id its steps name by default), steps: [...]}. Each case
// runs in an instance of its own (bigtable_diff.js makes it on ours; Google's emulator
// takes any parent), so that its listTables see only its tables. A step is one request,
// without its parent or name:
//   {createTable: {tableId, table: {columnFamilies: {id: {gcRule}}}, initialSplits}}
//   {listTables: {view, pageSize, pageToken}}
//   {getTable: {view}} | {deleteTable: {}} | {modifyColumnFamilies: {modifications}}
//   {dropRowRange: {rowKeyPrefix | deleteAllDataFromTable}}
//   {generateConsistencyToken: {}} | {checkConsistency: {consistencyToken}}
// or a data call (readRows, mutateRows, ...) as in bigtable_corpus.js. `table` sends it to
// another table id than the case's, `instance` under another instance id. Requests are
// written as proto3 JSON (maxAge "1.5s", updateMask "gcRule", bytes as Latin-1 strings);
// bigtable_diff.js converts them for gRPC. '$token' and '$nextPage' stand for the last
// consistency token and next page token that side answered.
//
// A result: {table: {name (the table id), columnFamilies: {id: gcRule, or {gcRule,
// aggregate: "sum"} for an aggregate family}, clusterStates,
// granularity, deletionProtection}} (members present only when set; a gcRule as
// {maxNumVersions} | {maxAge} | {union: [...]} | {intersection: [...]} | {}),
// {tables: [...], more: bool}, {ok: true}, {token: true}, {consistent: bool},
// {error: "CODE"}; reads as in bigtable_corpus.js.
//
// Annotations, where the two differ and ours is kept (ours is then checked against
// `expect`): wrong(step, why, expect) where Google's emulator is wrong, `why` citing what
// Bigtable does and where that is written; undocumented(step, why, expect) where no
// document settles it (README.md lists these under Limitations). Google's emulator checks
// almost nothing: a request it takes wrongly changes its state, so such steps come last in
// their case, or in a case (or table) of their own.

const INVALID = {error: 'INVALID_ARGUMENT'};
const NOT_FOUND = {error: 'NOT_FOUND'};
const OK = {ok: true};
const wrong = (step, why, expect) => ({...step, googleEmulatorWrong: why, expect});
const undocumented = (step, why, expect) => ({...step, undocumented: why, expect});

// Why Google's emulator is wrong, and what Bigtable documents.
const VIEWS = 'ignores the view: answers every GetTable with the column families and without ' +
  'granularity; table.proto: NAME_ONLY "only populates name", SCHEMA_VIEW (GetTable\'s default) ' +
  'the families and granularity ("If unspecified at creation time, the value will be set to ' +
  'MILLIS"), REPLICATION_VIEW and ENCRYPTION_VIEW cluster_states, FULL all of them';
const LIST_VIEWS = 'ignores the view and lists names only; ListTablesRequest.view supports ' +
  'REPLICATION_VIEW and ENCRYPTION_VIEW (gcloud\'s bigtableadmin v2), which fill cluster_states';
const PAGE_SIZE = 'ignores page_size; ListTablesRequest.page_size: "A page_size which is strictly ' +
  'positive will return at most that many items", "A negative page_size will cause an error"';
const NO_INSTANCE = 'takes any parent; CreateTableRequest.parent and ListTablesRequest.parent ' +
  'name an instance ("The unique name of the instance"), and Bigtable answers NOT_FOUND for ' +
  'one that does not exist';
const TABLE_ID = 'takes any table ID; table.proto: a table\'s name ends in ' +
  '"tables/[_a-zA-Z0-9][-_.a-zA-Z0-9]*", CreateTableRequest.table_id: "Maximum 50 characters"';
const FAMILY_ID = 'takes any column family ID; one matches [_a-zA-Z0-9][-_.a-zA-Z0-9]* ' +
  '(Google\'s Python client, ColumnFamily) and has at most 64 characters (data.proto, Family.name)';
const MAX_AGE = 'takes any max_age; table.proto (GcRule.max_age): "Values must be at least one ' +
  'millisecond"';
const GC_SIZE = 'takes any size; table.proto (ColumnFamily.gc_rule): "Must serialize to at most ' +
  '500 bytes"';
const VERSIONS = 'a max_num_versions below 1 (a rule keeping no version): ours refuses it, ' +
  'Google\'s emulator takes it';
const EMPTY_LIST = 'a union or intersection without rules: ours refuses it, Google\'s emulator ' +
  'takes it';
const DEPTH = 'GC rules nested 21 deep: ours refuses them (at most 20), Google\'s emulator takes them';
const UNKNOWN_CODE = 'answers UNKNOWN (a Go error without a gRPC code); the request names a ' +
  'family the table does not have: "fail if no such family exists" (bigtable_table_admin.proto, ' +
  'Modification), NOT_FOUND as for any missing resource';
const EMPTY_MOD = 'a modification with none of create, update or drop: ours refuses it, Google\'s ' +
  'emulator ignores it';
const NO_MODS = 'takes no modifications; ModifyColumnFamiliesRequest.modifications is REQUIRED ' +
  '(bigtable_table_admin.proto)';
const ATOMIC = 'keeps the modifications before the one that fails; bigtable_table_admin.proto: ' +
  '"Modifications to be atomically applied to the specified table\'s families"';
const UPDATE_MASK = 'ignores update_mask and replaces the rule; bigtable_table_admin.proto ' +
  '(Modification.update_mask): "A mask specifying which fields (e.g. gc_rule) in the update mod ' +
  'should be updated" (value_type is immutable once the family exists, table.proto)';
const PROTECTED_ANSWER = 'which views hold deletion_protection is not documented; ours answers ' +
  'ModifyColumnFamilies with the table as GetTable\'s default view shows it, deletion_protection ' +
  'included (as Google\'s emulator\'s GetTable does), Google\'s emulator without it';
const DROP_FALSE = 'answers UNKNOWN; bigtable_table_admin.proto (DropRowRangeRequest.' +
  'delete_all_data_from_table): "Setting this to false is a no-op"';
const DROP_NONE = 'answers UNKNOWN (a Go error without a gRPC code) where Bigtable refuses a request ' +
  'without its target (row_key_prefix or delete_all_data_from_table) with INVALID_ARGUMENT';
const EMPTY_PREFIX = 'deletes every row; bigtable_table_admin.proto (DropRowRangeRequest.' +
  'row_key_prefix): "Prefix cannot be zero length"';
const PAGE_TOKEN = 'a page token no listTables made: ours refuses it, Google\'s emulator ignores ' +
  'page tokens';

const NO_CHECK = 'takes any value_type; table.proto (ColumnFamily.value_type): "For now, only the ' +
  '`Aggregate` type is supported", types.proto (Aggregate.input_type): it "must specify a full ' +
  'encoding", and Sum, Min and Max allow Int64 input only';
const FIXED_TYPE = 'changes the family\'s type; table.proto (ColumnFamily.value_type): "`Aggregate` ' +
  'can only be set at family creation and is immutable afterwards"';
const I64 = {int64Type: {encoding: {bigEndianBytes: {}}}};
const aggregate = (kind, input = I64) => ({valueType: {aggregateType: {inputType: input, [kind]: {}}}});

const AGG_FAMILIES = {cf1: {}, maxes: {gcRule: {maxNumVersions: 1}, aggregate: 'max'},
                      mins: {gcRule: {}, aggregate: 'min'}, sums: {gcRule: {maxNumVersions: 2}, aggregate: 'sum'}};

const setCell = (family, qualifier, value) =>
  ({setCell: {familyName: family, columnQualifier: qualifier, timestampMicros: 1000, value}});
// A mutateRows writing one cell per [key, family, qualifier], its value "key/family:qualifier".
const write = (...cells) => ({mutateRows: {entries: cells.map(([key, family, qualifier]) =>
  ({rowKey: key, mutations: [setCell(family, qualifier, `${key}/${family}:${qualifier}`)]}))}});
const readAll = what => ({readRows: {}, ...(what ? {what} : {})});
// What readAll answers for those cells.
const cellsOf = (...cells) => ({cells: cells.map(([key, family, qualifier]) =>
  `${key}/${family}:${qualifier}@1000=${key}/${family}:${qualifier}`)});

// GC rules as requests write them.
const versions = n => ({gcRule: {maxNumVersions: n}});
const age = text => ({gcRule: {maxAge: text}});
const union = (...rules) => ({union: {rules}});
const intersection = (...rules) => ({intersection: {rules}});
// A rule nested depth unions deep.
const nested = depth => (depth === 0 ? {maxNumVersions: 1} : union(nested(depth - 1)));

// A createTable of tableId with these families (and more of the request; `what` describes
// the step).
const create = (tableId, families = {cf1: {}}, {what, ...more} = {}) =>
  ({createTable: {tableId, table: {columnFamilies: families}, ...more}, ...(what ? {what} : {})});
const modify = (...modifications) => ({modifyColumnFamilies: {modifications}});

// A Table as ours answers it in its schema view: families {id: result gcRule}.
const schema = (id, families, more = {}) =>
  ({table: {name: id, ...(families ? {columnFamilies: families} : {}), granularity: 'MILLIS', ...more}});
const names = (...ids) => ({tables: ids.map(name => ({name})), more: false});

// The families of the table 'schema' in the first case, as the API answers them.
const SCHEMA_FAMILIES = {
  both: {intersection: [{maxNumVersions: 2}, {maxAge: '86400s'}]},
  days: {maxAge: '432000s'},
  either: {union: [{maxNumVersions: 1}, {maxAge: '0.001s'}]},
  fraction: {maxAge: '1.5s'},
  nested: {union: [{intersection: [{maxAge: '3600s'}, {maxNumVersions: 1}]}, {maxNumVersions: 10}]},
  plain: {},
  versions: {maxNumVersions: 3},
};
const READY = {'diff-c1': {replicationState: 'READY'}};
const DEFAULT_KEY = {'diff-c1': {encryption: ['GOOGLE_DEFAULT_ENCRYPTION']}};

module.exports = [
  {
    name: 'createTable and getTable views',
    table: 'schema',
    steps: [
      create('schema', {
        plain: {},
        versions: versions(3),
        days: age('432000s'),
        fraction: age('1.500s'),
        both: {gcRule: intersection({maxNumVersions: 2}, {maxAge: '86400s'})},
        either: {gcRule: union({maxNumVersions: 1}, {maxAge: '0.001s'})},
        nested: {gcRule: union(intersection({maxAge: '3600s'}, {maxNumVersions: 1}), {maxNumVersions: 10})},
      }, {initialSplits: [{key: 'g'}, {key: 'p\xff'}]}),
      wrong({getTable: {}, what: 'default view'}, VIEWS, schema('schema', SCHEMA_FAMILIES)),
      wrong({getTable: {view: 'NAME_ONLY'}}, VIEWS, {table: {name: 'schema'}}),
      wrong({getTable: {view: 'SCHEMA_VIEW'}}, VIEWS, schema('schema', SCHEMA_FAMILIES)),
      wrong({getTable: {view: 'REPLICATION_VIEW'}}, VIEWS, {table: {name: 'schema', clusterStates: READY}}),
      wrong({getTable: {view: 'ENCRYPTION_VIEW'}}, VIEWS, {table: {name: 'schema', clusterStates: DEFAULT_KEY}}),
      wrong({getTable: {view: 'FULL'}}, VIEWS, schema('schema', SCHEMA_FAMILIES, {
        clusterStates: {'diff-c1': {replicationState: 'READY', encryption: ['GOOGLE_DEFAULT_ENCRYPTION']}},
      })),
      {getTable: {}, table: 'nope', what: 'unknown table'},
      write(['a', 'plain', 'q'], ['h', 'versions', 'q'], ['z', 'nested', 'q']),
      readAll('rows on both sides of the splits'),
      {createTable: {tableId: 'no-families'}, what: 'no table: no families'},
      create('empty', {}),
      {createTable: {tableId: 'millis', table: {granularity: 'MILLIS'}}},
    ],
  },
  {
    name: 'listTables',
    steps: [
      {listTables: {}, what: 'an empty instance'},
      create('l-a'),
      create('l-b', {cf1: versions(1)}),
      create('l-c'),
      {listTables: {}},
      {listTables: {view: 'NAME_ONLY'}},
      wrong({listTables: {view: 'REPLICATION_VIEW'}}, LIST_VIEWS, {
        tables: ['l-a', 'l-b', 'l-c'].map(name => ({name, clusterStates: READY})), more: false}),
      wrong({listTables: {view: 'ENCRYPTION_VIEW'}}, LIST_VIEWS, {
        tables: ['l-a', 'l-b', 'l-c'].map(name => ({name, clusterStates: DEFAULT_KEY})), more: false}),
      wrong({listTables: {pageSize: 2}}, PAGE_SIZE, {tables: [{name: 'l-a'}, {name: 'l-b'}], more: true}),
      wrong({listTables: {pageSize: 2, pageToken: '$nextPage'}, what: 'the next page'}, PAGE_SIZE,
            names('l-c')),
      {listTables: {pageSize: 0}, what: 'the server chooses'},
      wrong({listTables: {pageSize: -1}}, PAGE_SIZE, INVALID),
      undocumented({listTables: {pageToken: 'not-a-token'}}, PAGE_TOKEN, INVALID),
      wrong({listTables: {}, instance: 'no-such-instance'}, NO_INSTANCE, NOT_FOUND),
      {deleteTable: {}, table: 'l-b'},
      {listTables: {}, what: 'after a delete'},
    ],
  },
  {
    name: 'deleteTable and deletion protection',
    table: 'd',
    steps: [
      create('d'),
      write(['r', 'cf1', 'q']),
      {deleteTable: {}},
      {getTable: {}},
      {deleteTable: {}, what: 'again'},
      readAll('a deleted table'),
      create('d', {cf2: {}}, {what: 'the same id again'}),
      readAll('the new table is empty'),
      {deleteTable: {}, table: 'never-made'},
      {createTable: {tableId: 'p', table: {columnFamilies: {cf1: {}, cf2: {}}, deletionProtection: true}}},
      wrong({getTable: {}, table: 'p'}, VIEWS, schema('p', {cf1: {}, cf2: {}}, {deletionProtection: true})),
      {deleteTable: {}, table: 'p', what: 'protected'},
      {...modify({id: 'cf2', drop: true}), table: 'p', what: 'a family of a protected table'},
      undocumented({...modify({id: 'cf3', create: {}}), table: 'p', what: 'a new family of a protected table'},
                   PROTECTED_ANSWER, schema('p', {cf1: {}, cf2: {}, cf3: {}}, {deletionProtection: true})),
    ],
  },
  {
    name: 'createTable: table IDs',
    steps: [
      create('a'),
      create('_underscore'),
      create('0digit'),
      create('dots.and-dashes_9'),
      create('x'.repeat(50)),
      create('a', {cf1: {}}, {what: 'a duplicate'}),
      wrong({createTable: {table: {}}, what: 'no tableId'}, 'table_id is REQUIRED ' +
            '(bigtable_table_admin.proto)', INVALID),
      wrong(create('x'.repeat(51)), TABLE_ID, INVALID),
      wrong(create('-dash'), TABLE_ID, INVALID),
      wrong(create('.dot'), TABLE_ID, INVALID),
      wrong(create('sp ace'), TABLE_ID, INVALID),
      wrong(create('a/b'), TABLE_ID, INVALID),
      wrong(create('caf\u00e9'), TABLE_ID, INVALID),
      wrong(create('colon:x'), TABLE_ID, INVALID),
      wrong({...create('elsewhere'), instance: 'no-such-instance'}, NO_INSTANCE, NOT_FOUND),
      wrong({listTables: {}, what: 'the refused IDs made nothing'}, TABLE_ID,
            names('0digit', '_underscore', 'a', 'dots.and-dashes_9', 'x'.repeat(50))),
    ],
  },
  {
    name: 'createTable: column families and GC rules',
    steps: [
      create('f1', {['f'.repeat(64)]: {}, '_u': {}, '9': {}, 'a.b-c': {}}),
      create('f2', {cf: versions(2147483647)}),
      create('f3', {cf: age('9000000000s')}, {what: 'about 285 years'}),
      create('f4', {cf: age('0.001s')}),
      create('f5', {cf: {gcRule: nested(20)}}),
      create('f6', {cf: {gcRule: union(...Array(124).fill({maxNumVersions: 1}))}}, {what: '499 bytes'}),
      create('f7', {cf: {gcRule: {}}}),
      wrong(create('e1', {'': {}}), FAMILY_ID, INVALID),
      wrong(create('e2', {'a b': {}}), FAMILY_ID, INVALID),
      wrong(create('e3', {'-x': {}}), FAMILY_ID, INVALID),
      wrong(create('e4', {['f'.repeat(65)]: {}}), FAMILY_ID, INVALID),
      undocumented(create('e5', {cf: versions(0)}), VERSIONS, INVALID),
      undocumented(create('e6', {cf: versions(-1)}), VERSIONS, INVALID),
      wrong(create('e7', {cf: age('0s')}), MAX_AGE, INVALID),
      wrong(create('e8', {cf: age('-5s')}), MAX_AGE, INVALID),
      wrong(create('e9', {cf: age('0.000999s')}), MAX_AGE, INVALID),
      undocumented(create('e10', {cf: {gcRule: union()}}), EMPTY_LIST, INVALID),
      undocumented(create('e11', {cf: {gcRule: {intersection: {}}}}), EMPTY_LIST, INVALID),
      undocumented(create('e12', {cf: {gcRule: nested(21)}}), DEPTH, INVALID),
      wrong(create('e13', {cf: {gcRule: union(...Array(125).fill({maxNumVersions: 1}))}}, {what: '503 bytes'}),
            GC_SIZE, INVALID),
      undocumented(create('e14', {cf: {gcRule: union({maxNumVersions: 1}, {maxNumVersions: 0})}}), VERSIONS,
                   INVALID),
      wrong(create('e15', {cf: {gcRule: intersection({maxNumVersions: 1}, {maxAge: '-1s'})}}), MAX_AGE, INVALID),
      wrong({listTables: {}, what: 'the refused requests made nothing'},
            'makes the tables refused above (see each step)', names('f1', 'f2', 'f3', 'f4', 'f5', 'f6', 'f7')),
    ],
  },
  {
    name: 'modifyColumnFamilies',
    table: 'm',
    steps: [
      create('m', {cf1: versions(1), cf2: {}}),
      modify({id: 'cf3', create: age('60s')}),
      modify({id: 'cf1', update: versions(5)}),
      modify({id: 'cf1', update: {gcRule: intersection({maxNumVersions: 2}, {maxAge: '7200s'})},
              updateMask: 'gcRule'}),
      modify({id: 'cf2', drop: true}),
      {...modify({id: 'cf1', create: {}}), what: 'an existing family'},
      wrong(modify({id: 'zz', drop: true}), UNKNOWN_CODE, NOT_FOUND),
      wrong(modify({id: 'zz', update: versions(1)}), UNKNOWN_CODE, NOT_FOUND),
      undocumented(modify({id: 'cf1'}), EMPTY_MOD, INVALID),
      wrong(modify(), NO_MODS, INVALID),
      modify({id: 'cf5', create: {}}, {id: 'cf5', update: versions(2)}, {id: 'cf5', drop: true}),
      {modifyColumnFamilies: {modifications: [{id: 'cf3', update: {}}], ignoreWarnings: true},
       what: 'an update without a rule: no rule'},
      {...modify({id: 'cf1', update: versions(1)}), table: 'nope'},
      wrong({getTable: {}}, VIEWS,
            schema('m', {cf1: {intersection: [{maxNumVersions: 2}, {maxAge: '7200s'}]}, cf3: {}})),
    ],
  },
  {
    name: 'modifyColumnFamilies: all or nothing',
    table: 'm',
    steps: [
      create('m', {cf1: {}}),
      wrong(modify({id: 'cf2', create: {}}, {id: 'zz', drop: true}), UNKNOWN_CODE, NOT_FOUND),
      wrong({getTable: {}, what: 'the failed request changed nothing'}, ATOMIC, schema('m', {cf1: {}})),
    ],
  },
  {
    name: 'modifyColumnFamilies: bad rules, IDs and masks',
    table: 'm',
    steps: [
      create('m', {cf1: versions(1)}),
      undocumented(modify({id: 'cf1', update: versions(0)}), VERSIONS, INVALID),
      wrong(modify({id: 'cf6', create: age('-1s')}), MAX_AGE, INVALID),
      wrong(modify({id: 'cf7', create: {gcRule: union(...Array(125).fill({maxNumVersions: 1}))}}), GC_SIZE,
            INVALID),
      wrong(modify({id: 'a b', create: {}}), FAMILY_ID, INVALID),
      wrong(modify({id: '', create: {}}), FAMILY_ID, INVALID),
      wrong(modify({id: 'cf1', update: versions(9), updateMask: 'valueType'}), UPDATE_MASK, INVALID),
      {...modify({id: 'cf1', update: versions(9), updateMask: 'nonsense'}), what: 'a field ColumnFamily lacks'},
      wrong({getTable: {}, what: 'the refused requests changed nothing'}, 'applies the modifications refused ' +
            'above (see each step)', schema('m', {cf1: {maxNumVersions: 1}})),
    ],
  },
  {
    name: 'modifyColumnFamilies and the cells of a family',
    table: 'c',
    steps: [
      create('c', {cf1: {}, cf2: {}}),
      write(['r1', 'cf1', 'a'], ['r1', 'cf2', 'b'], ['r2', 'cf2', 'c']),
      modify({id: 'cf2', drop: true}),
      readAll('the dropped family\'s cells are gone'),
      modify({id: 'cf2', create: {}}),
      readAll('and do not come back with the family'),
      write(['r3', 'cf2', 'd']),
      readAll(),
    ],
  },
  {
    name: 'dropRowRange',
    table: 'd',
    steps: [
      create('d'),
      write(['a', 'cf1', 'q'], ['a1', 'cf1', 'q'], ['ab', 'cf1', 'q'], ['b', 'cf1', 'q'], ['b1', 'cf1', 'q'],
            ['\xff', 'cf1', 'q'], ['\xff\x00', 'cf1', 'q'], ['c', 'cf1', 'q']),
      {dropRowRange: {rowKeyPrefix: 'a'}},
      readAll(),
      {dropRowRange: {rowKeyPrefix: '\xff'}, what: 'a binary prefix'},
      readAll(),
      {dropRowRange: {rowKeyPrefix: 'zz'}, what: 'no row has it'},
      wrong({dropRowRange: {deleteAllDataFromTable: false}}, DROP_FALSE, OK),
      wrong({dropRowRange: {}}, DROP_NONE, INVALID),
      readAll('still b, b1 and c'),
      {dropRowRange: {rowKeyPrefix: 'a'}, table: 'nope'},
      {dropRowRange: {deleteAllDataFromTable: true}, table: 'nope'},
      wrong({dropRowRange: {rowKeyPrefix: ''}}, EMPTY_PREFIX, INVALID),
      wrong(readAll('an empty prefix deletes nothing'), EMPTY_PREFIX,
            cellsOf(['b', 'cf1', 'q'], ['b1', 'cf1', 'q'], ['c', 'cf1', 'q'])),
      {dropRowRange: {deleteAllDataFromTable: true}},
      readAll(),
    ],
  },
  {
    name: 'aggregate families',
    table: 'agg',
    steps: [
      create('agg', {cf1: {}, sums: aggregate('sum'), maxes: {...aggregate('max'), ...versions(1)}}),
      wrong({getTable: {}}, VIEWS, schema('agg', {cf1: {}, maxes: {gcRule: {maxNumVersions: 1}, aggregate: 'max'},
                                                   sums: {gcRule: {}, aggregate: 'sum'}})),
      modify({id: 'mins', create: aggregate('min')}),
      modify({id: 'sums', update: versions(2)}),
      wrong({getTable: {}, what: 'a GC rule changed, the type kept'}, VIEWS, schema('agg', AGG_FAMILIES)),
      wrong(modify({id: 'bad1', create: aggregate('sum', {int64Type: {}})}), NO_CHECK, INVALID),
      wrong(modify({id: 'bad2', create: aggregate('sum', {stringType: {}})}), NO_CHECK, INVALID),
      wrong(modify({id: 'bad3', create: {valueType: I64}}), NO_CHECK, INVALID),
      wrong(modify({id: 'cf1', update: aggregate('sum')}), FIXED_TYPE, INVALID),
      wrong({getTable: {}, what: 'the refused modifications changed nothing'}, 'applies the modifications ' +
            'refused above (see each step)',
            schema('agg', AGG_FAMILIES)),
    ],
  },
  {
    name: 'consistency tokens',
    table: 'ct',
    steps: [
      create('ct'),
      write(['r', 'cf1', 'q']),
      {generateConsistencyToken: {}},
      {checkConsistency: {consistencyToken: '$token'}},
      {checkConsistency: {consistencyToken: 'not-a-token'}},
      {checkConsistency: {}},
      {checkConsistency: {consistencyToken: '$token', standardReadRemoteWrites: {}}},
      {checkConsistency: {consistencyToken: '$token', dataBoostReadLocalWrites: {}}},
      create('ct2'),
      {checkConsistency: {consistencyToken: '$token'}, table: 'ct2', what: 'another table\'s token'},
      {generateConsistencyToken: {}, table: 'nope'},
      {checkConsistency: {consistencyToken: 'x'}, table: 'nope'},
    ],
  },
];
