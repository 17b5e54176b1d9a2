import { readdirSync, readFileSync, statSync, watch, writeFileSync } from 'node:fs';
import path from 'node:path';
import { expect } from 'chai';
import { loadConfig } from '../../src/config.js';
import { ConfigError, StoreCorruptError } from '../../src/errors.js';
import { API, sha1, startTestZcloud, tempDir } from '../helpers/zcloud.js';
import { killStartedProcesses, runZcloudToExit, startZcloudProcess, type ExitedZcloud } from '../helpers/zcloud-process.js';

/** Runs `server/main.ts` as a real process; resolves with its exit code and output. */
function runMain(env: Record<string, string>): Promise<ExitedZcloud> {
  return runZcloudToExit({ env });
}

describe('start-up, configuration and the data file', () => {
  afterEach(() => killStartedProcesses());

  it('answers /healthz and /readyz without a token', async () => {
    const zcloud = await startTestZcloud();
    try {
      expect((await zcloud.request('GET', '/healthz')).status).to.equal(200);
      const ready = await zcloud.request('GET', '/readyz');
      expect(ready.status).to.equal(200);
      expect(ready.body).to.deep.equal({ status: 'ready' });
    } finally {
      await zcloud.close();
    }
  });

  it('keeps users and tokens across a restart', async () => {
    const dataDir = tempDir();
    const first = await startTestZcloud({ dataDir });
    const admin = await first.adminToken();
    await first.request('POST', `${API}/users`, { token: admin, body: { name: 'judy', password: sha1('judy-pw'), projects: [{ cluster: 'c', namespace: 'n' }] } });
    await first.close();
    const second = await startTestZcloud({ dataDir });
    try {
      const judy = await second.login('judy', sha1('judy-pw'));
      const res = await second.request('GET', `${API}/users/judy`, { token: judy });
      expect(res.body.projects).to.deep.equal([{ cluster: 'c', namespace: 'n' }]);
      expect((await second.request('GET', `${API}/users`, { token: admin })).status).to.equal(200);
    } finally {
      await second.close();
    }
  });

  it('generates a random signing key per data dir, kept with mode 0600', async () => {
    const a = await startTestZcloud();
    const b = await startTestZcloud();
    try {
      const keyFile = path.join(a.dataDir, 'jwt-signing.key');
      expect(statSync(keyFile).mode & 0o777).to.equal(0o600);
      expect(readFileSync(keyFile, 'utf8')).to.not.equal(readFileSync(path.join(b.dataDir, 'jwt-signing.key'), 'utf8'));
      const tokenOfA = await a.adminToken();
      expect((await b.request('GET', `${API}/users`, { token: tokenOfA })).status).to.equal(401);
    } finally {
      await a.close();
      await b.close();
    }
  });

  it('starts despite an empty signing key file and a temp key file left by a killed first start', async () => {
    const dataDir = tempDir();
    // What an older zcloud killed mid-write left (in place, empty), and what a kill between
    // writing and renaming the temp file leaves now.
    writeFileSync(path.join(dataDir, 'jwt-signing.key'), '');
    writeFileSync(path.join(dataDir, '.jwt-signing.key.tmp-7-0badc0de'), 'c2hvcnQ');
    const zcloud = await startTestZcloud({ dataDir });
    try {
      const keyFile = path.join(dataDir, 'jwt-signing.key');
      expect(Buffer.from(readFileSync(keyFile, 'utf8'), 'base64')).to.have.length(32);
      expect(statSync(keyFile).mode & 0o777).to.equal(0o600);
      expect(readdirSync(dataDir).filter((name) => name.includes('.tmp-'))).to.deep.equal([]);
      await zcloud.adminToken();
    } finally {
      await zcloud.close();
    }
  });

  it('starts after a kill -9 in the middle of the first start, while the key is being written', async () => {
    const dataDir = tempDir();
    const child = startZcloudProcess({ env: { ZCLOUD_DATA_DIR: dataDir } });
    // The first sign of the key (its temp file, or the file itself) triggers the kill.
    const keySeen = new Promise<void>((resolve) => {
      const watcher = watch(dataDir, (_event, name) => {
        if (name?.includes('jwt-signing.key')) {
          watcher.close();
          resolve();
        }
      });
    });
    // A start that fails before writing the key fails the test with its stderr instead of hanging.
    await Promise.race([keySeen, child.then(() => keySeen)]);
    const pid = readFileSync(path.join(dataDir, 'zcloud.lock'), 'utf8');
    process.kill(JSON.parse(pid).pid, 'SIGKILL');
    await child.then(
      () => undefined,
      (err: unknown) => expect((err as Error).message).to.match(/exited/),
    );
    const zcloud = await startZcloudProcess({ env: { ZCLOUD_DATA_DIR: dataDir } });
    expect((await fetch(`${zcloud.url}/readyz`)).status).to.equal(200);
    expect(Buffer.from(readFileSync(path.join(dataDir, 'jwt-signing.key'), 'utf8'), 'base64')).to.have.length(32);
    await zcloud.stop();
  });

  it('refuses to start on a corrupt data file and leaves it untouched', async () => {
    const dataDir = tempDir();
    const file = path.join(dataDir, 'zcloud.json');
    writeFileSync(file, '{"version":1,"collections":{"users":{');
    let error: unknown;
    await startTestZcloud({ dataDir }).catch((err: unknown) => (error = err));
    expect(error).to.be.instanceOf(StoreCorruptError);
    expect((error as Error).message).to.include(file);
    expect(readFileSync(file, 'utf8')).to.equal('{"version":1,"collections":{"users":{');
  });

  it('refuses a data file whose records do not validate, naming the record and field', async () => {
    const dataDir = tempDir();
    const bad = { version: 1, collections: { users: { kim: { name: 'kim', projects: [] } } } };
    writeFileSync(path.join(dataDir, 'zcloud.json'), JSON.stringify(bad));
    let error: unknown;
    await startTestZcloud({ dataDir }).catch((err: unknown) => (error = err));
    expect(error).to.be.instanceOf(StoreCorruptError);
    expect((error as Error).message).to.match(/users\/kim is invalid at credential/);
  });

  it('the process prints one clear line and exits 1 for a corrupt data file', async () => {
    const dataDir = tempDir();
    writeFileSync(path.join(dataDir, 'zcloud.json'), 'not json');
    const { code, stderr } = await runMain({ ZCLOUD_DATA_DIR: dataDir });
    expect(code).to.equal(1);
    expect(stderr.trim().split('\n')).to.have.length(1);
    expect(stderr).to.match(/^zcloud: data file .*zcloud\.json cannot be read/);
    expect(readFileSync(path.join(dataDir, 'zcloud.json'), 'utf8')).to.equal('not json');
  });

  it('the process prints one line naming the key for an invalid setting', async () => {
    const { code, stderr } = await runMain({ PORT: 'eighty', ZCLOUD_DATA_DIR: tempDir() });
    expect(code).to.equal(1);
    expect(stderr.trim().split('\n')).to.have.length(1);
    expect(stderr).to.match(/^zcloud: invalid configuration PORT: "eighty" is not valid/);
  });

  it('validates every key, including durations and those from a config file', () => {
    expect(() => loadConfig({ ZCLOUD_TOKEN_TTL: 'forever' })).to.throw(ConfigError, /ZCLOUD_TOKEN_TTL/);
    expect(() => loadConfig({ ZCLOUD_LOG_LEVEL: 'loud' })).to.throw(ConfigError, /ZCLOUD_LOG_LEVEL/);
    expect(() => loadConfig({ ZCLOUD_JWT_SECRET: 'c2hvcnQ=' })).to.throw(ConfigError, /ZCLOUD_JWT_SECRET/);
    expect(loadConfig({ ZCLOUD_TOKEN_TTL: '15m' }).tokenTtlMs).to.equal(900_000);
    const defaults = loadConfig({});
    expect(defaults.port).to.equal(8080);
    expect(defaults.tokenTtlMs).to.equal(86_400_000);
    expect(defaults.ospTokenTtlMs).to.equal(1_800_000);
    const file = path.join(tempDir(), 'zcloud.config.json');
    writeFileSync(file, JSON.stringify({ PORT: 9090, ZCLOUD_AUDIT_MAX_ENTRIES: 'many' }));
    expect(() => loadConfig({ ZCLOUD_CONFIG_FILE: file })).to.throw(ConfigError, /ZCLOUD_AUDIT_MAX_ENTRIES/);
    writeFileSync(file, JSON.stringify({ PORT: 9090 }));
    expect(loadConfig({ ZCLOUD_CONFIG_FILE: file }).port).to.equal(9090);
    expect(loadConfig({ ZCLOUD_CONFIG_FILE: file, PORT: '7070' }).port).to.equal(7070);
    writeFileSync(file, JSON.stringify({ PROT: 1 }));
    expect(() => loadConfig({ ZCLOUD_CONFIG_FILE: file })).to.throw(ConfigError, /PROT/);
  });

  it('refuses a second writer on the same data dir', async () => {
    const dataDir = tempDir();
    const zcloud = await startTestZcloud({ dataDir });
    try {
      const { code, stderr } = await runMain({ ZCLOUD_DATA_DIR: dataDir });
      expect(code).to.equal(1);
      expect(stderr).to.match(/is in use by process/);
    } finally {
      await zcloud.close();
    }
  });
});
