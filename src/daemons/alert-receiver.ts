import { join } from 'node:path';
import { PORTS } from '../design/ports.ts';
import { programCommand } from '../entry.ts';
import { LOOPBACK } from './listeners.ts';
import type { RunnableDaemon } from './types.ts';

// The lab's webhook receiver on every monitoring host of a stack that alerts (src/alerts/). It
// listens on loopback only, for the Alertmanager beside it, so it declares no listener: nothing
// else reaches it, and `check` and the firewall have nothing to say about it.

export const alertReceiver: RunnableDaemon = {
  name: 'alert-receiver',
  title: "the lab's receiver of alert notifications",
  programs: {},
  listens: () => [],
  runsOn: (host, design) => design.policies.monitoring.alerting && host.roles.includes('monitoring'),
  after: [],
  render(context) {
    const { paths, host, install, stackPaths } = context;
    const configFile = join(paths.config, 'receiver.json');
    const config = { host: host.name, address: LOOPBACK, port: PORTS.alertReceiver, file: stackPaths.alerts };
    return {
      daemon: 'alert-receiver',
      host: host.name,
      namespace: host.namespace,
      after: alertReceiver.after,
      command: [...programCommand(install.node, install.repoRoot, 'alerts/receiver-main', install.compiled), configFile],
      cwd: install.repoRoot,
      files: [{ path: configFile, content: JSON.stringify(config, null, 2) + '\n', mode: 0o644 }],
      dirs: [],
      copies: [],
      readiness: { kind: 'http', url: `http://${LOOPBACK}:${PORTS.alertReceiver}/healthz` },
      readinessTimeoutMs: 15_000,
      log: paths.log,
    };
  },
};
