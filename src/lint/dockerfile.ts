import { DockerfileParser } from 'dockerfile-ast';

/**
 * A Dockerfile as the lint needs it: stages with their instructions, each with its flags, its words (continuations
 * joined, comment lines inside a continuation dropped, as BuildKit does) and its heredoc bodies. dockerfile-ast
 * (the parser of the Docker language server) finds the instructions, ranges, heredocs and comments; the words are
 * split here so that quoting and JSON form are handled the same way for every instruction.
 */
export interface Flag {
  readonly name: string;
  readonly value: string;
}

export interface Heredoc {
  readonly name: string;
  readonly body: string;
}

export interface Instr {
  readonly keyword: string;
  /** 1-based first and last line. */
  readonly line: number;
  readonly endLine: number;
  readonly flags: readonly Flag[];
  /** Words after the keyword and flags; `<<EOF` markers are kept as written. */
  readonly words: readonly string[];
  /** The joined text after the keyword and flags (for RUN: the shell command line). */
  readonly rest: string;
  readonly heredocs: readonly Heredoc[];
  /** The instruction as written, every line. */
  readonly text: string;
  /** Whether RUN/CMD used the JSON (exec) form. */
  readonly json: boolean;
}

export interface Stage {
  readonly index: number;
  /** The AS name, lower-cased as BuildKit compares it; undefined without AS. */
  readonly name: string | undefined;
  /** The FROM image as written (variables not yet expanded). */
  readonly base: string;
  readonly from: Instr;
  readonly instructions: Instr[];
}

export interface ParsedDockerfile {
  /** ARGs before the first FROM. */
  readonly globalArgs: readonly Instr[];
  readonly stages: readonly Stage[];
  /** Comment lines (1-based line → text after '#'). */
  readonly comments: ReadonlyMap<number, string>;
  /** 1-based lines that start an instruction. */
  readonly instructionLines: readonly number[];
}

export class DockerfileError extends Error {
  override readonly name = 'DockerfileError';
}

/** Splits words the way the Dockerfile frontend does for COPY/ADD/FROM: whitespace, with quotes kept together. */
export function splitWords(text: string, escape = '\\'): string[] {
  const words: string[] = [];
  let word = '';
  let quote: string | undefined;
  let has = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (quote) {
      if (c === quote) quote = undefined;
      else if (c === escape && quote === '"' && i + 1 < text.length) word += text[++i];
      else word += c;
      continue;
    }
    if (c === '"' || c === "'") {
      quote = c;
      has = true;
    } else if (/\s/.test(c)) {
      if (has) words.push(word);
      word = '';
      has = false;
    } else if (c === escape && i + 1 < text.length) {
      word += text[++i];
      has = true;
    } else {
      word += c;
      has = true;
    }
  }
  if (has) words.push(word);
  return words;
}

const FLAG = /^--([A-Za-z][A-Za-z0-9-]*)(?:=(.*))?$/;

export function parseDockerfile(content: string): ParsedDockerfile {
  const doc = DockerfileParser.parse(content);
  const escape = doc.getEscapeCharacter();
  const lines = content.split(/\r?\n/);
  const comments = new Map<number, string>();
  for (const c of doc.getComments()) comments.set(c.getRange().start.line + 1, c.getContent());
  const stages: Stage[] = [];
  const globalArgs: Instr[] = [];
  const instructionLines: number[] = [];
  for (const inst of doc.getInstructions()) {
    const range = inst.getRange();
    const heredocRanges =
      (
        inst as unknown as {
          getHeredocs?: () => {
            getName(): string;
            getContentRange(): { start: { line: number }; end: { line: number } } | null;
          }[];
        }
      ).getHeredocs?.() ?? [];
    const heredocs: Heredoc[] = heredocRanges.map((h) => {
      const r = h.getContentRange();
      return { name: h.getName(), body: r ? lines.slice(r.start.line, r.end.line + 1).join('\n') : '' };
    });
    // The header: the instruction's lines up to its first heredoc body.
    const firstBody = heredocRanges.map((h) => h.getContentRange()?.start.line).find((l) => l !== undefined);
    const headerEnd = firstBody !== undefined ? firstBody - 1 : range.end.line;
    const header: string[] = [];
    for (let l = range.start.line; l <= headerEnd; l++) {
      const raw = lines[l] ?? '';
      if (l > range.start.line && /^\s*#/.test(raw)) continue; // comment inside a continuation
      const trimmed = raw.replace(/\s+$/, '');
      header.push(trimmed.endsWith(escape) && l < headerEnd ? trimmed.slice(0, -1) : trimmed);
    }
    const joined = header.join(' ').trim();
    const keyword = inst.getKeyword().toUpperCase();
    let rest = joined.slice(joined.search(/\s|$/)).trim();
    const flags: Flag[] = [];
    // Flags come first: --from=x --chmod=644 --link --mount=type=secret,id=a …
    for (;;) {
      const m = /^(--[A-Za-z][A-Za-z0-9-]*(?:=(?:"[^"]*"|'[^']*'|\S)*)?)(\s+|$)/.exec(rest);
      if (!m || keyword === 'ENV' || keyword === 'LABEL') break;
      const f = FLAG.exec(m[1]!);
      if (!f) break;
      flags.push({ name: f[1]!.toLowerCase(), value: (f[2] ?? '').replace(/^"(.*)"$/, '$1') });
      rest = rest.slice(m[0].length);
    }
    let json = false;
    let words: string[];
    if (/^\[/.test(rest)) {
      try {
        const parsed: unknown = JSON.parse(rest);
        if (Array.isArray(parsed) && parsed.every((w) => typeof w === 'string')) {
          words = parsed;
          json = true;
        } else words = splitWords(rest, escape);
      } catch {
        words = splitWords(rest, escape);
      }
    } else words = splitWords(rest, escape);
    const instr: Instr = {
      keyword,
      line: range.start.line + 1,
      endLine: range.end.line + 1,
      flags,
      words,
      rest,
      heredocs,
      text: lines.slice(range.start.line, range.end.line + 1).join('\n'),
      json,
    };
    instructionLines.push(instr.line);
    if (keyword === 'FROM') {
      const plain = words.filter((w) => !w.startsWith('--'));
      const asAt = plain.findIndex((w) => w.toLowerCase() === 'as');
      const name = asAt !== -1 ? plain[asAt + 1]?.toLowerCase() : undefined;
      stages.push({ index: stages.length, name, base: plain[0] ?? '', from: instr, instructions: [] });
    } else if (stages.length) {
      stages[stages.length - 1]!.instructions.push(instr);
    } else if (keyword === 'ARG') {
      globalArgs.push(instr);
    }
  }
  if (stages.length === 0)
    throw new DockerfileError('the Dockerfile has no FROM instruction: expected at least one stage.');
  return { globalArgs, stages, comments, instructionLines };
}

/** `a=b c="d e"` (ENV/ARG/LABEL) or the legacy `ENV name value with spaces`. */
export function keyValues(instr: Instr): Array<[string, string | undefined]> {
  const words = instr.words;
  if (instr.keyword === 'ENV' && words.length >= 2 && !words[0]!.includes('='))
    return [[words[0]!, words.slice(1).join(' ')]];
  return words.map((w) => {
    const eq = w.indexOf('=');
    return eq === -1 ? [w, undefined] : [w.slice(0, eq), w.slice(eq + 1)];
  });
}
