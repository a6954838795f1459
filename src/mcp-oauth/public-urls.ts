import type { IncomingMessage } from 'node:http';
import { Inject, Injectable } from '@nestjs/common';
import type { AppConfig } from '../config/app-config.js';
import { APP_CONFIG } from '../config/config.module.js';

/** A Host header worth echoing into a URL: a name or an address, and maybe a port; nothing else. */
const HOST_PATTERN = /^(?:[a-z0-9-]+(?:\.[a-z0-9-]+)*|\[[0-9a-f:.]+\])(?::\d{1,5})?$/i;
const FALLBACK_HOST = 'localhost';
export const MCP_ENDPOINT_PATH = '/messages';
export const PROTECTED_RESOURCE_METADATA_PATH = '/.well-known/oauth-protected-resource';

/**
 * The public URLs OAuth metadata names: the REST API (the issuer) and the MCP endpoint (the
 * protected resource). PUBLIC_API_URL and PUBLIC_MCP_URL when set (behind a proxy or TLS, set
 * them); otherwise the host the client itself used (its Host header), so a client that reached
 * http://host:8001 is sent to http://host:8000 to sign in.
 */
@Injectable()
export class PublicUrls {
  private ports: { api: number; mcp: number };

  constructor(@Inject(APP_CONFIG) private readonly config: AppConfig) {
    this.ports = { api: config.http.port, mcp: config.mcp.port };
  }

  /** The ports the listeners really got (HTTP_PORT=0 and MCP_PORT=0 pick free ones). */
  setListeningPorts(api: number, mcp: number): void {
    this.ports = { api, mcp };
  }

  /** The issuer, without a trailing slash. */
  apiBase(req: IncomingMessage): string {
    return this.config.oauth.publicApiUrl ?? `http://${this.hostFor(req, this.ports.api)}`;
  }

  mcpEndpoint(req: IncomingMessage): string {
    return this.config.oauth.publicMcpUrl ?? `http://${this.hostFor(req, this.ports.mcp)}${MCP_ENDPOINT_PATH}`;
  }

  /**
   * Whether `resource` (RFC 8707) names this server's MCP endpoint, the canonical URI the
   * protected-resource metadata advertises: scheme and host case, a default port and an empty
   * path do not matter; a fragment or user info is never this server. Without PUBLIC_MCP_URL the
   * port is not compared either: a request to one listener cannot tell the port a client reaches
   * the other one through (Docker's -p may map it).
   */
  isMcpResource(resource: string, req: IncomingMessage): boolean {
    return this.isSameMcpResource(resource, this.mcpEndpoint(req));
  }

  /**
   * Whether two resources name one MCP endpoint, by the rules of isMcpResource: so a sign-in for
   * http://h/messages may be redeemed or refreshed naming http://h:<MCP port>/messages.
   */
  isSameMcpResource(resource: string, other: string): boolean {
    const named = this.comparable(resource);
    return named !== undefined && named === this.comparable(other);
  }

  /** `resource` in the form resources are compared in; undefined when it can name no endpoint of this server. */
  private comparable(resource: string): string | undefined {
    if (!URL.canParse(resource) || resource.includes('#')) return undefined;
    const url = new URL(resource);
    if (url.username !== '' || url.password !== '') return undefined;
    if (this.config.oauth.publicMcpUrl === undefined) url.port = '';
    return url.href;
  }

  /**
   * The Host the client used when it reached this very listener (its port may be a mapped one,
   * as behind Docker's -p); for the other listener, that host's name with the other's port.
   */
  private hostFor(req: IncomingMessage, port: number): string {
    const host = req.headers.host ?? '';
    if (!HOST_PATTERN.test(host)) return `${FALLBACK_HOST}:${port}`;
    return req.socket.localPort === port ? host.toLowerCase() : `${host.replace(/:\d+$/, '').toLowerCase()}:${port}`;
  }

  /** RFC 9728 protected-resource metadata: where MCP clients learn to sign in. */
  resourceMetadata(req: IncomingMessage): Record<string, unknown> {
    const api = this.apiBase(req);
    return {
      resource: this.mcpEndpoint(req),
      authorization_servers: [api],
      bearer_methods_supported: ['header'],
      resource_name: 'Stock data MCP',
      resource_documentation: `${api}/docs`,
    };
  }

  /** RFC 9728 §3.1: the well-known path followed by the resource's own path. */
  protectedResourceMetadata(req: IncomingMessage): string {
    const resource = new URL(this.mcpEndpoint(req));
    return `${resource.origin}${PROTECTED_RESOURCE_METADATA_PATH}${resource.pathname === '/' ? '' : resource.pathname}`;
  }
}
