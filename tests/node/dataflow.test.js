'use strict';
// The Dataflow runner through Google's @google-cloud/dataflow (v1beta3 clients) over its
// REST transport: Google's Word_Count template launched with a customer-managed key
// (TemplatesServiceClient.launchTemplate and createJobFromTemplate), a JSON pipeline
// launched as a flex template (FlexTemplatesServiceClient), jobs got and listed
// (JobsV1Beta3Client), their messages (MessagesV1Beta3Client) and metrics
// (MetricsV1Beta3Client), and the words really counted.
//
// gs://BUCKET/OBJECT is the file <data dir>/gcs/BUCKET/OBJECT; the test finds the stack's
// data directory on the control plane's status and writes its input there.
//
// A quirk of the library, not of the emulator: @google-cloud/dataflow 4 brings its own
// google-gax 5, whose REST transport reports an error with the HTTP status as `code`
// (404, not NOT_FOUND's 5) and Google's error JSON as `message`. httpRejectsWith checks that.

const {describe, it, before, after} = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const dataflow = require('@google-cloud/dataflow');
const {RUN, control, kmsClient, restOptions} = require('./lib/emulator.js');

const projectId = 'node-runner-project';
const location = 'us-central1';
const WORD_COUNT = 'gs://dataflow-templates/latest/Word_Count';
const bucket = `node-bkt-${RUN}`;
const TEXT = 'the cat the dog\n\nA dog\n';
const COUNTS = ['A: 1', 'cat: 1', 'dog: 2', 'the: 2'];
// job names of this run (RUN keeps two runs against one stack apart)
const jobName = what => `node-${what}-${RUN}`;

// httpRejectsWith(promise, httpStatus, status): the call fails, and Google's error JSON
// (as google-gax 5 surfaces it) has this HTTP code and status.
async function httpRejectsWith(promise, httpStatus, status) {
  await assert.rejects(promise, error => {
    assert.equal(error.code, httpStatus, `expected HTTP ${httpStatus}, got ${error.code}: ${error.message}`);
    assert.equal(JSON.parse(error.message).error.status, status);
    return true;
  });
}

describe('the Dataflow runner through @google-cloud/dataflow v1beta3 clients (REST)', () => {
  let kms;
  let templates;
  let flexTemplates;
  let jobs;
  let messages;
  let metrics;
  let gcs; // this stack's stand-in for Cloud Storage
  let keyName;
  let wordCountId;
  let flexId;

  // waitForState(jobId, state): polls getJob (advancing the emulator clock, whose tick
  // starts pending jobs) until the job is in state; the job.
  async function waitForState(jobId, state) {
    const deadline = Date.now() + 30000;
    for (;;) {
      const [job] = await jobs.getJob({projectId, location, jobId});
      if (job.currentState === state) return job;
      assert.ok(Date.now() < deadline, `job ${jobId} still ${job.currentState}, waiting for ${state}`);
      await control('/emulator/v1/clock:advance', {seconds: 5});
      await new Promise(resolve => setTimeout(resolve, 200));
    }
  }

  // The lines of every shard written under gs://bucket/prefix, sorted.
  function outputLines(prefix) {
    const dir = path.join(gcs, bucket, path.dirname(prefix));
    return fs.readdirSync(dir).filter(file => file.startsWith(path.basename(prefix)))
      .flatMap(file => fs.readFileSync(path.join(dir, file), 'utf8').split('\n')).filter(Boolean).sort();
  }

  before(async () => {
    const options = restOptions('RUNNER_URL');
    templates = new dataflow.TemplatesServiceClient(options);
    flexTemplates = new dataflow.FlexTemplatesServiceClient(options);
    jobs = new dataflow.JobsV1Beta3Client(options);
    messages = new dataflow.MessagesV1Beta3Client(options);
    metrics = new dataflow.MetricsV1Beta3Client(options);
    kms = kmsClient();
    const {dataDir} = await control('/emulator/v1/status');
    gcs = path.join(dataDir, 'gcs');
    fs.mkdirSync(path.join(gcs, bucket, 'pipelines'), {recursive: true});
    fs.writeFileSync(path.join(gcs, bucket, 'in.txt'), TEXT);
    const ringId = `runner-ring-${RUN}`;
    await kms.createKeyRing({parent: kms.locationPath(projectId, 'global'), keyRingId: ringId, keyRing: {}});
    const [key] = await kms.createCryptoKey({parent: kms.keyRingPath(projectId, 'global', ringId),
                                             cryptoKeyId: 'job-key', cryptoKey: {purpose: 'ENCRYPT_DECRYPT'}});
    keyName = key.name;
  });
  after(async () => {
    for (const client of [kms, templates, flexTemplates, jobs, messages, metrics]) await client.close();
  });

  it('launchTemplate: Word_Count with a customer-managed key, a job in Google\'s shape', async () => {
    const [response] = await templates.launchTemplate({
      projectId, location, gcsPath: WORD_COUNT,
      launchParameters: {jobName: jobName('wordcount'), environment: {kmsKeyName: keyName},
                         parameters: {inputFile: `gs://${bucket}/in.txt`, output: `gs://${bucket}/out/counts`}}});
    const job = response.job;
    assert.match(job.id, /^\d{4}-\d{2}-\d{2}_\d{2}_\d{2}_\d{2}-\d+$/);
    assert.equal(job.name, jobName('wordcount'));
    assert.equal(job.projectId, projectId);
    assert.equal(job.location, location);
    assert.equal(job.type, 'JOB_TYPE_BATCH');
    assert.equal(job.environment.serviceKmsKeyName, keyName);
    wordCountId = job.id;
  });

  it('the job runs to JOB_STATE_DONE and its output counts the words', async () => {
    const job = await waitForState(wordCountId, 'JOB_STATE_DONE');
    assert.equal(job.environment.serviceKmsKeyName, keyName);
    assert.deepEqual(outputLines('out/counts'), COUNTS);
  });

  it('getJob with JOB_VIEW_ALL lists Word_Count\'s steps', async () => {
    const [job] = await jobs.getJob({projectId, location, jobId: wordCountId, view: 'JOB_VIEW_ALL'});
    const userNames = job.steps.map(step => step.properties.fields.user_name.stringValue);
    assert.deepEqual(userNames, ['ReadLines', 'ExtractWords', 'CountWords', 'FormatAsText', 'WriteCounts']);
    const [summary] = await jobs.getJob({projectId, location, jobId: wordCountId});
    assert.deepEqual(summary.steps, []);
    await httpRejectsWith(jobs.getJob({projectId, location, jobId: '2020-01-01_00_00_00-1'}), 404, 'NOT_FOUND');
  });

  it('createJobFromTemplate (what `gcloud dataflow jobs run` calls) and a validateOnly launch', async () => {
    const [job] = await templates.createJobFromTemplate({
      projectId, location, gcsPath: WORD_COUNT, jobName: jobName('wordcount-2'),
      parameters: {inputFile: `gs://${bucket}/in.txt`, output: `gs://${bucket}/out2/counts`}});
    assert.equal(job.name, jobName('wordcount-2'));
    await waitForState(job.id, 'JOB_STATE_DONE');
    assert.deepEqual(outputLines('out2/counts'), COUNTS);

    const [validated] = await templates.launchTemplate({
      projectId, location, gcsPath: WORD_COUNT, validateOnly: true,
      launchParameters: {jobName: jobName('validate-only'),
                         parameters: {inputFile: `gs://${bucket}/in.txt`, output: `gs://${bucket}/out3/counts`}}});
    assert.ok(!validated.job || !validated.job.id, `validateOnly creates no job: ${JSON.stringify(validated.job)}`);
    await httpRejectsWith(templates.launchTemplate({
      projectId, location, gcsPath: WORD_COUNT, launchParameters: {jobName: jobName('missing-parameter'), parameters: {}}}),
                          400, 'INVALID_ARGUMENT');
  });

  it('launchFlexTemplate: a JSON pipeline from gs://, run to DONE', async () => {
    const pipeline = {
      parameters: {input: {required: true}, output: {required: true}},
      steps: [
        {name: 'read', transform: 'ReadText', path: '${input}'},
        {name: 'shout', transform: 'Map', input: 'read', fn: 'uppercase'},
        {name: 'write', transform: 'WriteText', input: 'shout', path: '${output}'},
      ],
    };
    fs.writeFileSync(path.join(gcs, bucket, 'pipelines', 'shout.json'), JSON.stringify(pipeline));
    const [response] = await flexTemplates.launchFlexTemplate({
      projectId, location, launchParameter: {
        jobName: jobName('shout'), containerSpecGcsPath: `gs://${bucket}/pipelines/shout.json`,
        environment: {kmsKeyName: keyName},
        parameters: {input: `gs://${bucket}/in.txt`, output: `gs://${bucket}/shout/lines`}}});
    flexId = response.job.id;
    assert.equal(response.job.name, jobName('shout'));
    await waitForState(flexId, 'JOB_STATE_DONE');
    assert.deepEqual(outputLines('shout/lines'), ['A DOG', 'THE CAT THE DOG']);

    await httpRejectsWith(flexTemplates.launchFlexTemplate({
      projectId, location, launchParameter: {jobName: jobName('missing'), containerSpecGcsPath: `gs://${bucket}/nope.json`}}),
                          404, 'NOT_FOUND');
  });

  it('listJobs: the three jobs, with the TERMINATED and ACTIVE filters', async () => {
    const names = async filter => {
      const [listed] = await jobs.listJobs({projectId, location, filter});
      return listed.map(job => job.name).filter(name => name.endsWith(`-${RUN}`)).sort();
    };
    const ours = [jobName('shout'), jobName('wordcount'), jobName('wordcount-2')].sort();
    assert.deepEqual(await names('ALL'), ours);
    assert.deepEqual(await names('TERMINATED'), ours);
    assert.deepEqual(await names('ACTIVE'), []);
    // name: only the jobs of that name
    const [named] = await jobs.listJobs({projectId, location, name: jobName('wordcount')});
    assert.deepEqual(named.map(job => job.name), [jobName('wordcount')]);
  });

  it('listJobMessages and getJobMetrics of the Word_Count job', async () => {
    const [listed] = await messages.listJobMessages({projectId, location, jobId: wordCountId,
                                                     minimumImportance: 'JOB_MESSAGE_BASIC'});
    const texts = listed.map(message => message.messageText);
    assert.ok(texts.includes('Job created; workers are starting.'), texts.join(' | '));
    assert.ok(listed.every(message => message.time && message.messageImportance === 'JOB_MESSAGE_BASIC'),
              'BASIC messages, each with its time');
    // the enum goes as its number, and JOB_MESSAGE_BASIC is 5, after WARNING (3) and ERROR (4)
    const [errors] = await messages.listJobMessages({projectId, location, jobId: wordCountId,
                                                     minimumImportance: 'JOB_MESSAGE_ERROR'});
    assert.deepEqual(errors, []);

    const [jobMetrics] = await metrics.getJobMetrics({projectId, location, jobId: wordCountId});
    const counts = Object.fromEntries(jobMetrics.metrics
      .filter(metric => metric.name.name === 'ElementCount')
      .map(metric => [metric.name.context.output_user_name, Number(metric.scalar.numberValue)]));
    assert.equal(counts['ReadLines.out0'], 3, JSON.stringify(counts)); // three lines, one empty
    assert.equal(counts['CountWords.out0'], 4, JSON.stringify(counts)); // four distinct words
    // startTime: only the metrics changed since then; none of a finished job's after it ended
    const [since] = await metrics.getJobMetrics({projectId, location, jobId: wordCountId,
                                                 startTime: jobMetrics.metricTime});
    assert.deepEqual(since.metrics, []);
  });

  it('updateJob: a finished job cannot be cancelled', async () => {
    await httpRejectsWith(jobs.updateJob({projectId, location, jobId: wordCountId,
                                          job: {requestedState: 'JOB_STATE_CANCELLED'}}),
                          400, 'FAILED_PRECONDITION');
  });
});
