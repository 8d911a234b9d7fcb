'use strict';
// The cases of the Bigtable differential test (tests/bigtable/bigtable_diff.js reads them).
//
// A case: {name, families (default {cf1: {}, cf2: {}}), rows: [[key, family, qualifier,
// timestamp, value], ...] (written first, with one mutateRows), steps: [...]}. A step is
// one request of the v2 data API, {readRows: {...}} or {mutateRow | mutateRows |
// checkAndMutateRow | readModifyWriteRow: {...}}, without tableName; bytes fields are
// strings (each character one byte, Latin-1) or Buffers. `what` says what the step checks;
// `table` sends it to another table id than the case's.
//
// Annotations, where the two differ and ours is kept: ours is then checked against
// `expect` (a read's result is {cells: ["row/family:qualifier@timestamp=value[label]",
// ...]}, a refusal {error: "CODE"}; see bigtable_diff.js):
//   wrong(step, why, expect): Google's emulator is wrong; `why` says what Bigtable does and
//     where that is written (data.proto, bigtable.proto, an issue of Google's).
//   undocumented(step, why, expect): neither answer is documented; `why` says why ours
//     keeps its own (README.md lists these under Limitations).
//   mapOrder(step, expect): a cells_per_row filter over a row with two families: Google's
//     emulator counts the cells family by family in Go map order, so its answer changes
//     from run to run; it is not asked.

// A read with this filter (and more of the request; `what` describes the step).
const readAll = ({what, ...more} = {}) => ({readRows: more, ...(what ? {what} : {})});
const read = (filter, more = {}) => readAll({filter, ...more});
const setCell = (family, qualifier, timestamp, value) =>
  ({setCell: {familyName: family, columnQualifier: qualifier, timestampMicros: timestamp, value}});
const chain = (...filters) => ({chain: {filters}});
const interleave = (...filters) => ({interleave: {filters}});
const condition = (predicateFilter, trueFilter, falseFilter) =>
  ({condition: {predicateFilter, trueFilter, falseFilter}});
const wrong = (step, why, expect) => ({...step, googleEmulatorWrong: why, expect});
const undocumented = (step, why, expect) => ({...step, undocumented: why, expect});
const MAP_ORDER = 'counts a row\'s cells family by family in Go map order (nondeterministic); ' +
  'Bigtable counts them in the order the read returns them';
const mapOrder = (step, expect) => wrong({...step, skipGoogle: 'nondeterministic'}, MAP_ORDER, expect);
const cells = (...list) => ({cells: list});
const INVALID = {error: 'INVALID_ARGUMENT'};
const NOT_FOUND = {error: 'NOT_FOUND'};
// Why Google's emulator answers UNKNOWN: every refused mutation is a Go error without a code.
const UNKNOWN_CODE = 'answers UNKNOWN (a Go error without a gRPC code) where Bigtable refuses the ' +
  'request\'s content with INVALID_ARGUMENT';
const NO_FAMILY = 'answers UNKNOWN (or INTERNAL in mutateRows); Bigtable answers NOT_FOUND ' +
  '"Requested column family not found" (googleapis/java-bigtable#32)';
const LITERAL_FAMILY = 'reads no cells; Bigtable answers NOT_FOUND "Requested column family not found" ' +
  'to a read whose family filter names, literally, a family the table lacks (googleapis/java-bigtable#32, ' +
  'FILTERS.family().exactMatch)';
const REVERSED = 'does not implement reversed scans (UNIMPLEMENTED); Bigtable does ' +
  '(ReadRowsRequest.reversed in bigtable.proto: rows in descending key order, the cells of a row ' +
  'in their usual order)';
const SINK = 'data.proto (RowFilter.sink): "a copy of every cell that reaches the sink is present ' +
  'in the final result", whatever the filters after it do, duplicates included';
const LABEL_RULE = 'data.proto (apply_label_transformer): "a Chain may have no more than one ' +
  'sub-filter which contains a apply_label_transformer"';
const LABEL_SYNTAX = 'data.proto: labels "must be at most 15 characters in length, and match the RE2 ' +
  'pattern [a-z0-9\\-]+"; its check is an unanchored match without a length';
const EMPTY_REGEX = 'an empty family, qualifier or value regex: ours refuses it as it does an empty ' +
  'row key regex (which both refuse, Google\'s emulator in Bigtable\'s wording); Google\'s emulator ' +
  'matches the empty string';
const NEGATIVE_TIME = 'a negative or inverted timestamp_range_filter: ours refuses it ' +
  '(TimestampRange says nothing of either); Google\'s emulator matches nothing or everything';
const FALSE_FLAG = 'Bigtable refuses pass_all_filter and block_all_filter set to false ' +
  '(google-cloud-go#4201); ours refuses the other boolean filters set to false alike, Google\'s ' +
  'emulator takes them as true';
const SAMPLE_BOUNDS = 'row_sample_filter is a probability: ours takes 0 and 1 (no row, every row); ' +
  'Google\'s emulator refuses them in its own wording';
// Aggregate families (counters) and their two mutations.
const I64 = {int64Type: {encoding: {bigEndianBytes: {}}}};
const aggregate = kind => ({valueType: {aggregateType: {inputType: I64, [kind]: {}}}});
const aggregateCell = (kind, family, qualifier, timestamp, input) =>
  ({[kind]: {familyName: family, columnQualifier: {rawValue: qualifier}, timestamp: {rawTimestampMicros: timestamp},
             ...(input === undefined ? {} : {input})}});
const addToCell = (family, qualifier, timestamp, intValue) =>
  aggregateCell('addToCell', family, qualifier, timestamp, {intValue});
const mergeToCell = (family, qualifier, timestamp, input) =>
  aggregateCell('mergeToCell', family, qualifier, timestamp, input);
const AGGREGATE_ONLY = 'Bigtable\'s aggregate families "contain only cells of type aggregate" ' +
  '(cloud.google.com/bigtable/docs/aggregates), written with AddToCell or MergeToCell; Google\'s ' +
  'emulator writes the raw bytes';
const LAST_INPUT = 'keeps the last input in a min or max family (types.proto: Aggregate.Min "Computes ' +
  'the min of the input values", Aggregate.Max "the max")';
const be64 = n => {
  const b = Buffer.alloc(8);
  b.writeBigInt64BE(BigInt(n));
  return b;
};

// Rows most cases share: two families, several columns and versions, binary bytes.
const ROWS = [
  ['r1', 'cf1', 'a', 1000, 'v-a-1'],
  ['r1', 'cf1', 'a', 2000, 'v-a-2'],
  ['r1', 'cf1', 'a', 3000, 'v-a-3'],
  ['r1', 'cf1', 'b', 1000, 'v-b-1'],
  ['r1', 'cf1', 'bb', 5000, 'v-bb-5'],
  ['r1', 'cf2', 'a', 4000, 'w-a-4'],
  ['r1', 'cf2', 'c', 2000, ''],
  ['r2', 'cf1', 'a', 1000, 'r2-a'],
  ['r2', 'cf2', 'Z', 7000, 'r2-Z'],
  ['r3', 'cf1', '', 1000, 'empty-qualifier'],
  ['r3', 'cf1', '\x00\xff', 2000, '\xff\x00\n'],
  ['r10', 'cf1', 'x', 9000, 'ten'],
  ['s1', 'cf2', 'q', 1000, 'S'],
  ['\xff\xfe', 'cf1', 'q', 1000, 'high'],
];

// ROWS as a read answers them, and reversed.
const ALL = [
  'r1/cf1:a@3000=v-a-3',
  'r1/cf1:a@2000=v-a-2',
  'r1/cf1:a@1000=v-a-1',
  'r1/cf1:b@1000=v-b-1',
  'r1/cf1:bb@5000=v-bb-5',
  'r1/cf2:a@4000=w-a-4',
  'r1/cf2:c@2000=',
  'r10/cf1:x@9000=ten',
  'r2/cf1:a@1000=r2-a',
  'r2/cf2:Z@7000=r2-Z',
  'r3/cf1:@1000=empty-qualifier',
  'r3/cf1:0x00ff@2000=0xff000a',
  's1/cf2:q@1000=S',
  '0xfffe/cf1:q@1000=high',
];
const rowOf = cell => cell.split('/')[0];
const REVERSED_ALL = [...new Set(ALL.map(rowOf))].reverse().flatMap(row => ALL.filter(c => rowOf(c) === row));
const label = (list, name) => list.map(c => `${c}[${name}]`);
const strip = list => list.map(c => c.replace(/=.*$/, '='));

// ROWS without family cf2: counting filters over a row with one family are deterministic on
// both sides (see mapOrder).
const ONE_FAMILY = ROWS.filter(([, family]) => family === 'cf1');

module.exports = [
  {
    name: 'plain reads',
    rows: ROWS,
    steps: [
      readAll(),
      readAll({rowsLimit: 2}),
      readAll({rowsLimit: 0}),
      undocumented(readAll({rowsLimit: -1}), 'a negative rows_limit: ours refuses it, Google\'s ' +
                   'emulator reads nothing', INVALID),
      wrong(readAll({reversed: true}), REVERSED, {cells: REVERSED_ALL}),
      wrong(readAll({reversed: true, rowsLimit: 3}), REVERSED, {cells: REVERSED_ALL.slice(0, 4)}),
    ],
  },
  {
    name: 'row sets',
    rows: ROWS,
    steps: [
      readAll({rows: {rowKeys: ['r2', 'r1', 'r2', 'nope']}, what: 'duplicate and missing keys'}),
      readAll({rows: {rowKeys: ['r2', 'r1', 'r2'], rowRanges: [{startKeyClosed: 'r1', endKeyOpen: 'r2'}]}}),
      readAll({rows: {rowRanges: [{startKeyClosed: 'r1', endKeyClosed: 'r2'}]}}),
      readAll({rows: {rowRanges: [{startKeyOpen: 'r1', endKeyOpen: 'r3'}]}}),
      readAll({rows: {rowRanges: [{startKeyOpen: 'r1'}]}}),
      readAll({rows: {rowRanges: [{endKeyOpen: 'r10'}]}}),
      readAll({rows: {rowRanges: [{endKeyClosed: 'r10'}]}}),
      readAll({rows: {rowRanges: [{}]}}),
      readAll({rows: {rowRanges: [{startKeyClosed: ''}]}}),
      readAll({rows: {rowRanges: [{startKeyClosed: 'r1', endKeyOpen: ''}]}}),
      readAll({rows: {rowRanges: [{startKeyClosed: 'r2', endKeyOpen: 'r2'}]}}),
      readAll({rows: {rowRanges: [{startKeyClosed: 'r3', endKeyOpen: 'r2'}]}}),
      readAll({rows: {rowRanges: [{startKeyOpen: 'r2', endKeyClosed: 'r2'}]}}),
      readAll({rows: {rowRanges: [{startKeyClosed: 'r1', endKeyClosed: 'r2'}, {startKeyClosed: 'r10', endKeyOpen: 's'}]}}),
      readAll({rows: {rowRanges: [{startKeyClosed: 'r1', endKeyClosed: 'r2'}, {startKeyClosed: 'r1', endKeyOpen: 'r3'}]}}),
      wrong(readAll({rows: {rowRanges: [{startKeyClosed: 's'}], rowKeys: ['r1']}, reversed: true}), REVERSED,
            {cells: REVERSED_ALL.filter(c => ['0xfffe', 's1', 'r1'].includes(rowOf(c)))}),
      readAll({rows: {rowKeys: []}}),
      readAll({rows: {rowKeys: ['']}}),
      readAll({rows: {rowKeys: ['r1', 's1']}, rowsLimit: 1}),
      wrong(readAll({rows: {rowKeys: ['r1', 's1', 'r3']}, reversed: true}), REVERSED,
            {cells: REVERSED_ALL.filter(c => ['s1', 'r3', 'r1'].includes(rowOf(c)))}),
    ],
  },
  {
    name: 'pass, block, sink, empty filter',
    rows: ROWS,
    steps: [
      read({passAllFilter: true}),
      read({blockAllFilter: true}),
      read({}),
      read({sink: true}),
      read({passAllFilter: false}),
      read({blockAllFilter: false}),
      undocumented(read({sink: false}), FALSE_FLAG, INVALID),
      read(chain({columnQualifierRegexFilter: 'a'}, {sink: true})),
      read(interleave(chain({familyNameRegexFilter: 'cf2'}, {sink: true}), {columnQualifierRegexFilter: 'b'})),
      wrong(read(chain(interleave(chain({familyNameRegexFilter: 'cf2'}, {sink: true}), {passAllFilter: true}),
                       {blockAllFilter: true}), {what: 'sink cells survive a later block_all'}),
            SINK, {cells: ALL.filter(c => c.includes('/cf2:'))}),
      wrong(read(chain(interleave({sink: true}, {passAllFilter: true}), {cellsPerRowLimitFilter: 1}),
                 {what: 'sink and pass: duplicates'}), SINK,
            {cells: [...new Set(ALL.map(rowOf))].flatMap(row => {
              const own = ALL.filter(c => rowOf(c) === row);
              return [own[0], ...own];
            })}),
      wrong(read(condition({sink: true}, {passAllFilter: true}), {what: 'sink in a predicate'}),
            'data.proto (RowFilter.sink): "Cannot be used within the predicate_filter, true_filter, or ' +
            'false_filter of a Condition"', INVALID),
      read(interleave({applyLabelTransformer: 'x'}, chain({applyLabelTransformer: 'y'}, {sink: true})),
           {what: 'sink with labels'}),
    ],
  },
  {
    name: 'chain',
    rows: ROWS,
    steps: [
      read(chain()),
      read(chain({familyNameRegexFilter: 'cf1'}, {columnQualifierRegexFilter: 'a'})),
      read(chain({familyNameRegexFilter: 'cf1'}, {cellsPerColumnLimitFilter: 1}, {cellsPerRowLimitFilter: 2})),
      mapOrder(read(chain({cellsPerRowOffsetFilter: 1}, {cellsPerRowLimitFilter: 2})),
               cells('r1/cf1:a@2000=v-a-2', 'r1/cf1:a@1000=v-a-1', 'r2/cf2:Z@7000=r2-Z',
                     'r3/cf1:0x00ff@2000=0xff000a')),
      mapOrder(read(chain({cellsPerRowLimitFilter: 2}, {cellsPerRowOffsetFilter: 1})),
               cells('r1/cf1:a@2000=v-a-2', 'r2/cf2:Z@7000=r2-Z', 'r3/cf1:0x00ff@2000=0xff000a')),
      undocumented(read(chain({stripValueTransformer: true}, {valueRegexFilter: ''}),
                        {what: 'a regex on a stripped value'}), EMPTY_REGEX, INVALID),
      read(chain({stripValueTransformer: true}, {valueRegexFilter: '()'}), {what: 'the same, a regex ' +
           'matching the empty value'}),
      read(chain({blockAllFilter: true}, {passAllFilter: true})),
      read(chain(chain(chain({familyNameRegexFilter: 'cf2'})))),
      wrong(read(chain({applyLabelTransformer: 'a'}, {applyLabelTransformer: 'b'}), {what: 'two labels in a chain'}),
            LABEL_RULE, INVALID),
    ],
  },
  {
    name: 'interleave',
    rows: ROWS,
    steps: [
      read(interleave()),
      read(interleave({passAllFilter: true})),
      read(interleave({passAllFilter: true}, {passAllFilter: true}), {what: 'every cell twice'}),
      read(interleave({familyNameRegexFilter: 'cf2'}, {familyNameRegexFilter: 'cf1'})),
      read(interleave({columnQualifierRegexFilter: 'a'}, {familyNameRegexFilter: 'cf1'})),
      read(interleave(chain({familyNameRegexFilter: 'cf1'}, {applyLabelTransformer: 'one'}),
                      chain({columnQualifierRegexFilter: 'a'}, {applyLabelTransformer: 'two'}))),
      read(interleave(chain({columnQualifierRegexFilter: 'a'}, {applyLabelTransformer: 'zz'}),
                      chain({columnQualifierRegexFilter: 'a'}, {applyLabelTransformer: 'aa'}),
                      {columnQualifierRegexFilter: 'a'}), {what: 'equal cells, different labels: their order'}),
      read(interleave({stripValueTransformer: true}, {passAllFilter: true}), {what: 'equal cells, stripped or not'}),
      mapOrder(read(interleave({cellsPerRowLimitFilter: 1}, {cellsPerRowOffsetFilter: 6})),
               cells('r1/cf1:a@3000=v-a-3', 'r1/cf2:c@2000=', 'r10/cf1:x@9000=ten', 'r2/cf1:a@1000=r2-a',
                     'r3/cf1:@1000=empty-qualifier', 's1/cf2:q@1000=S', '0xfffe/cf1:q@1000=high')),
      read(interleave({cellsPerColumnLimitFilter: 1}, {timestampRangeFilter: {startTimestampMicros: 2000}})),
      read(chain(interleave({passAllFilter: true}, {passAllFilter: true}), {cellsPerColumnLimitFilter: 2}),
           {what: 'column limit over duplicates'}),
      mapOrder(read(chain(interleave({passAllFilter: true}, {passAllFilter: true}), {cellsPerRowLimitFilter: 3})),
               {cells: [...new Set(ALL.map(rowOf))].flatMap(row => ALL.filter(c => rowOf(c) === row)
                 .flatMap(c => [c, c]).slice(0, 3))}),
      read(interleave({blockAllFilter: true}, {rowKeyRegexFilter: 'r1'})),
    ],
  },
  {
    name: 'condition',
    rows: ROWS,
    steps: [
      read(condition({columnQualifierRegexFilter: 'b'}, {familyNameRegexFilter: 'cf2'}, {passAllFilter: true})),
      read(condition({columnQualifierRegexFilter: 'b'}, {familyNameRegexFilter: 'cf2'})),
      read(condition({columnQualifierRegexFilter: 'b'}, undefined, {familyNameRegexFilter: 'cf2'})),
      read(condition({columnQualifierRegexFilter: 'b'})),
      read({condition: {}}, {what: 'no predicate, no branches'}),
      read({condition: {trueFilter: {applyLabelTransformer: 't'}, falseFilter: {applyLabelTransformer: 'f'}}},
           {what: 'no predicate'}),
      read(condition({blockAllFilter: true}, {applyLabelTransformer: 't'}, {applyLabelTransformer: 'f'})),
      read(condition(chain({familyNameRegexFilter: 'cf2'}, {columnQualifierRegexFilter: 'Z'}),
                     {applyLabelTransformer: 't'}, {applyLabelTransformer: 'f'})),
      read(condition({stripValueTransformer: true}, {passAllFilter: true}), {what: 'a predicate that transforms'}),
      read(condition({applyLabelTransformer: 'p'}, {passAllFilter: true}), {what: 'a label in the predicate'}),
      undocumented(read(condition({valueRegexFilter: ''}, {applyLabelTransformer: 'empty'}, {blockAllFilter: true}),
                        {what: 'predicate matching an empty value'}), EMPTY_REGEX, INVALID),
      read(condition({valueRegexFilter: '()'}, {applyLabelTransformer: 'empty'}, {blockAllFilter: true}),
           {what: 'predicate matching an empty value'}),
      read(chain({familyNameRegexFilter: 'cf1'},
                 condition({familyNameRegexFilter: 'cf2'}, {applyLabelTransformer: 't'}, {applyLabelTransformer: 'f'})),
           {what: 'the predicate sees the chain\'s cells only'}),
      mapOrder(read(condition({rowKeyRegexFilter: 'r.*'}, {cellsPerRowLimitFilter: 1}, {stripValueTransformer: true})),
               cells('r1/cf1:a@3000=v-a-3', 'r10/cf1:x@9000=ten', 'r2/cf1:a@1000=r2-a', 'r3/cf1:@1000=empty-qualifier',
                     's1/cf2:q@1000=', '0xfffe/cf1:q@1000=')),
    ],
  },
  {
    name: 'regex filters',
    rows: ROWS,
    steps: [
      read({rowKeyRegexFilter: 'r'}, {what: 'full match: no r'}),
      read({rowKeyRegexFilter: 'r.'}),
      read({rowKeyRegexFilter: 'r1.*'}),
      read({rowKeyRegexFilter: '.*1'}),
      read({rowKeyRegexFilter: '^r1$'}),
      read({rowKeyRegexFilter: 'R1'}),
      read({rowKeyRegexFilter: '(?i)R1'}),
      read({rowKeyRegexFilter: '\\xff.'}, {what: 'a byte escape'}),
      read({rowKeyRegexFilter: '\\C\\C'}, {what: '\\C: any byte'}),
      read({rowKeyRegexFilter: '..'}),
      read({rowKeyRegexFilter: Buffer.from([0xff, 0xfe])}, {what: 'raw bytes'}),
      read({rowKeyRegexFilter: '(r'}, {what: 'invalid'}),
      read({rowKeyRegexFilter: ''}, {what: 'empty'}),
      read({rowKeyRegexFilter: 'a{1001}'}, {what: 'repeat over 1000'}),
      read({rowKeyRegexFilter: '(?P<n>r)1'}),
      read({rowKeyRegexFilter: '\\pN'}, {what: 'unicode class'}),
      read({rowKeyRegexFilter: 'r\\d+'}),
      read({rowKeyRegexFilter: 'r(?:1|10)'}),
      read({rowKeyRegexFilter: '\\z'}),
      read({rowKeyRegexFilter: 'r1\\b'}),
      read({rowKeyRegexFilter: '(a)\\1'}, {what: 'backreference'}),
      read({rowKeyRegexFilter: 'r(?=1)1'}, {what: 'lookahead'}),
      wrong(read({familyNameRegexFilter: 'cf'}, {what: 'a family named literally that the table lacks'}),
            LITERAL_FAMILY, NOT_FOUND),
      read({familyNameRegexFilter: 'cf.'}),
      wrong(read({familyNameRegexFilter: 'CF1'}, {what: 'family IDs are case-sensitive'}), LITERAL_FAMILY, NOT_FOUND),
      wrong(read(chain({familyNameRegexFilter: 'cf1'}, interleave({passAllFilter: true}, {familyNameRegexFilter: 'nope'})),
                 {what: 'inside a chain and an interleave'}), LITERAL_FAMILY, NOT_FOUND),
      wrong(read({familyNameRegexFilter: 'no\\.pe'}, {what: 'a literal with an escaped dot'}), LITERAL_FAMILY, NOT_FOUND),
      read({familyNameRegexFilter: 'cf1|nope'}, {what: 'a regex that could match a family'}),
      read({familyNameRegexFilter: 'cf[2]'}),
      wrong(read({familyNameRegexFilter: 'cf1:'}, {what: 'a colon'}),
            'data.proto (family_name_regex_filter): "the regex must not contain the \':\' character"', INVALID),
      undocumented(read({familyNameRegexFilter: ''}), EMPTY_REGEX, INVALID),
      read({familyNameRegexFilter: '['}),
      read({columnQualifierRegexFilter: 'a'}),
      read({columnQualifierRegexFilter: 'b+'}),
      undocumented(read({columnQualifierRegexFilter: ''}), EMPTY_REGEX, INVALID),
      read({columnQualifierRegexFilter: '()'}, {what: 'the empty qualifier'}),
      read({columnQualifierRegexFilter: '.*'}, {what: 'matches the empty qualifier'}),
      read({columnQualifierRegexFilter: '\\x00\\xff'}),
      read({columnQualifierRegexFilter: '\\x00.'}, {what: '. and a byte over 0x7f'}),
      read({columnQualifierRegexFilter: '[^a]'}),
      read({columnQualifierRegexFilter: '(?s).*'}),
      read({valueRegexFilter: 'v-.*'}),
      read({valueRegexFilter: '.*-1'}),
      undocumented(read({valueRegexFilter: ''}, {what: 'empty values: refused or matched'}), EMPTY_REGEX, INVALID),
      read({valueRegexFilter: '(?:)'}, {what: 'empty values'}),
      read({valueRegexFilter: '\\xff\\x00\\n'}),
      read({valueRegexFilter: '\\xff\\x00.'}, {what: '. and a newline'}),
      read({valueRegexFilter: '(?s)\\xff\\x00.'}),
      read({valueRegexFilter: '\\C\\C\\C'}),
      read({valueRegexFilter: '*'}),
    ],
  },
  {
    name: 'column range',
    rows: ROWS,
    steps: [
      read({columnRangeFilter: {familyName: 'cf1'}}),
      read({columnRangeFilter: {familyName: 'cf1', startQualifierClosed: 'a', endQualifierOpen: 'b'}}),
      read({columnRangeFilter: {familyName: 'cf1', startQualifierClosed: 'a', endQualifierClosed: 'b'}}),
      read({columnRangeFilter: {familyName: 'cf1', startQualifierOpen: 'a', endQualifierClosed: 'bb'}}),
      read({columnRangeFilter: {familyName: 'cf1', startQualifierOpen: 'b'}}),
      read({columnRangeFilter: {familyName: 'cf1', endQualifierOpen: 'a'}}),
      read({columnRangeFilter: {familyName: 'cf1', startQualifierClosed: ''}}),
      read({columnRangeFilter: {familyName: 'cf1', endQualifierOpen: ''}}, {what: 'empty end: infinite'}),
      read({columnRangeFilter: {familyName: 'cf1', endQualifierClosed: ''}}),
      read({columnRangeFilter: {familyName: 'cf1', startQualifierClosed: 'b', endQualifierOpen: 'a'}}, {what: 'inverted'}),
      read({columnRangeFilter: {familyName: 'cf1', startQualifierOpen: 'b', endQualifierOpen: 'b'}}),
      read({columnRangeFilter: {familyName: 'nope'}}, {what: 'a family the table lacks'}),
      undocumented(read({columnRangeFilter: {}}, {what: 'no family'}), 'a column range without a family: ' +
                   'ours refuses it, Google\'s emulator matches nothing', INVALID),
      read({columnRangeFilter: {familyName: 'cf', startQualifierClosed: 'a'}}),
      read({columnRangeFilter: {familyName: 'cf2', startQualifierClosed: 'A', endQualifierClosed: 'Z'}}),
    ],
  },
  {
    name: 'timestamp range',
    rows: ROWS,
    steps: [
      read({timestampRangeFilter: {}}),
      read({timestampRangeFilter: {startTimestampMicros: 2000}}),
      read({timestampRangeFilter: {endTimestampMicros: 2000}}),
      read({timestampRangeFilter: {startTimestampMicros: 1000, endTimestampMicros: 3000}}),
      read({timestampRangeFilter: {startTimestampMicros: 2000, endTimestampMicros: 2000}}, {what: 'empty range'}),
      undocumented(read({timestampRangeFilter: {startTimestampMicros: 3000, endTimestampMicros: 2000}},
                        {what: 'inverted'}), NEGATIVE_TIME, INVALID),
      read({timestampRangeFilter: {startTimestampMicros: 1500, endTimestampMicros: 2500}}, {what: 'not millisecond'}),
      read({timestampRangeFilter: {startTimestampMicros: 1999, endTimestampMicros: 2001}}),
      undocumented(read({timestampRangeFilter: {startTimestampMicros: -1000}}, {what: 'negative start'}),
                   NEGATIVE_TIME, INVALID),
      undocumented(read({timestampRangeFilter: {endTimestampMicros: -1}}, {what: 'negative end'}), NEGATIVE_TIME,
                   INVALID),
      read({timestampRangeFilter: {startTimestampMicros: '9223372036854775807'}}),
    ],
  },
  {
    name: 'value range',
    rows: ROWS,
    steps: [
      read({valueRangeFilter: {}}),
      read({valueRangeFilter: {startValueClosed: 'v'}}),
      read({valueRangeFilter: {startValueClosed: 'v-a-1', endValueOpen: 'v-a-3'}}),
      read({valueRangeFilter: {startValueOpen: 'v-a-1', endValueClosed: 'v-a-3'}}),
      read({valueRangeFilter: {endValueOpen: 'a'}}),
      read({valueRangeFilter: {endValueClosed: ''}}, {what: 'empty end closed'}),
      read({valueRangeFilter: {endValueOpen: ''}}, {what: 'empty end open'}),
      read({valueRangeFilter: {startValueOpen: ''}}),
      read({valueRangeFilter: {startValueClosed: '\xff'}}),
      read({valueRangeFilter: {startValueClosed: 'w', endValueClosed: 'v'}}, {what: 'inverted'}),
      read(chain({stripValueTransformer: true}, {valueRangeFilter: {endValueClosed: ''}})),
    ],
  },
  {
    name: 'cells per row and column',
    rows: ONE_FAMILY,
    steps: [
      read({cellsPerRowLimitFilter: 1}),
      read({cellsPerRowLimitFilter: 0}),
      read({cellsPerRowLimitFilter: -1}),
      read({cellsPerRowOffsetFilter: 0}),
      read({cellsPerRowOffsetFilter: 3}),
      read({cellsPerRowOffsetFilter: 100}),
      wrong({...read({cellsPerRowOffsetFilter: -2}), skipGoogle: 'it crashes (a negative slice index)'},
            'crashes on a negative offset (the connection drops); ours refuses it as a negative limit', INVALID),
      read({cellsPerColumnLimitFilter: 1}),
      read({cellsPerColumnLimitFilter: 2}),
      read({cellsPerColumnLimitFilter: 0}),
      read({cellsPerColumnLimitFilter: -1}),
      read(chain({cellsPerColumnLimitFilter: 1}, {cellsPerRowOffsetFilter: 1}, {cellsPerRowLimitFilter: 1})),
      read(interleave({cellsPerRowLimitFilter: 2}, {cellsPerColumnLimitFilter: 1})),
      read(chain({timestampRangeFilter: {startTimestampMicros: 2000}}, {cellsPerColumnLimitFilter: 1})),
      wrong(read({cellsPerRowLimitFilter: 2}, {reversed: true}), REVERSED,
            cells('0xfffe/cf1:q@1000=high', 'r3/cf1:@1000=empty-qualifier', 'r3/cf1:0x00ff@2000=0xff000a',
                  'r2/cf1:a@1000=r2-a', 'r10/cf1:x@9000=ten', 'r1/cf1:a@3000=v-a-3', 'r1/cf1:a@2000=v-a-2')),
      read({cellsPerRowLimitFilter: 1}, {rowsLimit: 2}),
      read({cellsPerRowLimitFilter: 2147483647}),
      read({cellsPerRowLimitFilter: 2147483648}, {what: 'over int32'}),
    ],
  },
  {
    name: 'row sample',
    rows: ROWS,
    steps: [
      undocumented(read({rowSampleFilter: 1}), SAMPLE_BOUNDS, {cells: ALL}),
      undocumented(read({rowSampleFilter: 0}), SAMPLE_BOUNDS, cells()),
      read({rowSampleFilter: 1.5}),
      read({rowSampleFilter: -0.1}),
      undocumented(read(chain({rowSampleFilter: 1}, {familyNameRegexFilter: 'cf2'})), SAMPLE_BOUNDS,
                   {cells: ALL.filter(c => c.includes('/cf2:'))}),
    ],
  },
  {
    name: 'transformers',
    rows: ROWS,
    steps: [
      read({stripValueTransformer: true}),
      undocumented(read({stripValueTransformer: false}), FALSE_FLAG, INVALID),
      read({applyLabelTransformer: 'l1'}),
      read({applyLabelTransformer: ''}),
      wrong(read({applyLabelTransformer: 'Upper'}), LABEL_SYNTAX, INVALID),
      wrong(read({applyLabelTransformer: 'with space'}), LABEL_SYNTAX, INVALID),
      wrong(read({applyLabelTransformer: 'a-b_c.d'}), LABEL_SYNTAX, INVALID),
      read({applyLabelTransformer: '0123456789abcde'}, {what: '15 characters'}),
      wrong(read({applyLabelTransformer: '0123456789abcdef'}, {what: '16 characters'}), LABEL_SYNTAX, INVALID),
      read({applyLabelTransformer: 'é'}),
      wrong(read(chain({applyLabelTransformer: 'l1'}, {stripValueTransformer: true})),
            'drops the label; data.proto: strip_value_transformer "Replaces each cell\'s value with the ' +
            'empty string", nothing else', {cells: label(strip(ALL), 'l1')}),
      read(interleave({applyLabelTransformer: 'l1'}, {applyLabelTransformer: 'l2'})),
      wrong(read(chain(interleave({applyLabelTransformer: 'l1'}, {applyLabelTransformer: 'l2'}),
                       {applyLabelTransformer: 'l3'}), {what: 'a label on labelled cells'}), LABEL_RULE, INVALID),
      wrong(read(chain({applyLabelTransformer: 'l1'}, {blockAllFilter: true}, {applyLabelTransformer: 'l2'})),
            LABEL_RULE, INVALID),
      read(condition({applyLabelTransformer: 'p'}, {applyLabelTransformer: 't'})),
    ],
  },
  {
    name: 'malformed filters',
    rows: ROWS,
    steps: [
      read({chain: {filters: [{}]}}, {what: 'an empty filter in a chain'}),
      read({interleave: {filters: [{}]}}),
      read({interleave: {filters: [{blockAllFilter: true}, {}]}}),
      read(chain({columnRangeFilter: {familyName: 'cf1', startQualifierClosed: 'a', startQualifierOpen: 'b'}}),
           {what: 'two starts'}),
    ],
  },
  {
    name: 'mutations',
    rows: ROWS,
    steps: [
      {mutateRow: {rowKey: 'r1', mutations: [{deleteFromColumn: {familyName: 'cf1', columnQualifier: 'a',
                                                                  timeRange: {startTimestampMicros: 2000}}}]}},
      readAll({rows: {rowKeys: ['r1']}}),
      {mutateRow: {rowKey: 'r1', mutations: [{deleteFromColumn: {familyName: 'cf1', columnQualifier: 'b',
                                                                  timeRange: {endTimestampMicros: 1000}}}]}},
      readAll({rows: {rowKeys: ['r1']}, what: 'an empty time range deletes nothing'}),
      {mutateRow: {rowKey: 'r1', mutations: [{deleteFromColumn: {familyName: 'cf1', columnQualifier: 'b',
                                                                  timeRange: {startTimestampMicros: 0, endTimestampMicros: 0}}}]}},
      readAll({rows: {rowKeys: ['r1']}}),
      wrong({mutateRow: {rowKey: 'r1', mutations: [{deleteFromColumn: {familyName: 'cf1', columnQualifier: 'bb',
                                                                  timeRange: {startTimestampMicros: 5000, endTimestampMicros: 4000}}}]},
       what: 'inverted time range'}, UNKNOWN_CODE, INVALID),
      wrong({mutateRow: {rowKey: 'r1', mutations: [{deleteFromColumn: {familyName: 'cf1', columnQualifier: 'bb',
                                                                  timeRange: {startTimestampMicros: 1500}}}]},
       what: 'time range not in milliseconds'}, UNKNOWN_CODE, INVALID),
      {mutateRow: {rowKey: 'r1', mutations: [{deleteFromColumn: {familyName: 'cf1', columnQualifier: 'zz'}}]},
       what: 'a column without cells'},
      wrong({mutateRow: {rowKey: 'r1', mutations: [{deleteFromColumn: {familyName: 'nope', columnQualifier: 'a'}}]}}, NO_FAMILY, NOT_FOUND),
      {mutateRow: {rowKey: 'r1', mutations: [{deleteFromFamily: {familyName: 'cf2'}}]}},
      readAll({rows: {rowKeys: ['r1']}}),
      undocumented({mutateRow: {rowKey: 'r1', mutations: [{deleteFromFamily: {familyName: 'nope'}}]}}, 'deleting from a family the table lacks: ours answers NOT_FOUND as for every other mutation of an ' +
                   'unknown family; Google\'s emulator ignores it', NOT_FOUND),
      {mutateRow: {rowKey: 'r2', mutations: [{deleteFromRow: {}}]}},
      {mutateRow: {rowKey: 'absent', mutations: [{deleteFromRow: {}}]}},
      readAll({rows: {rowRanges: [{startKeyClosed: 'r1', endKeyClosed: 'r3'}]}}),
      {mutateRow: {rowKey: 'r3', mutations: [setCell('cf1', 'n', 1000, 'new'), {deleteFromRow: {}},
                                              setCell('cf1', 'm', 2000, 'after')]}, what: 'order inside one request'},
      readAll({rows: {rowKeys: ['r3']}}),
      {mutateRow: {rowKey: 'r3', mutations: [setCell('cf1', 'm', 2000, 'overwritten')]}},
      readAll({rows: {rowKeys: ['r3']}, what: 'same timestamp: the value is replaced'}),
      wrong({mutateRow: {rowKey: 'r3', mutations: [setCell('cf1', 'm', 1500, 'x')]}, what: 'timestamp not in milliseconds'}, UNKNOWN_CODE, INVALID),
      wrong({mutateRow: {rowKey: 'r3', mutations: [setCell('cf1', 'm', -2, 'x')]}, what: 'timestamp -2'}, UNKNOWN_CODE, INVALID),
      wrong({mutateRow: {rowKey: 'r3', mutations: [setCell('nope', 'm', 1000, 'x')]}, what: 'unknown family'}, NO_FAMILY, NOT_FOUND),
      wrong({mutateRow: {rowKey: 'r3', mutations: [setCell('', 'm', 1000, 'x')]}, what: 'empty family'}, UNKNOWN_CODE, INVALID),
      {mutateRow: {rowKey: '', mutations: [setCell('cf1', 'm', 1000, 'x')]}, what: 'empty row key'},
      {mutateRow: {rowKey: 'r3', mutations: []}, what: 'no mutations'},
      wrong({mutateRow: {rowKey: 'r3', mutations: [{}]}, what: 'an empty mutation'}, UNKNOWN_CODE, INVALID),
      {mutateRow: {rowKey: 'r4', mutations: [setCell('cf1', '', 1000, 'empty qualifier')]}},
      {mutateRow: {rowKey: 'now', mutations: [setCell('cf1', 'n', -1, 'server time')]}},
      readAll({rows: {rowKeys: ['r4', 'now']}}),
      wrong({mutateRows: {entries: [
        {rowKey: 'm1', mutations: [setCell('cf1', 'a', 1000, 'ok')]},
        {rowKey: 'm2', mutations: [setCell('nope', 'a', 1000, 'bad family')]},
        {rowKey: 'm3', mutations: [setCell('cf1', 'a', 1000, 'ok too')]},
      ]}, what: 'a status per entry'}, NO_FAMILY, {entries: ['OK', 'NOT_FOUND', 'OK']}),
      {mutateRows: {entries: []}, what: 'no entries'},
      undocumented({mutateRows: {entries: [{rowKey: 'm4', mutations: []}]}, what: 'an entry without mutations'}, 'an entry without mutations (bigtable.proto: "You must specify at least one mutation"): ours ' +
                   'fails that entry, Google\'s emulator the whole request when no entry has any', {entries: ['INVALID_ARGUMENT']}),
      {mutateRows: {entries: [{rowKey: 'm5', mutations: [setCell('cf1', 'a', 1000, 'one')]},
                              {rowKey: 'm5', mutations: [setCell('cf1', 'a', 1000, 'two')]}]}, what: 'one row twice'},
      readAll({rows: {rowRanges: [{startKeyClosed: 'm', endKeyOpen: 'n'}]}}),
    ],
  },
  {
    name: 'checkAndMutateRow',
    rows: ROWS,
    steps: [
      {checkAndMutateRow: {rowKey: 'r1', predicateFilter: {columnQualifierRegexFilter: 'bb'},
                           trueMutations: [setCell('cf1', 't', 1000, 'true')],
                           falseMutations: [setCell('cf1', 'f', 1000, 'false')]}},
      {checkAndMutateRow: {rowKey: 'r1', predicateFilter: {columnQualifierRegexFilter: 'nope'},
                           trueMutations: [setCell('cf1', 't2', 1000, 'true')],
                           falseMutations: [setCell('cf1', 'f2', 1000, 'false')]}},
      {checkAndMutateRow: {rowKey: 'r1', trueMutations: [setCell('cf1', 't3', 1000, 'no predicate')]}},
      {checkAndMutateRow: {rowKey: 'absent', trueMutations: [setCell('cf1', 't', 1000, 'x')],
                           falseMutations: [setCell('cf1', 'f', 1000, 'absent row')]}},
      wrong({checkAndMutateRow: {rowKey: 'r1', predicateFilter: {blockAllFilter: true}}, what: 'no mutations'}, 'Bigtable refuses a CheckAndMutateRow without mutations (google-cloud-go#4201, found on Bigtable)', INVALID),
      {checkAndMutateRow: {rowKey: 'r1', predicateFilter: {rowKeyRegexFilter: '('},
                           trueMutations: [setCell('cf1', 't', 1000, 'x')]}},
      wrong({checkAndMutateRow: {rowKey: 'r1', predicateFilter: {passAllFilter: true},
                                 trueMutations: [setCell('nope', 't', 1000, 'x')]}, what: 'unknown family'},
            NO_FAMILY, NOT_FOUND),
      {checkAndMutateRow: {rowKey: 'r2', predicateFilter: {sink: true},
                           trueMutations: [setCell('cf1', 'sink', 1000, 'x')]}, what: 'a sink predicate'},
      {checkAndMutateRow: {rowKey: 'r2', predicateFilter: condition({familyNameRegexFilter: 'cf2'}, {blockAllFilter: true}),
                           trueMutations: [setCell('cf1', 'c', 1000, 'x')], falseMutations: [setCell('cf1', 'c', 2000, 'y')]}},
      readAll({rows: {rowKeys: ['r1', 'r2', 'absent']}}),
    ],
  },
  {
    name: 'readModifyWriteRow',
    rows: [
      ['k', 'cf1', 'n8', 1000, be64(5)],
      ['k', 'cf1', 'n8', 2000, be64(41)],
      ['k', 'cf1', 'n4', 1000, '\x00\x00\x00\x01'],
      ['k', 'cf1', 'max', 1000, be64('9223372036854775807')],
      ['k', 'cf1', 's', 1000, 'abc'],
    ],
    steps: [
      {readModifyWriteRow: {rowKey: 'k', rules: [{familyName: 'cf1', columnQualifier: 'n8', incrementAmount: 1}]}},
      {readModifyWriteRow: {rowKey: 'k', rules: [{familyName: 'cf1', columnQualifier: 'n8', incrementAmount: -100}]}},
      wrong({readModifyWriteRow: {rowKey: 'k', rules: [{familyName: 'cf1', columnQualifier: 'n4', incrementAmount: 1}]},
             what: 'not 8 bytes'}, UNKNOWN_CODE, INVALID),
      {readModifyWriteRow: {rowKey: 'k', rules: [{familyName: 'cf1', columnQualifier: 'max', incrementAmount: 1}]},
       what: 'overflow'},
      {readModifyWriteRow: {rowKey: 'k', rules: [{familyName: 'cf1', columnQualifier: 'new', incrementAmount: 7}]},
       what: 'a missing cell counts from 0'},
      {readModifyWriteRow: {rowKey: 'k', rules: [{familyName: 'cf1', columnQualifier: 's', appendValue: 'def'}]}},
      {readModifyWriteRow: {rowKey: 'k', rules: [{familyName: 'cf1', columnQualifier: 'app', appendValue: 'x'}]},
       what: 'append to a missing cell'},
      {readModifyWriteRow: {rowKey: 'k2', rules: [{familyName: 'cf1', columnQualifier: 'a', appendValue: 'x'},
                                                  {familyName: 'cf1', columnQualifier: 'a', appendValue: 'y'},
                                                  {familyName: 'cf2', columnQualifier: 'i', incrementAmount: 2},
                                                  {familyName: 'cf2', columnQualifier: 'i', incrementAmount: 3}]},
       what: 'rules on one column apply in order; a new row'},
      {readModifyWriteRow: {rowKey: 'k', rules: [{familyName: 'cf1', columnQualifier: 's', appendValue: ''}]},
       what: 'an empty append'},
      wrong({readModifyWriteRow: {rowKey: 'k', rules: [{familyName: 'cf1', columnQualifier: 's', incrementAmount: 0}]},
             what: 'increment 0 of a 6-byte value'}, UNKNOWN_CODE, INVALID),
      wrong({readModifyWriteRow: {rowKey: 'k', rules: [{familyName: 'nope', columnQualifier: 's', appendValue: 'x'}]}},
            NO_FAMILY, NOT_FOUND),
      wrong({readModifyWriteRow: {rowKey: 'k', rules: [{familyName: 'cf1', columnQualifier: 's'}]},
             what: 'a rule with no action'}, UNKNOWN_CODE, INVALID),
      wrong({readModifyWriteRow: {rowKey: 'k', rules: []}, what: 'no rules'},
            'answers an empty row; bigtable.proto (ReadModifyWriteRowRequest.rules): "At least one entry ' +
            'must be specified"', INVALID),
      // each column's latest cell only: how many cells the calls above left at "now" depends on
      // whether two of them fell in one millisecond (Google's emulator even splits one call's
      // rules across a millisecond now and then)
      read({cellsPerColumnLimitFilter: 1}, {what: 'the row afterwards'}),
    ],
  },
  {
    name: 'large and binary values',
    rows: [
      ['big', 'cf1', 'v', 1000, Buffer.alloc(3 * 1024 * 1024 + 7, 'x')],
      ['big', 'cf1', 'w', 1000, Buffer.from([...Array(256).keys()])],
      ['big', 'cf2', Buffer.from([0, 0x0a, 0xff]), 2000, 'binary qualifier'],
      ['\x00', 'cf1', 'q', 1000, 'key 0x00'],
      ['\x00\x00', 'cf1', 'q', 1000, 'key 0x0000'],
      ['\n', 'cf1', 'q', 1000, 'key newline'],
    ],
    steps: [
      read({columnQualifierRegexFilter: 'w|\\C\\n\\C'}, {what: 'qualifiers with bytes'}),
      read({stripValueTransformer: true}, {what: 'a large value stripped'}),
      read({valueRegexFilter: 'x{1000}.*'}, {what: 'a regex over a large value'}),
      read({valueRangeFilter: {startValueClosed: Buffer.from([0]), endValueOpen: Buffer.from([0, 1])}}),
      read({rowKeyRegexFilter: '.'}, {what: '. does not match a newline key'}),
      read({rowKeyRegexFilter: '(?s).'}),
      read({rowKeyRegexFilter: '\\C'}),
      read({rowKeyRegexFilter: '\\x00+'}),
      readAll({rows: {rowRanges: [{startKeyOpen: '\x00', endKeyClosed: '\n'}]}}),
      readAll({rows: {rowKeys: ['\x00', '\x00\x00', '\x00']}}),
      read({columnRangeFilter: {familyName: 'cf2', startQualifierClosed: Buffer.from([0]), endQualifierOpen: Buffer.from([0, 0x0b])}}),
      readAll({rows: {rowKeys: ['big']}, filter: {cellsPerColumnLimitFilter: 1}}),
    ],
  },
  {
    name: 'rows_limit counts rows a filter keeps',
    rows: ROWS,
    steps: [
      read({familyNameRegexFilter: 'cf2'}, {rowsLimit: 2}),
      read({valueRegexFilter: 'S|high'}, {rowsLimit: 1}),
      read({blockAllFilter: true}, {rowsLimit: 1}),
      read(condition({familyNameRegexFilter: 'cf2'}, {passAllFilter: true}), {rowsLimit: 3}),
      readAll({rows: {rowRanges: [{startKeyClosed: 'r2'}]}, rowsLimit: 2}),
      readAll({rows: {rowKeys: ['s1', 'r1', 's1', 'r10']}, rowsLimit: 2}),
      readAll({rowsLimit: 100}),
      readAll({rowsLimit: '2'}),
    ],
  },
  {
    name: 'regex dialect (RE2, Latin-1 bytes)',
    rows: [
      ['a', 'cf1', 'Abc', 1000, 'caf\xe9'],
      ['b', 'cf1', 'abc', 1000, 'CAF\xc9'],
      ['c', 'cf1', 'a.c', 1000, 'a+b'],
      ['d', 'cf1', 'a\nc', 1000, 'x\ny'],
      ['\xe9', 'cf1', 'q', 1000, 'e acute key'],
    ],
    steps: [
      read({columnQualifierRegexFilter: '(?i)abc'}),
      read({columnQualifierRegexFilter: '[[:upper:]].*'}),
      read({columnQualifierRegexFilter: '\\Qa.c\\E'}),
      read({columnQualifierRegexFilter: 'a.c'}),
      read({columnQualifierRegexFilter: '(?s)a.c'}),
      read({columnQualifierRegexFilter: 'a\\Cc'}),
      read({columnQualifierRegexFilter: 'a[^b]c'}, {what: 'a negated class matches a newline'}),
      read({columnQualifierRegexFilter: '\\w+'}),
      read({columnQualifierRegexFilter: 'a{1,1000}bc'}),
      read({columnQualifierRegexFilter: 'a{1,1001}bc'}, {what: 'a repeat over 1000'}),
      read({columnQualifierRegexFilter: '(?U)a.*'}),
      read({columnQualifierRegexFilter: '(?m)^abc$'}),
      read({valueRegexFilter: 'caf\\xe9'}),
      read({valueRegexFilter: 'caf\xe9'}, {what: 'a raw byte over 0x7f in the pattern'}),
      read({valueRegexFilter: '(?i)caf\\xe9'}),
      read({valueRegexFilter: 'caf.'}, {what: '. matches one byte'}),
      read({valueRegexFilter: 'a\\+b'}),
      read({valueRegexFilter: 'x$'}, {what: '$ at a newline'}),
      read({valueRegexFilter: 'x\\ny'}),
      read({rowKeyRegexFilter: '\\xe9'}),
      read({rowKeyRegexFilter: '\\x{e9}'}),
      wrong(read({rowKeyRegexFilter: '\\x{100}'}, {what: 'a code point over 0xff'}),
            'uses Go\'s binaryregexp, which takes it and matches nothing; Bigtable\'s regexes are RE2\'s over ' +
            'bytes (data.proto: RE2, \\C for any byte), and RE2 in Latin-1 mode refuses \\x{100} ("invalid escape ' +
            'sequence")', INVALID),
      read({rowKeyRegexFilter: '[a-c]'}),
      read({rowKeyRegexFilter: '[^a-c]'}),
      read({rowKeyRegexFilter: '\\pL'}),
      read({rowKeyRegexFilter: 'a**'}),
      read({rowKeyRegexFilter: '(?<n>a)'}, {what: 'a Perl named group'}),
      read({rowKeyRegexFilter: 'a\\'}, {what: 'a trailing backslash'}),
    ],
  },
  {
    name: 'deletes and timestamps',
    rows: [
      ['d', 'cf1', 'a', 1000, 'a1'],
      ['d', 'cf1', 'a', 2000, 'a2'],
      ['d', 'cf1', 'a', 3000, 'a3'],
      ['d', 'cf1', 'a', 4000, 'a4'],
      ['d', 'cf1', 'b', 1000, 'b1'],
      ['d', 'cf2', 'a', 1000, 'other family'],
      ['e', 'cf1', 'a', 1000, 'e'],
    ],
    steps: [
      {mutateRow: {rowKey: 'd', mutations: [{deleteFromColumn: {familyName: 'cf1', columnQualifier: 'a',
                                                                 timeRange: {startTimestampMicros: 2000, endTimestampMicros: 3000}}}]},
       what: 'exactly one timestamp'},
      readAll({rows: {rowKeys: ['d']}}),
      {mutateRow: {rowKey: 'd', mutations: [{deleteFromColumn: {familyName: 'cf1', columnQualifier: 'a',
                                                                 timeRange: {endTimestampMicros: 4000}}}]},
       what: 'open start'},
      readAll({rows: {rowKeys: ['d']}}),
      {mutateRow: {rowKey: 'd', mutations: [setCell('cf1', 'a', 1000, 'back'), {deleteFromFamily: {familyName: 'cf1'}},
                                             setCell('cf1', 'c', 1000, 'after')]}},
      readAll(),
      {mutateRow: {rowKey: 'd', mutations: [{deleteFromColumn: {familyName: 'cf2', columnQualifier: 'a'}}]}},
      readAll({what: 'a column without a time range: all of it'}),
      {mutateRows: {entries: [{rowKey: 'e', mutations: [{deleteFromRow: {}}]},
                              {rowKey: 'e', mutations: [setCell('cf1', 'x', 1000, 'again')]}]},
       what: 'a row deleted then written in one batch'},
      readAll(),
      {mutateRow: {rowKey: 'f', mutations: [setCell('cf1', 'max', '9223372036854775000', 'far')]},
       what: 'the largest millisecond timestamp'},
      {mutateRow: {rowKey: 'f', mutations: [setCell('cf1', 'zero', 0, 'zero')]}},
      readAll({rows: {rowKeys: ['f']}}),
      read({timestampRangeFilter: {startTimestampMicros: 1}}, {rows: {rowKeys: ['f']}, what: 'start 1 is refused ' +
           'or ranges from 1'}),
      read({timestampRangeFilter: {startTimestampMicros: 0, endTimestampMicros: 1000}}, {rows: {rowKeys: ['f']}}),
    ],
  },
  {
    name: 'checkAndMutateRow deletes',
    rows: ROWS,
    steps: [
      {checkAndMutateRow: {rowKey: 'r1', predicateFilter: {columnQualifierRegexFilter: 'bb'},
                           trueMutations: [{deleteFromRow: {}}, setCell('cf2', 'n', -1, 'fresh')]}},
      readAll({rows: {rowKeys: ['r1']}, what: 'deleted, then a cell at server time'}),
      {checkAndMutateRow: {rowKey: 'r2', predicateFilter: chain({familyNameRegexFilter: 'cf2'}, {valueRegexFilter: 'nope'}),
                           falseMutations: [{deleteFromFamily: {familyName: 'cf2'}}]}},
      readAll({rows: {rowKeys: ['r2']}}),
      {checkAndMutateRow: {rowKey: 'r3', predicateFilter: {applyLabelTransformer: 'x'},
                           trueMutations: [{deleteFromColumn: {familyName: 'cf1', columnQualifier: ''}}]},
       what: 'a transformer as predicate'},
      readAll({rows: {rowKeys: ['r3']}}),
      {checkAndMutateRow: {rowKey: 'r3', predicateFilter: interleave({blockAllFilter: true}, {blockAllFilter: true}),
                           trueMutations: [setCell('cf1', 't', 1000, 't')], falseMutations: [setCell('cf1', 'f', 1000, 'f')]}},
      readAll({rows: {rowKeys: ['r3']}}),
    ],
  },
  {
    name: 'aggregate families',
    families: {cf1: {}, sums: aggregate('sum'), maxes: aggregate('max'), mins: aggregate('min')},
    steps: [
      {mutateRow: {rowKey: 'r', mutations: [addToCell('sums', 'q', 1000, 5), addToCell('sums', 'q', 1000, -7)]},
       what: 'two inputs folded in one request'},
      {mutateRow: {rowKey: 'r', mutations: [mergeToCell('sums', 'q', 1000, {rawValue: be64(100)})]},
       what: 'a state merged as its 8 bytes'},
      {mutateRows: {entries: [{rowKey: 'r', mutations: [addToCell('sums', 'q', 2000, 3)]},
                              {rowKey: 's', mutations: [addToCell('maxes', 'q', 1000, 3), addToCell('maxes', 'q', 1000, 9),
                                                        addToCell('maxes', 'q', 1000, -4)]}]}},
      {checkAndMutateRow: {rowKey: 'r', predicateFilter: {familyNameRegexFilter: 'sums'},
                           trueMutations: [addToCell('sums', 'q', 1000, 1), addToCell('sums', 'other', 0, 42)]}},
      readAll({rows: {rowKeys: ['r']}, what: 'sums 99 and 3'}),
      wrong(readAll({rows: {rowKeys: ['s']}, what: 'the max 9'}), LAST_INPUT, cells('s/maxes:q@1000=0x0000000000000009')),
      read({valueRegexFilter: '\\x00{7}\\x03'}, {what: 'filters see the state\'s bytes'}),
      {mutateRow: {rowKey: 'm', mutations: [addToCell('mins', 'q', 1000, 3), addToCell('mins', 'q', 1000, 9)]}},
      wrong(readAll({rows: {rowKeys: ['m']}, what: 'the min 3'}), LAST_INPUT, cells('m/mins:q@1000=0x0000000000000003')),
      {mutateRow: {rowKey: 'r', mutations: [{deleteFromColumn: {familyName: 'sums', columnQualifier: 'q',
                                                                timeRange: {startTimestampMicros: 2000}}}]},
       what: 'deletes work as on any family'},
      {mutateRow: {rowKey: 'r', mutations: [addToCell('sums', 'q', 2000, 1)]}, what: 'and a deleted cell starts again'},
      readAll({rows: {rowKeys: ['r']}}),
      wrong({mutateRow: {rowKey: 'r', mutations: [addToCell('cf1', 'q', 1000, 1)]}, what: 'AddToCell on a raw family'},
            UNKNOWN_CODE, INVALID),
      wrong({mutateRow: {rowKey: 'r', mutations: [setCell('sums', 'q', 1000, be64(7))]}, what: 'SetCell on a sum family'},
            AGGREGATE_ONLY, INVALID),
      wrong({mutateRow: {rowKey: 'r', mutations: [addToCell('sums', 'q', -1, 1)]}, what: 'no server time'},
            UNKNOWN_CODE, INVALID),
      wrong({mutateRow: {rowKey: 'r', mutations: [aggregateCell('addToCell', 'sums', 'q', 1000, {rawValue: be64(1)})]},
             what: 'an Int64 input is an int_value'}, UNKNOWN_CODE, INVALID),
      wrong(readAll({rows: {rowKeys: ['r']}, what: 'the refused writes changed nothing'}), AGGREGATE_ONLY,
            cells('r/sums:other@0=0x000000000000002a', 'r/sums:q@2000=0x0000000000000001',
                  'r/sums:q@1000=0x0000000000000063')),
    ],
  },
  {
    name: 'missing table',
    steps: [
      {...readAll(), table: 'no-such-table'},
      {mutateRow: {rowKey: 'r', mutations: [setCell('cf1', 'q', 1000, 'v')]}, table: 'no-such-table'},
      {checkAndMutateRow: {rowKey: 'r', trueMutations: [setCell('cf1', 'q', 1000, 'v')]}, table: 'no-such-table'},
      {readModifyWriteRow: {rowKey: 'r', rules: [{familyName: 'cf1', columnQualifier: 'q', appendValue: 'v'}]},
       table: 'no-such-table'},
      readAll({what: 'an empty table'}),
    ],
  },
];
