// Compiled (never run) by `npm test` against the built declarations, imported by the
// package's own name as a user would: the public types say what the README says.

import {
  MicroUserError,
  TransportError,
  UserService,
  type Account,
  type FetchLike,
  type ReadSessionResult,
  type Session,
  type UserServiceOptions,
  type VerifyTokenResult,
} from "micro-user-sdk";

export async function example(): Promise<void> {
  const options: UserServiceOptions = {
    address: "http://localhost:8080",
    key: "muk_...",
    timeoutMs: 5000,
    headers: { "X-Request-Id": "42" },
    fetch: globalThis.fetch, // the standard fetch fits the fetch option
  };
  const users = new UserService(options);
  new UserService();
  new UserService({ address: undefined, key: undefined });

  const account: Account = await users.create({ email: "e", password: "p", profile: { a: "b" } });
  const created: number = account.created;
  const verificationDate: number = account.verificationDate;
  const read: Account = await users.read({ username: "ada" });
  const listed: Account[] = await users.list();
  await users.list({ offset: 0, limit: 10 }, { timeoutMs: 100, signal: AbortSignal.timeout(1) });
  const nothing: void = await users.update({ id: account.id, email: "x" });
  await users.delete({ id: account.id });
  await users.updatePassword({ userId: "i", oldPassword: "o", newPassword: "n", confirmPassword: "n" });
  const session: Session = await users.login({ username: "ada", password: "p" });
  const userId: string = session.userId;
  const both: ReadSessionResult = await users.readSession({ sessionId: session.id });
  await users.logout({ sessionId: both.session.id });
  await users.logoutAll({ userId });
  await users.sendVerificationEmail({ email: "e", subject: "s", textContent: "$micro_verification_link" });
  await users.verifyEmail({ token: "t" });
  await users.sendPasswordResetEmail({ email: "e", subject: "s", textContent: "$code", expiration: 60 });
  await users.resetPassword({ email: "e", code: "c", newPassword: "n", confirmPassword: "n" });
  await users.sendMagicLink({ email: "e", subject: "s", textContent: "t", address: "a", endpoint: "e" });
  const verdict: VerifyTokenResult = await users.verifyToken({ token: "t" });
  const maybe: Session | null = verdict.session;
  void [created, verificationDate, read, listed, nothing, maybe];

  // @ts-expect-error fields are camel case
  await users.readSession({ session_id: "s" });
  // @ts-expect-error create needs a password
  await users.create({ email: "e" });
  // @ts-expect-error results are read-only
  account.email = "other";
  // @ts-expect-error times are numbers
  const wrong: string = session.expires;
  void wrong;

  const stub: FetchLike = async () => ({ status: 200, statusText: "OK", text: async () => "{}" });
  new UserService({ fetch: stub });

  try {
    await users.read({ id: "x" });
  } catch (error) {
    if (error instanceof MicroUserError) {
      const parts: [string, number, string, string] = [error.id, error.code, error.detail, error.status];
      void parts;
    } else if (error instanceof TransportError) {
      const why: [string, boolean, unknown] = [error.url, error.timedOut, error.cause];
      void why;
    }
  }
}
