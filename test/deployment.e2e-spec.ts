import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { CORE_SCHEMA, load, mergeTag } from 'js-yaml';
import { HAPROXY_CONFIG, hasHaproxy } from '../scripts/lib/local-haproxy.mjs';
import { itNeeding } from './support/required-tools.js';

/**
 * The cluster profile (docker/cluster) cannot run here (no Docker engine), but its parts must fit
 * together: the HAProxy configuration the cluster test runs gets every variable it reads from the
 * compose file, the replicas' cluster is the one the gateways name, and so on.
 */
const clusterDir = new URL('../docker/cluster/', import.meta.url);
const read = (name: string) => readFileSync(new URL(name, clusterDir), 'utf8');

interface Network {
  ipam: { config: { subnet: string }[] };
}
interface Service {
  environment?: Record<string, string>;
  volumes?: string[];
  hostname?: string;
  command?: string[];
}
// Compose reads YAML merge keys (`<<: *gateway`).
const compose = load(read('compose.yml'), { schema: CORE_SCHEMA.withTags(mergeTag) }) as { services: Record<string, Service>; networks: Record<string, Network> };
const { services } = compose;
const haproxyConfig = readFileSync(HAPROXY_CONFIG, 'utf8');
const replicaXml = read('clickhouse-replica.xml');
const keeperXml = read('keeper.xml');

/** The values of every `<tag>` in a small configuration file. */
const valuesOf = (xml: string, tag: string) => [...xml.matchAll(new RegExp(`<${tag}>([^<]*)</${tag}>`, 'g'))].map((match) => match[1]);

describe('Deployment files of the cluster profile (docker/cluster)', () => {
  it('should give HAProxy every variable its configuration reads, and no other', () => {
    const used = new Set([...haproxyConfig.matchAll(/\$\{([A-Z0-9_]+)\}/g)].map((match) => match[1]));
    expect(Object.keys(services.haproxy.environment ?? {}).sort()).toEqual([...used].sort());
    expect(used.size).toBe(13);
  });

  it('should point HAProxy at the compose services and the ports they listen on', () => {
    const env = services.haproxy.environment ?? {};
    expect([env.GATEWAY1_HOST, env.GATEWAY2_HOST, env.REPLICA1_HOST, env.REPLICA2_HOST]).toEqual(['gateway1', 'gateway2', 'clickhouse1', 'clickhouse2']);
    expect([env.GATEWAY1_REST_PORT, env.GATEWAY1_MCP_PORT, env.REPLICA1_HTTP_PORT]).toEqual(['8000', '8001', '8123']);
    for (const host of [env.GATEWAY1_HOST, env.GATEWAY2_HOST, env.REPLICA1_HOST, env.REPLICA2_HOST]) expect(services[host]).toBeDefined();
  });

  itNeeding({ haproxy: hasHaproxy() }, "scripts/ensure-cluster-tools.sh installs Debian's package")('should be a configuration HAProxy accepts with the compose environment', () => {
    const check = spawnSync('haproxy', ['-c', '-f', HAPROXY_CONFIG], { env: { ...process.env, ...services.haproxy.environment }, encoding: 'utf8' });
    // The compose host names do not resolve here: HAProxy warns and starts anyway (init-addr none).
    expect(`${check.stdout}${check.stderr}`).toContain('Configuration file is valid');
    expect(check.status).toBe(0);
  });

  it('should name the same cluster in the replicas and the gateways, with each replica named as its host', () => {
    expect(replicaXml).toContain('<stock_cluster>');
    expect(valuesOf(replicaXml, 'host').sort()).toEqual(['clickhouse1', 'clickhouse2', 'keeper']);
    for (const name of ['clickhouse1', 'clickhouse2']) {
      expect(services[name].hostname).toBe(name);
      expect(services[name].environment?.REPLICA_NAME).toBe(name);
      expect(services[name].volumes).toContain('./clickhouse-replica.xml:/etc/clickhouse-server/config.d/cluster.xml:ro');
    }
    for (const name of ['gateway1', 'gateway2']) expect(services[name].environment?.CLICKHOUSE_CLUSTER).toBe('stock_cluster');
  });

  it('should reach Keeper on the port it listens on', () => {
    expect(valuesOf(keeperXml, 'tcp_port')).toEqual(['9181']);
    expect(valuesOf(replicaXml, 'port')).toEqual(['9181', '9000', '9000']);
    expect(valuesOf(keeperXml, 'hostname')).toEqual(['keeper']);
  });

  it('should give each gateway its own usage spool, the same JWT secret, ClickHouse through HAProxy, and the client addresses HAProxy forwards', () => {
    const [one, two] = [services.gateway1, services.gateway2];
    expect(one.volumes).toEqual(['gateway1-spool:/app/.data/usage-spool']);
    expect(two.volumes).toEqual(['gateway2-spool:/app/.data/usage-spool']);
    expect(one.environment?.JWT_SECRET).toBe(two.environment?.JWT_SECRET);
    expect([one.environment?.CLICKHOUSE_URL, two.environment?.CLICKHOUSE_URL]).toEqual(['http://haproxy:8123', 'http://haproxy:8123']);
    // Per-address limits see each client: HAProxy replaces X-Forwarded-For, the gateways trust it.
    expect(haproxyConfig.match(/^\s*http-request set-header X-Forwarded-For %\[src\]$/gm)).toHaveLength(2);
    const subnet = compose.networks.default.ipam.config[0].subnet;
    expect([one.environment?.TRUST_PROXY, two.environment?.TRUST_PROXY]).toEqual([subnet, subnet]);
    // Rate limits and quotas counted once for both, in the profile's Redis, which must never evict a counter.
    expect([one.environment?.METERING_REDIS_URL, two.environment?.METERING_REDIS_URL]).toEqual(['redis://redis:6379/0', 'redis://redis:6379/0']);
    expect(services.redis.command).toEqual(expect.arrayContaining(['--maxmemory-policy', 'noeviction']));
    // Only one gateway may load the demo data.
    expect(two.environment?.DEMO_DATA).toBe('false');
  });
});
