import { useState } from 'preact/hooks';
import { CopyButton } from './copy-button';

/** Ready-to-paste configurations for the clients people use, with the new key filled in. */
export function clientConfigs(mcpUrl: string, apiKey: string): { id: string; title: string; text: string }[] {
  const header = { Authorization: `Bearer ${apiKey}` };
  return [
    { id: 'claude-json', title: 'Claude Code (.mcp.json)', text: JSON.stringify({ mcpServers: { 'stock-data': { type: 'http', url: mcpUrl, headers: header } } }, null, 2) },
    { id: 'claude-cli', title: 'Claude Code (command)', text: `claude mcp add --transport http stock-data ${mcpUrl} --header "Authorization: Bearer ${apiKey}"` },
    { id: 'cursor', title: 'Cursor (~/.cursor/mcp.json)', text: JSON.stringify({ mcpServers: { 'stock-data': { url: mcpUrl, headers: header } } }, null, 2) },
    {
      id: 'sdk',
      title: 'TypeScript SDK',
      text: [
        `const client = new Client({ name: 'my-app', version: '1.0.0' });`,
        `await client.connect(new StreamableHTTPClientTransport(new URL('${mcpUrl}'), {`,
        `  requestInit: { headers: { Authorization: 'Bearer ${apiKey}' } },`,
        `}));`,
      ].join('\n'),
    },
    {
      id: 'curl',
      title: 'Check it (curl)',
      text: `curl -s -X POST ${mcpUrl} -H "Content-Type: application/json" -H "Authorization: Bearer ${apiKey}" -d '{"jsonrpc":"2.0","id":1,"method":"tools/list","params":{}}'`,
    },
  ];
}

export function ClientConfigs({ mcpUrl, apiKey }: { mcpUrl: string; apiKey: string }) {
  const configs = clientConfigs(mcpUrl, apiKey);
  const [shown, setShown] = useState(configs[0].id);
  const config = configs.find((candidate) => candidate.id === shown) ?? configs[0];
  return (
    <section aria-label="Client configurations">
      <div role="tablist" class="tabs">
        {configs.map((candidate) => (
          <button type="button" role="tab" key={candidate.id} aria-selected={candidate.id === shown} onClick={() => setShown(candidate.id)}>
            {candidate.title}
          </button>
        ))}
      </div>
      <div role="tabpanel" class="config">
        <pre data-config={config.id}>{config.text}</pre>
        <CopyButton text={config.text} label={`Copy ${config.title}`} />
      </div>
    </section>
  );
}
