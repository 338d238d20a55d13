import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { fences, plan, rewriteAddress, sampleProblem } from '../helpers/doc-examples.js';

describe('reading the examples of a document', () => {
  it('finds fenced blocks with their language, file name and line, also inside list items', () => {
    const markdown = ['# T', '```sh', 'echo 1', '```', '', '- item', '  ```js file=a.mjs', '  console.log(1);', '  ```', '~~~', '```', '~~~'].join('\n');
    assert.deepEqual(fences(markdown), [
      { lang: 'sh', attrs: {}, body: 'echo 1', line: 2 },
      { lang: 'js', attrs: { file: 'a.mjs' }, body: 'console.log(1);', line: 7 },
      { lang: '', attrs: {}, body: '```', line: 10 },
    ]);
  });

  it('makes one statement of continued lines and heredocs, and ties a status line to the command above it', () => {
    const markdown = [
      '```sh',
      'A=1',
      'curl -s \\',
      '  http://127.0.0.1:3000/x |',
      '  sed s/a/b/',
      '# 201 {"id":1}',
      '',
      'cat > f <<\'EOF\'',
      '# 200 not a status line here',
      'EOF',
      '```',
      '```console',
      'npm ci',
      '```',
    ].join('\n');
    const { statements, script } = plan('doc.md', markdown);
    assert.deepEqual(
      statements.map((s) => [s.line, s.text, s.expect]),
      [
        [2, 'A=1', undefined],
        [3, 'curl -s \\\n  http://127.0.0.1:3000/x |\n  sed s/a/b/', { status: 201, sample: '{"id":1}' }],
        [8, "cat > f <<'EOF'\n# 200 not a status line here\nEOF", undefined],
      ],
    );
    assert.deepEqual(script.slice(0, 10), ['# doc.md: block 1, line 1', '__at 1', 'A=1', '__done $?', '__at 2', 'curl -s \\', '  http://127.0.0.1:3000/x |', '  sed s/a/b/', '__done $?', '__expect 2 201']);
    assert.ok(!script.includes('npm ci'), 'console blocks are not run');
  });

  it('refuses a status line that follows no command, a second one, and an unclear one', () => {
    assert.throws(() => plan('doc.md', '```sh\n# 200\n```'), /doc\.md:2: the status line "# 200" does not directly follow a command/);
    assert.throws(() => plan('doc.md', '```sh\ntrue\n\n# 200\n```'), /does not directly follow a command/);
    assert.throws(() => plan('doc.md', '```sh\ntrue\n# 200\n# 201\n```'), /doc\.md:4: a second status line/);
    assert.throws(() => plan('doc.md', '```sh\ntrue\n# 200, or 204\n```'), /doc\.md:3: a status line is "# 201" or "# 201 \{sample\}"/);
  });

  it('puts no marker or check between `if` and `then`', () => {
    const { script } = plan('doc.md', '```sh\nif true\nthen\n  echo yes\nfi\n```');
    assert.deepEqual(script.slice(1), ['__at 1', 'if true', 'then', '__at 2', '  echo yes', '__done $?', 'fi']);
  });

  it('writes file blocks and rewrites the documented address to the test server', () => {
    const { files } = plan('doc.md', '```js file=check.mjs\nfetch("http://127.0.0.1:3000/x")\n```');
    assert.deepEqual(files, [{ name: 'check.mjs', content: 'fetch("http://127.0.0.1:3000/x")\n' }]);
    assert.equal(rewriteAddress('curl http://127.0.0.1:3000/a http://localhost:3000/b http://127.0.0.1:30000', 'http://127.0.0.1:41234'), 'curl http://127.0.0.1:41234/a http://127.0.0.1:41234/b http://127.0.0.1:30000');
  });

  it('checks a JSON sample by its keys and its error code', () => {
    assert.equal(sampleProblem('{"id":1,"name":"Travel",…}', '{"id":7,"name":"Other","created_at":"x"}'), null);
    assert.equal(sampleProblem('', 'not json'), null);
    assert.match(sampleProblem('{"id":1,"owner":2}', '{"id":1}') ?? '', /lacks the key\(s\) "owner"/);
    assert.match(sampleProblem('{"error":{"code":"csrf_failed",…}}', '{"error":{"code":"origin_refused","message":"x"}}') ?? '', /shows the error code "csrf_failed", the answer has "origin_refused"/);
    assert.match(sampleProblem('{"id":1}', '') ?? '', /the answer is not/);
  });
});
