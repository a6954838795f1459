import { ConfigError, durationToSeconds, loadAppConfig } from './app-config.js';

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

  it('should size the market data cache at 64 MiB checked every second by default, 0 turning it off', () => {
    expect(loadAppConfig(base).marketCache).toEqual({ maxBytes: 67_108_864, checkMs: 1000 });
    expect(loadAppConfig({ ...base, MARKET_CACHE_MAX_BYTES: '0', MARKET_CACHE_CHECK_MS: '250' }).marketCache).toEqual({ maxBytes: 0, checkMs: 250 });
    expect(() => loadAppConfig({ ...base, MARKET_CACHE_MAX_BYTES: '-1' })).toThrow('MARKET_CACHE_MAX_BYTES');
    expect(() => loadAppConfig({ ...base, MARKET_CACHE_CHECK_MS: '10' })).toThrow('MARKET_CACHE_CHECK_MS');
  });
});
