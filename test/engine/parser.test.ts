import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { print } from '../../src/engine/condition/ast.js';
import { ParseError, parseCondition } from '../../src/engine/condition/parser.js';

function accepts(input: string, printed?: string): void {
  const ast = parseCondition(input);
  if (printed !== undefined) assert.equal(print(ast), printed, input);
}

function rejects(input: string, message: RegExp, col?: number): void {
  assert.throws(() => parseCondition(input), (e: unknown) => {
    assert.ok(e instanceof ParseError, `expected ParseError for ${JSON.stringify(input)}`);
    assert.match(e.message, message);
    if (col !== undefined) assert.equal(e.pos.col, col, `column for ${JSON.stringify(input)}`);
    return true;
  });
}

describe('condition parser', () => {
  it('accepts every comparison operator', () => {
    for (const op of ['=', '==', '!=', '<', '<=', '>', '>=']) accepts(`a.b ${op} 1`);
    for (const op of ['contains', 'icontains', 'bcontains', 'startswith', 'bstartswith', 'endswith', 'glob', 'iglob', 'regex']) {
      accepts(`a.b ${op} x`, `a.b ${op} x`);
    }
    accepts('a.b in (x, y)', 'a.b in (x, y)');
    accepts('a.b intersects (x)', 'a.b intersects (x)');
    accepts('a.b pmatch (/tmp, /etc)', 'a.b pmatch (/tmp, /etc)');
    accepts('a.b exists', 'a.b exists');
  });

  it('gives not higher precedence than and, and and higher than or', () => {
    accepts('a.b=1 or a.c=2 and not a.d=3', '(a.b = 1 or (a.c = 2 and not a.d = 3))');
    accepts('not not a.b=1', 'a.b = 1');
    accepts('not(a.b=1)', 'not a.b = 1');
    accepts('(a or b) and c', '((a or b) and c)');
  });

  it('needs no blank around symbol operators and list operators', () => {
    accepts('evt.type=open', 'evt.type = open');
    accepts('a.b in(x,y)', 'a.b in (x, y)');
    accepts('a.b=1 and(a.c=2)', '(a.b = 1 and a.c = 2)');
  });

  it('reads field arguments, quoted or bare', () => {
    accepts('ka.req.pod.containers.image[0] in (nginx)', 'ka.req.pod.containers.image[0] in (nginx)');
    accepts('jevt.value[/requestObject/spec/tls] exists', 'jevt.value[/requestObject/spec/tls] exists');
    accepts('ka.uri.param["command"] = ls', 'ka.uri.param[command] = ls');
    accepts('proc.aname[2] = sshd', 'proc.aname[2] = sshd');
  });

  it('reads transformers and val() on either side', () => {
    accepts('tolower(proc.name) = bash', 'tolower(proc.name) = bash');
    accepts('toupper(b64(a.b)) = X', 'toupper(b64(a.b)) = X');
    accepts('proc.name = val(proc.pname)', 'proc.name = val(proc.pname)');
    accepts('len(a.b) > 3', 'len(a.b) > 3');
    accepts('basename(a.b) in val(a.c)', 'basename(a.b) in val(a.c)');
  });

  it('reads list modifiers only when a list follows', () => {
    accepts('a.b startswith anyof (x, y)', 'a.b startswith anyof (x, y)');
    accepts('a.b = oneof', 'a.b = oneof');
  });

  it('unescapes quoted strings', () => {
    const ast = parseCondition('a.b = "x\\"y\\n\\\\z" and a.c = \'it\\\'s\'');
    assert.equal(ast.kind, 'and');
    const [l, r] = (ast as { children: { right: { value: string } }[] }).children;
    assert.equal(l!.right.value, 'x"y\n\\z');
    assert.equal(r!.right.value, "it's");
    accepts('a.b = "\\x41"');
    rejects('a.b = "\\q"', /unsupported string escape sequence/);
    rejects("a.b = '\\\"'", /invalid \\" escape/);
  });

  it('accepts list values with quotes, spaces and empty lists', () => {
    accepts('a.b in ("x y", z)', 'a.b in ("x y", z)');
    accepts('a.b in ()', 'a.b in ()');
    accepts('a.b in ( x , y )', 'a.b in (x, y)');
  });

  it('rejects bad input with the column where it went wrong', () => {
    rejects('', /filter input string is empty/);
    rejects('evt.type = open and', /expected blank or '\(' after 'and'/, 20);
    rejects('proc.name=cat)', /unexpected token after 'cat', expecting 'or', 'and'/, 14);
    rejects('(a.b=1', /expected a '\)' token/);
    rejects('a.b in (x,', /expected a string value/);
    rejects('a.b ~ 1', /expected a valid check operator/, 5);
    rejects('a.b < xyz', /expected a number value/);
    rejects('a.b[ = 1', /expected a valid field argument/);
    rejects('a.b = ', /expected a string value/);
    rejects('= 1', /expected a '\(' token, a field check, or an identifier/, 1);
    rejects('Evt.type = 1 AND x', /unexpected token after '1'/);
  });

  it('reports lines and columns in multi-line conditions', () => {
    assert.throws(() => parseCondition('a.b = 1\n  and a.c = 2\n  and ~'), (e: unknown) => {
      assert.ok(e instanceof ParseError);
      assert.equal(e.pos.line, 3);
      assert.equal(e.pos.col, 7);
      return true;
    });
  });

  it('bounds nesting depth', () => {
    const deep = '('.repeat(600) + 'a.b = 1' + ')'.repeat(600);
    assert.throws(() => parseCondition(deep), /exceeded max depth limit of 1000/);
    const ok = '('.repeat(100) + 'a.b = 1' + ')'.repeat(100);
    accepts(ok, 'a.b = 1');
  });
});
