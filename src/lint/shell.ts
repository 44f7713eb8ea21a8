/**
 * Just enough POSIX shell to follow what a RUN does with files: pipelines of simple commands with their words,
 * leading VAR=value assignments and redirections. Quotes are removed; `$(…)` and backticks stay inside their word;
 * control keywords (if/then/do/…) and `sudo`/`env` prefixes are dropped so that the command itself comes first.
 * It does not evaluate anything: a word that needs a runtime value keeps its `$`.
 */
export interface Word {
  readonly text: string;
  /** Entirely single-quoted: no expansion. */
  readonly literal: boolean;
}

export interface Redirect {
  readonly op: '>' | '>>' | '<';
  readonly target: Word;
}

export interface SimpleCommand {
  readonly words: readonly Word[];
  readonly assigns: readonly Word[];
  readonly redirects: readonly Redirect[];
}

/** Commands joined by `|`. */
export type Pipeline = readonly SimpleCommand[];

type Token = { kind: 'word'; word: Word } | { kind: 'op'; op: string };

const KEYWORDS = new Set([
  'if',
  'then',
  'else',
  'elif',
  'do',
  'while',
  'until',
  '!',
  '{',
  '}',
  'fi',
  'done',
  'esac',
  'time',
]);

function tokenize(script: string): Token[] {
  const tokens: Token[] = [];
  let text = '';
  let has = false;
  let literal = true;
  let anyQuote = false;
  const flush = (): void => {
    if (has) tokens.push({ kind: 'word', word: { text, literal: anyQuote && literal } });
    text = '';
    has = false;
    literal = true;
    anyQuote = false;
  };
  for (let i = 0; i < script.length; i++) {
    const c = script[i]!;
    const next = script[i + 1];
    if (c === '\\' && next === '\n') {
      i++;
      continue;
    }
    if (c === ' ' || c === '\t' || c === '\r') {
      flush();
      continue;
    }
    if (c === '\n') {
      flush();
      tokens.push({ kind: 'op', op: ';' });
      continue;
    }
    if (c === '#' && !has) {
      while (i < script.length && script[i] !== '\n') i++;
      i--;
      continue;
    }
    if (c === "'") {
      const end = script.indexOf("'", i + 1);
      const stop = end === -1 ? script.length : end;
      text += script.slice(i + 1, stop);
      has = true;
      anyQuote = true;
      i = stop;
      continue;
    }
    if (c === '"') {
      literal = false;
      anyQuote = true;
      has = true;
      let j = i + 1;
      for (; j < script.length && script[j] !== '"'; j++) {
        if (script[j] === '\\' && j + 1 < script.length && '"\\$`\n'.includes(script[j + 1]!)) {
          if (script[j + 1] !== '\n') text += script[j + 1];
          j++;
        } else text += script[j];
      }
      i = j;
      continue;
    }
    if (c === '\\' && next !== undefined) {
      text += next;
      has = true;
      literal = false;
      i++;
      continue;
    }
    if (c === '$' && next === '(') {
      // Command substitution: one opaque word part, parentheses balanced.
      let depth = 0;
      let j = i + 1;
      for (; j < script.length; j++) {
        if (script[j] === '(') depth++;
        else if (script[j] === ')' && --depth === 0) break;
      }
      text += script.slice(i, j + 1);
      has = true;
      literal = false;
      i = j;
      continue;
    }
    if (c === '`') {
      const end = script.indexOf('`', i + 1);
      const stop = end === -1 ? script.length : end;
      text += script.slice(i, stop + 1);
      has = true;
      literal = false;
      i = stop;
      continue;
    }
    if (c === '&' && next === '&') {
      flush();
      tokens.push({ kind: 'op', op: '&&' });
      i++;
      continue;
    }
    if (c === '|' && next === '|') {
      flush();
      tokens.push({ kind: 'op', op: '||' });
      i++;
      continue;
    }
    if (c === '&' && next === '>') {
      flush();
      const append = script[i + 2] === '>';
      tokens.push({ kind: 'op', op: append ? '>>' : '>' });
      i += append ? 2 : 1;
      continue;
    }
    if (c === '>' || c === '<') {
      // 2>file, 2>&1, >>file, <file, <<EOF (here-doc to a command: the body is not a file)
      const fd = /^\d+$/.test(text) && has ? text : undefined;
      if (fd) {
        text = '';
        has = false;
      } else flush();
      if (c === '>' && next === '&') {
        // >&2 or 2>&1: a descriptor, not a file
        i++;
        while (/\d|-/.test(script[i + 1] ?? '')) i++;
        continue;
      }
      if (c === '<' && next === '<') {
        tokens.push({ kind: 'op', op: '<<' });
        i += script[i + 2] === '<' ? 2 : 1;
        continue;
      }
      const append = c === '>' && next === '>';
      tokens.push({ kind: 'op', op: fd && fd !== '1' ? 'fd>' : append ? '>>' : c });
      if (append) i++;
      continue;
    }
    if (c === ';' || c === '|' || c === '&' || c === '(' || c === ')') {
      flush();
      tokens.push({ kind: 'op', op: c === '&' || c === '(' || c === ')' ? ';' : c });
      continue;
    }
    text += c;
    has = true;
    literal = false;
  }
  flush();
  return tokens;
}

export function parseShell(script: string): Pipeline[] {
  const pipelines: SimpleCommand[][] = [];
  let pipeline: SimpleCommand[] = [];
  let words: Word[] = [];
  let assigns: Word[] = [];
  let redirects: Redirect[] = [];
  const endCommand = (): void => {
    // Control keywords and wrappers in front of the command itself.
    while (words.length && !words[0]!.literal && KEYWORDS.has(words[0]!.text)) words.shift();
    while (
      words.length &&
      (words[0]!.text === 'sudo' ||
        words[0]!.text === 'env' ||
        words[0]!.text === 'exec' ||
        words[0]!.text === 'command')
    ) {
      words.shift();
      while (words.length && words[0]!.text.startsWith('-')) words.shift();
      while (words.length && /^[A-Za-z_][A-Za-z0-9_]*=/.test(words[0]!.text)) assigns.push(words.shift()!);
    }
    if (words.length || assigns.length || redirects.length) pipeline.push({ words, assigns, redirects });
    words = [];
    assigns = [];
    redirects = [];
  };
  const endPipeline = (): void => {
    endCommand();
    if (pipeline.length) pipelines.push(pipeline);
    pipeline = [];
  };
  const tokens = tokenize(script);
  for (let i = 0; i < tokens.length; i++) {
    const t = tokens[i]!;
    if (t.kind === 'word') {
      if (words.length === 0 && !t.word.literal && /^[A-Za-z_][A-Za-z0-9_]*=/.test(t.word.text)) assigns.push(t.word);
      else words.push(t.word);
      continue;
    }
    switch (t.op) {
      case '|':
        endCommand();
        break;
      case '>':
      case '>>':
      case '<': {
        const target = tokens[i + 1];
        if (target?.kind === 'word') {
          redirects.push({ op: t.op, target: target.word });
          i++;
        }
        break;
      }
      case 'fd>':
      case '<<':
        if (tokens[i + 1]?.kind === 'word') i++;
        break;
      default:
        endPipeline();
    }
  }
  endPipeline();
  return pipelines;
}
