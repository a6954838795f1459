// The built app with a clock the test moves: the entry point of dist/main.js, but startApp gets a
// clock that starts at TEST_CLOCK_START and is set by IPC messages { setClock: iso } (each acked).
import 'reflect-metadata';
import { startApp } from '../../dist/app.js';
import { loadAppConfig } from '../../dist/config/app-config.js';

let now = Date.parse(process.env.TEST_CLOCK_START);
const clock = { now: () => new Date(now) };
process.on('message', (message) => {
  now = Date.parse(message.setClock);
  process.send({ clockSet: message.setClock });
});
process.once('SIGTERM', () => void running.close().then(() => process.exit(0)));

const running = await startApp(loadAppConfig(), { clock });
console.log(JSON.stringify({ msg: 'listening', rest: running.restUrl, mcp: `${running.mcpUrl}/messages` }));
