// The commands the READMEs print: every line of a ```bash / ```sh / ```shell block, with `\`
// continuations joined and comments dropped, each with the file and line it starts on.
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';

export interface Command {
  /** Repository-relative path of the README. */
  file: string;
  /** 1-based line where the command starts. */
  line: number;
  /** The command as printed, without its trailing comment. */
  text: string;
  /** Index of the fenced block in the file: commands of one block run as one session. */
  block: number;
}

const SHELL_FENCE = /^```(bash|sh|shell)\s*$/;

/** Drops a trailing ` # comment` that is outside quotes. */
export function stripComment(line: string): string {
  let quote: string | undefined;
  for (let i = 0; i < line.length; i += 1) {
    const c = line[i];
    if (quote) {
      if (c === quote) quote = undefined;
    } else if (c === "'" || c === '"') {
      quote = c;
    } else if (c === '#' && (i === 0 || /\s/.test(line[i - 1] ?? ''))) {
      return line.slice(0, i).trimEnd();
    }
  }
  return line.trimEnd();
}

/** Whether a command's text ends inside a quoted string (a `node -e "..."` over several lines). */
function insideQuotes(text: string): boolean {
  let quote: string | undefined;
  for (const c of text) {
    if (quote) {
      if (c === quote) quote = undefined;
    } else if (c === "'" || c === '"') quote = c;
  }
  return quote !== undefined;
}

export function extractCommands(root: string, file: string): Command[] {
  const lines = readFileSync(join(root, file), 'utf8').split('\n');
  const commands: Command[] = [];
  let inShell = false;
  let inOther = false;
  let block = -1;
  let pending: { line: number; text: string } | undefined;
  lines.forEach((raw, index) => {
    if (!inShell && !inOther) {
      if (SHELL_FENCE.test(raw)) {
        inShell = true;
        block += 1;
      } else if (raw.startsWith('```')) inOther = true;
      return;
    }
    if (raw.startsWith('```')) {
      inShell = false;
      inOther = false;
      return;
    }
    if (inOther) return;
    const text = stripComment(raw);
    if (pending?.text.endsWith('\n')) {
      pending.text += raw;
    } else if (pending) {
      pending.text += ` ${text.trim()}`;
    } else if (text.trim() !== '') {
      pending = { line: index + 1, text: text.trim() };
    }
    if (pending && insideQuotes(pending.text)) {
      pending.text += '\n';
      return;
    }
    if (pending?.text.endsWith('\\')) {
      pending.text = pending.text.slice(0, -1).trimEnd();
      return;
    }
    if (pending) {
      commands.push({ file, line: pending.line, text: pending.text, block });
      pending = undefined;
    }
  });
  return commands;
}

/** README.md and the README of every package and app (and infra/). */
export function readmes(root: string): string[] {
  const files = ['README.md'];
  for (const parent of ['packages', 'apps']) {
    for (const name of readdirSync(join(root, parent)).sort()) {
      try {
        readFileSync(join(root, parent, name, 'README.md'));
        files.push(relative(root, join(root, parent, name, 'README.md')));
      } catch {
        // a package without a README
      }
    }
  }
  files.push('infra/README.md');
  return files;
}
