import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, loadAppConfig } from './app-config.js';
import { durationToSeconds } from './settings.js';

const base = { CLICKHOUSE_URL: 'http://127.0.0.1:8123' };

describe('loadAppConfig', () => {
  it('should apply the documented defaults', () => {
    const config = loadAppConfig(base);
    expect(config.http.port).toBe(8000);
    expect(config.mcp.port).toBe(8001);
    expect(config.clickhouse).toMatchObject({ urls: ['http://127.0.0.1:8123'], database: 'stock_mcp', username: 'default', password: '' });
    expect(config.jwt.expiresInSeconds).toBe(86_400);
    expect(config.jwt.secretWasGenerated).toBe(true);
    expect(config.jwt.secret).toHaveLength(64);
  });

  it('should read and convert every variable', () => {
    const config = loadAppConfig({ ...base, HTTP_PORT: '9000', MCP_PORT: '9001', CLICKHOUSE_DATABASE: 'other', JWT_EXPIRES_IN: '12h', JWT_SECRET: 's'.repeat(32), DEMO_DATA: 'false' });
    expect(config.http.port).toBe(9000);
    expect(config.mcp.port).toBe(9001);
    expect(config.clickhouse.database).toBe('other');
    expect(config.jwt).toEqual({ secret: 's'.repeat(32), secretWasGenerated: false, expiresInSeconds: 43_200 });
    expect(config.demoData).toBe(false);
  });

  it('should name every bad variable', () => {
    let error: ConfigError | undefined;
    try {
      loadAppConfig({ HTTP_PORT: 'eighty', CLICKHOUSE_DATABASE: 'bad-name; DROP', JWT_EXPIRES_IN: 'forever' });
    } catch (caught) {
      error = caught as ConfigError;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const text = error!.message;
    expect(text).toContain('HTTP_PORT');
    expect(text).toContain('CLICKHOUSE_DATABASE must be a plain identifier');
    expect(text).toContain('JWT_EXPIRES_IN must be a duration');
    expect(text).toContain('CLICKHOUSE_URL');
  });

  it('should take replicas as a comma-separated CLICKHOUSE_URL, in order, and refuse any entry that is not an http(s) URL', () => {
    expect(loadAppConfig({ CLICKHOUSE_URL: 'http://ch1:8123, https://ch2:8443 ,' }).clickhouse.urls).toEqual(['http://ch1:8123', 'https://ch2:8443']);
    expect(loadAppConfig(base).clickhouse.urls).toEqual(['http://127.0.0.1:8123']);
    expect(loadAppConfig({ CLICKHOUSE_URL: 'http://clickhouse_1:8123' }).clickhouse.urls).toEqual(['http://clickhouse_1:8123']);
    expect(loadAppConfig({ ...base, METERING_REDIS_URL: 'redis://redis_primary:6379/0' }).metering.redis?.url).toBe('redis://redis_primary:6379/0');
    for (const bad of ['http://ch1:8123,ftp://ch2', 'ch1:8123', ' , ']) {
      expect(() => loadAppConfig({ CLICKHOUSE_URL: bad })).toThrow(/CLICKHOUSE_URL must be an http\(s\) URL such as http:\/\/127\.0\.0\.1:8123, or several separated by commas/);
    }
  });

  it('should require a JWT_SECRET of 32+ characters in production', () => {
    expect(() => loadAppConfig({ ...base, NODE_ENV: 'production' })).toThrow(/JWT_SECRET is required when NODE_ENV=production/);
    expect(() => loadAppConfig({ ...base, JWT_SECRET: 'short' })).toThrow(/JWT_SECRET must be at least 32 characters/);
  });

  it('should seed demo data by default except in production', () => {
    expect(loadAppConfig(base).demoData).toBe(true);
    expect(loadAppConfig({ ...base, NODE_ENV: 'production', JWT_SECRET: 's'.repeat(32) }).demoData).toBe(false);
    expect(loadAppConfig({ ...base, NODE_ENV: 'production', JWT_SECRET: 's'.repeat(32), DEMO_DATA: 'true' }).demoData).toBe(true);
  });

  it('should compile TRUST_PROXY the way Express reads trust proxy', () => {
    const trust = (setting: string) => loadAppConfig({ ...base, TRUST_PROXY: setting }).http.trustProxy;
    expect(trust('false')('127.0.0.1', 0)).toBe(false);
    expect(trust('true')('203.0.113.1', 5)).toBe(true);
    expect([trust('2')('x', 1), trust('2')('x', 2)]).toEqual([true, false]);
    expect([trust('loopback')('127.0.0.1', 0), trust('loopback')('203.0.113.1', 0)]).toEqual([true, false]);
    expect([trust('10.0.0.0/8, 192.168.1.1')('10.2.3.4', 0), trust('10.0.0.0/8, 192.168.1.1')('192.168.1.2', 0)]).toEqual([true, false]);
    expect(() => loadAppConfig({ ...base, TRUST_PROXY: 'not-an-address' })).toThrow(/TRUST_PROXY must be false, true, a hop count/);
  });

  it('should accept AUTH_ADMIN_EMAILS and ADMIN_EMAILS but only note which are set, to warn that they are ignored', () => {
    const ignored = (env: Record<string, string>) => loadAppConfig({ ...base, ...env }).ignoredAdminEmailVariables;
    expect(ignored({})).toEqual([]);
    expect(ignored({ ADMIN_EMAILS: ' , ' })).toEqual([]);
    expect(ignored({ ADMIN_EMAILS: 'root@example.com' })).toEqual(['ADMIN_EMAILS']);
    expect(ignored({ AUTH_ADMIN_EMAILS: 'root@example.com', ADMIN_EMAILS: 'ops@example.com' })).toEqual(['AUTH_ADMIN_EMAILS', 'ADMIN_EMAILS']);
  });

  it('should name each setting out of its bounds with the bounds, and each unparseable one with what it takes', () => {
    const problems = (env: Record<string, string>) => {
      try {
        loadAppConfig({ ...base, ...env });
      } catch (error) {
        return (error as ConfigError).problems;
      }
      return [];
    };
    expect(problems({ HTTP_PORT: '70000', MCP_CALLS_PER_KEY: '0', QUOTA_USER_CALLS_PER_DAY: '-1' })).toEqual([
      'HTTP_PORT must be at most 65535',
      'MCP_CALLS_PER_KEY must be at least 1',
      'QUOTA_USER_CALLS_PER_DAY must be at least 0',
    ]);
    expect(problems({ MCP_PORT: '80.5', HEALTH_DETAILS: 'maybe', PASSWORD_HASH: 'md5', MCP_TOOL_SETS: 'stock,all' })).toEqual([
      'HEALTH_DETAILS must be true or false',
      'PASSWORD_HASH must be one of: bcrypt, argon2id',
      'MCP_PORT must be a whole number from 0 to 65535',
      'MCP_TOOL_SETS must list tool sets from: stock, tushare (comma-separated)',
    ]);
    expect(problems({ HTTP_PORT: ' 9000 ', HEALTH_DETAILS: 'YES', UNKNOWN_SETTING: 'x' })).toEqual([]);
  });

  it('should read each quota kind from QUOTA_KEY_* and QUOTA_USER_*', () => {
    const { keyQuotas, userQuotas } = loadAppConfig({ ...base, QUOTA_KEY_RECORDS_PER_MONTH: '500', QUOTA_USER_CALLS_PER_DAY: '7' }).metering;
    expect([keyQuotas, userQuotas]).toEqual([
      { records_per_day: 0, records_per_month: 500, calls_per_day: 0 },
      { records_per_day: 0, records_per_month: 0, calls_per_day: 7 },
    ]);
  });

  it('should size the market data cache at 64 MiB checked every second by default, 0 turning it off', () => {
    expect(loadAppConfig(base).marketCache).toEqual({ maxBytes: 67_108_864, checkMs: 1000 });
    expect(loadAppConfig({ ...base, MARKET_CACHE_MAX_BYTES: '0', MARKET_CACHE_CHECK_MS: '250' }).marketCache).toEqual({ maxBytes: 0, checkMs: 250 });
    expect(() => loadAppConfig({ ...base, MARKET_CACHE_MAX_BYTES: '-1' })).toThrow('MARKET_CACHE_MAX_BYTES');
    expect(() => loadAppConfig({ ...base, MARKET_CACHE_CHECK_MS: '10' })).toThrow('MARKET_CACHE_CHECK_MS');
  });

  it('should convert durations to seconds', () => {
    expect(durationToSeconds('3600')).toBe(3600);
    expect(durationToSeconds('30m')).toBe(1800);
    expect(durationToSeconds('1d')).toBe(86_400);
  });

  it('should take a METRICS_TOKEN of 16+ characters, empty meaning unset', () => {
    expect(loadAppConfig(base).metrics.token).toBeUndefined();
    expect(loadAppConfig({ ...base, METRICS_TOKEN: '' }).metrics.token).toBeUndefined();
    expect(loadAppConfig({ ...base, METRICS_TOKEN: 'm'.repeat(16) }).metrics.token).toBe('m'.repeat(16));
    expect(() => loadAppConfig({ ...base, METRICS_TOKEN: 'm'.repeat(15) })).toThrow('METRICS_TOKEN must be at least 16 characters');
  });

  describe('the management platform (MCP_JWT_PUBLIC_KEY_PATH, MCP_USAGE_REPORT_KEY)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'platform-key-'));
    const pemOf = (type: 'rsa' | 'ec') =>
      (type === 'rsa' ? generateKeyPairSync('rsa', { modulusLength: 2048 }) : generateKeyPairSync('ec', { namedCurve: 'P-256' })).publicKey.export({ type: 'spki', format: 'pem' }).toString();
    const write = (name: string, text: string) => {
      writeFileSync(join(dir, name), text);
      return join(dir, name);
    };
    afterAll(() => rmSync(dir, { recursive: true, force: true }));

    it('should leave both unset by default: platform tokens refused, no usage report', () => {
      expect(loadAppConfig(base).platform).toEqual({ publicKey: undefined, reportKey: undefined });
    });

    it('should load an RSA public key from the PEM file', () => {
      const pem = pemOf('rsa');
      const key = loadAppConfig({ ...base, MCP_JWT_PUBLIC_KEY_PATH: write('rsa.pem', pem) }).platform.publicKey;
      expect(key?.asymmetricKeyType).toBe('rsa');
      expect(key?.export({ type: 'spki', format: 'pem' })).toBe(pem);
    });

    it('should refuse to start with a path that is unreadable, holds no PEM key, or holds a key that is not RSA', () => {
      const missing = join(dir, 'missing.pem');
      expect(() => loadAppConfig({ ...base, MCP_JWT_PUBLIC_KEY_PATH: missing })).toThrow(`MCP_JWT_PUBLIC_KEY_PATH names ${missing}, which is not a readable PEM public key`);
      const junk = write('junk.pem', 'not a key');
      expect(() => loadAppConfig({ ...base, MCP_JWT_PUBLIC_KEY_PATH: junk })).toThrow(`MCP_JWT_PUBLIC_KEY_PATH names ${junk}, which is not a readable PEM public key`);
      const ec = write('ec.pem', pemOf('ec'));
      expect(() => loadAppConfig({ ...base, MCP_JWT_PUBLIC_KEY_PATH: ec })).toThrow(`MCP_JWT_PUBLIC_KEY_PATH names ${ec}, which holds a ec key; the management platform signs with RS256, so it must be an RSA public key`);
    });

    it('should take a report key of 16+ characters', () => {
      expect(loadAppConfig({ ...base, MCP_USAGE_REPORT_KEY: 'r'.repeat(16) }).platform.reportKey).toBe('r'.repeat(16));
      expect(() => loadAppConfig({ ...base, MCP_USAGE_REPORT_KEY: 'r'.repeat(15) })).toThrow('MCP_USAGE_REPORT_KEY must be at least 16 characters');
    });
  });
});
