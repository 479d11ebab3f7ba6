// The package as others get it: importable by its name (through "exports"), exporting
// what the README names, with no runtime dependencies and no Node-only code in the library.

import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { describe, it } from "node:test";

import * as local from "../dist/index.js";
import { sdkDir } from "./support/server.mjs";

const manifest = JSON.parse(readFileSync(path.join(sdkDir, "package.json"), "utf8"));
const EXPORTS = [
  "ADMIN_SCOPE", "ALGORITHMS", "Access", "AmbiguousPathError", "AuthService", "BUILTIN_RULES",
  "DEFAULT_ADDRESS", "DEFAULT_REVOCATIONS_TTL_MS", "DEFAULT_TIMEOUT_MS", "InvalidTokenError",
  "MicroUserError", "REVOCATIONS_PATH", "RuleSet", "TokenVerifier", "TransportError", "UserService",
  "authorizeRequest", "canonicalPath", "evaluate", "formatResource", "parseResource",
  "resourceForPath", "scopeApplies", "subjectOf",
];

// npm as the test was started (npm test sets npm_execpath), else the one on PATH.
function npm(args, cwd) {
  const execpath = process.env.npm_execpath;
  const [command, prefix] =
    execpath && execpath.endsWith(".js") ? [process.execPath, [execpath]] : ["npm", []];
  return spawnSync(command, [...prefix, ...args], { cwd, encoding: "utf8", timeout: 120_000 });
}

describe("the package", () => {
  it("imports by its own name, to the built module", async () => {
    const byName = await import("micro-user-sdk");
    assert.equal(byName.UserService, local.UserService);
    assert.deepEqual(Object.keys(byName).sort(), EXPORTS);
  });

  it("declares its entry points, types and Node version", () => {
    assert.equal(manifest.name, "micro-user-sdk");
    assert.equal(manifest.type, "module");
    assert.deepEqual(manifest.exports["."], {
      types: "./dist/index.d.ts",
      import: "./dist/index.js",
      default: "./dist/index.js",
    });
    for (const file of ["dist/index.js", "dist/index.d.ts"]) {
      assert.ok(existsSync(path.join(sdkDir, file)), `${file} was not built`);
    }
    assert.equal(manifest.engines.node, ">=18");
  });

  it("has no runtime dependencies, and TypeScript 5 to build", () => {
    for (const field of ["dependencies", "peerDependencies", "optionalDependencies"]) {
      assert.equal(manifest[field], undefined, `${field} in package.json`);
    }
    assert.match(manifest.devDependencies.typescript, /^5\.\d+\.\d+$/);
    const lock = JSON.parse(readFileSync(path.join(sdkDir, "package-lock.json"), "utf8"));
    assert.match(lock.packages["node_modules/typescript"].version, /^5\./);
  });

  it("the library uses no Node-only API (it runs in browsers)", () => {
    const dist = path.join(sdkDir, "dist");
    for (const file of readdirSync(dist).filter((name) => name.endsWith(".js"))) {
      const code = readFileSync(path.join(dist, file), "utf8");
      for (const [pattern, what] of [
        [/from\s+["']node:|from\s+["'](fs|path|http|https|os|url|crypto|child_process)["']/, "a Node module"],
        [/\brequire\s*\(/, "require()"],
        [/\bBuffer\b/, "Buffer"],
        [/(?<![.\w])process\b/, "a bare `process`"],
      ]) {
        assert.doesNotMatch(code, pattern, `dist/${file} uses ${what}`);
      }
    }
  });

  it("ships the compiled code, its types and the README, and nothing else", () => {
    const result = npm(["pack", "--dry-run", "--json", "--ignore-scripts"], sdkDir);
    assert.equal(result.status, 0, result.stderr);
    const [{ files }] = JSON.parse(result.stdout);
    const paths = files.map((file) => file.path).sort();
    assert.ok(paths.includes("dist/index.js") && paths.includes("dist/index.d.ts"), paths.join());
    assert.ok(paths.includes("README.md") && paths.includes("package.json"), paths.join());
    for (const file of paths) {
      assert.ok(/^(dist\/|README\.md$|package\.json$)/.test(file), `packed ${file}`);
    }
  });

  it("installs from the checkout with npm and imports from plain Node", () => {
    const project = mkdtempSync(path.join(tmpdir(), "micro-user-js-install-"));
    try {
      writeFileSync(path.join(project, "package.json"), '{"name": "app", "private": true}\n');
      const install = npm(
        ["install", "--offline", "--ignore-scripts", "--no-audit", "--no-fund", sdkDir],
        project,
      );
      assert.equal(install.status, 0, install.stderr);
      const script =
        'import("micro-user-sdk").then((m) => console.log(Object.keys(m).sort().join(" ")))';
      const run = spawnSync(process.execPath, ["-e", script], { cwd: project, encoding: "utf8" });
      assert.equal(run.status, 0, run.stderr);
      assert.equal(run.stdout.trim(), EXPORTS.join(" "));
    } finally {
      rmSync(project, { recursive: true, force: true });
    }
  });
});
