// A live micro-user for the tests: `<python> -m micro_user serve` on a free port, with a
// SQLite database in a temporary directory, stopped (and the directory removed) afterwards.
//
// <python> is $MICRO_USER_PYTHON, else the checkout's .venv (../../.venv/bin/python from
// sdk/js). Mail goes to the server's log (the console sender), where mailTo() finds it.

import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

export const sdkDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
export const repoDir = path.resolve(sdkDir, "../..");
export const python =
  process.env.MICRO_USER_PYTHON || path.resolve(sdkDir, "../../.venv/bin/python");

const READY_TIMEOUT_MS = 60_000;

/** A port nobody listens on (right now). */
export async function freePort() {
  const server = createServer();
  await new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", resolve);
  });
  const { port } = server.address();
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** A value unique to this run: lower-case (the server lower-cases usernames and emails). */
export function unique(prefix = "js") {
  return `${prefix}${randomBytes(5).toString("hex")}`;
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Start micro-user and wait until GET /ready answers 200. `settings` are more MICRO_USER_*
 * variables for it (MICRO_USER_JWT_ALGORITHM, say).
 * Returns { address, key, log(), mailTo(email), cli(args, settings), stop() }.
 */
export async function startServer(settings = {}) {
  if (!existsSync(python)) {
    throw new Error(
      `no Python for micro-user at ${python}: create the checkout's .venv (./scripts/test ` +
        "does) or set MICRO_USER_PYTHON to a Python that has micro_user installed",
    );
  }
  const dir = mkdtempSync(path.join(tmpdir(), "micro-user-js-"));
  const port = await freePort();
  const address = `http://127.0.0.1:${port}`;
  const key = `muk_test_js_${randomBytes(24).toString("hex")}`;
  // The developer's own MICRO_USER_* settings (a config file, a PostgreSQL URL) stay out.
  const inherited = Object.fromEntries(
    Object.entries(process.env).filter(([name]) => !name.startsWith("MICRO_USER_")),
  );
  const env = {
    ...inherited,
    MICRO_USER_DATABASE_URL: `sqlite:///${path.join(dir, "js.db")}`,
    MICRO_USER_ADMIN_KEY: key,
    MICRO_USER_PUBLIC_URL: address,
    MICRO_USER_LINK_HOSTS: "127.0.0.1,example.com,app.example.com",
    MICRO_USER_MAIL_SENDER: "console",
    // An error id or status missing from micro_user/errors.py's catalogue is a 500.
    MICRO_USER_STRICT_ERRORS: "true",
    MICRO_USER_LOG_LEVEL: "warning",
    // The tests read the console mail sender's mails from the log, as plain text.
    MICRO_USER_LOG_FORMAT: "text",
    // Every test request comes from 127.0.0.1: lift the abuse limits (the server's own tests check them).
    MICRO_USER_LOGIN_PER_ADDRESS_PER_MINUTE: "100000",
    MICRO_USER_LOGIN_PER_ACCOUNT_PER_MINUTE: "100000",
    MICRO_USER_LOCKOUT_THRESHOLD: "100000",
    MICRO_USER_MAIL_PER_ADDRESS_PER_MINUTE: "100000",
    MICRO_USER_MAIL_PER_RECIPIENT_PER_HOUR: "100000",
    MICRO_USER_CODE_CHECKS_PER_ADDRESS_PER_MINUTE: "100000",
    MICRO_USER_BEARER_FAILURES_PER_ADDRESS_PER_MINUTE: "100000",
    XDG_DATA_HOME: dir,
    ...settings,
  };
  const child = spawn(python, ["-m", "micro_user", "serve", "--port", String(port)], {
    cwd: repoDir,
    env,
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  child.stdout.setEncoding("utf8").on("data", (chunk) => (output += chunk));
  child.stderr.setEncoding("utf8").on("data", (chunk) => (output += chunk));
  let exited = null;
  const exit = new Promise((resolve) =>
    child.once("exit", (code, signal) => {
      exited = { code, signal };
      resolve();
    }),
  );
  child.once("error", (error) => {
    exited = { error };
  });
  // If the test process goes without calling stop(), the server goes too.
  const orphan = () => child.kill("SIGKILL");
  process.once("exit", orphan);

  const stop = async () => {
    process.removeListener("exit", orphan);
    if (exited === null) {
      child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), 15_000);
      await exit;
      clearTimeout(timer);
    }
    rmSync(dir, { recursive: true, force: true });
  };

  const deadline = Date.now() + READY_TIMEOUT_MS;
  for (;;) {
    if (exited !== null) {
      await stop();
      throw new Error(`micro-user exited at start (${JSON.stringify(exited)}):\n${output}`);
    }
    try {
      const response = await fetch(`${address}/ready`, { signal: AbortSignal.timeout(1000) });
      if (response.status === 200) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`micro-user was not ready within ${READY_TIMEOUT_MS} ms:\n${output}`);
    }
    await sleep(100);
  }

  return {
    address,
    key,
    log: () => output,
    stop,
    /**
     * Run `<python> -m micro_user <args>` on this server's database (with `settings` added
     * to its environment); resolves to { stdout, stderr }, rejects when it fails.
     */
    cli: (args, extra = {}) =>
      new Promise((resolve, reject) => {
        const command = spawn(python, ["-m", "micro_user", ...args], {
          cwd: repoDir,
          env: { ...env, ...extra },
          stdio: ["ignore", "pipe", "pipe"],
        });
        let stdout = "";
        let stderr = "";
        command.stdout.setEncoding("utf8").on("data", (chunk) => (stdout += chunk));
        command.stderr.setEncoding("utf8").on("data", (chunk) => (stderr += chunk));
        command.once("error", reject);
        command.once("close", (status) => {
          if (status === 0) resolve({ stdout, stderr });
          else reject(new Error(`micro-user ${args.join(" ")} exited with ${status}:\n${stderr}`));
        });
      }),
    /**
     * The body of the one mail the console sender logged for `email` with `subject`
     * (waits for it).
     */
    async mailTo(email, subject, timeoutMs = 10_000) {
      const until = Date.now() + timeoutMs;
      for (;;) {
        const mails = mailsIn(output).filter(
          (mail) => mail.to === email && mail.subject === subject,
        );
        const what = `mail to ${email} about '${subject}'`;
        if (mails.length > 1) throw new Error(`${mails.length}x ${what}:\n${output}`);
        if (mails.length === 1) return mails[0].body;
        if (Date.now() > until) throw new Error(`no ${what} in the log:\n${output}`);
        await sleep(50);
      }
    },
  };
}

const MAIL_START = "development mail sender (not sent):\n";

/** The mails in the console sender's log: [{to, subject, body}], quoted-printable bodies decoded. */
function mailsIn(log) {
  return log
    .split(MAIL_START)
    .slice(1)
    .map((text) => {
      // A mail ends at the next log line (which starts with a date) or at the end.
      const mail = text.split(/\n(?=\d{4}-\d\d-\d\d \d\d:\d\d:\d\d)/)[0];
      const split = mail.indexOf("\n\n");
      const head = mail.slice(0, split);
      let body = mail.slice(split + 2);
      if (/^Content-Transfer-Encoding: quoted-printable$/im.test(head)) {
        body = body
          .replace(/=\r?\n/g, "")
          .replace(/=([0-9A-F]{2})/g, (_, hex) => String.fromCharCode(parseInt(hex, 16)));
      }
      const header = (name) => new RegExp(`^${name}: (.*)$`, "m").exec(head)?.[1]?.trim();
      return { to: header("To"), subject: header("Subject"), body: body.trim() };
    });
}
