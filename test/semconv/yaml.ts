// A strict reader for the subset of YAML that semconv/**/*.yaml is written in (no YAML parser is a dependency of
// the workspace root yet; see /work/coord/requests.md): block mappings and sequences, plain / quoted scalars,
// one-line flow sequences, `>` and `|` block scalars, full-line comments. Anything else throws, naming the line,
// so the registry cannot drift into YAML this reader would misread.

export type YamlValue = string | number | boolean | null | YamlValue[] | { [key: string]: YamlValue };

interface Line {
  readonly no: number;
  readonly indent: number;
  readonly text: string;
}

export class YamlSubsetError extends Error {}

export function parseYaml(source: string, file = '<yaml>'): YamlValue {
  const raw = source.replace(/\r\n/g, '\n').split('\n');
  const lines: Line[] = raw.map((l, i) => {
    if (/^\t| \t/.test(l)) throw new YamlSubsetError(`${file}:${i + 1}: tab in indentation`);
    const indent = l.length - l.trimStart().length;
    return { no: i + 1, indent, text: l.trimStart().trimEnd() };
  });
  const fail = (line: Line | undefined, why: string): never => {
    throw new YamlSubsetError(`${file}:${line?.no ?? raw.length}: ${why}`);
  };
  let pos = 0;
  const skip = (): void => {
    while (pos < lines.length && (lines[pos]!.text === '' || lines[pos]!.text.startsWith('#'))) pos++;
  };

  const node = (indent: number): YamlValue => {
    skip();
    const line = lines[pos];
    if (line === undefined || line.indent !== indent) return fail(line, `expected a node at indent ${indent}`);
    return line.text === '-' || line.text.startsWith('- ') ? sequence(indent) : mapping(indent, line.text);
  };

  const sequence = (indent: number): YamlValue[] => {
    const out: YamlValue[] = [];
    for (skip(); pos < lines.length && lines[pos]!.indent === indent && /^-( |$)/.test(lines[pos]!.text); skip()) {
      const line = lines[pos]!;
      const rest = line.text.slice(1).trimStart();
      if (rest === '') {
        pos++;
        skip();
        out.push(node(lines[pos]?.indent ?? indent + 2));
      } else if (isKey(rest)) {
        // `- key: value`: a mapping whose first key sits where `key` starts.
        const inner = indent + (line.text.length - rest.length);
        out.push(mapping(inner, rest));
      } else {
        pos++;
        out.push(scalar(rest, line));
      }
    }
    return out;
  };

  const mapping = (indent: number, firstText: string): { [key: string]: YamlValue } => {
    const out: { [key: string]: YamlValue } = {};
    let text: string | undefined = firstText;
    for (;;) {
      const line = lines[pos]!;
      const m = /^([A-Za-z0-9_.\-[\]]+):(?: (.*))?$/.exec(text);
      if (m === null) return fail(line, `expected "key: value", got ${JSON.stringify(text)}`);
      const key = m[1]!;
      if (Object.prototype.hasOwnProperty.call(out, key)) fail(line, `duplicate key ${key}`);
      const value = (m[2] ?? '').trim();
      pos++;
      if (value === '') {
        skip();
        const next = lines[pos];
        out[key] = next !== undefined && next.indent > indent ? node(next.indent) : fail(line, `no value for ${key}`);
      } else if (/^[>|]-?$/.test(value)) {
        out[key] = block(value, indent, line);
      } else {
        out[key] = scalar(value, line);
      }
      skip();
      const next = lines[pos];
      if (next === undefined || next.indent < indent) return out;
      if (next.indent > indent) fail(next, 'unexpected indentation');
      if (/^-( |$)/.test(next.text)) return out; // a sequence at the parent's indent goes on
      text = next.text;
    }
  };

  const block = (style: string, indent: number, at: Line): string => {
    const body: Line[] = [];
    while (pos < lines.length && (lines[pos]!.text === '' || lines[pos]!.indent > indent)) body.push(lines[pos++]!);
    while (body.length > 0 && body[body.length - 1]!.text === '') body.pop();
    const first = body.find((l) => l.text !== '');
    if (first === undefined) return fail(at, 'empty block scalar');
    const parts = body.map((l) => {
      if (l.text !== '' && l.indent !== first.indent) fail(l, 'block scalar lines must share one indentation');
      return l.text;
    });
    let text: string;
    if (style.startsWith('|')) text = parts.join('\n');
    else {
      text = '';
      for (const [i, p] of parts.entries()) {
        if (p === '') text += '\n';
        else text += (i === 0 || parts[i - 1] === '' ? '' : ' ') + p;
      }
    }
    return style.endsWith('-') ? text : text + '\n';
  };

  const result = node((skip(), lines[pos]?.indent ?? 0));
  skip();
  if (pos < lines.length) fail(lines[pos], 'unexpected content after the document');
  return result;

  function isKey(text: string): boolean {
    return /^[A-Za-z0-9_.\-[\]]+:( |$)/.test(text);
  }

  function scalar(text: string, line: Line): YamlValue {
    if (text.startsWith('[')) {
      const [value, end] = flow(text, 0, line);
      if (end !== text.length) fail(line, 'content after a flow sequence');
      return value;
    }
    const [value, end] = atom(text, 0, line, false);
    if (end !== text.length) fail(line, `content after a scalar: ${JSON.stringify(text)}`);
    return value;
  }

  function flow(text: string, start: number, line: Line): [YamlValue[], number] {
    const out: YamlValue[] = [];
    let i = start + 1;
    const ws = (): void => {
      while (text[i] === ' ') i++;
    };
    ws();
    if (text[i] === ']') return [out, i + 1];
    for (;;) {
      ws();
      let value: YamlValue;
      if (text[i] === '[') [value, i] = flow(text, i, line);
      else [value, i] = atom(text, i, line, true);
      out.push(value);
      ws();
      if (text[i] === ',') i++;
      else if (text[i] === ']') return [out, i + 1];
      else return fail(line, 'unterminated flow sequence');
    }
  }

  function atom(text: string, start: number, line: Line, inFlow: boolean): [YamlValue, number] {
    const c = text[start];
    if (c === "'") {
      let out = '';
      for (let i = start + 1; i < text.length; i++) {
        if (text[i] === "'") {
          if (text[i + 1] === "'") {
            out += "'";
            i++;
          } else return [out, i + 1];
        } else out += text[i];
      }
      return fail(line, 'unterminated single-quoted string');
    }
    if (c === '"') {
      let out = '';
      for (let i = start + 1; i < text.length; i++) {
        const ch = text[i]!;
        if (ch === '"') return [out, i + 1];
        if (ch === '\\') {
          const e = text[++i];
          if (e === 'n') out += '\n';
          else if (e === '"' || e === '\\') out += e;
          else fail(line, `unsupported escape \\${e}`);
        } else out += ch;
      }
      return fail(line, 'unterminated double-quoted string');
    }
    let end = start;
    while (end < text.length && !(inFlow && (text[end] === ',' || text[end] === ']'))) end++;
    const plain = text.slice(start, end).trim();
    if (plain === '' || /^[[\]{}&*!|>%@`#]/.test(plain) || plain.startsWith('- ')) fail(line, `unsupported scalar ${JSON.stringify(plain)}`);
    if (/: |\s#/.test(plain) || plain.endsWith(':')) fail(line, `plain scalar needs quotes: ${JSON.stringify(plain)}`);
    return [plainValue(plain), end];
  }
}

function plainValue(text: string): YamlValue {
  if (text === 'true') return true;
  if (text === 'false') return false;
  if (text === 'null' || text === '~') return null;
  if (/^-?(0|[1-9][0-9]*)$/.test(text)) return Number(text);
  if (/^-?(0|[1-9][0-9]*)\.[0-9]+$/.test(text)) return Number(text);
  return text;
}
