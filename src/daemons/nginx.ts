import { join } from 'node:path';
import { PORTS } from '../design/ports.ts';
import { bindAddresses, isMonitored, LOOPBACK, targetsOf } from './listeners.ts';
import { APP_SERVICE_NAME, appServesTls, hostCertificate, internalCaFile } from '../plan/internal-ca.ts';
import { header, listener, staged, type RunnableDaemon } from './types.ts';
import { BODY_TOO_LARGE, MAX_BODY_BYTES } from '../app/defaults.ts';

// nginx: serves the site's static files itself and proxies everything else to the app servers
// over keep-alive connections.

const SYSTEM_USER = 'www-data';
/** Shorter than the app's keep-alive timeout (see app.ts). */
const UPSTREAM_IDLE_S = 60;

export const nginx: RunnableDaemon = {
  name: 'nginx',
  title: 'nginx, the web server',
  programs: { nginx: 'nginx-light', curl: 'curl' },
  // With TLS end to end, nginx also takes the load balancers' HTTPS.
  listens: (role, _roles, { endToEnd }) => (role === 'web' ? [listener('nginx', role, PORTS.http, 'entry'), ...(endToEnd ? [listener('nginx', role, PORTS.https, 'entry')] : [])] : []),
  runsOn: (host) => host.roles.includes('web'),
  after: ['app'],
  render(context) {
    const { paths, host, design, install } = context;
    const binds = bindAddresses(design, host, 'web').filter((a) => a !== '127.0.0.1');
    const listen = binds.length > 0 ? binds : Object.values(host.addresses);
    const apps = targetsOf(design, host.name, 'app');
    const appTls = apps.length > 0 && apps.every((a) => appServesTls(design, a.host));
    const staticDir = join(paths.run, 'static');
    const temp = join(paths.run, 'tmp');
    const names = design.records.map((r) => r.fqdn);
    const fromLbs = design.flows.filter((f) => f.to === host.name && f.purpose === 'proxy' && f.port === PORTS.https && f.network !== null).map((f) => host.addresses[f.network!]!);
    const tlsBehind = fromLbs.length > 0 ? { addresses: [...new Set(fromLbs)], ...hostCertificate(context.stackPaths, host.name) } : null;
    const monitored = isMonitored(design, host.name);
    const logTo = targetsOf(design, host.name, 'logs');
    const publicAddresses = design.networks.filter((n) => n.exposure === 'public' && host.addresses[n.name]).map((n) => host.addresses[n.name]!);
    const config = `${header('#', context, 'nginx')}
daemon off;
master_process on;
worker_processes 2;
user ${SYSTEM_USER};
pid ${join(paths.run, 'nginx.pid')};
error_log stderr warn;

events {
    worker_connections 1024;
}

http {
    include /etc/nginx/mime.types;
    default_type application/octet-stream;
    # The load balancer's request id, or one of nginx's own when nothing is in front.
    map $http_x_request_id $webstack_request_id {
        "" $request_id;
        default $http_x_request_id;
    }
    # The load balancers' health checks every half second would bury the stack's log in one place.
    map $uri $webstack_loggable {
${[...new Set(['/healthz', design.policies.healthChecks.path])].map((p) => `        ${p} 0;`).join('\n')}
        default 1;
    }
    log_format webstack '$remote_addr "$request" $status $body_bytes_sent ${'${request_time}'}s upstream=$upstream_addr ${'${upstream_response_time}'}s forwarded-for="$http_x_forwarded_for" request_id=$webstack_request_id';
    access_log /dev/stdout webstack;${logTo.map((t) => `\n    access_log syslog:server=${t.address}:${PORTS.syslog},tag=nginx,nohostname webstack if=$webstack_loggable;`).join('')}
    server_tokens off;
    sendfile on;
    # The app's own limit: a larger body is refused here, before it crosses the network, in the app's words (JSON).
    client_max_body_size ${MAX_BODY_BYTES};
    keepalive_timeout 65s;

    client_body_temp_path ${temp}/client_body;
    proxy_temp_path ${temp}/proxy;
    fastcgi_temp_path ${temp}/fastcgi;
    uwsgi_temp_path ${temp}/uwsgi;
    scgi_temp_path ${temp}/scgi;

    upstream foobar_app {
${apps.map((a) => `        server ${a.address}:${design.app.port}${context.rollout.drained.includes(a.host) ? ' down' : ''};${context.rollout.drained.includes(a.host) ? ` # ${a.host}: drained by deploy while it restarts` : ''}`).join('\n')}
        keepalive 32;
        keepalive_timeout ${UPSTREAM_IDLE_S}s;
    }

    # The user's scheme: as the load balancer says it when one is in front, else nginx's own.
    map $http_x_forwarded_proto $forwarded_proto {
        default $scheme;
        https https;
    }

    # On a public address the app's health says whether it can serve, and no more: which
    # databases it reads and writes, and their lag, are for the private side.
    map $server_addr $health_detail {
        default full;
${publicAddresses.map((a) => `        ${a} none;`).join('\n')}
    }

${
  monitored
    ? `    # Connections and requests, for the nginx exporter beside it: loopback only.
    server {
        listen ${LOOPBACK}:${PORTS.nginxStatus};
        access_log off;
        location = /stub_status {
            stub_status;
        }
    }

`
    : ''
}    server {
${listen.map((a) => `        listen ${a}:${PORTS.http} default_server;`).join('\n')}${
  tlsBehind
    ? `
        # TLS end to end: the load balancers come over HTTPS, to this host's certificate from the stack's CA.
${tlsBehind.addresses.map((a) => `        listen ${a}:${PORTS.https} ssl default_server;`).join('\n')}
        ssl_certificate ${tlsBehind.cert};
        ssl_certificate_key ${tlsBehind.key};
        ssl_protocols TLSv1.2 TLSv1.3;`
    : ''
}
        server_name ${names.length > 0 ? names.join(' ') : design.domain};

        error_page 413 @body_too_large;
        location @body_too_large {
            default_type application/json;
            return 413 '${JSON.stringify(BODY_TOO_LARGE)}';
        }

        # Static files come from disk, never from the app.
        location /static/ {
            alias ${staticDir}/;
            expires 1h;
        }

        # The app's metrics are for the monitoring hosts, which scrape it directly.
        location = /metrics {
            return 404;
        }

        location / {
            proxy_pass ${appTls ? 'https' : 'http'}://foobar_app;${
  appTls
    ? `
            # TLS end to end: the app servers are verified against the stack's CA, by their service name.
            proxy_ssl_verify on;
            proxy_ssl_trusted_certificate ${internalCaFile(context.stackPaths)};
            proxy_ssl_name ${APP_SERVICE_NAME};
            proxy_ssl_protocols TLSv1.2 TLSv1.3;
            proxy_ssl_session_reuse on;`
    : ''
}
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header Host $host;
            proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
            proxy_set_header X-Forwarded-Proto $forwarded_proto;
            proxy_set_header X-Request-ID $webstack_request_id;
            proxy_set_header X-Webstack-Health $health_detail;
            proxy_connect_timeout 2s;
            proxy_read_timeout 10s;
        }
    }
}
`;
    const configFile = join(paths.config, 'nginx.conf');
    return {
      daemon: 'nginx',
      host: host.name,
      namespace: host.namespace,
      after: nginx.after,
      command: ['nginx', '-e', 'stderr', '-c', configFile],
      files: [{ path: configFile, content: config, mode: 0o644 }],
      // nginx -t opens the access log, /dev/stdout, which must be a file or a pipe (not a socket).
      validate: [['sh', '-c', 'exec nginx -t -q -e stderr -c "$1" >/dev/null', 'nginx -t', staged(configFile)]],
      // The master re-reads its config and replaces its workers; open connections finish.
      reload: { signal: 'SIGHUP' },
      dirs: [{ path: paths.run }, { path: temp, owner: SYSTEM_USER }],
      copies: [{ from: join(install.repoRoot, 'src/app/public'), to: staticDir }],
      readiness: { kind: 'http', url: `http://${listen[0]}:${PORTS.http}/static/style.css` },
      readinessTimeoutMs: 10_000,
      log: paths.log,
    };
  },
};
