// `npm run cycles` (run by `npm test`): the import circles in src/, type-only imports included (they tie modules
// together for a reader as much as value imports do). Each circle is a strongly connected component of the import
// graph, read with the TypeScript parser. Exits 1 when there is one beyond what is allowed below, naming its files.
import { readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import ts from "typescript";

/**
 * Circles allowed, each as exactly its files (a circle that grows, or any other, fails). None: the bindings are typed
 * once (bindings.ts) and the plugin contract names no scheme's type (issue #35). Add one only with a reason.
 */
const ALLOWED: { files: string[]; why: string }[] = [];

export function importGraph(root: string): Map<string, Set<string>> {
  const files: string[] = [];
  const walk = (dir: string) => {
    for (const name of readdirSync(dir)) {
      const path = join(dir, name);
      if (statSync(path).isDirectory()) walk(path);
      else if (path.endsWith(".ts")) files.push(path);
    }
  };
  walk(root);
  const known = new Set(files);
  const graph = new Map<string, Set<string>>();
  for (const file of files) {
    const source = ts.createSourceFile(file, readFileSync(file, "utf8"), ts.ScriptTarget.Latest, false);
    const targets = new Set<string>();
    for (const statement of source.statements) {
      const specifier = (ts.isImportDeclaration(statement) || ts.isExportDeclaration(statement)) && statement.moduleSpecifier;
      if (!specifier || !ts.isStringLiteral(specifier) || !specifier.text.startsWith(".")) continue;
      const target = resolve(dirname(file), specifier.text.replace(/\.js$/, ".ts"));
      if (known.has(target)) targets.add(target);
    }
    graph.set(file, targets);
  }
  return graph;
}

/** Strongly connected components of more than one file (Tarjan). */
export function circles(graph: Map<string, Set<string>>): string[][] {
  let next = 0;
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const found: string[][] = [];
  const visit = (file: string) => {
    index.set(file, next);
    low.set(file, next++);
    stack.push(file);
    onStack.add(file);
    for (const target of graph.get(file) ?? []) {
      if (!index.has(target)) {
        visit(target);
        low.set(file, Math.min(low.get(file)!, low.get(target)!));
      } else if (onStack.has(target)) low.set(file, Math.min(low.get(file)!, index.get(target)!));
    }
    if (low.get(file) !== index.get(file)) return;
    const component: string[] = [];
    let member: string;
    do {
      member = stack.pop()!;
      onStack.delete(member);
      component.push(member);
    } while (member !== file);
    if (component.length > 1) found.push(component.sort());
  };
  for (const file of graph.keys()) if (!index.has(file)) visit(file);
  return found;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const root = resolve("src");
  const found = circles(importGraph(root)).map((files) => files.map((file) => relative(root, file)));
  const allowed = (files: string[]) =>
    ALLOWED.find((a) => a.files.length === files.length && a.files.every((file) => files.includes(file)));
  const unexpected = found.filter((files) => !allowed(files));
  for (const files of found) {
    const reason = allowed(files);
    console.log(`${reason ? "allowed" : "CIRCLE"} (${files.length} files${reason ? `: ${reason.why}` : ""}): ${files.join(", ")}`);
  }
  console.log(`${found.length} import circle(s) in src/, ${unexpected.length} not allowed`);
  if (unexpected.length > 0) process.exit(1);
}
