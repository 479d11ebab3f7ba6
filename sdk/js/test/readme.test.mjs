// Every ```js block of README.md runs, as written, against a live server (in order, as a
// reader would run them), and prints exactly the ```text block that follows it, if any.
// Each runs in its own `node --input-type=module` from sdk/js, so that
// `import ... from "micro-user-sdk"` resolves through the package's own exports.

import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import path from "node:path";
import { after, before, describe, it } from "node:test";

import { sdkDir, startServer } from "./support/server.mjs";

const README = path.join(sdkDir, "README.md");
const text = readFileSync(README, "utf8");
// A js block, and the text block right after it, when there is one: its output.
const EXAMPLE = /```js\n(?<code>[\s\S]*?)```\s*(?:```text\n(?<output>[\s\S]*?)```)?/g;
const examples = [...text.matchAll(EXAMPLE)].map((match) => ({
  line: text.slice(0, match.index).split("\n").length + 1,
  code: match.groups.code,
  output: match.groups.output ?? "",
}));

function runNode(code, env) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ["--input-type=module"], {
      cwd: sdkDir,
      env,
      stdio: ["pipe", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8").on("data", (chunk) => (stdout += chunk));
    child.stderr.setEncoding("utf8").on("data", (chunk) => (stderr += chunk));
    child.once("error", reject);
    child.once("close", (status) => resolve({ status, stdout, stderr }));
    child.stdin.end(code);
  });
}

describe("README.md examples", () => {
  let server;
  before(async () => {
    server = await startServer();
  });
  after(async () => {
    await server?.stop();
  });

  it("has the examples it promises", () => {
    assert.ok(examples.length >= 5, `only ${examples.length} js examples in README.md`);
  });

  for (const example of examples) {
    it(`the example at README.md line ${example.line}`, async () => {
      const env = {
        ...process.env,
        MICRO_USER_ADDRESS: server.address,
        MICRO_USER_KEY: server.key,
      };
      const { status, stdout, stderr } = await runNode(example.code, env);
      assert.equal(status, 0, `README.md line ${example.line} failed:\n${stderr}`);
      assert.equal(stdout, example.output, `README.md line ${example.line} printed otherwise`);
    });
  }
});
