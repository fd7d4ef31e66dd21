import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { repoRoot } from '../helpers.ts';
import { alive, expectOk, home, inHost, linksOf, namespacesOf, processesOf, removeStack, SKIP_LAB, webstack } from './lab-helpers.ts';

describe('the lab, on real namespaces and daemons', { skip: SKIP_LAB }, () => {
  test('a client resolves www, gets the page from nginx and the app, and posts survive down and up but not down --volumes', () => {
    const stack = 'it-simple';
    removeStack(stack);
    try {
      expectOk(webstack('up', 'simple', '--name', stack), 'up');

      const dig = expectOk(inHost(stack, 'client', 'dig', 'www.foobar.com'), 'dig');
      assert.match(dig.stdout, /flags: qr aa/, 'the answer is authoritative');
      assert.match(dig.stdout, /^www\.foobar\.com\.\s+300\s+IN\s+A\s+203\.0\.113\.10$/m);

      const page = expectOk(inHost(stack, 'client', 'curl', '-si', 'http://www.foobar.com/'), 'curl /');
      assert.match(page.stdout, /^HTTP\/1\.1 200/);
      assert.match(page.stdout, /^x-served-by: server-01\r?$/im);
      assert.match(page.stdout, /<title>foobar\.com<\/title>/);
      assert.match(page.stdout, /href="\/static\/style\.css"/);

      const css = expectOk(inHost(stack, 'client', 'curl', '-si', 'http://www.foobar.com/static/style.css'), 'curl style.css');
      assert.match(css.stdout, /^HTTP\/1\.1 200/);
      assert.match(css.stdout, /^Content-Type: text\/css/im);
      assert.doesNotMatch(css.stdout, /x-served-by/i, 'every response the app makes carries X-Served-By: this one came from nginx alone');
      assert.equal(readFileSync(join(repoRoot, 'src/app/public/style.css'), 'utf8'), css.stdout.split(/\r?\n\r?\n/).slice(1).join('\n\n'));

      const body = JSON.stringify({ author: 'it', body: `survives down ${Date.now()}` });
      const created = expectOk(inHost(stack, 'client', 'curl', '-s', '-w', '\n%{http_code}', '-H', 'content-type: application/json', '-d', body, 'http://www.foobar.com/api/posts'), 'POST');
      const [json, status] = created.stdout.trim().split('\n');
      assert.equal(status, '201');
      const post = JSON.parse(json!);
      assert.equal(typeof post.id, 'number');
      const listed = () => JSON.parse(expectOk(inHost(stack, 'client', 'curl', '-s', 'http://www.foobar.com/api/posts'), 'GET').stdout).posts as { id: number; body: string }[];
      assert.deepEqual(listed().map((p) => p.id), [post.id]);

      expectOk(webstack('down', stack), 'down');
      assert.deepEqual(namespacesOf(stack), []);
      expectOk(webstack('up', 'simple', '--name', stack), 'up again');
      assert.deepEqual(listed().map((p) => p.body), [JSON.parse(body).body], 'the post is still there after down and up');

      expectOk(webstack('down', stack, '--volumes'), 'down --volumes');
      assert.equal(existsSync(join(home, stack)), false);
      expectOk(webstack('up', 'simple', '--name', stack), 'up after --volumes');
      assert.deepEqual(listed(), [], 'the data went with --volumes');
    } finally {
      removeStack(stack);
    }
  });

  test('status --json describes every host, its addresses and its ready daemons', () => {
    const stack = 'it-status';
    removeStack(stack);
    try {
      expectOk(webstack('up', 'simple', '--name', stack), 'up');
      const status = JSON.parse(expectOk(webstack('status', '--stack', stack, '--json'), 'status').stdout);
      assert.equal(status.stack, stack);
      const server = status.hosts.find((h: { name: string }) => h.name === 'server-01');
      assert.deepEqual(server.roles, ['web', 'app', 'db-primary']);
      assert.deepEqual(server.addresses, { public: '203.0.113.10' });
      assert.deepEqual(server.daemons.map((d: { name: string; state: string }) => [d.name, d.state]), [['mariadb', 'ready'], ['app', 'ready'], ['nginx', 'ready']]);
      assert.ok(status.hosts.some((h: { name: string }) => h.name === 'client'));

      const exit = webstack('exec', 'server-01', '--stack', stack, '--', 'sh', '-c', 'exit 7');
      assert.equal(exit.code, 7, 'exec passes the exit status through');
      const logs = expectOk(webstack('logs', 'server-01', 'app', '--stack', stack), 'logs');
      assert.match(logs.stdout, /"msg":"listening"/);
      const ls = expectOk(webstack('ls'), 'ls');
      assert.match(ls.stdout, new RegExp(`^${stack}\\s+running`, 'm'));

      const again = expectOk(webstack('up', 'simple', '--name', stack), 'second up');
      assert.match(again.stdout, /already up/);
    } finally {
      removeStack(stack);
    }
  });

  test('down removes every namespace, link and process, also after up was killed half-way', async () => {
    const stack = 'it-killed';
    removeStack(stack);
    try {
      const child = spawn(process.execPath, [join(repoRoot, 'bin/webstack.js'), 'up', 'simple', '--name', stack], { cwd: repoRoot, stdio: 'ignore' });
      // Kill it once daemons have started running inside the namespaces, before it is done.
      const deadline = Date.now() + 60_000;
      while (Date.now() < deadline && !existsSync(join(home, stack, 'run', 'server-01', 'mariadb', 'mysqld.pid'))) await new Promise((r) => setTimeout(r, 50));
      child.kill('SIGKILL');
      await new Promise((r) => child.once('exit', r));
      const before = processesOf(stack);
      assert.ok(namespacesOf(stack).length > 0, 'up had created namespaces');
      assert.ok(before.length > 0, 'up had started processes');

      expectOk(webstack('down', stack), 'down after a killed up');
      assert.deepEqual(namespacesOf(stack), []);
      assert.deepEqual(linksOf(stack), []);
      assert.deepEqual(before.filter(alive), [], 'no process of the stack is left');
      assert.equal(existsSync(`/etc/netns/${stack}-client`), false);
    } finally {
      removeStack(stack);
    }
  });

  test('two stacks with different names run side by side, and overlapping ranges are refused', () => {
    const dir = mkdtempSync(join(tmpdir(), 'webstack-'));
    const other = join(dir, 'other.yaml');
    writeFileSync(other, readFileSync(join(repoRoot, 'src/blueprints/simple.yaml'), 'utf8').replace('203.0.113.0/27', '203.0.113.192/27'));
    try {
      removeStack('it-side-a');
      removeStack('it-side-b');
      expectOk(webstack('up', 'simple', '--name', 'it-side-a'), 'up a');
      const clash = webstack('up', 'simple', '--name', 'it-side-c');
      assert.equal(clash.code, 1);
      assert.match(clash.stderr, /overlaps network public \(203\.0\.113\.0\/27\) of running stack 'it-side-a'/);
      assert.doesNotMatch(clash.stderr, /^\s+at /m);
      assert.deepEqual(namespacesOf('it-side-c'), [], 'a refused up creates nothing');

      expectOk(webstack('up', other, '--name', 'it-side-b'), 'up b');
      const a = expectOk(inHost('it-side-a', 'client', 'curl', '-s', 'http://www.foobar.com/healthz'), 'a');
      const b = expectOk(inHost('it-side-b', 'client', 'curl', '-s', 'http://www.foobar.com/healthz'), 'b');
      assert.equal(JSON.parse(a.stdout).status, 'ok');
      assert.equal(JSON.parse(b.stdout).status, 'ok');
      const none = webstack('status');
      assert.equal(none.code, 1);
      assert.match(none.stderr, /stacks are up \(.*it-side-a.*it-side-b.*\); say which with --stack/);
    } finally {
      removeStack('it-side-a');
      removeStack('it-side-b');
      removeStack('it-side-c');
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test("a design's own app command runs in place of the foobar app, with its settings in the environment", () => {
    const stack = 'it-own';
    removeStack(stack);
    try {
      expectOk(webstack('up', join(repoRoot, 'test/fixtures/own-app/design.yaml'), '--name', stack), 'up');
      const page = expectOk(inHost(stack, 'client', 'curl', '-s', 'http://www.example.com/hello'), 'curl');
      assert.equal(page.stdout, 'own app on server-01, database server-01, path /hello\n');
    } finally {
      removeStack(stack);
    }
  });

  test('a daemon that cannot start fails up with its host, command, exit status and log, and nothing is left', () => {
    const stack = 'it-broken';
    removeStack(stack);
    try {
      const failed = webstack('up', join(repoRoot, 'test/fixtures/own-app/broken-app.yaml'), '--name', stack);
      assert.equal(failed.code, 1);
      assert.match(failed.stderr, /app on host server-01 did not start: exited with status 3/);
      assert.match(failed.stderr, /command: sh -c echo "cannot open the frobnicator"/);
      assert.match(failed.stderr, /cannot open the frobnicator/);
      assert.doesNotMatch(failed.stderr, /^\s+at /m);
      assert.deepEqual(namespacesOf(stack), []);
      assert.deepEqual(linksOf(stack), []);
      assert.equal(existsSync(join(home, stack, 'state.json')), false);
    } finally {
      removeStack(stack);
    }
  });
});
